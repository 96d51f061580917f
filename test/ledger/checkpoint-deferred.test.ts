/**
 * A checkpoint load reads a big zone only down to its apex (DEFER_CHILDREN): the nodes below are
 * read on first use of the apex's children or the zone's records, or before that in slices. Every
 * way in must give the state a full load gives, and a blob of an earlier build (no zone positions)
 * must load as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindCheckpoint, DEFER_CHILDREN, deserializeState, serializeState, takeUnbuilt } from '../../src/projections/checkpoint.ts';
import { PMap } from '../../src/projections/pmap.ts';
import { findNode, lookup } from '../../src/projections/trie.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import type { LedgerState, ZoneState } from '../../src/projections/state.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { Ledger } from '../../src/ledger.ts';
import { evolveBoth, testLedger } from '../helpers/ledger.ts';
import { verifyLedger } from '../../src/projections/verify-ledger.ts';
import { waitFor } from '../helpers/wait.ts';

/** A zone file with `wide` names under the apex (several types, CNAMEs, a wide sub-node, a wildcard, names two labels down). */
function zoneText(zone: string, wide: number): string {
  const lines = [`$ORIGIN ${zone}.`, '$TTL 60', `@ SOA ns.${zone}. h.${zone}. 1 3600 600 86400 60`, '@ NS ns', 'ns A 192.0.2.1', '@ TXT "apex"'];
  for (let i = 0; i < wide; i++) {
    lines.push(`h${i} A 192.0.2.${i % 250}`);
    if (i % 3 === 0) lines.push(`h${i} A 198.51.100.${i % 250}`, `h${i} AAAA 2001:db8::${i.toString(16)}`);
    if (i % 7 === 0) lines.push(`w${i} CNAME h${i}`);
    if (i % 11 === 0) lines.push(`h${i} MX 10 h${(i + 1) % wide}`, `_t.h${i} TXT "ü ${i}"`);
  }
  for (let i = 0; i < DEFER_CHILDREN + 5; i++) lines.push(`c${i}.sub AAAA 2001:db8:1::${i.toString(16)}`);
  lines.push('*.sub TXT "wild"');
  return lines.join('\n') + '\n';
}

/** Five zones, two of them wide enough to be deferred, so that deferred zones sit between others in the stream. */
function bigState(): { state: LedgerState; cleanup: () => void; path: string } {
  const t = testLedger();
  const zones: Array<[string, number]> = [
    ['a.test', 3],
    ['wide1.test', DEFER_CHILDREN + 40],
    ['b.test', 5],
    ['wide2.test', DEFER_CHILDREN * 2],
    ['c.test', 1],
  ];
  for (const [zone, wide] of zones) t.ledger.execute(importCommand(zone, zoneText(zone, wide)), { actor: 'test' });
  return { state: t.ledger.state, cleanup: t.cleanup, path: t.path };
}

/** The blob's JSON header, and a blob with the header replaced (deserializeState does not check the digest). */
function header(blob: Buffer): { zones: Array<Record<string, unknown>> } & Record<string, unknown> {
  const len = blob.readUInt32BE(32);
  return JSON.parse(blob.toString('utf8', 36, 36 + len)) as { zones: Array<Record<string, unknown>> };
}
function withHeader(blob: Buffer, h: unknown): Buffer {
  const len = blob.readUInt32BE(32);
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(json.length);
  return Buffer.concat([blob.subarray(0, 32), size, json, blob.subarray(36 + len)]);
}

const zoneOf = (s: LedgerState, name: string): ZoneState => s.zones.get(name)!;

