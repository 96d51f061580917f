/** SOA serials: YYYYMMDDNN, once per batch, never decreasing, RFC 1982 comparisons. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextSerial, serialCompare, dateSerial } from '../../src/projections/serial.ts';
import { testLedger } from '../helpers/ledger.ts';

test('RFC 1982 comparison, including across the wrap', () => {
  const cases: Array<[number, number, number]> = [
    [1, 2, -1],
    [2, 1, 1],
    [5, 5, 0],
    [4294967295, 0, -1],
    [0, 4294967295, 1],
    [2026011500, 2026011501, -1],
  ];
  for (const [a, b, want] of cases) assert.equal(Math.sign(serialCompare(a, b)), want, `${a} vs ${b}`);
  assert.ok(Number.isNaN(serialCompare(0, 2 ** 31)));
});

test('next serial: today first, then +1; past 99 a day it runs into tomorrow; a clock going back never lowers it', () => {
  const day = Date.UTC(2026, 0, 15, 10);
  assert.equal(dateSerial(day), 2026011500);
  assert.equal(nextSerial(0, day), 2026011500);
  assert.equal(nextSerial(2026011500, day), 2026011501);
  assert.equal(nextSerial(2026011599, day), 2026011600);
  assert.equal(nextSerial(2026011600, day), 2026011601);
  assert.equal(nextSerial(2026011505, day - 86400000 * 30), 2026011506);
  assert.equal(nextSerial(2026011505, day + 86400000), 2026011600);
  // After a wrap, today is "greater" than 4294967295 in RFC 1982 terms, so the date comes back.
  assert.equal(nextSerial(4294967295, day), 2026011500);
});

test('one bump per batch, 150 batches in one day, and the clock going backwards', () => {
  const t = testLedger();
  try {
    const { ledger, clock } = t;
    ledger.execute({ kind: 'createZone', zone: 'example.com', soa: { primary_ns: 'ns.example.com', admin_email: 'h@example.com' } }, { actor: 'test' });
    let prev = ledger.zone('example.com.')!.serial;
    assert.equal(prev, 2026011500);
    for (let i = 0; i < 150; i++) {
      if (i === 100) clock.advance(-3 * 86400000);
      const res = ledger.execute(
        { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'create', name: `h${i}.example.com`, type: 'A', value: '192.0.2.1' }, { op: 'create', name: `h${i}.example.com`, type: 'A', value: '192.0.2.2' }] },
        { actor: 'test' },
      );
      assert.equal(res.serial, prev + 1 === 2026011600 ? 2026011600 : prev + 1);
      assert.equal(res.events.filter((e) => e.body.type === 'SerialBumped').length, 1);
      prev = res.serial!;
    }
    assert.equal(prev, 2026011650);
  } finally {
    t.cleanup();
  }
});
