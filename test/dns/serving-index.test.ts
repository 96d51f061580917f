/**
 * The serving index: its byte table, and the index itself kept in step with a real ledger under
 * random commands (zones created, deleted and restored, delegations, nested zones, CNAMEs): after
 * every command it holds exactly what a fresh build holds, and every answer it gives (an RRset or
 * NODATA) is byte for byte the answer of the general path (answerQuery + encodeMessage).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerQuery } from '../../src/dns/answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { hashKey, NameTable } from '../../src/dns/name-table.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import type { Command, RecordOp } from '../../src/projections/decide.ts';
import type { LedgerState } from '../../src/projections/state.ts';
import { testLedger } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';
import { ASKED, QTYPES, VALUES, ZONES, executeUnlessRefused, query, randomRecordOps } from './random-zones.ts';

const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

test('name table: set, find with letters folded, replace, delete, growth and compaction', () => {
  const t = new NameTable(4);
  const ref = new Map<string, string>();
  const random = rng(99);
  for (let i = 0; i < 20_000; i++) {
    const k = `key${Math.floor(random() * 3000)}`;
    if (random() < 0.7) {
      const v = `value-${i}-${'x'.repeat(Math.floor(random() * 40))}`;
      assert.equal(t.set(bytes(k), bytes(v), i & 0xffff), true);
      ref.set(k, v);
    } else {
      assert.equal(t.delete(bytes(k)), ref.delete(k), k);
    }
  }
  assert.equal(t.size, ref.size);
  for (const [k, v] of ref) {
    // Stored lowercase, found in any spelling.
    const asked = bytes(k.toUpperCase());
    const off = t.find(asked, 0, asked.length, hashKey(asked, 0, asked.length));
    assert.ok(off >= 0, k);
    const start = t.valueStart(off);
    assert.equal(Buffer.from(t.data.subarray(start, start + t.valueLength(off))).toString('latin1'), v);
  }
  const missing = bytes('key-missing');
  assert.equal(t.find(missing, 0, missing.length, hashKey(missing, 0, missing.length)), -1);
  assert.deepEqual(new Set([...t.keys()].map((k) => Buffer.from(k).toString('latin1'))), new Set(ref.keys()));
  // Keys longer than a length byte are refused, not truncated.
  assert.equal(t.set(new Uint8Array(256), bytes('v'), 0), false);
});

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];

let nodataAnswers = 0;
let nxdomainAnswers = 0;
/** Positive answers from the index by kind: a CNAME chain, with additional data, another type than A/AAAA. */
let chainAnswers = 0;
let additionalAnswers = 0;
let otherTypeAnswers = 0;
let wildcardAnswers = 0;
let referralAnswers = 0;
/** Answers at a CNAME owner to a type the chain's end lacks: NODATA or NXDOMAIN with the end zone's SOA, or a chain out of our zones. */
let chainNodataAnswers = 0;
let chainNxdomainAnswers = 0;
let chainOutAnswers = 0;

/** True when the `an` answer records from `p` are all CNAMEs. */
function isChainOnly(b: Buffer, p: number, an: number): boolean {
  for (let i = 0; i < an; i++) {
    while (b[p] !== 0 && (b[p] & 0xc0) !== 0xc0) p += b[p] + 1;
    p += b[p] === 0 ? 1 : 2;
    if (b.readUInt16BE(p) !== 5) return false;
    p += 10 + b.readUInt16BE(p + 8);
  }
  return true;
}

/** The index of `state` built from nothing (small states build synchronously). */
function freshEntries(state: LedgerState): string[] {
  const fresh = new ServingIndex();
  assert.notEqual(fresh.sync(state), 'rebuilding');
  return [...fresh.entries()].sort();
}