test('a big zone is read down to its apex at load: sizes without reading, and every first use (trie, records, iteration, slices, writes) gives the full load\'s state', async () => {
  const { state, cleanup } = bigState();
  try {
    // Every map built first (the digest reads them all): a blob written while an import's nodes are
    // still drafts lists the apex's children in the order they were added, a built map (and so a
    // load's re-serialization, checked below) in hash order (node-drafts.ts).
    stateDigest(state);
    const blob = serializeState(state, 'h');
    const order = header(blob).zones.map((z) => z.name as string);
    // The stream order is the zones map's: a deferred zone must sit before another for the "ends
    // where the next one starts" check to be exercised.
    assert.ok(order.indexOf('wide1.test.') < order.length - 1 || order.indexOf('wide2.test.') < order.length - 1, order.join(' '));
    assert.ok(header(blob).zones.every((z) => Array.isArray(z.at)), 'every zone says where it starts');

    const load = (): { back: LedgerState; left: ReturnType<typeof takeUnbuilt> } => {
      const back = deserializeState(blob)!;
      return { back, left: takeUnbuilt(back) };
    };

    // What a load leaves: the two wide zones, unread; their sizes known anyway.
    {
      const { back, left } = load();
      assert.deepEqual(left.deferred.map((z) => z.zone).sort(), ['wide1.test.', 'wide2.test.']);
      assert.ok(left.deferred.every((z) => !z.done));
      for (const name of ['wide1.test.', 'wide2.test.']) {
        const z = zoneOf(back, name);
        assert.equal(z.tree.children.built, false);
        assert.equal(z.tree.children.size, zoneOf(state, name).tree.children.size);
        assert.equal(z.records.size, zoneOf(state, name).records.size);
        // The apex itself is read: its RRsets are there without reading the rest.
        assert.deepEqual([...z.tree.rrsets.keys()].sort(), [...zoneOf(state, name).tree.rrsets.keys()].sort());
      }
      assert.ok(left.deferred.every((z) => !z.done), 'sizes and the apex read nothing below it');
      // The small zones were read whole.
      assert.equal(zoneOf(back, 'a.test.').tree.children.built, true);
      assert.equal(stateDigest(back), stateDigest(state), 'iterating reads everything');
      assert.ok(left.deferred.every((z) => z.done));
    }

    // First use through a lookup in the trie.
    {
      const { back } = load();
      const tree = zoneOf(back, 'wide2.test.').tree;
      for (const labels of [['h7'], ['w7'], ['sub', 'c3'], ['sub', 'nowhere'], ['_t', 'h11'], ['missing']]) {
        const a = findNode(tree, labels);
        const b = findNode(zoneOf(state, 'wide2.test.').tree, labels);
        assert.deepEqual(a && [...a.rrsets.values()].flat(), b && [...b.rrsets.values()].flat(), labels.join('.'));
      }
      assert.equal(lookup(tree, ['sub', 'nowhere']).wildcard?.name, '*.sub.wide2.test.');
      assert.deepEqual(serializeState(back, 'h'), blob, 're-serializing gives the stored bytes');
    }

    // First use through the records-by-id map.
    {
      const { back } = load();
      const some = [...zoneOf(state, 'wide1.test.').records.values()].filter((_, i) => i % 97 === 0);
      for (const r of some) assert.deepEqual(zoneOf(back, 'wide1.test.').records.get(r.id), r);
      assert.equal(stateDigest(back), stateDigest(state));
    }

    // Read in slices (the server's background), then used.
    {
      const { back, left } = load();
      let pauses = 0;
      for (const z of left.deferred) {
        await z.readInSlices(
          async () => {
            pauses++;
          },
          0,
        );
        assert.ok(z.done);
        assert.ok(z.ms > 0);
      }
      assert.ok(pauses > 10, `in slices (${pauses})`);
      assert.equal(zoneOf(back, 'wide1.test.').tree.children.built, false, 'reading fills the arrays; the map is built on use');
      assert.deepEqual(serializeState(back, 'h'), blob);
    }

    // A slice read interrupted by a first use: the use reads the rest, the slices stop.
    {
      const { back, left } = load();
      const z = left.deferred[0];
      let pauses = 0;
      const reading = z.readInSlices(async () => {
        if (++pauses === 2) zoneOf(back, z.zone).records.get('none');
      }, 0);
      await reading;
      assert.ok(z.done);
      assert.equal(pauses, 2);
      assert.equal(stateDigest(back), stateDigest(state));
    }

    // Writes on a fresh load, before anything was read: the same state as on the original.
    {
      const { back } = load();
      const victim = [...zoneOf(state, 'wide1.test.').records.values()].find((r) => r.name === 'c9.sub.wide1.test.')!;
      const events = [
        { seq: state.seq + 1, zone: 'wide1.test.', body: { type: 'RecordCreated', payload: { id: 'new1', name: 'zz.wide1.test.', type: 'A', value: '192.0.2.9', ttl: 60 } } },
        { seq: state.seq + 2, zone: 'wide1.test.', body: { type: 'RecordDeleted', payload: { id: victim.id } } },
        { seq: state.seq + 3, zone: 'wide2.test.', body: { type: 'RecordCreated', payload: { id: 'new2', name: 'wide2.test.', type: 'TXT', value: '"more"', ttl: 60 } } },
      ] as never[];
      const [a, b] = evolveBoth(back, state, events);
      assert.equal(stateDigest(a), stateDigest(b));
      assert.equal(findNode(zoneOf(a, 'wide1.test.').tree, ['sub', 'c9']), undefined);
    }
  } finally {
    cleanup();
  }
});

