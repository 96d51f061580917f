/**
 * NameTable (src/dns/name-table.ts) against a Map: entries set, replaced and deleted at random, the
 * arena growing and compacting in place (replaced entries are garbage), then trimmed; every key
 * still finds its own value and tag, and a deleted one is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey, NameTable } from '../../src/dns/name-table.ts';

/** A small deterministic PRNG (mulberry32), so a failure repeats. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function check(table: NameTable, model: Map<string, { value: Uint8Array; tag: number }>, gone: Set<string>): void {
  assert.equal(table.size, model.size);
  for (const [k, want] of model) {
    const key = enc(k);
    const off = table.find(key, 0, key.length, hashKey(key, 0, key.length));
    assert.ok(off >= 0, `${k} is found`);
    assert.equal(table.tag(off), want.tag, `${k}'s tag`);
    assert.equal(table.valueLength(off), want.value.length, `${k}'s value length`);
    const v = table.valueStart(off);
    assert.deepEqual(table.data.subarray(v, v + want.value.length), want.value, `${k}'s value`);
  }
  for (const k of gone) {
    if (model.has(k)) continue;
    const key = enc(k);
    assert.equal(table.find(key, 0, key.length, hashKey(key, 0, key.length)), -1, `${k} was deleted`);
  }
}

test('NameTable keeps every entry through replacements, deletions, compaction and trim', () => {
  const rand = rng(17);
  const table = new NameTable(16, 8);
  const model = new Map<string, { value: Uint8Array; tag: number }>();
  const gone = new Set<string>();
  const keys = Array.from({ length: 3000 }, (_, i) => `h${i}.example.`);
  for (let round = 0; round < 4; round++) {
    for (let n = 0; n < 20_000; n++) {
      const k = keys[Math.floor(rand() * keys.length)];
      if (rand() < 0.15) {
        assert.equal(table.delete(enc(k)), model.delete(k));
        gone.add(k);
      } else {
        const value = new Uint8Array(Math.floor(rand() * 200)).map(() => Math.floor(rand() * 256));
        const tag = Math.floor(rand() * 0x8000);
        assert.ok(table.set(enc(k), value, tag));
        model.set(k, { value, tag });
      }
    }
    check(table, model, gone);
    table.trim();
    check(table, model, gone);
    assert.ok(table.bytes < 2 * 3000 * 260 + 64 * 1024 + 8 * 16 * 1024, `trimmed to about its live entries (${table.bytes} bytes)`);
  }
});

test('NameTable refuses a tag above 15 bits (the top bit marks garbage)', () => {
  const table = new NameTable();
  assert.equal(table.set(enc('a.'), new Uint8Array(1), 0x8000), false);
  assert.equal(table.set(enc('a.'), new Uint8Array(1), 0x7fff), true);
});

test('NameTable.setFrom stores the first bytes of larger buffers, as set stores views of them; it refuses lengths past the buffers', () => {
  const viaSet = new NameTable(4);
  const viaFrom = new NameTable(4);
  const keyBuf = new Uint8Array(255).fill(0x61);
  const valueBuf = new Uint8Array(4096).fill(7);
  for (let i = 0; i < 300; i++) {
    const keyLength = 1 + (i % 40);
    const valueLength = (i * 37) % 600;
    // Distinct lowercase keys (keys are stored lowercased: find folds the question's letters).
    keyBuf[0] = i & 0x3f;
    keyBuf[1] = 0x61 + (i >> 6);
    valueBuf[0] = i & 0xff;
    assert.equal(viaSet.set(keyBuf.slice(0, keyLength), valueBuf.slice(0, valueLength), i & 0x7fff), true);
    assert.equal(viaFrom.setFrom(keyBuf, keyLength, valueBuf, valueLength, i & 0x7fff), true);
  }
  assert.equal(viaFrom.size, viaSet.size);
  for (const key of viaSet.keys()) {
    const a = viaSet.find(key, 0, key.length, hashKey(key, 0, key.length));
    const b = viaFrom.find(key, 0, key.length, hashKey(key, 0, key.length));
    assert.ok(a >= 0 && b >= 0);
    assert.equal(viaFrom.tag(b), viaSet.tag(a));
    assert.deepEqual(viaFrom.data.slice(viaFrom.valueStart(b), viaFrom.valueStart(b) + viaFrom.valueLength(b)), viaSet.data.slice(viaSet.valueStart(a), viaSet.valueStart(a) + viaSet.valueLength(a)));
  }
  assert.equal(viaFrom.setFrom(keyBuf, 10, valueBuf, 5000, 1), false, 'a value length past its buffer');
  assert.equal(viaFrom.setFrom(keyBuf.subarray(0, 4), 5, valueBuf, 1, 1), false, 'a key length past its buffer');
});

test('NameTable.tidy compacts once an eighth of the used arena is garbage, so replacements do not climb the arena', () => {
  const table = new NameTable(4096, 64);
  const model = new Map<string, { value: Uint8Array; tag: number }>();
  const keys = Array.from({ length: 4000 }, (_, i) => `h${i}.tidy.`);
  const value = (i: number, n: number): Uint8Array => new Uint8Array(n).fill(i & 0xff);
  for (let i = 0; i < keys.length; i++) {
    table.set(enc(keys[i]), value(i, 100), 1);
    model.set(keys[i], { value: value(i, 100), tag: 1 });
  }
  table.trim();
  const live = table.imageParts().arena.length;
  assert.equal(table.tidy(), false, 'no garbage: nothing to do');
  // Writes that replace one big entry each (as a serial bump re-encodes the apex's answers) and add
  // a name now and then, tidied after each, as the serving index does after each diff.
  let highest = 0;
  let compactions = 0;
  for (let w = 0; w < 20_000; w++) {
    const apex = value(w, 780);
    table.set(enc('tidy.'), apex, 2);
    model.set('tidy.', { value: apex, tag: 2 });
    if (w % 50 === 0) {
      const k = `new${w}.tidy.`;
      table.set(enc(k), value(w, 100), 3);
      model.set(k, { value: value(w, 100), tag: 3 });
    }
    if (table.tidy()) compactions++;
    highest = Math.max(highest, table.imageParts().arena.length);
  }
  check(table, model, new Set());
  const liveAfter = live + 400 * (5 + 100 + 12) + 780;
  assert.ok(compactions > 10, `compacted as it went (${compactions} times)`);
  assert.ok(highest < (liveAfter * 8) / 7 + 256 * 1024 + 1024, `the used arena stayed near its live bytes (${highest} at most, ${liveAfter} live)`);
  assert.ok(table.imageParts().garbage * 8 < table.imageParts().arena.length || table.imageParts().garbage < 256 * 1024, 'less garbage than an eighth, or too little to be worth a walk');
});

test('NameTable grows its slots to twice when its entries pass half of them (four times made a 1M-name index 64 MiB of slots)', () => {
  const table = new NameTable(16, 16);
  for (let i = 0; i < 1000; i++) table.set(enc(`g${i}.`), new Uint8Array(4), 1);
  table.trim();
  const trimmed = table.slotCount;
  assert.ok(trimmed >= 2 * table.size && trimmed <= 4 * table.size, `trimmed to 2-4 slots an entry (${trimmed} for ${table.size})`);
  // Past half: one growth, to twice the slots.
  let i = 1000;
  while (table.slotCount === trimmed) table.set(enc(`g${i++}.`), new Uint8Array(4), 1);
  assert.equal(table.slotCount, 2 * trimmed, `grew to twice (${table.slotCount} from ${trimmed}) at ${table.size} entries`);
  for (let k = 0; k < i; k++) {
    const key = enc(`g${k}.`);
    assert.ok(table.find(key, 0, key.length, hashKey(key, 0, key.length)) >= 0, `g${k}. is found`);
  }
});
