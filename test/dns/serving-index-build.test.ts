/**
 * The serving index's rebuild in two passes (src/dns/serving-index.ts, build side): the first pass
 * holds A and AAAA and puts CNAME owners, cuts and names with other types aside; the second takes
 * them, straight from the nodes while the index still holds the state the first pass built, by name
 * once a write has been diffed in. Either way the finished index holds exactly what a fresh build
 * holds, and every answer it gives is byte for byte the general path's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerQuery } from '../../src/dns/answer.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import type { RecordOp } from '../../src/projections/decide.ts';
import type { LedgerState } from '../../src/projections/state.ts';
import { testLedger } from '../helpers/ledger.ts';

const ZONE = 'big.test';
const TYPES = [1, 28, 5, 15, 16, 2, 99];

function query(name: string, qtype: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1])];
  for (const l of name.replace(/\.$/, '').split('.')) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]), Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

function freshEntries(state: LedgerState): string[] {
  const fresh = new ServingIndex();
  assert.notEqual(fresh.sync(state), 'rebuilding');
  return [...fresh.entries()].sort();
}

/** Every answer the index gives, at every name of the zone and a few missing ones, equals the general path's; returns how many it gave. */
function checkAnswers(index: ServingIndex, state: LedgerState, names: string[]): number {
  let answered = 0;
  for (const name of [...names, `nowhere.${ZONE}.`, `x.cut.${ZONE}.`]) {
    for (const qtype of TYPES) {
      const raw = query(name, qtype);
      const q = readQuery(raw) as ParsedQuery;
      const got = index.answer(state, q, raw, 1232);
      if (got === undefined) continue;
      answered++;
      assert.deepEqual(got, encodeMessage(answerQuery(state, q).message, 1232).bytes, `${name} type ${qtype}`);
    }
  }
  return answered;
}

/** A zone of 60 names: addresses, CNAME chains (one two long), MX and TXT, a delegation with glue. */
function fill(run: (ops: RecordOp[]) => void): string[] {
  const ops: RecordOp[] = [];
  const names: string[] = [];
  for (let i = 0; i < 60; i++) {
    const name = `h${i}.${ZONE}`;
    names.push(`${name}.`);
    if (i % 10 === 3) ops.push({ op: 'create', name, type: 'CNAME', value: `h${i + 1}.${ZONE}.` });
    else if (i % 10 === 7) ops.push({ op: 'create', name, type: 'CNAME', value: `h3.${ZONE}.` });
    else {
      ops.push({ op: 'create', name, type: 'A', value: `192.0.2.${i + 1}` });
      if (i % 4 === 0) ops.push({ op: 'create', name, type: 'AAAA', value: `2001:db8::${i + 1}` });
      if (i % 5 === 1) ops.push({ op: 'create', name, type: 'MX', value: `10 h${(i + 10) % 60}.${ZONE}.` });
      if (i % 6 === 2) ops.push({ op: 'create', name, type: 'TXT', value: `"id ${i}"` });
    }
  }
  ops.push({ op: 'create', name: `cut.${ZONE}`, type: 'NS', value: `ns.cut.${ZONE}.` });
  ops.push({ op: 'create', name: `ns.cut.${ZONE}`, type: 'A', value: '198.51.100.1' });
  names.push(`cut.${ZONE}.`, `${ZONE}.`);
  run(ops);
  return names;
}

async function rebuildToSecondPass(index: ServingIndex, state: LedgerState): Promise<void> {
  index.sync(state);
  while (!index.isCurrent(state)) await new Promise((r) => setImmediate(r));
  assert.equal(index.filling, true, 'a large rebuild leaves a second pass');
}

test('serving index build: the second pass, with no write during it, takes the nodes the first put aside', async () => {
  const t = testLedger();
  try {
    const { ledger } = t;
    ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster@${ZONE}` } }, { actor: 'test' });
    const names = fill((ops) => void ledger.execute({ kind: 'changeRecords', zone: ZONE, ops }, { actor: 'test' }));
    const index = new ServingIndex({ diffBudget: 5, rebuildSlice: 3 });
    await rebuildToSecondPass(index, ledger.state);
    // During the second pass every answer given is already right (the others are declined).
    checkAnswers(index, ledger.state, names);
    while (index.filling) await new Promise((r) => setImmediate(r));
    assert.deepEqual([...index.entries()].sort(), freshEntries(ledger.state));
    assert.ok(checkAnswers(index, ledger.state, names) > 300);
    index.close();
  } finally {
    t.cleanup();
  }
});

test('serving index build: writes diffed in during the second pass (a chain retargeted, a target deleted, an MX added) leave it exact', async () => {
  const t = testLedger();
  try {
    const { ledger } = t;
    const run = (ops: RecordOp[]): void => void ledger.execute({ kind: 'changeRecords', zone: ZONE, ops }, { actor: 'test' });
    ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster@${ZONE}` } }, { actor: 'test' });
    const names = fill(run);
    const index = new ServingIndex({ diffBudget: 50, rebuildSlice: 3 });
    await rebuildToSecondPass(index, ledger.state);
    const byName = (name: string, type: string) => {
      const r = [...(ledger.state.zones.get(`${ZONE}.`)?.records.values() ?? [])].find((x) => x.name === `${name}.${ZONE}.` && x.type === type);
      assert.ok(r, `${name} ${type}`);
      return r.id;
    };
    const writes: RecordOp[][] = [
      [{ op: 'update', id: byName('h53', 'CNAME'), value: `h11.${ZONE}.` }],
      [{ op: 'delete', id: byName('h4', 'A') }],
      [{ op: 'create', name: `h20.${ZONE}`, type: 'MX', value: `10 h4.${ZONE}.` }],
      [{ op: 'delete', id: byName('ns.cut', 'A') }],
    ];
    for (const w of writes) {
      run(w);
      assert.equal(index.sync(ledger.state), 'diffed');
      checkAnswers(index, ledger.state, names);
      // A few second-pass slices between writes.
      for (let k = 0; k < 3 && index.filling; k++) await new Promise((r) => setImmediate(r));
    }
    assert.equal(index.filling, true, 'the writes landed during the second pass');
    while (index.filling) await new Promise((r) => setImmediate(r));
    assert.deepEqual([...index.entries()].sort(), freshEntries(ledger.state));
    assert.ok(checkAnswers(index, ledger.state, names) > 300);
    index.close();
  } finally {
    t.cleanup();
  }
});