test('a checkpoint of an earlier build (no zone positions in its header) loads whole, as before', () => {
  const { state, cleanup } = bigState();
  try {
    const blob = serializeState(state, 'h');
    const h = header(blob);
    for (const z of h.zones) delete z.at;
    const back = deserializeState(withHeader(blob, h))!;
    const left = takeUnbuilt(back);
    assert.equal(left.deferred.length, 0);
    assert.equal(left.children.length, 2 + 5, 'the wide apexes\' children maps and every zone\'s sub., unbuilt as before');
    assert.equal(stateDigest(back), stateDigest(state));
  } finally {
    cleanup();
  }
});

test('a deferred zone that does not match its header fails on first use, every time, and its maps stay unbuilt', () => {
  const { state, cleanup } = bigState();
  try {
    const blob = serializeState(state, 'h');
    for (const [field, delta] of [
      ['records', 1],
      ['nodes', -1],
    ] as const) {
      const h = header(blob);
      const z = h.zones.find((x) => x.name === 'wide1.test.')!;
      z[field] = (z[field] as number) + delta;
      const back = deserializeState(withHeader(blob, h))!;
      const [zone] = takeUnbuilt(back).deferred.filter((d) => d.zone === 'wide1.test.');
      const tree = zoneOf(back, 'wide1.test.').tree;
      assert.throws(() => tree.children.get('h1'), /checkpoint: zone wide1\.test\. has \d+ records in \d+ nodes, its header says/);
      assert.throws(() => zone.finish(), /its header says/, 'the same failure again');
      assert.throws(() => zoneOf(back, 'wide1.test.').records.get('x'), /its header says/);
      assert.equal(tree.children.built, false, 'never built and empty');
    }
    // A zone start that is not where the previous zone ends.
    const h = header(blob);
    const i = h.zones.findIndex((x) => x.name === 'wide1.test.' || x.name === 'wide2.test.');
    const next = h.zones[i + 1];
    if (next) {
      const at = next.at as [number, number];
      next.at = [at[0], at[1] + 1];
      // The next zone is then read from the wrong byte (which fails the load at once), or, if it
      // reads, the deferred zone finds that it does not end where the next one starts.
      assert.throws(() => {
        const back = deserializeState(withHeader(blob, h))!;
        takeUnbuilt(back)
          .deferred.find((d) => d.zone === h.zones[i].name)!
          .finish();
      }, /checkpoint/);
    }
  } finally {
    cleanup();
  }
});

test('PMap: a lazy build that throws leaves the map unbuilt, and the next read builds again', () => {
  let calls = 0;
  const m = PMap.lazy(2, () => {
    if (++calls === 1) throw new Error('not yet');
    return PMap.from([
      ['a', 1],
      ['b', 2],
    ]);
  });
  assert.throws(() => m.get('a'), /not yet/);
  assert.equal(m.built, false);
  assert.equal(m.get('b'), 2);
  assert.equal(m.built, true);
  assert.equal(calls, 2);
});

