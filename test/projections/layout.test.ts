/**
 * The projection's compact per-name layout (issue 17 memory): a node is the map of its own RRsets
 * (no list object per node), an RRset is its own records array (no {type, records} object beside
 * it), an owner's records share its name string, and what a checkpoint load builds costs a bounded
 * number of bytes per record. Behaviour stays the Map/RRset contract: identity of unchanged RRsets
 * across versions, type order, derived arrays plain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { EMPTY_STATE, evolve, evolveAll, type Applicable, type LedgerState } from '../../src/projections/state.ts';
import { deserializeState, serializeState } from '../../src/projections/checkpoint.ts';
import { addRecord, emptyNode, findNode, makeNode, removeRecord, replaceRecord, rrsetOf, setApexRRset, type RecordState } from '../../src/projections/trie.ts';
import { PMap } from '../../src/projections/pmap.ts';
import type { EventBody } from '../../src/events/types.ts';
import { collector } from '../helpers/gc.ts';

const ZONE = 'example.net.';
const soa = { primary_ns: 'ns1.example.net.', admin_email: 'h.example.net.', ttl: 300, refresh: 1, retry: 1, expire: 1, minimum: 1 };

const rec = (id: string, name: string, type: RecordState['type'], value: string): RecordState => ({ id, name, type, ttl: 300, value });

test('a node is the map of its RRsets, and an RRset is its own records array', () => {
  let t = emptyNode(ZONE);
  t = addRecord(t, ['www'], rec('1', `www.${ZONE}`, 'A', '192.0.2.1'));
  const node = findNode(t, ['www'])!;
  assert.equal(node.rrsets, node, 'no RRset list object per node');
  const set = node.rrsets.get('A')!;
  assert.equal(set.records, set, 'no {type, records} object beside the array');
  assert.equal(set.type, 'A');
  assert.ok(Array.isArray(set.records));
  assert.deepEqual(set.records.map((r) => r.value), ['192.0.2.1']);
  assert.equal(Object.getPrototypeOf(set.records.map((r) => r)), Array.prototype, 'derived arrays are plain arrays');
  assert.equal(Object.getPrototypeOf(set.records.filter(() => true)), Array.prototype);
  assert.equal(Object.getPrototypeOf(set.records.slice()), Array.prototype);
  // A checkpoint-built node is the same layout.
  const built = makeNode(`x.${ZONE}`, [{ type: 'A', records: [rec('2', `x.${ZONE}`, 'A', '192.0.2.2')] }], PMap.empty());
  assert.equal(built.rrsets, built);
  assert.equal(built.rrsets.get('A')!.records, built.rrsets.get('A'));
});

test('a node of two RRsets holds both in fields of its own, with no array for them', () => {
  const plainArrays = (o: object): number => Object.values(o).filter((v) => Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype).length;
  const a = rec('1', `h.${ZONE}`, 'A', '192.0.2.1');
  const aaaa = rec('2', `h.${ZONE}`, 'AAAA', '2001:db8::1');
  const built = makeNode(`h.${ZONE}`, [{ type: 'A', records: [a] }, { type: 'AAAA', records: [aaaa] }], PMap.empty());
  assert.deepEqual([...built.rrsets.keys()], ['A', 'AAAA']);
  assert.equal(plainArrays(built), 0);
  let t = emptyNode(ZONE);
  t = addRecord(t, ['h'], a);
  t = addRecord(t, ['h'], aaaa);
  const written = findNode(t, ['h'])!;
  assert.deepEqual([...written.rrsets.keys()], ['A', 'AAAA']);
  assert.equal(plainArrays(written), 0);
  t = addRecord(t, ['h'], rec('3', `h.${ZONE}`, 'TXT', '"x"'));
  assert.deepEqual([...findNode(t, ['h'])!.rrsets.keys()], ['A', 'AAAA', 'TXT'], 'three and more: the rest in one array');
  const three = makeNode(`h.${ZONE}`, [...findNode(t, ['h'])!.rrsets.values()], PMap.empty());
  assert.deepEqual([...three.rrsets.values()], [...findNode(t, ['h'])!.rrsets.values()]);
  assert.equal(three.rrsets.size, 3);
  for (const node of [built, written, three, findNode(t, ['h'])!]) {
    const seen: string[] = [];
    node.rrsets.forEach((v, k, m) => seen.push(`${k}:${v.type}:${m === node.rrsets}`));
    assert.deepEqual(seen, [...node.rrsets.values()].map((v) => `${v.type}:${v.type}:true`), 'forEach walks the RRsets in order');
  }
});

test('RRsets keep their identity across versions when they do not change, and their order of first appearance', () => {
  let t = emptyNode(ZONE);
  t = addRecord(t, ['h'], rec('1', `h.${ZONE}`, 'A', '192.0.2.1'));
  const a = findNode(t, ['h'])!.rrsets.get('A')!;
  t = addRecord(t, ['h'], rec('2', `h.${ZONE}`, 'AAAA', '2001:db8::1'));
  t = addRecord(t, ['h'], rec('3', `h.${ZONE}`, 'TXT', '"x"'));
  t = addRecord(t, ['other'], rec('4', `other.${ZONE}`, 'A', '192.0.2.4'));
  let h = findNode(t, ['h'])!;
  assert.equal(h.rrsets.get('A'), a, 'an RRset no write touched is the same object');
  assert.deepEqual([...h.rrsets.keys()], ['A', 'AAAA', 'TXT']);
  assert.equal(h.rrsets.size, 3);
  const aaaa = h.rrsets.get('AAAA')!;
  t = removeRecord(t, ['h'], 'A', '1');
  h = findNode(t, ['h'])!;
  assert.deepEqual([...h.rrsets.keys()], ['AAAA', 'TXT'], 'removing the first type keeps the others in order');
  assert.equal(h.rrsets.get('AAAA'), aaaa);
  assert.equal(h.rrsets.has('A'), false);
  t = removeRecord(t, ['h'], 'TXT', '3');
  h = findNode(t, ['h'])!;
  assert.deepEqual([...h.rrsets.entries()].map(([k, v]) => [k, v.records.length]), [['AAAA', 1]]);
  t = replaceRecord(t, ['h'], rec('2', `h.${ZONE}`, 'AAAA', '2001:db8::2'));
  h = findNode(t, ['h'])!;
  assert.notEqual(h.rrsets.get('AAAA'), aaaa, 'a changed RRset is a new object');
  assert.deepEqual(h.rrsets.get('AAAA')!.records.map((r) => r.value), ['2001:db8::2']);
  assert.deepEqual(aaaa.records.map((r) => r.value), ['2001:db8::1'], 'the old version is untouched');
  t = removeRecord(t, ['h'], 'AAAA', '2');
  assert.equal(findNode(t, ['h']), undefined, 'a node left empty is pruned');
  const forEach: string[] = [];
  findNode(t, [])!.rrsets.forEach((v, k, m) => forEach.push(`${k}:${v.type}:${m.size}`));
  assert.deepEqual(forEach, []);
});

test('the apex SOA is held as a trie RRset; an RRset without records is refused', () => {
  const t = setApexRRset(emptyNode(ZONE), { type: 'SOA', records: [rec('soa', ZONE, 'SOA', 'a. b. 1 2 3 4 5')] });
  const set = t.rrsets.get('SOA')!;
  assert.equal(set.records, set);
  const given = rrsetOf([rec('soa', ZONE, 'SOA', 'a. b. 2 2 3 4 5')]);
  assert.equal(setApexRRset(t, given).rrsets.get('SOA'), given, 'a trie RRset is kept as itself');
  assert.throws(() => setApexRRset(t, { type: 'SOA', records: [] }), /at least one record/);
});

/** Whether two values are one heap object (strings of equal text may not be): V8's own test hook. */
function sameHeapObject(a: unknown, b: unknown): boolean {
  v8.setFlagsFromString('--allow-natives-syntax');
  return (new Function('a', 'b', 'return %IsSameHeapObject(a, b)') as (a: unknown, b: unknown) => boolean)(a, b);
}