/** Every answer the index gives for the probe names equals the general path's. */
function checkAnswers(index: ServingIndex, state: LedgerState, random: () => number, label: string): number {
  let answered = 0;
  for (const zone of ZONES) {
    for (const n of ASKED) {
      const name = n === '@' ? `${zone}.` : `${n}.${zone}.`;
      for (const qtype of QTYPES) {
        const raw = query(name, qtype, random, random() < 0.7, pick(random, [512, 600, 1232, 4096]));
        const q = readQuery(raw) as ParsedQuery;
        // UDP at the client's size (clamped to 512..1232), or TCP.
        const limit = maxResponseSize(q, random() < 0.2);
        const fromIndex = index.answer(state, q, raw, limit);
        if (qtype === 43 || qtype === 255) assert.equal(fromIndex, undefined, 'DS and ANY are the general path\'s');
        if (fromIndex) {
          answered++;
          const an = fromIndex.readUInt16BE(6);
          const firstType = an > 0 ? fromIndex.readUInt16BE(q.questionEnd + 2) : 0;
          if (an > 0 && firstType === 5 && qtype !== 5) {
            // A chain's negative end: the CNAMEs, then the SOA (or nothing: the chain left our zones).
            if ((fromIndex[3] & 0xf) === 3) chainNxdomainAnswers++;
            else if (fromIndex.readUInt16BE(8) === 1 && (fromIndex[2] & 0x04) !== 0) chainNodataAnswers++;
            else if (fromIndex.readUInt16BE(8) === 0 && isChainOnly(fromIndex, q.questionEnd, an)) chainOutAnswers++;
          }
          if ((fromIndex[3] & 0xf) === 3) nxdomainAnswers++;
          else if ((fromIndex[2] & 0x04) === 0) referralAnswers++;
          else if (fromIndex.readUInt16BE(6) === 0) nodataAnswers++;
          else {
            if (fromIndex.readUInt16BE(q.questionEnd + 2) === 5 && qtype !== 5) chainAnswers++;
            if (fromIndex.readUInt16BE(10) > (q.edns ? 1 : 0)) additionalAnswers++;
            if (qtype !== 1 && qtype !== 28) otherTypeAnswers++;
            if (n === 'q.w') wildcardAnswers++;
          }
          const general = encodeMessage(answerQuery(state, q).message, limit).bytes;
          assert.deepEqual(fromIndex, general, `${label}: ${name}/${qtype}: the index and the general path differ`);
        }
      }
    }
  }
  return answered;
}

test('serving index: 600 random commands; after each it equals a fresh build and answers like the general path', () => {
  const random = rng(20261128);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const t = testLedger();
  const index = new ServingIndex();
  let answered = 0;
  let diffed = 0;
  const created = new Set<string>();
  try {
    const { ledger } = t;
    for (let i = 0; i < 600; i++) {
      const zone = pick(ZONES);
      const z = ledger.state.zones.get(`${zone}.`);
      const ids = z ? [...z.records.keys()] : [];
      const r = random();
      let cmd: Command;
      if (r < 0.04 || (!z && r < 0.5)) cmd = { kind: 'createZone', zone, soa: { primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` } };
      else if (r < 0.06) cmd = { kind: 'deleteZone', zone };
      // The SOA's names, TTL and minimum change: the negative answers after a chain follow them.
      else if (r < 0.09)
        cmd = {
          kind: 'updateZone',
          zone,
          soa: pick([{ primary_ns: `ns2.${zone}` }, { primary_ns: 'ns.elsewhere.example' }, { admin_email: `dns@x.${zone}` }, { primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` }, { ttl: pick([60, 900]) }, { minimum: pick([30, 600]) }]),
        };
      else if (r < 0.08 && z) {
        const at = { seq: Math.floor(random() * ledger.state.seq) };
        cmd = { kind: 'restoreZone', zone, target: ledger.stateAt(at).zones.get(`${zone}.`), atSeq: at.seq };
      } else cmd = { kind: 'changeRecords', zone, ops: randomRecordOps(zone, ids, random) };
      if (!executeUnlessRefused(ledger, cmd)) continue;
      if (cmd.kind === 'changeRecords') for (const op of cmd.ops) if (op.op === 'create') created.add(op.type);
      const state = ledger.state;
      const outcome = index.sync(state);
      if (outcome === 'diffed') diffed++;
      assert.notEqual(outcome, 'rebuilding', `command ${i}: a small state rebuilds synchronously`);
      assert.deepEqual([...index.entries()].sort(), freshEntries(state), `command ${i} (${cmd.kind}): the index drifted from the state`);
      answered += checkAnswers(index, state, random, `command ${i}`);
    }
    assert.equal(index.failure, undefined);
    // The run exercised both paths and the index answered a good share of the probes.
    assert.ok(diffed > 300, `diffed ${diffed}`);
    assert.ok(answered > 1000, `answered ${answered}`);
    assert.ok(nodataAnswers > 300, `NODATA answers ${nodataAnswers}`);
    assert.ok(nxdomainAnswers > 300, `NXDOMAIN answers ${nxdomainAnswers}`);
    assert.deepEqual([...created].sort(), Object.keys(VALUES).sort(), 'every type was written at least once');
    console.log(`answered ${answered}: NODATA ${nodataAnswers}, NXDOMAIN ${nxdomainAnswers}, chains ${chainAnswers} (ending NODATA ${chainNodataAnswers}, NXDOMAIN ${chainNxdomainAnswers}, out of our zones ${chainOutAnswers}), wildcard ${wildcardAnswers}, referrals ${referralAnswers}, with additional ${additionalAnswers}, other types ${otherTypeAnswers}`);
    assert.ok(chainNodataAnswers > 100, `chains ending NODATA ${chainNodataAnswers}`);
    assert.ok(chainNxdomainAnswers > 30, `chains ending NXDOMAIN ${chainNxdomainAnswers}`);
    assert.ok(chainOutAnswers > 30, `chains out of our zones ${chainOutAnswers}`);
    assert.ok(chainAnswers > 10, `CNAME chain answers ${chainAnswers}`);
    assert.ok(additionalAnswers > 50, `answers with additional data ${additionalAnswers}`);
    assert.ok(referralAnswers > 100, `referrals ${referralAnswers}`);
    assert.ok(wildcardAnswers > 30, `wildcard answers ${wildcardAnswers}`);
    assert.ok(otherTypeAnswers > 300, `answers for other types than A/AAAA ${otherTypeAnswers}`);
  } finally {
    t.cleanup();
  }
});

