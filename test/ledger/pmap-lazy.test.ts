/**
 * PMap.lazy (src/projections/pmap.ts): a checkpoint's records-by-id map is built on first use, not at
 * start-up. Its size is known before; any read builds it once; edits after a load see every record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PMap } from '../../src/projections/pmap.ts';
import { deserializeState, serializeState } from '../../src/projections/checkpoint.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { evolve } from '../../src/projections/state.ts';
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