test("an owner's records share its name string after live writes and the bulk fold (equal text either way)", () => {
  const bodies: EventBody[] = [{ type: 'ZoneCreated', payload: soa }];
  for (let i = 0; i < 1200; i++) bodies.push({ type: 'RecordCreated', payload: { id: `a${i}`, name: `h${i}.${ZONE}`, type: 'A', value: '192.0.2.1', ttl: 300 } });
  // A second type at each name, its name a string of its own (as a parsed event's is).
  for (let i = 0; i < 1200; i++) bodies.push({ type: 'RecordCreated', payload: { id: `b${i}`, name: ['h', i, '.', ZONE].join(''), type: 'AAAA', value: '2001:db8::1', ttl: 300 } });
  const list: Applicable[] = bodies.map((body, i) => ({ seq: i + 1, zone: ZONE, body }));
  let single: LedgerState = EMPTY_STATE;
  for (const e of list) single = evolve(single, e);
  const bulk = evolveAll(EMPTY_STATE, list);
  for (const s of [single, bulk]) {
    const z = s.zones.get(ZONE)!;
    const node = findNode(z.tree, ['h7'])!;
    assert.equal(node.rrsets.get('AAAA')!.records[0], z.records.get('b7'), 'the trie and the id map hold one record object');
    assert.equal(node.rrsets.get('AAAA')!.records[0].name, node.name);
    assert.ok(sameHeapObject(node.rrsets.get('AAAA')!.records[0].name, node.name), 'one name string per owner');
    assert.ok(sameHeapObject(node.rrsets.get('A')!.records[0].name, node.name));
  }
  assert.ok(serializeState(single, 'h').equals(serializeState(bulk, 'h')));
  // A bulk run into a zone that has names already (record by record), and an update in place.
  const more: Applicable[] = [];
  for (let i = 0; i < 1200; i++) more.push({ seq: list.length + 1 + i, zone: ZONE, body: { type: 'RecordCreated', payload: { id: `c${i}`, name: ['h', i, '.', ZONE].join(''), type: 'TXT', value: '"t"', ttl: 300 } } });
  more.push({ seq: list.length + 1201, zone: ZONE, body: { type: 'RecordUpdated', payload: { id: 'b7', name: ['h', 7, '.', ZONE].join(''), type: 'AAAA', value: '2001:db8::7', ttl: 60 } } });
  const after = evolveAll(single, more).zones.get(ZONE)!;
  const h7 = findNode(after.tree, ['h7'])!;
  assert.ok(sameHeapObject(h7.rrsets.get('TXT')!.records[0].name, h7.name));
  assert.ok(sameHeapObject(after.records.get('b7')!.name, h7.name));
  assert.equal(after.records.get('b7')!.value, '2001:db8::7');
});