test('serving index: a delegation hides the names below it, a nested zone takes its names over, and both undo', () => {
  const t = testLedger();
  try {
    const { ledger } = t;
    const run = (cmd: Command): void => void ledger.execute(cmd, { actor: 'test' });
    const soa = (zone: string) => ({ primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` });
    run({ kind: 'createZone', zone: 'a.test', soa: soa('a.test') });
    run({
      kind: 'changeRecords',
      zone: 'a.test',
      ops: ['cut', 'in.cut', 'deep.in.cut', 'x.sub', 'www'].map((n): RecordOp => ({ op: 'create', name: `${n}.a.test`, type: 'A', value: '192.0.2.1' })),
    });
    const index = new ServingIndex();
    // Names holding an address (the index also holds the others, for NODATA).
    const names = (): string[] =>
      [...index.entries()]
        .map((e) => e.split('/'))
        .filter(([, a, aaaa]) => a !== '0' || aaaa !== '0')
        .map(([name]) => name)
        .sort();
    index.sync(ledger.state);
    assert.deepEqual(names(), ['cut.a.test.', 'deep.in.cut.a.test.', 'in.cut.a.test.', 'www.a.test.', 'x.sub.a.test.']);
    run({ kind: 'changeRecords', zone: 'a.test', ops: [{ op: 'create', name: 'cut.a.test', type: 'NS', value: 'ns.elsewhere.example.' }] });
    assert.equal(index.sync(ledger.state), 'diffed');
    assert.deepEqual(names(), ['www.a.test.', 'x.sub.a.test.'], 'the cut and everything below it are referrals now');
    // The referral from the index, byte for byte the general path's: at the cut, below it (its
    // pointers moved), and at the glue's own name (which the referral's NS target compresses against:
    // the general path's then).
    const referral = (name: string): { index?: Buffer; general: Buffer } => {
      const raw = query(name, 1, rng(5), true);
      const q = readQuery(raw) as ParsedQuery;
      return { index: index.answer(ledger.state, q, raw, 1232), general: encodeMessage(answerQuery(ledger.state, q).message, 1232).bytes };
    };
    run({ kind: 'changeRecords', zone: 'a.test', ops: [{ op: 'create', name: 'cut.a.test', type: 'NS', value: 'in.cut.a.test.' }] });
    assert.equal(index.sync(ledger.state), 'diffed');
    for (const name of ['cut.a.test.', 'www.cut.a.test.', 'x.y.cut.a.test.']) {
      const r = referral(name);
      assert.ok(r.index, `${name}: a referral from the index`);
      assert.deepEqual(r.index, r.general, name);
      assert.equal(r.index.readUInt16BE(8), 2, 'both NS in authority');
    }
    for (const name of ['in.cut.a.test.', 'x.in.cut.a.test.']) assert.equal(referral(name).index, undefined, `${name}: the NS target compresses against the question`);
    const nsIds = [...(ledger.state.zones.get('a.test.')?.records.values() ?? [])].filter((r) => r.type === 'NS' && r.name === 'cut.a.test.').map((r) => r.id);
    run({ kind: 'changeRecords', zone: 'a.test', ops: nsIds.map((id): RecordOp => ({ op: 'delete', id })) });
    assert.equal(index.sync(ledger.state), 'diffed');
    assert.deepEqual(names(), ['cut.a.test.', 'deep.in.cut.a.test.', 'in.cut.a.test.', 'www.a.test.', 'x.sub.a.test.']);
    // A zone created below: its own (empty) tree answers for x.sub.a.test. now, not a.test.'s.
    run({ kind: 'createZone', zone: 'sub.a.test', soa: soa('sub.a.test') });
    index.sync(ledger.state);
    assert.deepEqual(names(), ['cut.a.test.', 'deep.in.cut.a.test.', 'in.cut.a.test.', 'www.a.test.']);
    run({ kind: 'changeRecords', zone: 'sub.a.test', ops: [{ op: 'create', name: 'x.sub.a.test', type: 'AAAA', value: '2001:db8::5' }] });
    assert.equal(index.sync(ledger.state), 'diffed');
    assert.deepEqual(
      [...index.entries()].filter((e) => e.startsWith('x.sub')).map((e) => e.split('/').slice(0, 5).join('/')),
      ['x.sub.a.test./0/1//0'],
    );
    run({ kind: 'deleteZone', zone: 'sub.a.test' });
    index.sync(ledger.state);
    assert.deepEqual(names(), ['cut.a.test.', 'deep.in.cut.a.test.', 'in.cut.a.test.', 'www.a.test.', 'x.sub.a.test.']);
    assert.deepEqual([...index.entries()].sort(), freshEntries(ledger.state));
    // A wildcard added below a name that already exists: a missing name there is synthesized, not NXDOMAIN.
    const ask = (name: string): Buffer | undefined => {
      const raw = query(name, 1, rng(3), true);
      const q = readQuery(raw) as ParsedQuery;
      return index.answer(ledger.state, q, raw, 1232);
    };
    run({ kind: 'changeRecords', zone: 'a.test', ops: [{ op: 'create', name: 'other.w.a.test', type: 'TXT', value: '"x"' }] });
    const before = ask('q.w.a.test.');
    assert.ok(before);
    assert.equal(before[3] & 0xf, 3, 'NXDOMAIN below w before the wildcard');
    run({ kind: 'changeRecords', zone: 'a.test', ops: [{ op: 'create', name: '*.w.a.test', type: 'A', value: '192.0.2.9' }] });
    assert.equal(index.sync(ledger.state), 'diffed');
    const synthesized = ask('q.w.a.test.');
    assert.ok(synthesized, 'the wildcard\'s A answers the name it stands for');
    const raw = query('q.w.a.test.', 1, rng(3), true);
    assert.deepEqual(synthesized, encodeMessage(answerQuery(ledger.state, readQuery(raw) as ParsedQuery).message, 1232).bytes);
    assert.equal(synthesized.readUInt16BE(6), 1);
    // A wildcard whose answer names another name (MX) is the general path's; a type it lacks is NODATA.
    run({ kind: 'changeRecords', zone: 'a.test', ops: [{ op: 'create', name: '*.w.a.test', type: 'MX', value: '10 www.a.test.' }] });
    assert.equal(index.sync(ledger.state), 'diffed');
    const mx = query('q.w.a.test.', 15, rng(3), true);
    assert.equal(index.answer(ledger.state, readQuery(mx) as ParsedQuery, mx, 1232), undefined);
    const txt = query('q.w.a.test.', 16, rng(3), true);
    const nodata = index.answer(ledger.state, readQuery(txt) as ParsedQuery, txt, 1232);
    assert.ok(nodata);
    assert.deepEqual(nodata, encodeMessage(answerQuery(ledger.state, readQuery(txt) as ParsedQuery).message, 1232).bytes);
    assert.deepEqual([...index.entries()].sort(), freshEntries(ledger.state));
  } finally {
    t.cleanup();
  }
});

test('serving index: a change over the diff budget rebuilds in slices, declining until the rebuild is done', async () => {
  const t = testLedger();
  try {
    const { ledger } = t;
    ledger.execute({ kind: 'createZone', zone: 'big.test', soa: { primary_ns: 'ns1.big.test', admin_email: 'hostmaster@big.test' } }, { actor: 'test' });
    const index = new ServingIndex({ diffBudget: 5, rebuildSlice: 3 });
    let rebuilt = 0;
    index.onRebuilt = () => rebuilt++;
    index.sync(ledger.state);
    await index.whenBuilt();
    const ops: RecordOp[] = Array.from({ length: 40 }, (_, i) => ({ op: 'create', name: `h${i}.big.test`, type: 'A', value: `192.0.2.${i + 1}` }));
    ledger.execute({ kind: 'changeRecords', zone: 'big.test', ops }, { actor: 'test' });
    const state = ledger.state;
    const raw = query('h7.big.test.', 1, rng(1), true);
    const q = readQuery(raw) as ParsedQuery;
    // 40 names are over a budget of 5: the sync gives up and rebuilds, 3 nodes a slice.
    assert.equal(index.answer(state, q, raw, 1232), undefined);
    assert.equal(index.isCurrent(state), false);
    while (!index.isCurrent(state)) await new Promise((r) => setImmediate(r));
    assert.equal(rebuilt, 2);
    // A large rebuild answers A and AAAA first; the apex's SOA and NS come in its second pass.
    assert.equal(index.filling, true);
    while (index.filling) await new Promise((r) => setImmediate(r));
    assert.deepEqual(index.answer(state, q, raw, 1232), encodeMessage(answerQuery(state, q).message, 1232).bytes);
    assert.deepEqual([...index.entries()].sort(), freshEntries(state));
    // A small change after it is diffed again.
    ledger.execute({ kind: 'changeRecords', zone: 'big.test', ops: [{ op: 'create', name: 'h7.big.test', type: 'A', value: '198.51.100.1' }] }, { actor: 'test' });
    assert.equal(index.sync(ledger.state), 'diffed');
    const after = index.answer(ledger.state, q, raw, 1232);
    assert.ok(after);
    assert.equal(after.readUInt16BE(6), 2, 'both A records of h7');
    index.close();
    assert.equal(index.answer(ledger.state, q, raw, 1232), undefined, 'a closed index never answers');
  } finally {
    t.cleanup();
  }
});

test('serving index: an answer that does not fit the UDP limit is left to the general path (which truncates)', () => {
  const t = testLedger();
  try {
    const { ledger } = t;
    ledger.execute({ kind: 'createZone', zone: 'wide.test', soa: { primary_ns: 'ns1.wide.test', admin_email: 'hostmaster@wide.test' } }, { actor: 'test' });
    const ops: RecordOp[] = Array.from({ length: 40 }, (_, i) => ({ op: 'create', name: 'many.wide.test', type: 'A', value: `192.0.2.${i + 1}` }));
    ledger.execute({ kind: 'changeRecords', zone: 'wide.test', ops }, { actor: 'test' });
    const index = new ServingIndex();
    const raw = query('many.wide.test.', 1, rng(2), false);
    const q = readQuery(raw) as ParsedQuery;
    // 40 x 16 bytes of answer do not fit 512 bytes without EDNS; over TCP they do.
    assert.equal(index.answer(ledger.state, q, raw, maxResponseSize(q, false)), undefined);
    const tcp = index.answer(ledger.state, q, raw, maxResponseSize(q, true));
    assert.ok(tcp);
    assert.equal(tcp.readUInt16BE(6), 40);
  } finally {
    t.cleanup();
  }
});

test('serving index: a CNAME chain\'s negative end (NODATA, NXDOMAIN, another zone\'s SOA, out of our zones) follows every write', () => {
  const t = testLedger();
  try {
    const { ledger } = t;
    const run = (cmd: Command): void => void ledger.execute(cmd, { actor: 'test' });
    const soa = (zone: string) => ({ primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` });
    run({ kind: 'createZone', zone: 'a.test', soa: soa('a.test') });
    run({ kind: 'createZone', zone: 'b.test', soa: soa('b.test') });
    run({ kind: 'createZone', zone: 'c.test', soa: soa('c.test') });
    const create = (zone: string, name: string, type: string, value: string): void =>
      run({ kind: 'changeRecords', zone, ops: [{ op: 'create', name, type, value }] });
    create('a.test', 'y.x.a.test', 'A', '192.0.2.1');
    create('a.test', 'to-y.a.test', 'CNAME', 'y.x.a.test.');
    create('a.test', 'to-missing.a.test', 'CNAME', 'm.x.a.test.');
    create('a.test', 'to-b.a.test', 'CNAME', 'www.b.test.');
    create('a.test', 'two.a.test', 'CNAME', 'to-y.a.test.');
    create('a.test', 'out.a.test', 'CNAME', 'www.elsewhere.example.');
    create('a.test', 'to-d.a.test', 'CNAME', 'm.d.a.test.');
    create('a.test', 'to-c.a.test', 'CNAME', 'www.c.test.');
    create('b.test', 'www.b.test', 'TXT', '"b"');
    const index = new ServingIndex();
    index.sync(ledger.state);
    const random = rng(7);
    /** Every question at the chain owners: from the index (it must answer the given ones), equal to the general path. */
    const check = (label: string, mustAnswer: boolean): void => {
      assert.notEqual(index.sync(ledger.state), 'rebuilding', label);
      for (const owner of ['to-y', 'to-missing', 'to-b', 'two', 'out', 'to-d', 'to-c']) {
        for (const qtype of [1, 15, 16, 28, 99]) {
          const raw = query(`${owner}.a.test.`, qtype, random, random() < 0.5);
          const q = readQuery(raw) as ParsedQuery;
          const general = encodeMessage(answerQuery(ledger.state, q).message, 1232).bytes;
          const fromIndex = index.answer(ledger.state, q, raw, 1232);
          if (mustAnswer && !(owner === 'to-y' && qtype === 1) && !(owner === 'two' && qtype === 1)) assert.ok(fromIndex, `${label}: ${owner}/${qtype} from the index`);
          if (fromIndex) assert.deepEqual(fromIndex, general, `${label}: ${owner}/${qtype}`);
        }
      }
      assert.deepEqual([...index.entries()].sort(), freshEntries(ledger.state), label);
    };
    check('built', true);
    // An unrelated write bumps both serials (a.test's, and b.test's by its own write).
    create('a.test', 'unrelated.a.test', 'A', '192.0.2.9');
    create('b.test', 'unrelated.b.test', 'A', '192.0.2.9');
    check('after writes elsewhere', true);
    // The negative TTL (min of SOA TTL and minimum) and the SOA's names.
    run({ kind: 'updateZone', zone: 'a.test', soa: { ttl: 60 } });
    check('SOA TTL', true);
    run({ kind: 'updateZone', zone: 'b.test', soa: { minimum: 30 } });
    check('SOA minimum', true);
    run({ kind: 'updateZone', zone: 'a.test', soa: { primary_ns: 'ns.elsewhere.example', admin_email: 'dns@m.x.a.test' } });
    check('SOA names', false);
    run({ kind: 'updateZone', zone: 'b.test', soa: { primary_ns: 'www.b.test' } });
    check('other zone SOA names', false);
    // The end gains the type asked, the missing name appears.
    create('b.test', 'www.b.test', 'MX', '10 mail.b.test.');
    check('end gains MX', false);
    create('a.test', 'm.x.a.test', 'AAAA', '2001:db8::1');
    check('missing name created', false);
    // A cut, then a DNAME, put above the chains' ends (x.a.test. did not exist as a node of its own).
    create('a.test', 'x.a.test', 'NS', 'ns.elsewhere.example.');
    check('cut above the ends', false);
    const nsIds = [...(ledger.state.zones.get('a.test.')?.records.values() ?? [])].filter((r) => r.type === 'NS' && r.name === 'x.a.test.').map((r) => r.id);
    run({ kind: 'changeRecords', zone: 'a.test', ops: nsIds.map((id): RecordOp => ({ op: 'delete', id })) });
    check('cut removed', false);
    // A DNAME above a missing end (a DNAME may not be put above records).
    create('a.test', 'd.a.test', 'DNAME', 'b.test.');
    check('DNAME above the end', false);
    // A DNAME at the apex of the (empty) zone a chain ends in.
    create('c.test', 'c.test', 'DNAME', 'elsewhere.example.');
    index.sync(ledger.state);
    while (!index.isCurrent(ledger.state)) index.sync(ledger.state);
    check('DNAME at the apex of the end zone', false);
  } finally {
    t.cleanup();
  }
});

