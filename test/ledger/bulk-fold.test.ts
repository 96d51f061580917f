/**
 * evolveAll folds a long run of record creations into a zone without records (an import of a new
 * zone) in bulk: the zone's records map built at once. The state must be the one the event-by-event
 * fold gives: same checkpoint bytes, same records in the same order, same answers to later events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_STATE, evolve, evolveAll, labelsBelow, labelsBelowZone, type Applicable, type LedgerState } from '../../src/projections/state.ts';
import { serializeState } from '../../src/projections/checkpoint.ts';
import { allRecords, type TrieNode } from '../../src/projections/trie.ts';
import type { EventBody } from '../../src/events/types.ts';
import { assertSameCheckpoint, hasDrafts } from '../helpers/checkpoint-bytes.ts';
import { rng } from '../helpers/rng.ts';

const ZONE = 'example.org.';
const soa = { primary_ns: 'ns1.example.org.', admin_email: 'h.example.org.', ttl: 300, refresh: 1, retry: 1, expire: 1, minimum: 1 };

function events(bodies: EventBody[], zone = ZONE, from = 1): Applicable[] {
  return bodies.map((body, i) => ({ seq: from + i, zone, body }));
}

function creates(n: number, idOf: (i: number) => string = (i) => `id${i}`): EventBody[] {
  const out: EventBody[] = [];
  for (let i = 0; i < n; i++) {
    const name = i % 7 === 0 ? ZONE : i % 17 === 0 ? `b${i % 3}.${ZONE}` : i % 5 === 0 ? `a${i % 13}.b${i % 3}.${ZONE}` : i % 11 === 0 ? `*.w${i % 4}.${ZONE}` : `h${i >> 1}.${ZONE}`;
    const type = i % 3 === 0 ? 'AAAA' : 'A';
    const value = type === 'A' ? `10.0.${(i >> 8) & 255}.${i & 255}` : `2001:db8::${i.toString(16)}`;
    out.push({ type: 'RecordCreated', payload: { id: idOf(i), name, type, value, ttl: 300 } });
  }
  return out;
}

function oneByOne(state: LedgerState, list: Applicable[]): LedgerState {
  let s = state;
  for (const e of list) s = evolve(s, e);
  return s;
}

/** Every node of a trie: its name, its RRsets in order with their records' ids, its children in order. */
function shape(node: TrieNode): unknown {
  return [node.name, [...node.rrsets.values()].map((x) => [x.type, x.records.map((r) => r.id)]), [...node.children.entries()].map(([label, child]) => [label, shape(child)])];
}

/** `a` (bulk) against `b` (one by one); before anything else reads `a`'s trie (see assertSameCheckpoint). */
function assertSame(a: LedgerState, b: LedgerState): void {
  assertSameCheckpoint(a, b);
  assert.equal(a.seq, b.seq);
  assert.deepEqual(a.heads.get(ZONE), b.heads.get(ZONE));
  const za = a.zones.get(ZONE)!;
  const zb = b.zones.get(ZONE)!;
  assert.deepEqual([...za.records.entries()], [...zb.records.entries()]);
  assert.deepEqual([...allRecords(za.tree)], [...allRecords(zb.tree)]);
  assert.deepEqual(shape(za.tree), shape(zb.tree));
}

test('a bulk-folded import equals the event-by-event fold, and later updates and deletes apply alike', () => {
  const list = events([{ type: 'ZoneCreated', payload: soa }, ...creates(3000), { type: 'SerialBumped', payload: { serial: 7 } }]);
  const bulk = evolveAll(EMPTY_STATE, list);
  const single = oneByOne(EMPTY_STATE, list);
  // The records-by-id map is built when first read (the offline import never reads it), and its
  // count is known before (the checkpoint's header).
  const records = bulk.zones.get(ZONE)!.records;
  assert.equal(records.built, false);
  assert.equal(records.size, single.zones.get(ZONE)!.records.size);
  // So are the nodes below the apex (node-drafts.ts); the checkpoint is written from their drafts.
  const children = bulk.zones.get(ZONE)!.tree.children;
  assert.equal(children.built, false);
  assert.equal(children.size, single.zones.get(ZONE)!.tree.children.size);
  serializeState(bulk, 'h');
  assert.equal(children.built, false, 'written from the drafts');
  assertSame(bulk, single);
  assert.equal(children.built, true);
  assert.equal(records.built, true);
  const later = events(
    [
      { type: 'RecordUpdated', payload: { id: 'id4', name: `h2.${ZONE}`, type: 'A', value: '192.0.2.4', ttl: 60 } },
      { type: 'RecordDeleted', payload: { id: 'id8', name: `h4.${ZONE}`, type: 'A' } },
      ...creates(20, (i) => `new${i}`),
    ],
    ZONE,
    list.length + 1,
  );
  assertSame(evolveAll(bulk, later), oneByOne(single, later));
  // A second long run into the same zone (records no longer empty) takes the ordinary path.
  const more = events(creates(1500, (i) => `more${i}`), ZONE, list.length + later.length + 1);
  assertSame(evolveAll(bulk, [...later, ...more]), oneByOne(single, [...later, ...more]));
});