/** Heap bytes per record that a checkpoint load of `state` holds (its records-by-id map unbuilt). */
function heapPerRecord(state: LedgerState): number {
  const gc = collector();
  const blob = serializeState(state, 'h');
  gc();
  const before = process.memoryUsage().heapUsed;
  const loaded = deserializeState(blob)!;
  gc();
  const held = process.memoryUsage().heapUsed - before;
  let records = 0;
  for (const z of loaded.zones.values()) records += z.records.size;
  assert.equal(records, 60_000);
  return held / records;
}

test("a checkpoint load holds under 315 heap bytes a record (390 with an RRset list per node and an object per RRset, 322 with an array for a node's two RRsets)", () => {
  // 40,000 names with an A record, a third of them with an AAAA too: the realistic zone's mix of
  // one and two RRsets a name, 16-character ids.
  const bodies: EventBody[] = [{ type: 'ZoneCreated', payload: soa }];
  let id = 0;
  const nextId = (): string => (0x1000000000000000 + id++ * 7919).toString(16);
  for (let i = 0; i < 40_000; i++) {
    const name = `host-${i.toString(36)}.${ZONE}`;
    bodies.push({ type: 'RecordCreated', payload: { id: nextId(), name, type: 'A', value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, ttl: 300 } });
    if (i % 2 === 0) bodies.push({ type: 'RecordCreated', payload: { id: nextId(), name, type: 'AAAA', value: `2001:db8::${i.toString(16)}`, ttl: 300 } });
  }
  const state = evolveAll(EMPTY_STATE, bodies.map((body, i) => ({ seq: i + 1, zone: ZONE, body })));
  const perRecord = heapPerRecord(state);
  assert.ok(perRecord < 315, `${perRecord.toFixed(0)} heap bytes a record`);
});

test('checkpoint strings: ASCII written byte by byte, anything else through UTF-8, every length around the one-byte varint: the same records back', () => {
  // Lengths 1..130 (the shortcut covers under 128 code units), ASCII and not (é: 2 bytes; a
  // surrogate pair: 4), ids of every such length (ids are ASCII: the log draws them in hex), and
  // labels with bytes above 0x7f (Latin-1, as names are).
  const values: string[] = [];
  for (let n = 1; n <= 130; n++) {
    values.push(`"${'a'.repeat(n)}"`, `"${'é'.repeat(Math.max(1, n >> 1))}x"`, `"${'x'.repeat(n)}\u{1F600}"`, `"${'\u007f'.repeat(n)}"`);
  }
  const labels = ['plain', 'caf\u00e9', 'x\\.y', 'ÿ', 'a'.repeat(63)];
  const list: Applicable[] = [{ seq: 1, zone: ZONE, body: { type: 'ZoneCreated', payload: soa } as EventBody }];
  values.forEach((value, i) => {
    const name = `${labels[i % labels.length]}${i % 7}.${ZONE}`;
    list.push({ seq: list.length + 1, zone: ZONE, body: { type: 'RecordCreated', payload: { id: `id-${'z'.repeat(i % 130)}${i}`, name, type: 'TXT', value, ttl: 60 + i } } as EventBody });
  });
  const state = evolveAll(EMPTY_STATE, list);
  const blob = serializeState(state, 'h');
  const back = deserializeState(blob)!;
  const all = (s: LedgerState): string[] => [...s.zones.get(ZONE)!.records.values()].map((r) => `${r.id}|${r.name}|${r.ttl}|${r.value}`).sort();
  assert.deepEqual(all(back), all(state));
  assert.ok(serializeState(back, 'h').equals(blob), 'the same bytes again');
});
