/** The persistent map: equal to a JS Map under random edits, persistent, transients, hash collisions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PMap, hashOf } from '../../src/projections/pmap.ts';
import { rng } from '../helpers/rng.ts';
import { collector } from '../helpers/gc.ts';


/** Two distinct strings with the same 32-bit hash (birthday search), to exercise collision nodes. */
function collidingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const s = `k${i}`;
    const h = hashOf(s);
    const other = seen.get(h);
    if (other !== undefined) return [other, s];
    seen.set(h, s);
  }
}

function check(m: PMap<number>, ref: Map<string, number>): void {
  assert.equal(m.size, ref.size);
  for (const [k, v] of ref) assert.equal(m.get(k), v, k);
  assert.deepEqual(new Map(m.entries()), ref);
}

test('random sets and deletes agree with a Map, and old versions never change', () => {
  const random = rng(7);
  const [c1, c2] = collidingPair();
  const keys = [...Array.from({ length: 3000 }, (_, i) => `key${i}`), c1, c2];
  let m = PMap.empty<number>();
  const ref = new Map<string, number>();
  const snapshots: Array<[PMap<number>, Map<string, number>]> = [];
  for (let i = 0; i < 20000; i++) {
    const k = keys[Math.floor(random() * keys.length)];
    if (random() < 0.6) {
      m = m.set(k, i);
      ref.set(k, i);
    } else {
      m = m.delete(k);
      ref.delete(k);
    }
    if (i % 2000 === 0) snapshots.push([m, new Map(ref)]);
  }
  check(m, ref);
  for (const [snap, want] of snapshots) check(snap, want);
  for (const k of keys) m = m.delete(k);
  assert.equal(m.size, 0);
  assert.deepEqual([...m.entries()], []);
});

test('colliding keys live side by side and can be removed one at a time', () => {
  const [a, b] = collidingPair();
  assert.equal(hashOf(a), hashOf(b));
  let m = PMap.empty<string>().set(a, 'A').set(b, 'B');
  assert.deepEqual([m.get(a), m.get(b), m.size], ['A', 'B', 2]);
  m = m.delete(a);
  assert.deepEqual([m.get(a), m.get(b), m.size], [undefined, 'B', 1]);
});

test('a transient edits in place; the map it came from stays as it was', () => {
  const base = PMap.from(Array.from({ length: 500 }, (_, i): [string, number] => [`k${i}`, i]));
  const t = base.asMutable();
  for (let i = 0; i < 500; i += 2) assert.equal(t.delete(`k${i}`), t);
  t.set('new', 1);
  const frozen = t.asImmutable();
  assert.equal(frozen.size, 251);
  assert.equal(base.size, 500);
  assert.equal(base.get('k0'), 0);
  const after = frozen.set('other', 2);
  assert.notEqual(after, frozen);
  assert.equal(frozen.has('other'), false);
});

test('setting the same value returns the same map', () => {
  const m = PMap.empty<number>().set('a', 1);
  assert.equal(m.set('a', 1), m);
  assert.equal(m.delete('zz'), m);
});

test('diff reports exactly the keys whose values differ, skipping shared subtrees', () => {
  const random = rng(11);
  const [c1, c2] = collidingPair();
  const keys = [...Array.from({ length: 5000 }, (_, i) => `key${i}`), c1, c2];
  let base = PMap.empty<object>();
  for (let i = 0; i < 4000; i++) base = base.set(keys[Math.floor(random() * keys.length)], { i });
  for (let round = 0; round < 200; round++) {
    // A successor with a few edits (or, now and then, many), as the zone trie gets from a write.
    let next = base;
    const edits = round % 20 === 0 ? 1500 : 1 + Math.floor(random() * 6);
    for (let e = 0; e < edits; e++) {
      const k = keys[Math.floor(random() * keys.length)];
      const r = random();
      if (r < 0.45) next = next.set(k, { e });
      else if (r < 0.9) next = next.delete(k);
      else if (base.get(k) !== undefined) next = next.set(k, base.get(k) as object);
    }
    const expected = new Map<string, [object | undefined, object | undefined]>();
    for (const k of new Set([...base.keys(), ...next.keys()])) {
      const b = base.get(k);
      const a = next.get(k);
      if (b !== a) expected.set(k, [b, a]);
    }
    const got = new Map<string, [object | undefined, object | undefined]>();
    PMap.diff(base, next, (k, b, a) => {
      assert.ok(!got.has(k), `${k} reported twice`);
      got.set(k, [b, a]);
    });
    assert.deepEqual(got, expected, `round ${round}`);
    base = next;
  }
  // Identical maps: nothing.
  PMap.diff(base, base, () => assert.fail('no difference expected'));
});

test('fromArrays builds the same map, in the same shape, as a run of sets (colliding keys included)', () => {
  const [c1, c2] = collidingPair();
  const keys = [c1, c2, ...Array.from({ length: 20_000 }, (_, i) => `k${i}`)];
  const values = keys.map((k, i) => `${k}=${i}`);
  const bulk = PMap.fromArrays(keys, values);
  let inc = PMap.empty<string>();
  for (let i = 0; i < keys.length; i++) inc = inc.set(keys[i], values[i]);
  assert.equal(bulk.size, keys.length);
  for (let i = 0; i < keys.length; i++) assert.equal(bulk.get(keys[i]), values[i]);
  assert.equal(bulk.get('absent'), undefined);
  // Same shape: the diff walks node by node and finds nothing; hash order of iteration agrees.
  let differences = 0;
  PMap.diff(inc, bulk, () => differences++);
  assert.equal(differences, 0);
  assert.deepEqual([...bulk.keys()], [...inc.keys()]);
  // And it behaves like any other map afterwards.
  const edited = bulk.delete(c1).set('new', 'v');
  assert.equal(edited.get(c1), undefined);
  assert.equal(edited.get(c2), values[1]);
  assert.equal(bulk.get(c1), values[0], 'the bulk-built map is unchanged');
});

test('a map written entry by entry (persistent sets and deletes) holds no more heap than the same map built from arrays', () => {
  // splice and push on a copied node left V8's growth slack in every node a write touched (1.5
  // times the heap here, 1.00 now; the bound leaves room for GC noise): an hour of writes to a 1M-entry map grew it by tens of MB.
  const gc = collector();
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const keys: string[] = [];
  const values: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    keys.push((0x1000000000000000 + i * 7919).toString(16));
    values.push(i);
  }
  // Held through an object so that dropping it below lets the GC take it.
  const held: { map?: PMap<number> } = { map: PMap.fromArrays(keys, values) };
  for (let i = 0; i < 30_000; i++) held.map = held.map!.set((0x2000000000000000 + i * 104729).toString(16), i);
  for (let i = 0; i < 10_000; i++) held.map = held.map!.delete(keys[i * 7]);
  const entries = [...held.map!.entries()];
  const ks = entries.map(([k]) => k);
  const vs = entries.map(([, v]) => v);
  const before = heap();
  const built = PMap.fromArrays(ks, vs);
  const withBoth = heap();
  held.map = undefined;
  const builtBytes = withBoth - before;
  const writtenBytes = withBoth - heap();
  assert.equal(built.size, 120_000);
  assert.ok(writtenBytes < builtBytes * 1.15, `written ${writtenBytes} bytes, built ${builtBytes}`);
});