test('a reopened ledger: DNS-free start leaves the big zone unread; prepareRecordMaps reads it in slices, and a write before that reads it at once', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('wide.test', zoneText('wide.test', DEFER_CHILDREN + 10)), { actor: 'test' });
    t.ledger.checkpoint();
    const expected = stateDigest(t.ledger.state);
    // prepareRecordMaps in slices.
    const first = Ledger.open({ path: t.path });
    try {
      assert.equal(zoneOf(first.state, 'wide.test.').tree.children.built, false);
      let pauses = 0;
      const { zonesReadMs } = await first.prepareRecordMaps(async () => {
        pauses++;
      });
      assert.ok(pauses > 3, `in slices (${pauses})`);
      assert.equal(typeof zonesReadMs, 'number', 'a zone was deferred and read');
      assert.equal(zoneOf(first.state, 'wide.test.').tree.children.built, true);
      assert.equal(zoneOf(first.state, 'wide.test.').records.built, true);
      assert.equal(stateDigest(first.state), expected);
    } finally {
      first.close();
    }
    // A write first.
    const second = Ledger.open({ path: t.path });
    try {
      second.execute({ kind: 'changeRecords', zone: 'wide.test', ops: [{ op: 'create', name: 'h5.wide.test', type: 'TXT', value: '"x"' }] }, { actor: 'test' });
      const z = zoneOf(second.state, 'wide.test.');
      assert.deepEqual(
        z.tree.children.get('h5')!.rrsets.get('TXT')!.records.map((r) => r.value),
        ['"x"'],
      );
      assert.equal(z.records.size, zoneOf(t.ledger.state, 'wide.test.').records.size + 1);
      // What prepareRecordMaps finds left is done already.
      await second.prepareRecordMaps(async () => undefined);
    } finally {
      second.close();
    }
    // A start without the serving-index image: buildTrieMaps reads it at once.
    const third = Ledger.open({ path: t.path });
    try {
      third.buildTrieMaps();
      assert.equal(zoneOf(third.state, 'wide.test.').tree.children.built, true);
    } finally {
      third.close();
    }
  } finally {
    t.cleanup();
  }
});

test('recordMapsReady: undefined unless prepareRecordMaps runs; a waiter is let go when the ledger closes mid-read', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('wide.test', zoneText('wide.test', DEFER_CHILDREN + 10)), { actor: 'test' });
    t.ledger.checkpoint();
    const reopened = Ledger.open({ path: t.path });
    let closed = false;
    try {
      assert.equal(reopened.recordMapsReady(), undefined, 'not started: a caller does what it needs at once');
      // A pause that waits for as long as nobody wants the work (the server's "idle" pace under load).
      const pause = (): Promise<void> =>
        new Promise((resolve) => {
          const check = (): void => void (reopened.recordMapsWanted ? setImmediate(resolve) : setTimeout(check, 2));
          check();
        });
      const prep = reopened.prepareRecordMaps(pause);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(reopened.recordMapsWanted, false);
      const ready = reopened.recordMapsReady();
      assert.ok(ready instanceof Promise);
      assert.equal(reopened.recordMapsWanted, true, 'a waiter makes it go on');
      // Closed before the read is done: the waiter goes on, and so does prepareRecordMaps.
      reopened.close();
      closed = true;
      await ready;
      await prep;
      assert.equal(reopened.recordMapsReady(), undefined);
    } finally {
      if (!closed) reopened.close();
    }
  } finally {
    t.cleanup();
  }
});

test('prepareRecordMaps with holdMs: nothing read until then; a caller that waits starts it at once; closing ends the hold', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('wide.test', zoneText('wide.test', DEFER_CHILDREN + 10)), { actor: 'test' });
    t.ledger.checkpoint();
    // Held for its time.
    const a = Ledger.open({ path: t.path });
    try {
      let pauses = 0;
      const started = performance.now();
      const prep = a.prepareRecordMaps(async () => {
        pauses++;
      }, 150);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(pauses, 0, 'no slice yet');
      assert.equal(zoneOf(a.servingState, 'wide.test.').tree.children.built, false, 'nothing read yet');
      const { zonesReadMs, heldMs } = await prep;
      assert.ok(performance.now() - started >= 150 && heldMs >= 145, `held ${heldMs} ms`);
      assert.ok(pauses > 3 && typeof zonesReadMs === 'number', 'then read in slices');
    } finally {
      a.close();
    }
    // A caller waits: the hold ends at once.
    const b = Ledger.open({ path: t.path });
    try {
      const prep = b.prepareRecordMaps(async () => undefined, 60_000);
      await new Promise((r) => setTimeout(r, 20));
      const ready = b.recordMapsReady();
      assert.ok(ready instanceof Promise, 'running (held): a caller waits for it rather than reading at once');
      const t0 = performance.now();
      await ready;
      assert.ok(performance.now() - t0 < 10_000, 'not the hold');
      assert.equal(zoneOf(b.state, 'wide.test.').tree.children.built, true);
      assert.ok((await prep).heldMs < 10_000);
    } finally {
      b.close();
    }
    // Closed while held: it ends (at its first pause, closed) without waiting out the hold.
    const c = Ledger.open({ path: t.path });
    const prep = c.prepareRecordMaps(async () => undefined, 60_000);
    await new Promise((r) => setTimeout(r, 20));
    c.close();
    const t0 = performance.now();
    await prep;
    assert.ok(performance.now() - t0 < 10_000);
  } finally {
    t.cleanup();
  }
});

