/**
 * Large RRsets: hundreds of A and AAAA records at one name, a TXT RRset of several KB, many MX with
 * additional data, a wildcard with many records. Over UDP an answer that does not fit the client's
 * payload size is truncated (TC, no partial RRset: RFC 2181 9), and over TCP it comes whole (RFC
 * 7766), whichever path answers it. A property test then drives the serving index with RRset sizes
 * from one record to the 64 KiB message limit and compares every answer it gives with the general
 * path (answerQuery + encodeMessage), byte for byte.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MAX_MESSAGE_BYTES, rrsetResponseLength } from '../../src/records/wire-size.ts';
import { answerQuery } from '../../src/dns/answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import type { RecordOp } from '../../src/projections/decide.ts';
import type { LedgerState } from '../../src/projections/state.ts';
import { testLedger } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';
import { ask, buildQuery, type Ask } from './helpers.ts';

const ZONE = 'large.test';
const soa = { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster@${ZONE}` };

/** The i-th distinct IPv4 / IPv6 address. */
const v4 = (i: number): string => `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;
const v6 = (i: number): string => `2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;

const many = (n: number, f: (i: number) => RecordOp): RecordOp[] => Array.from({ length: n }, (_, i) => f(i));

/** The conformance zone: every kind of large RRset the issue names. */
function largeZoneOps(): RecordOp[] {
  return [
    ...many(300, (i) => ({ op: 'create', name: `a300.${ZONE}`, type: 'A', value: v4(i + 1) })),
    ...many(200, (i) => ({ op: 'create', name: `aaaa200.${ZONE}`, type: 'AAAA', value: v6(i + 1) })),
    // 40 strings of 200 bytes: about 8 KB of TXT.
    ...many(40, (i) => ({ op: 'create', name: `txt.${ZONE}`, type: 'TXT', value: `"${String(i).padStart(3, '0')}${'t'.repeat(197)}"` })),
    // 60 MX, each target with an A and an AAAA in the zone (additional-section processing).
    ...many(60, (i) => ({ op: 'create', name: `mx.${ZONE}`, type: 'MX', value: `${i + 1} mail${i}.${ZONE}.` })),
    ...many(60, (i) => ({ op: 'create', name: `mail${i}.${ZONE}`, type: 'A', value: v4(10_000 + i) })),
    ...many(60, (i) => ({ op: 'create', name: `mail${i}.${ZONE}`, type: 'AAAA', value: v6(10_000 + i) })),
    // A wildcard with 150 records: synthesized answers are as large as the RRset.
    ...many(150, (i) => ({ op: 'create', name: `*.wild.${ZONE}`, type: 'A', value: v4(20_000 + i) })),
  ];
}

let server: DnsServer;
let port: number;
let cleanup: () => void;

before(async () => {
  const t = testLedger();
  t.ledger.execute({ kind: 'createZone', zone: ZONE, soa }, { actor: 'test' });
  t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: largeZoneOps() }, { actor: 'test' });
  server = await startDns({ ledger: t.ledger, listen: ['127.0.0.1:0'] });
  // Answers must be right from the serving index, so wait until it serves.
  await server.indexed();
  port = server.addresses[0].udp.port;
  cleanup = t.cleanup;
});
after(async () => {
  await server.close();
  cleanup();
});

interface LargeCase {
  name: string;
  type: number;
  /** Records in the whole answer section (over TCP, or over UDP when it fits). */
  count: number;
  /** Records in the additional section over TCP. */
  additional?: number;
}

const LARGE: LargeCase[] = [
  { name: `a300.${ZONE}.`, type: 1, count: 300 },
  { name: `aaaa200.${ZONE}.`, type: 28, count: 200 },
  { name: `txt.${ZONE}.`, type: 16, count: 40 },
  { name: `mx.${ZONE}.`, type: 15, count: 60, additional: 120 },
  { name: `anything.wild.${ZONE}.`, type: 1, count: 150 },
];

/** UDP payload sizes asked with; undefined is a query without EDNS (512 bytes). */
const PAYLOADS: Array<number | undefined> = [undefined, 512, 1232, 4096];

