/**
 * StringTable (src/zonefile/string-table.ts), the reader's and decide's index of owner names:
 * random sets, gets and updates agree with a Map, in the table's own layout and after it moved
 * its entries into a Map (a probe run too long; forced here with a tiny probe limit). Half of the
 * misses are followed at once by a set of the same key (the slot the miss found is reused), the
 * others by whatever comes (a set of another key in between must make it probe again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StringTable } from '../../src/zonefile/string-table.ts';

test('StringTable agrees with a Map: gets, sets, updates, size and order, with and without its move to a Map', () => {
  let seed = 11;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  for (const maxProbe of [64, 2, 1]) {
    for (let round = 0; round < 20; round++) {
      const table = new StringTable<number>(maxProbe);
      const map = new Map<string, number>();
      const keys = Array.from({ length: 1 + Math.floor(rnd() * 3000) }, (_, i) => (rnd() < 0.5 ? `h${i}.bench.test.` : `${'x'.repeat(i % 7)}${Math.floor(rnd() * 1e9).toString(36)}é\u0000`));
      for (let op = 0; op < 6000; op++) {
        const k = keys[Math.floor(rnd() * keys.length)];
        if (rnd() < 0.5) {
          table.set(k, op);
          map.set(k, op);
        } else {
          const got = table.get(k);
          assert.equal(got, map.get(k), k);
          if (got === undefined && rnd() < 0.5) {
            table.set(k, -op);
            map.set(k, -op);
          }
        }
      }
      assert.equal(table.get('absent'), undefined);
      assert.equal(table.size, map.size);
      assert.deepEqual([...table.entries()], [...map.entries()], `maxProbe ${maxProbe}`);
    }
  }
});