test('name table: trim gives back the slots of a table sized for more entries than it got, and keeps every entry', () => {
  // A rebuild sizes its table from the record count; a realistic zone has about 1.6 records per name.
  const t = new NameTable(160_000, 8);
  for (let i = 0; i < 100_000; i++) assert.ok(t.set(bytes(`h${i}.bench.test`), bytes(`v${i}`), i & 0x7fff));
  assert.equal(t.slotCount, 524_288);
  t.trim();
  // 524,288 slots (4 MiB) before, 262,144 after: at most half full, as set() keeps it.
  assert.equal(t.slotCount, 262_144, 'slots given back');
  for (let i = 0; i < 100_000; i += 7) {
    const k = bytes(`H${i}.bench.TEST`);
    const off = t.find(k, 0, k.length, hashKey(k, 0, k.length));
    assert.ok(off >= 0, `h${i}`);
    assert.equal(Buffer.from(t.data.subarray(t.valueStart(off), t.valueStart(off) + t.valueLength(off))).toString('latin1'), `v${i}`);
    assert.equal(t.tag(off), i & 0x7fff);
  }
  // And it grows again as entries come.
  for (let i = 100_000; i < 140_000; i++) assert.ok(t.set(bytes(`h${i}.bench.test`), bytes(`v${i}`), 0));
  assert.equal(t.size, 140_000);
  const last = bytes('h139999.bench.test');
  assert.ok(t.find(last, 0, last.length, hashKey(last, 0, last.length)) >= 0);
});

