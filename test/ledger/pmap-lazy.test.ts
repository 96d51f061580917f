/**
 * PMap.lazy (src/projections/pmap.ts): a checkpoint's records-by-id map is built on first use, not at
 * start-up. Its size is known before; any read builds it once; edits after a load see every record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PMap } from '../../src/projections/pmap.ts';
import { deserializeState, serializeState } from '../../src/projections/checkpoint.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { evolve, type ZoneState } from '../../src/projections/state.ts';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { testLedger } from '../helpers/ledger.ts';

test('PMap.lazy: size without building; the first read builds once; edits and iteration see every entry', () => {
  let builds = 0;
  const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
  const m = PMap.lazy(keys.length, () => {
    builds++;
    return PMap.fromArrays(keys, keys.map((k) => k.toUpperCase()));
  });
  assert.equal(m.size, 500);
  assert.equal(m.built, false);
  assert.equal(builds, 0);
  assert.equal(m.get('k7'), 'K7');
  assert.equal(m.built, true);
  const edited = m.set('k7', 'seven').delete('k8');
  assert.equal(edited.get('k7'), 'seven');
  assert.equal(edited.has('k8'), false);
  assert.equal(m.get('k7'), 'K7', 'the lazy map itself is unchanged');
  assert.equal([...m.keys()].length, 500);
  assert.equal(builds, 1);
  const wrong = PMap.lazy(3, () => PMap.fromArrays(['a'], [1]));
  assert.throws(() => wrong.get('a'), /built 1 entries, expected 3/);
});

test('PMap.buildInSlices builds the same map as fromArrays, pausing between slices; a read meanwhile builds it at once', async () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `id-${i.toString(16).padStart(8, '0')}`);
  const values = keys.map((k, i) => ({ k, i }));
  const eager = PMap.fromArrays(keys, values);
  const lazy = PMap.lazyFromArrays(keys, values);
  let pauses = 0;
  await lazy.buildInSlices(async () => {
    pauses++;
  });
  assert.equal(lazy.built, true);
  assert.ok(pauses > 5, `built in slices (${pauses} pauses)`);
  let differences = 0;
  PMap.diff(eager, lazy, () => differences++);
  assert.equal(differences, 0, 'the same entries');
  assert.deepEqual([...lazy.keys()], [...eager.keys()], 'the same shape (the same hash order)');
  for (const k of keys.slice(0, 500)) assert.equal(lazy.get(k), eager.get(k));
  // A read while the sliced build is under way builds the map at once; the sliced build then stops.
  const raced = PMap.lazyFromArrays(keys, values);
  let n = 0;
  const building = raced.buildInSlices(async () => {
    if (++n === 3) assert.equal(raced.get(keys[77]), values[77]);
  });
  await building;
  assert.equal(raced.built, true);
  assert.deepEqual([...raced.keys()], [...eager.keys()]);
  assert.ok(n < pauses, 'the sliced build stopped once the map was read');
});

test('a loaded checkpoint builds its records-by-id map on the first write, which sees every record', () => {
  const t = testLedger();
  try {
    const lines = ['$ORIGIN lazy.test.', '$TTL 60', '@ SOA ns.lazy.test. h.lazy.test. 1 3600 600 86400 60', '@ NS ns', 'ns A 192.0.2.1'];
    for (let i = 0; i < 300; i++) lines.push(`h${i} A 192.0.2.${i % 250}`, ...(i % 7 === 0 ? [`h${i} TXT "t${i}"`] : []));
    t.ledger.execute(importCommand('lazy.test', lines.join('\n') + '\n'), { actor: 'test' });
    const state = t.ledger.state;
    const back = deserializeState(serializeState(state, 'h'));
    assert.ok(back);
    const zone = back.zones.get('lazy.test.')!;
    assert.equal(zone.records.built, false, 'not built by loading');
    assert.equal(zone.records.size, state.zones.get('lazy.test.')!.records.size);
    assert.equal(stateDigest(back), stateDigest(state));
    assert.equal(zone.records.built, true);
    // A write by id after the load (what a REST update or delete decides against).
    const victim = [...state.zones.get('lazy.test.')!.records.values()].find((r) => r.name === 'h42.lazy.test.')!;
    const after = evolve(back, { seq: back.seq + 1, zone: 'lazy.test.', body: { type: 'RecordDeleted', payload: { id: victim.id } } as never });
    assert.equal(after.zones.get('lazy.test.')!.records.has(victim.id), false);
    assert.equal(after.zones.get('lazy.test.')!.records.size, zone.records.size - 1);
  } finally {
    t.cleanup();
  }
});

test('Ledger.prepareRecordMaps builds a loaded checkpoint\'s records-by-id maps in slices, and stops when the ledger closes', async () => {
  const t = testLedger();
  try {
    const lines = ['$ORIGIN prep.test.', '$TTL 60', '@ SOA ns.prep.test. h.prep.test. 1 3600 600 86400 60', '@ NS ns', 'ns A 192.0.2.1'];
    for (let i = 0; i < 6000; i++) lines.push(`h${i} A 192.0.2.${i % 250}`);
    t.ledger.execute(importCommand('prep.test', lines.join('\n') + '\n'), { actor: 'test' });
    t.ledger.checkpoint();
    const reopened = Ledger.open({ path: t.path });
    const zone = (): ZoneState => reopened.state.zones.get('prep.test.')!;
    assert.equal(zone().records.built, false, 'left for first use by the checkpoint load');
    let pauses = 0;
    await reopened.prepareRecordMaps(async () => {
      pauses++;
    });
    assert.equal(zone().records.built, true);
    assert.ok(pauses > 2, `in slices (${pauses})`);
    assert.equal(zone().records.size, 6002);
    reopened.close();
    const again = Ledger.open({ path: t.path });
    let n = 0;
    await again.prepareRecordMaps(async () => {
      if (++n === 2) again.close();
    });
    assert.equal(again.state.zones.get('prep.test.')!.records.built, false, 'stopped at close');
  } finally {
    t.cleanup();
  }
});
