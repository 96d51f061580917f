/**
 * Serials on import: a zone imported from a file at serial S is served with a serial after S in
 * RFC 1982 terms (so secondaries that held the old copy transfer the new one), never behind any
 * serial the zone had, today's YYYYMMDD00 when that qualifies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importCommand } from '../../src/projections/zone-files.ts';
import { nextSerialAfter, serialCompare } from '../../src/projections/serial.ts';
import { testLedger } from '../helpers/ledger.ts';

/** example.com with SOA serial `serial`, plus `extra` lines. */
const zoneText = (serial: number, extra = ''): string =>
  `$TTL 300\n@ SOA ns1 hostmaster ${serial} 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n${extra}`;

function importAndServe(steps: Array<[number, string?]>): number[] {
  const t = testLedger();
  try {
    const served: number[] = [];
    for (const [serial, extra] of steps) {
      t.ledger.execute(importCommand('example.com', zoneText(serial, extra)), { actor: 'test' });
      served.push(t.ledger.zone('example.com.')!.serial);
    }
    return served;
  } finally {
    t.cleanup();
  }
}

test('a new zone from a file at 4000000000 is served at 4000000001, not at the (older, in RFC 1982) date serial', () => {
  const [served] = importAndServe([[4000000000]]);
  assert.equal(served, 4000000001);
  assert.ok(serialCompare(served, 4000000000) > 0);
});

test('a file serial behind today is served with today\'s date serial (the date scheme is kept)', () => {
  assert.deepEqual(importAndServe([[5]]), [2026011500]);
  // ...and a file at today's serial gets the next one of today.
  assert.deepEqual(importAndServe([[2026011507]]), [2026011508]);
});

test('re-importing the same content: nothing written at an equal or older serial, a serial bump when the file is ahead', () => {
  assert.deepEqual(importAndServe([[5], [2026011500], [3]]), [2026011500, 2026011500, 2026011500]);
  assert.deepEqual(importAndServe([[5], [4000000000]]), [2026011500, 4000000001]);
});

test('a file behind the served serial never moves the serial backwards', () => {
  assert.deepEqual(importAndServe([[4000000000], [3999999995, 'www A 192.0.2.80\n']]), [4000000001, 4000000002]);
  // 7 is after 4000000001 in RFC 1982 terms (the space wraps), so 8 follows it; the date serial
  // 2026011500 would be before 4000000001 and is not used.
  assert.deepEqual(importAndServe([[4000000000], [7, 'www A 192.0.2.80\n']]), [4000000001, 8]);
});

test('across the wrap: 4294967295 is followed by the date serial, which is after it', () => {
  const [served] = importAndServe([[4294967295]]);
  assert.equal(served, 2026011500);
  assert.ok(serialCompare(served, 4294967295) > 0);
});

test('a file serial 2^31 away from the zone\'s is refused: no serial is after both', () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('example.com', zoneText(5)), { actor: 'test' });
    const p = t.ledger.zone('example.com.')!.serial;
    const opposite = (p + 2 ** 31) % 2 ** 32;
    assert.throws(
      () => t.ledger.execute(importCommand('example.com', zoneText(opposite, 'www A 192.0.2.80\n')), { actor: 'test' }),
      new RegExp(`serial ${opposite} is 2\\^31 away from the zone's serial ${p}`),
    );
    assert.equal(t.ledger.zone('example.com.')!.serial, p);
  } finally {
    t.cleanup();
  }
});

test('nextSerialAfter: after both the previous serial and the floor', () => {
  const day = Date.UTC(2026, 0, 15, 10);
  assert.equal(nextSerialAfter(undefined, 4000000000, day), 4000000001);
  assert.equal(nextSerialAfter(undefined, 1, day), 2026011500);
  assert.equal(nextSerialAfter(2026011503, 1, day), 2026011504);
  assert.equal(nextSerialAfter(1, 2026011503, day), 2026011504);
  assert.equal(nextSerialAfter(2026011500, 4000000000, day), 4000000001);
  assert.equal(nextSerialAfter(2026011500, (2026011500 + 2 ** 31) % 2 ** 32, day), undefined);
});