for (const c of LARGE) {
  for (const size of PAYLOADS) {
    test(`${c.name} type ${c.type}, UDP ${size === undefined ? 'without EDNS' : `EDNS ${size}`}: TC and no partial RRset`, async () => {
      const q: Ask = { name: c.name, type: c.type, edns: size === undefined ? undefined : { size } };
      const r = await ask(port, q, 'udp');
      assert.equal(r.rcode, 'NOERROR');
      // None of these RRsets fits 1232 bytes (our largest UDP answer), so every UDP answer is TC.
      assert.deepEqual(r.flags, ['qr', 'aa', 'tc']);
      assert.equal(r.answer.length, 0, 'a truncated answer carries no partial RRset');
      if (size !== undefined) assert.equal(r.opt?.size, 1232);
    });
  }
  for (const size of PAYLOADS) {
    test(`${c.name} type ${c.type}, TCP ${size === undefined ? 'without EDNS' : `EDNS ${size}`}: the whole RRset`, async () => {
      const r = await ask(port, { name: c.name, type: c.type, edns: size === undefined ? undefined : { size } }, 'tcp');
      assert.equal(r.rcode, 'NOERROR');
      assert.deepEqual(r.flags, ['qr', 'aa']);
      assert.equal(r.answer.length, c.count);
      assert.equal(new Set(r.answer).size, c.count, 'every record once');
      assert.equal(r.additional.length, c.additional ?? 0);
    });
  }
}

test('a name with a large RRset answers NODATA for a type it lacks, over UDP and TCP', async () => {
  for (const transport of ['udp', 'tcp'] as const) {
    const r = await ask(port, { name: `a300.${ZONE}.`, type: 16, edns: { size: 1232 } }, transport);
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.answer.length, 0);
    assert.equal(r.authority.length, 1);
    assert.match(r.authority[0], / SOA /);
  }
});

/** A wire query as a client spells it (random letter case), with EDNS payload `edns` or none. */
function wireQuery(name: string, qtype: number, edns: number | undefined, random: () => number): Buffer {
  const spelled = [...name].map((ch) => (random() < 0.5 ? ch.toUpperCase() : ch)).join('');
  return buildQuery({ name: spelled, type: qtype, edns: edns === undefined ? undefined : { size: edns, do: random() < 0.5 } });
}

/** Largest A and AAAA counts whose answer still fits a 64 KiB TCP message for a name of this length. */
function maxCount(questionEnd: number, rrBytes: number): number {
  return Math.floor((65535 - questionEnd - 11) / rrBytes);
}

test('property: the serving index equals the general path for RRsets from 1 record to the 64 KiB message limit', () => {
  const random = rng(20261202);
  const t = testLedger();
  try {
    const { ledger } = t;
    ledger.execute({ kind: 'createZone', zone: ZONE, soa }, { actor: 'test' });
    // Question of "nNNNNN.large.test." with the header: 12 + 19 + 4 bytes.
    const questionEnd = 12 + 19 + 4;
    const maxA = maxCount(questionEnd, 16);
    const maxAAAA = maxCount(questionEnd, 28);
    // Sizes around every boundary that matters (the old 4 KiB scratch buffer, 512/1232/4096 bytes,
    // the 64 KiB entry and message limits) and random ones between.
    const sizes = new Set<number>([1, 2, 30, 31, 32, 76, 77, 255, 256, 257, 300, 1000, maxA - 1, maxA]);
    while (sizes.size < 30) sizes.add(1 + Math.floor(random() ** 2 * maxA));
    let next = 1;
    const names: string[] = [];
    /**
     * The largest RRset of `type` the ledger takes at `name` (an RRset that could not be served in
     * one message is refused at write time: records/wire-size.ts holds that rule).
     */
    const largest = (name: string, rdlen: number): number => {
      let k = 1;
      while (rrsetResponseLength(name, new Array<number>(k + 1).fill(rdlen)) <= MAX_MESSAGE_BYTES) k++;
      return k;
    };
    const createAtMost = (name: string, type: 'A' | 'AAAA', n: number): number => {
      const k = Math.min(n, largest(`${name}.`, type === 'A' ? 4 : 16));
      ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: many(k, () => ({ op: 'create', name, type, value: type === 'A' ? v4(next++) : v6(next++) })) }, { actor: 'test' });
      return k;
    };
    let largestA = 0;
    for (const n of sizes) {
      const name = `n${String(n).padStart(5, '0')}.${ZONE}`;
      names.push(`${name}.`);
      largestA = Math.max(largestA, createAtMost(name, 'A', n));
      if (random() < 0.5) createAtMost(name, 'AAAA', 1 + Math.floor(random() * Math.min(maxAAAA, 400)));
      if (random() < 0.5) ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name, type: 'TXT', value: '"other type"' }] }, { actor: 'test' });
    }
    // Well past what 512, 1232 and 4096 bytes hold, up to what one message holds.
    assert.ok(largestA > 1000, `largest A RRset ${largestA}`);
    // The largest AAAA and A RRsets the ledger takes at one name: together over the 64 KiB an index
    // entry can hold, so the name must be left to the general path (never NXDOMAIN).
    const both = `both.${ZONE}`;
    names.push(`${both}.`);
    const bigAAAA = createAtMost(both, 'AAAA', maxAAAA);
    const bigA = createAtMost(both, 'A', maxA);
    assert.ok(bigAAAA * 28 + bigA * 16 > 0xffff, `both: ${bigAAAA} AAAA and ${bigA} A fit an entry`);

    const state: LedgerState = ledger.state;
    const index = new ServingIndex();
    assert.notEqual(index.sync(state), 'rebuilding');
    let compared = 0;
    let declinedToTruncate = 0;
    for (const name of names) {
      for (const qtype of [1, 28, 16, 15]) {
        for (const edns of [undefined, 512, 1232, 4096]) {
          for (const tcp of [false, true]) {
            const raw = wireQuery(name, qtype, edns, random);
            const q = readQuery(raw) as ParsedQuery;
            const limit = maxResponseSize(q, tcp);
            const fromIndex = index.answer(state, q, raw, limit);
            const general = encodeMessage(answerQuery(state, q, { tcp }).message, limit).bytes;
            const label = `${name} type ${qtype} edns ${edns ?? 'none'} ${tcp ? 'tcp' : 'udp'}`;
            if (fromIndex === undefined) {
              // The index declines only what it must: answers over the limit (the general path
              // truncates), RRsets of other types than A and AAAA (the general path's to encode), and
              // names whose answers do not fit an entry.
              const truncated = (general[2] & 0x02) !== 0;
              const otherRRset = qtype !== 1 && qtype !== 28 && general.readUInt16BE(6) > 0;
              assert.ok(truncated || otherRRset || name.startsWith('both.'), `${label}: declined an answer that fits`);
              if (truncated) declinedToTruncate++;
              continue;
            }
            assert.deepEqual(fromIndex, general, `${label}: the index and the general path differ`);
            compared++;
          }
        }
      }
    }
    assert.equal(index.failure, undefined);
    assert.ok(compared > 300, `compared ${compared}`);
    assert.ok(declinedToTruncate > 50, `declined to truncate ${declinedToTruncate}`);

    // The over-large name: not NXDOMAIN from the index, every type answered in full by the general path.
    for (const qtype of [1, 28]) {
      const raw = wireQuery(`${both}.`, qtype, 4096, random);
      const q = readQuery(raw) as ParsedQuery;
      assert.equal(index.answer(state, q, raw, 65535), undefined);
      const general = answerQuery(state, q, { tcp: true });
      assert.equal(general.result, 'success');
    }
  } finally {
    t.cleanup();
  }
});

