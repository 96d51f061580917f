/**
 * PMap.lazy (src/projections/pmap.ts): a checkpoint's records-by-id map is built on first use, not at
 * start-up. Its size is known before; any read builds it once; edits after a load see every record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PMap } from '../../src/projections/pmap.ts';
import { deserializeState, LAZY_CHILDREN, serializeState, takeUnbuilt } from '../../src/projections/checkpoint.ts';
import { findNode, lookup } from '../../src/projections/trie.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { evolve, type ZoneState } from '../../src/projections/state.ts';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { evolveBoth, testLedger } from '../helpers/ledger.ts';

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

test('PMap.addNew on a lazy map: noted, not built; the build (at once or in slices, persistent or transient) puts the entries in', async () => {
  const keys = Array.from({ length: 5_000 }, (_, i) => `id-${i}`);
  const values = keys.map((k) => k.toUpperCase());
  const base = PMap.lazyFromArrays(keys, values);
  let m = base;
  for (let i = 0; i < 300; i++) m = m.addNew(`new-${i}`, `NEW-${i}`);
  assert.equal(m.built, false, 'adding builds nothing');
  assert.equal(base.built, false);
  assert.equal(m.size, 5_300);
  assert.equal(base.size, 5_000, 'the map added to is unchanged');
  const eager = PMap.fromArrays([...keys, ...Array.from({ length: 300 }, (_, i) => `new-${i}`)], [...values, ...Array.from({ length: 300 }, (_, i) => `NEW-${i}`)]);
  const same = (got: PMap<string>): void => {
    let differences = 0;
    PMap.diff(eager, got, () => differences++);
    assert.equal(differences, 0);
    assert.equal(got.size, eager.size);
  };
  // Built by a read.
  assert.equal(m.get('new-299'), 'NEW-299');
  same(m);
  assert.equal(base.has('new-1'), false);
  // Built in slices.
  let sliced = PMap.lazyFromArrays(keys, values);
  for (let i = 0; i < 300; i++) sliced = sliced.addNew(`new-${i}`, `NEW-${i}`);
  await sliced.buildInSlices(async () => {});
  assert.equal(sliced.built, true);
  same(sliced);
  // Through a transient (a replay session), then frozen; still lazy until read.
  const t = PMap.lazyFromArrays(keys, values).asMutable();
  for (let i = 0; i < 300; i++) assert.equal(t.addNew(`new-${i}`, `NEW-${i}`), t);
  const frozen = t.asImmutable();
  assert.equal(frozen.built, false);
  same(frozen);
  // A key that was there after all: the entry is replaced and the count follows the entries.
  const dup = PMap.lazyFromArrays(keys, values).addNew('id-3', 'again');
  assert.equal(dup.get('id-3'), 'again');
  assert.equal(dup.size, 5_000);
  // On a built map it is set().
  assert.equal(PMap.fromArrays(keys, values).addNew('x', 'X').get('x'), 'X');
});

test('a start whose tail holds record creates leaves the checkpoint\'s records-by-id map unbuilt, and the state is the full replay\'s', () => {
  const t = testLedger();
  try {
    const lines = ['$ORIGIN tail.test.', '@ 60 SOA ns.tail.test. h.tail.test. 1 3600 600 86400 60', '@ 60 NS ns', ...Array.from({ length: 3000 }, (_, i) => `h${i} 60 A 192.0.2.${i % 250}`)];
    t.ledger.execute(importCommand('tail.test', lines.join('\n') + '\n'), { actor: 't' });
    t.ledger.checkpoint();
    const checkpointSeq = t.ledger.state.seq;
    // Creates in one batch (the session path) and one by one (the plain fold), with serial bumps.
    t.ledger.execute({ kind: 'changeRecords', zone: 'tail.test', ops: Array.from({ length: 40 }, (_, i) => ({ op: 'create' as const, name: `b${i}.tail.test`, type: 'A', value: '192.0.2.1' })) }, { actor: 't' });
    for (let i = 0; i < 5; i++) t.ledger.execute({ kind: 'changeRecords', zone: 'tail.test', ops: [{ op: 'create', name: `s${i}.tail.test`, type: 'TXT', value: `"s${i}"` }] }, { actor: 't' });
    const reopened = Ledger.open({ path: t.path });
    try {
      assert.equal(reopened.startup.checkpointSeq, checkpointSeq);
      assert.ok(reopened.startup.replayed > 45);
      const zone = reopened.state.zones.get('tail.test.') as ZoneState;
      assert.equal(zone.records.built, false, 'the tail replay did not build the records-by-id map');
      assert.equal(zone.records.size, t.ledger.state.zones.get('tail.test.')!.records.size);
      assert.equal(stateDigest(reopened.state), stateDigest(t.ledger.state), 'the same state as the full replay');
      // A write after the start sees every record (decide reads the map).
      const id = [...t.ledger.state.zones.get('tail.test.')!.records.values()].find((r) => r.name === 's4.tail.test.')!.id;
      reopened.execute({ kind: 'changeRecords', zone: 'tail.test', ops: [{ op: 'delete', id }] }, { actor: 't' });
      assert.equal(reopened.state.zones.get('tail.test.')!.records.has(id), false);
    } finally {
      reopened.close();
    }
  } finally {
    t.cleanup();
  }
});

test(`a checkpoint leaves children maps of ${LAZY_CHILDREN}+ names unbuilt: reads, writes and re-serializing see the loaded trie, and Ledger.prepareRecordMaps builds them in slices`, async () => {
  const t = testLedger();
  try {
    const wide = LAZY_CHILDREN + 150;
    const lines = ['$ORIGIN wide.test.', '$TTL 60', '@ SOA ns.wide.test. h.wide.test. 1 3600 600 86400 60', '@ NS ns', 'ns A 192.0.2.1'];
    // Two wide nodes (the apex and sub.) and one just below the threshold (narrow.), with a wildcard.
    for (let i = 0; i < wide; i++) lines.push(`h${i} A 192.0.2.${i % 250}`, `c${i}.sub AAAA 2001:db8::${(i % 65535).toString(16)}`);
    for (let i = 0; i < LAZY_CHILDREN - 1; i++) lines.push(`n${i}.narrow TXT "n${i}"`);
    lines.push('*.sub TXT "wild"');
    t.ledger.execute(importCommand('wide.test', lines.join('\n') + '\n'), { actor: 'test' });
    const state = t.ledger.state;
    const zoneOf = (s: typeof state): ZoneState => s.zones.get('wide.test.')!;
    // Built first, so that a load's re-serialization gives these bytes (test/helpers/checkpoint-bytes.ts).
    stateDigest(state);
    const blob = serializeState(state, 'h');
    const load = (): { back: typeof state; unbuilt: ReadonlyArray<PMap<unknown>> } => {
      const back = deserializeState(blob)!;
      const left = takeUnbuilt(back);
      // The apex is wide enough for the zone's nodes below it to be read on first use too
      // (DEFER_CHILDREN, test/ledger/checkpoint-deferred.test.ts): read here, which finds sub.'s map.
      for (const z of left.deferred) z.finish();
      return { back, unbuilt: [...left.children, ...left.deferred.flatMap((z) => z.unbuilt)] };
    };

    // What is left unbuilt: the records map, the apex's children and sub.'s (not narrow.'s); the
    // children maps are the ones handed over.
    const { back, unbuilt } = load();
    const tree = zoneOf(back).tree;
    assert.equal(zoneOf(back).records.built, false);
    assert.equal(unbuilt.length, 2);
    assert.ok(unbuilt.includes(tree.children as PMap<unknown>), 'the apex children');
    assert.equal(tree.children.built, false);
    // (Finding sub. builds the apex's map.)
    assert.ok(unbuilt.includes(findNode(tree, ['sub'])!.children as PMap<unknown>), 'sub.\'s children');
    assert.equal(tree.children.size, wide + 3, 'h*, ns, sub and narrow');
    assert.deepEqual(takeUnbuilt(back), { children: [], deferred: [] }, 'taken once');
    // Lookups through the unbuilt maps (the first one builds it) find what the original trie holds.
    for (const labels of [['h7'], ['sub', `c${wide - 1}`], ['sub', 'nowhere'], ['narrow', 'n3'], ['missing']]) {
      const a = findNode(tree, labels);
      const b = findNode(zoneOf(state).tree, labels);
      assert.deepEqual(a && [...a.rrsets.values()].flat(), b && [...b.rrsets.values()].flat(), labels.join('.'));
    }
    assert.equal(lookup(tree, ['sub', 'nowhere']).wildcard?.name, '*.sub.wide.test.');
    assert.equal(stateDigest(back), stateDigest(state));

    // Writes on a fresh load, before anything built the maps: the same state as on the original.
    const fresh = load().back;
    const victim = [...zoneOf(state).records.values()].find((r) => r.name === 'c9.sub.wide.test.')!;
    const events = [
      { seq: state.seq + 1, zone: 'wide.test.', body: { type: 'RecordCreated', payload: { id: 'new1', name: 'zz.wide.test.', type: 'A', value: '192.0.2.9', ttl: 60 } } },
      { seq: state.seq + 2, zone: 'wide.test.', body: { type: 'RecordDeleted', payload: { id: victim.id } } },
    ] as never[];
    const [a, b] = evolveBoth(fresh, state, events);
    assert.equal(stateDigest(a), stateDigest(b));
    assert.equal(findNode(zoneOf(a).tree, ['sub', 'c9']), undefined);
    // Re-serializing a load gives the stored bytes.
    assert.deepEqual(serializeState(load().back, 'h'), blob);

    // The server's path: a reopened ledger's prepareRecordMaps builds all three, in slices.
    t.ledger.checkpoint();
    const reopened = Ledger.open({ path: t.path });
    try {
      const z = zoneOf(reopened.state);
      assert.equal(z.tree.children.built, false);
      assert.equal(findNode(z.tree, ['sub'])!.children.built, false);
      let pauses = 0;
      await reopened.prepareRecordMaps(async () => {
        pauses++;
      });
      assert.equal(z.tree.children.built, true);
      assert.equal(findNode(z.tree, ['sub'])!.children.built, true);
      assert.equal(z.records.built, true);
      assert.ok(pauses > 3, `in slices (${pauses})`);
      assert.equal(stateDigest(reopened.state), stateDigest(state));
    } finally {
      reopened.close();
    }
  } finally {
    t.cleanup();
  }
});

test('Ledger.buildTrieMaps builds the large children maps a checkpoint left unbuilt (a start without the index image), not the records-by-id maps', async () => {
  const t = testLedger();
  try {
    const lines = ['$ORIGIN trie.test.', '$TTL 60', '@ SOA ns.trie.test. h.trie.test. 1 3600 600 86400 60', '@ NS ns', 'ns A 192.0.2.1'];
    for (let i = 0; i < LAZY_CHILDREN + 10; i++) lines.push(`h${i} A 192.0.2.${i % 250}`);
    t.ledger.execute(importCommand('trie.test', lines.join('\n') + '\n'), { actor: 'test' });
    t.ledger.checkpoint();
    // A tail of creates below a new name (its node is not under the wide apex map's labels).
    t.ledger.execute({ kind: 'changeRecords', zone: 'trie.test', ops: [{ op: 'create', name: 'trie.test', type: 'TXT', value: '"apex"' }] }, { actor: 'test' });
    const reopened = Ledger.open({ path: t.path });
    try {
      const zone = reopened.state.zones.get('trie.test.')!;
      assert.equal(zone.tree.children.built, false);
      reopened.buildTrieMaps();
      assert.equal(zone.tree.children.built, true);
      assert.equal(zone.records.built, false, 'the records-by-id map stays for later');
      await reopened.prepareRecordMaps(async () => undefined);
      assert.equal(reopened.state.zones.get('trie.test.')!.records.built, true, "the zone's records map as it is after the tail");
    } finally {
      reopened.close();
    }
  } finally {
    t.cleanup();
  }
});