test('serving index: an SOA name change that many chain ends hold rebuilds instead of re-taking them all in one sync', () => {
  const t = testLedger();
  try {
    const { ledger } = t;
    const run = (cmd: Command): void => void ledger.execute(cmd, { actor: 'test' });
    run({ kind: 'createZone', zone: 'a.test', soa: { primary_ns: 'ns1.a.test', admin_email: 'hostmaster@a.test' } });
    // diffBudget 16: more than 2 chain ends holding the SOA are a rebuild's.
    const index = new ServingIndex({ diffBudget: 16 });
    const owners = (n: number, from: number): RecordOp[] => Array.from({ length: n }, (_, i) => ({ op: 'create', name: `c${from + i}.a.test`, type: 'CNAME', value: `missing${from + i}.a.test.` }));
    run({ kind: 'changeRecords', zone: 'a.test', ops: owners(2, 0) });
    index.sync(ledger.state);
    run({ kind: 'updateZone', zone: 'a.test', soa: { primary_ns: 'ns2.a.test' } });
    assert.equal(index.sync(ledger.state), 'diffed', 'two chain ends are taken again in the sync');
    run({ kind: 'changeRecords', zone: 'a.test', ops: owners(1, 2) });
    assert.equal(index.sync(ledger.state), 'diffed');
    run({ kind: 'updateZone', zone: 'a.test', soa: { admin_email: 'dns@a.test' } });
    assert.notEqual(index.sync(ledger.state), 'diffed', 'three are a rebuild');
    while (!index.isCurrent(ledger.state)) index.sync(ledger.state);
    assert.deepEqual([...index.entries()].sort(), freshEntries(ledger.state));
    for (let i = 0; i < 3; i++) {
      const raw = query(`c${i}.a.test.`, 1, rng(i), true);
      const q = readQuery(raw) as ParsedQuery;
      const fromIndex = index.answer(ledger.state, q, raw, 1232);
      assert.ok(fromIndex, `c${i}: NXDOMAIN after the chain, from the index`);
      assert.deepEqual(fromIndex, encodeMessage(answerQuery(ledger.state, q).message, 1232).bytes);
    }
  } finally {
    t.cleanup();
  }
});