test('a run that repeats an id is folded one by one (the later creation replaces the earlier, as evolve does)', () => {
  const list = events([{ type: 'ZoneCreated', payload: soa }, ...creates(2000, (i) => (i === 1500 ? 'id10' : `id${i}`))]);
  assertSame(evolveAll(EMPTY_STATE, list), oneByOne(EMPTY_STATE, list));
});

test('a zone emptied earlier in the same fold, then bulk-filled: same state', () => {
  const list = events([{ type: 'ZoneCreated', payload: soa }, ...creates(30), ...Array.from({ length: 30 }, (_, i): EventBody => ({ type: 'RecordDeleted', payload: { id: `id${i}`, name: '', type: 'A' } })), ...creates(1200, (i) => `b${i}`)]);
  assertSame(evolveAll(EMPTY_STATE, list), oneByOne(EMPTY_STATE, list));
});

test('labelsBelowZone (the bulk fold\'s shortcut for names one label below the apex) gives labelsBelow\'s labels for every name', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const pieces = ['h1', 'www', 'a', 'B2', 'x\\.y', 'a\\\\', '*', '_srv', 'xn--bcher-kva', 'bench', 'test', 'Bench', 'org', '\\046'];
  const zones = ['example.org.', 'bench.test.', 'test.', 'a.b.c.d.', '.', 'BENCH.test.'];
  for (const apex of zones) {
    const zone = { name: apex, apexLabels: labelsBelow(apex, 0).length };
    for (let i = 0; i < 400; i++) {
      const labels = Array.from({ length: rand(4) }, () => pieces[rand(pieces.length)]);
      const name = labels.length === 0 ? apex : apex === '.' ? `${labels.join('.')}.` : `${labels.join('.')}.${apex}`;
      assert.deepEqual(labelsBelowZone(name, zone), labelsBelow(name, zone.apexLabels), `${name} in ${apex}`);
    }
  }
});

test('escaped, upper-case and deep names: the bulk fold equals the event-by-event fold', () => {
  const names = ['a\\.b', 'x\\\\', 'UP', 'up', 'p.q.r', 'h1', 'h1', 'q.r', '\\046dot', 'z'];
  const bodies: EventBody[] = [];
  for (let i = 0; i < 1200; i++) {
    const label = names[i % names.length] + (i % 3 === 0 ? '' : String(i % 50));
    bodies.push({ type: 'RecordCreated', payload: { id: `e${String(i).padStart(5, '0')}`, name: `${label}.${ZONE}`, type: 'A', value: `10.1.${(i >> 8) & 255}.${i & 255}`, ttl: 60 } });
  }
  const list = events([{ type: 'ZoneCreated', payload: soa }, ...bodies]);
  assertSame(evolveAll(EMPTY_STATE, list), oneByOne(EMPTY_STATE, list));
});

test('random zones (sizes, depths, types, escaped and repeated names, later edits): the bulk fold, its checkpoint from drafts and the event-by-event fold agree', () => {
  const pieces = ['h', 'www', 'a', 'B', 'x\\.y', '*', '_tcp', 'xn--bcher-kva', 'mail', 'UP', '\\046', 'ns'];
  const types = ['A', 'AAAA', 'TXT', 'MX', 'CNAME', 'NS', 'SRV', 'CAA'] as const;
  for (let seed = 1; seed <= 24; seed++) {
    const rand = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const size = 1000 + Math.floor(rand() * (seed % 4 === 0 ? 6000 : 1500));
    const maxDepth = 1 + (seed % 4);
    // Names drawn from a pool smaller than the run, so that many repeat, adjacent or not.
    const pool = Array.from({ length: Math.max(1, Math.floor(size * (0.2 + rand() * 0.8))) }, (_, i) => {
      const depth = rand() < 0.05 ? 0 : 1 + Math.floor(rand() * maxDepth);
      const labels = Array.from({ length: depth }, (_, d) => (d === 0 ? `${pick(pieces)}${i}` : pick(pieces)));
      return labels.length === 0 ? ZONE : `${labels.join('.')}.${ZONE}`;
    });
    const bodies: EventBody[] = [];
    for (let i = 0; i < size; i++) {
      const name = rand() < 0.6 && i > 0 ? pool[i % pool.length] : pick(pool);
      const type = pick(types);
      bodies.push({ type: 'RecordCreated', payload: { id: `r${seed}-${String(i).padStart(6, '0')}`, name, type, value: `${type} value ${i % 97}`, ttl: 60 + (i % 5) } });
    }
    const tail: EventBody[] = seed % 3 === 0 ? [{ type: 'SerialBumped', payload: { serial: 1000 + seed } }] : [];
    const list = events([{ type: 'ZoneCreated', payload: soa }, ...bodies, ...tail]);
    const bulk = evolveAll(EMPTY_STATE, list);
    const single = oneByOne(EMPTY_STATE, list);
    assert.ok(hasDrafts(bulk), `seed ${seed}: folded in bulk`);
    assertSame(bulk, single);
    // Edits after the run (the first one builds the nodes from the drafts) apply alike.
    const later = events(
      [
        { type: 'RecordDeleted', payload: { id: `r${seed}-000003`, name: '', type: 'A' } },
        { type: 'RecordCreated', payload: { id: 'late', name: `late.${pool[0]}`, type: 'A', value: '192.0.2.1', ttl: 60 } },
      ],
      ZONE,
      list.length + 1,
    );
    assertSame(evolveAll(bulk, later), oneByOne(single, later));
  }
});