test('mcns verify: a deferred zone that does not match its header makes the checkpoint "unreadable", not a crash', () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('wide.test', zoneText('wide.test', DEFER_CHILDREN + 10)), { actor: 'test' });
    t.ledger.checkpoint();
    assert.deepEqual(verifyLedger(t.ledger.db).ok, true);
    const row = t.ledger.db.prepare('SELECT seq, data FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number; data: Buffer };
    const h = header(row.data);
    const z = h.zones.find((x) => x.name === 'wide.test.')!;
    z.records = (z.records as number) + 1;
    // (The triggers guard the log, not the checkpoints: a damaged checkpoint is what verify is for.)
    t.ledger.db.prepare('UPDATE checkpoints SET data = ? WHERE seq = ?').run(withHeader(row.data, h), row.seq);
    const check = verifyLedger(t.ledger.db);
    assert.equal(check.ok, false);
    assert.match((check as { problem: string }).problem, /checkpoint \d+: unreadable \(checkpoint: zone wide\.test\. has \d+ records/);
  } finally {
    t.cleanup();
  }
});

test('a checkpoint of an earlier build that held a big zone is rewritten once in the background after the start-up work, so the next start defers it', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('wide.test', zoneText('wide.test', DEFER_CHILDREN + 10)), { actor: 'test' });
    t.ledger.checkpoint();
    const expected = stateDigest(t.ledger.state);
    // The stored checkpoint as an earlier build wrote it: no zone starts (digest bound again, as it was written).
    const row = t.ledger.db.prepare('SELECT seq, head_hash, data FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number; head_hash: string; data: Buffer };
    const h = header(row.data);
    for (const z of h.zones) delete z.at;
    t.ledger.db.prepare('UPDATE checkpoints SET data = ? WHERE seq = ?').run(bindCheckpoint(withHeader(row.data, h), row.head_hash), row.seq);
    const written: number[] = [];
    const old = Ledger.open({ path: t.path, checkpointInBackground: true, onCheckpoint: (w) => written.push(w.seq) });
    try {
      assert.equal(old.startup.checkpointSeq, row.seq, 'the old layout loads');
      assert.equal(zoneOf(old.state, 'wide.test.').tree.children.size > DEFER_CHILDREN, true);
      assert.deepEqual(written, [], 'nothing written before the start-up work is done');
      await old.prepareRecordMaps(async () => undefined);
      await waitFor(() => written.length > 0, { what: 'the background checkpoint' });
      assert.deepEqual(written, [row.seq], 'rewritten at the same seq, once');
      assert.equal(stateDigest(old.state), expected);
    } finally {
      old.close();
    }
    const data = (t.ledger.db.prepare('SELECT data FROM checkpoints WHERE seq = ?').get(row.seq) as { data: Buffer }).data;
    assert.ok(header(data).zones.every((z) => Array.isArray(z.at)), 'the zone starts are there now');
    const next = Ledger.open({ path: t.path });
    try {
      assert.equal(zoneOf(next.state, 'wide.test.').tree.children.built, false, 'deferred');
      assert.equal(stateDigest(next.state), expected);
    } finally {
      next.close();
    }
  } finally {
    t.cleanup();
  }
});