test('property: the index stays equal to the general path while RRsets grow and shrink across sizes (diffs, not rebuilds)', () => {
  const random = rng(7);
  const t = testLedger();
  try {
    const { ledger } = t;
    ledger.execute({ kind: 'createZone', zone: ZONE, soa }, { actor: 'test' });
    ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `small.${ZONE}`, type: 'A', value: v4(1) }] }, { actor: 'test' });
    const index = new ServingIndex();
    index.sync(ledger.state);
    let next = 2;
    const names = ['grow', 'small', 'other'].map((n) => `${n}.${ZONE}`);
    for (let step = 0; step < 25; step++) {
      const name = names[Math.floor(random() * names.length)];
      const z = ledger.state.zones.get(`${ZONE}.`);
      const existing = [...(z?.records.values() ?? [])].filter((r) => r.name === `${name}.` && (r.type === 'A' || r.type === 'AAAA'));
      const ops: RecordOp[] =
        random() < 0.7 || existing.length === 0
          ? many(1 + Math.floor(random() * 200), () => (random() < 0.6 ? { op: 'create', name, type: 'A', value: v4(next++) } : { op: 'create', name, type: 'AAAA', value: v6(next++) }))
          : existing.slice(0, Math.ceil(existing.length * random())).map((r) => ({ op: 'delete', id: r.id }));
      ledger.execute({ kind: 'changeRecords', zone: ZONE, ops }, { actor: 'test' });
      const state = ledger.state;
      index.sync(state);
      for (const n of names) {
        for (const qtype of [1, 28]) {
          const raw = wireQuery(`${n}.`, qtype, 1232, random);
          const q = readQuery(raw) as ParsedQuery;
          const fromIndex = index.answer(state, q, raw, 65535);
          const general = encodeMessage(answerQuery(state, q, { tcp: true }).message, 65535).bytes;
          // Over TCP everything here fits: the index must answer, and answer exactly the same.
          assert.ok(fromIndex, `step ${step}: ${n}/${qtype} declined over TCP`);
          assert.deepEqual(fromIndex, general, `step ${step}: ${n}/${qtype}`);
        }
      }
    }
    assert.equal(index.failure, undefined);
  } finally {
    t.cleanup();
  }
});
