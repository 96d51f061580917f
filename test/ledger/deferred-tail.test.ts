/**
 * A deferred tail (LedgerOptions.deferTail): a ledger whose checkpoint deferred a big zone opens
 * without applying the log's tail; the serving index restored from the image of the tail's end state
 * answers for it (Ledger.servingState) byte for byte as an index built from that state does, and
 * the tail is applied by the first use of `state`, or in slices by prepareRecordMaps, into exactly
 * the state a replay at open makes. Writes, exit and the hash chain behave as without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { answerQuery } from '../../src/dns/answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { restoreIndexImage, writeIndexImage } from '../../src/dns/index-image.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { serializeState } from '../../src/projections/checkpoint.ts';
import type { Command } from '../../src/projections/decide.ts';
import type { LedgerState } from '../../src/projections/state.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { Ledger } from '../../src/ledger.ts';
import { testLedger } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';
import { waitFor } from '../helpers/wait.ts';
import { ASKED, QTYPES, ZONES, executeUnlessRefused, query, randomRecordOps } from '../dns/random-zones.ts';

/** The big zone: more apex children than DEFER_CHILDREN, so a checkpoint load defers it. */
const BIG = 'a.test';
const BIG_NAMES = 1100;

function bigZoneFile(): string {
  const lines = [`$ORIGIN ${BIG}.`, '$TTL 300', `@ SOA ns1.${BIG}. hostmaster.${BIG}. 1 3600 600 86400 60`, '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; i < BIG_NAMES; i++) lines.push(`h${i} A 10.1.${i >> 8}.${i & 255}`, ...(i % 5 === 0 ? [`h${i} AAAA 2001:db8::${i.toString(16)}`] : []));
  return lines.join('\n') + '\n';
}

/** A random write that keeps the zone set (zones created or deleted in a tail are a case of their own). */
function randomChange(ledger: Ledger, random: () => number): Command {
  const zone = ZONES[Math.floor(random() * ZONES.length)];
  const z = ledger.state.zones.get(`${zone}.`);
  const ids = z ? [...z.records.keys()].filter((id) => id !== 'soa') : [];
  const r = random();
  if (r < 0.06) return { kind: 'updateZone', zone, soa: [{ primary_ns: `ns2.${zone}` }, { admin_email: `dns@x.${zone}` }, { ttl: 900 }, { minimum: 30 }][Math.floor(random() * 4)] };
  // The big zone's own names too: the tail must reach below its deferred apex.
  if (zone === BIG && r < 0.4) {
    const i = Math.floor(random() * (BIG_NAMES + 50));
    return { kind: 'changeRecords', zone, ops: [{ op: 'create', name: `h${i}.${BIG}`, type: random() < 0.5 ? 'A' : 'TXT', value: random() < 0.5 ? `198.51.100.${i & 255}` : `"t${i}"` }] };
  }
  return { kind: 'changeRecords', zone, ops: randomRecordOps(zone, ids, random) };
}

function randomChanges(ledger: Ledger, random: () => number, n: number): void {
  for (let i = 0; i < n; i++) executeUnlessRefused(ledger, randomChange(ledger, random));
}

/** The random zones, the big one with its 1,100 names, a checkpoint, then `tail` more writes. */
function ledgerWithTail(seed: number, tail: number): { t: ReturnType<typeof testLedger>; random: () => number } {
  const random = rng(seed);
  const t = testLedger();
  for (const zone of ZONES) {
    if (zone === BIG) t.ledger.execute(importCommand(BIG, bigZoneFile()), { actor: 'import' });
    else t.ledger.execute({ kind: 'createZone', zone, soa: { primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` } }, { actor: 'test' });
  }
  randomChanges(t.ledger, random, 60);
  t.ledger.checkpoint();
  randomChanges(t.ledger, random, tail);
  return { t, random };
}

/** A complete index of `state` (its rebuild and second pass run to the end). */
async function builtIndex(state: LedgerState): Promise<ServingIndex> {
  const index = new ServingIndex();
  index.sync(state);
  while (!index.isCurrent(state) || index.filling) await new Promise((r) => setImmediate(r));
  return index;
}

/** Asks every question of every zone: `a` for `stateA` and `b` for `stateB` give the same bytes, and the general path's for `real` when they answer. */
function sameAnswers(a: ServingIndex, stateA: LedgerState, b: ServingIndex, stateB: LedgerState, real: LedgerState, random: () => number, label: string): number {
  let answered = 0;
  const names = [...ASKED, 'h1', 'h7', `h${BIG_NAMES - 1}`, `h${BIG_NAMES + 3}`, 'h1.h2'];
  for (const zone of ZONES) {
    for (const n of names) {
      const name = n === '@' ? `${zone}.` : `${n}.${zone}.`;
      for (const qtype of QTYPES) {
        const raw = query(name, qtype, random, random() < 0.7, [512, 1232, 4096][Math.floor(random() * 3)]);
        const q = readQuery(raw) as ParsedQuery;
        const limit = maxResponseSize(q, random() < 0.2);
        const fromA = a.answer(stateA, q, raw, limit);
        assert.deepEqual(b.answer(stateB, q, raw, limit), fromA, `${label}: ${name}/${qtype}: the two indexes differ`);
        if (fromA) {
          answered++;
          assert.deepEqual(fromA, encodeMessage(answerQuery(real, q).message, limit).bytes, `${label}: ${name}/${qtype}: not the general path's answer`);
        }
      }
    }
  }
  return answered;
}

test('deferred tail: the image restored for the stand-in answers as a build of the tail\'s end state, and the tail applied later (in slices or at a first use) is that state', async () => {
  for (let seed = 1; seed <= 4; seed++) {
    const { t, random } = ledgerWithTail(7300 + seed, 50);
    const opened: Ledger[] = [];
    try {
      const end = t.ledger.state;
      const imagePath = join(t.dir, 'mcns.db.index');
      const live = await builtIndex(end);
      assert.ok(writeIndexImage(imagePath, live, end, t.ledger.log.hashAt(end.seq)).written);
      t.ledger.close();

      // What a replay at open makes: the reference.
      const replayed = Ledger.open({ path: t.path });
      opened.push(replayed);
      assert.equal(replayed.tailPending, false);
      const real = replayed.state;
      assert.equal(real.seq, end.seq);

      const ledger = Ledger.open({ path: t.path, deferTail: true });
      opened.push(ledger);
      assert.equal(ledger.tailPending, true, `seed ${seed}: the tail waits`);
      assert.equal(ledger.startup.tailDeferred, true);
      assert.equal(ledger.startup.replayed, replayed.startup.replayed);
      assert.ok(ledger.startup.replayed >= 40, 'a tail of writes');
      assert.equal(ledger.tail, replayed.tail, 'the tail counts while it waits');
      const standIn = ledger.servingState;
      assert.equal(standIn.seq, end.seq, 'the stand-in has the seq the tail ends at');
      assert.deepEqual([...standIn.heads.entries()].sort(), [...real.heads.entries()].sort(), 'and its zone heads (serials)');
      assert.deepEqual([...standIn.zones.keys()].sort(), [...real.zones.keys()].sort(), 'and its zone names');

      const seen: LedgerState[] = [];
      const sub = ledger.state$.subscribe((s) => seen.push(s));
      assert.equal(seen.length, 0, 'state$ says nothing while the tail waits');

      // The image of the end state, restored for the stand-in (its templates from the image: the
      // stand-in's zones hold the checkpoint's SOAs).
      const restored = new ServingIndex();
      const r = restoreIndexImage(imagePath, restored, standIn, ledger.log.hashAt(standIn.seq));
      assert.ok(r.restored, r.restored ? '' : r.reason);
      const built = await builtIndex(real);
      assert.ok(sameAnswers(restored, standIn, built, real, real, random, `seed ${seed} stand-in`) > 300);
      assert.equal(ledger.tailPending, true, 'answering from the index applies nothing');

      // Exit while it waits: nothing to write, the tail stays in the log (and is not applied).
      if (seed === 1) {
        const exit = await ledger.checkpointOnExit();
        assert.equal(exit.action, 'left-tail');
        assert.equal(exit.tail, ledger.startup.replayed);
        assert.equal(ledger.tailPending, true);
        continue;
      }
      const settledWith: Array<[LedgerState, LedgerState]> = [];
      ledger.whenSettled((from, to) => {
        settledWith.push([from, to]);
        restored.rebind(from, to);
      });
      // Seed 2: at a first use of `state`; 3: in slices (the server's background), cut short by a
      // use after the first slice of the tail; 4: in slices to the end.
      if (seed === 3) {
        let forcedAfter = 0;
        const pending = (): { applied: number; events: unknown[] } | undefined => (ledger as unknown as { pending?: { applied: number; events: unknown[] } }).pending;
        await ledger.prepareRecordMaps(() => {
          const p = pending();
          if (p && p.applied > 0 && forcedAfter === 0) {
            forcedAfter = p.applied;
            assert.ok(p.applied < p.events.length, 'cut short part-way');
            void ledger.state;
          }
          return Promise.resolve();
        });
        assert.ok(forcedAfter > 0, 'a use came between two slices of the tail');
      }
      if (seed === 4) await ledger.prepareRecordMaps(() => Promise.resolve());
      if (seed !== 2) assert.equal(ledger.tailPending, false, 'applied by prepareRecordMaps');
      const settled = ledger.state;
      assert.equal(ledger.tailPending, false);
      assert.deepEqual(serializeState(settled, 'h'), serializeState(real, 'h'), `seed ${seed}: the applied tail makes the replayed state`);
      assert.equal(settledWith.length, 1, 'told once');
      assert.equal(settledWith[0][0], standIn);
      assert.equal(settledWith[0][1], settled);
      assert.deepEqual(seen, [settled], 'state$: the settled state, once');
      assert.ok(restored.isCurrent(settled), 'the index is bound to the settled state without a diff');
      assert.ok(sameAnswers(restored, settled, built, real, real, random, `seed ${seed} settled`) > 300);
      assert.ok(ledger.startup.phases.tailReplayMs >= 0);

      // And it follows writes as any index does.
      randomChanges(ledger, random, 20);
      const after = await builtIndex(ledger.state);
      restored.sync(ledger.state);
      while (!restored.isCurrent(ledger.state) || restored.filling) await new Promise((res) => setImmediate(res));
      assert.ok(sameAnswers(restored, ledger.state, after, ledger.state, ledger.state, random, `seed ${seed} written`) > 300);
      sub.unsubscribe();
    } finally {
      for (const l of opened) l.close();
      t.cleanup();
    }
  }
});

test('deferred tail: a write applies it first (read-your-writes), a tail edited in the file is refused at open, and only a short tail that keeps the zone set after a big zone\'s checkpoint is deferred', async () => {
  {
    const { t } = ledgerWithTail(7400, 30);
    let ledger: Ledger | undefined;
    try {
      const seq = t.ledger.state.seq;
      t.ledger.close();
      ledger = Ledger.open({ path: t.path, deferTail: true });
      assert.equal(ledger.tailPending, true);
      const w = ledger.execute({ kind: 'changeRecords', zone: BIG, ops: [{ op: 'create', name: `new.${BIG}`, type: 'A', value: '203.0.113.7' }] }, { actor: 'test' });
      assert.equal(ledger.tailPending, false);
      assert.equal(w.firstSeq, seq + 1);
      assert.ok([...(ledger.zone(`${BIG}.`)?.records.values() ?? [])].some((r) => r.name === `new.${BIG}.` && r.value === '203.0.113.7'), 'the write is in the projection');
      assert.equal(ledger.state.seq, w.lastSeq, "the projection is at the write's last event");
    } finally {
      ledger?.close();
      t.cleanup();
    }
  }
  {
    // Another process appends while the tail waits: found by the poll, the tail and then its write applied.
    const { t } = ledgerWithTail(7403, 20);
    let ledger: Ledger | undefined;
    let other: Ledger | undefined;
    try {
      t.ledger.close();
      ledger = Ledger.open({ path: t.path, deferTail: true, pollMs: 20 });
      assert.equal(ledger.tailPending, true);
      other = Ledger.open({ path: t.path });
      const w = other.execute({ kind: 'changeRecords', zone: BIG, ops: [{ op: 'create', name: `other.${BIG}`, type: 'A', value: '203.0.113.9' }] }, { actor: 'test' });
      const seen: number[] = [];
      ledger.state$.subscribe((s) => seen.push(s.seq));
      await waitFor(() => seen.includes(w.lastSeq as number), { what: "the other process's write applied", timeoutMs: 10_000 });
      assert.equal(ledger.tailPending, false);
    } finally {
      other?.close();
      ledger?.close();
      t.cleanup();
    }
  }
  {
    // An event of the tail changed in the file: the chain check at open refuses it, as a replay's does.
    const { t } = ledgerWithTail(7401, 30);
    try {
      const seq = t.ledger.state.seq;
      t.ledger.close();
      const db = new Database(t.path);
      db.exec('DROP TRIGGER events_no_update');
      db.prepare('UPDATE events SET actor = ? WHERE seq = ?').run('mallory', seq - 3);
      db.close();
      assert.throws(() => Ledger.open({ path: t.path, deferTail: true }), /hash|chain/i);
    } finally {
      t.cleanup();
    }
  }
  {
    // A tail that creates a zone changes the zone set: replayed at open (the stand-in keeps the checkpoint's).
    const { t } = ledgerWithTail(7402, 10);
    let ledger: Ledger | undefined;
    try {
      t.ledger.execute({ kind: 'createZone', zone: 'late.test', soa: { primary_ns: 'ns1.late.test', admin_email: 'h@late.test' } }, { actor: 'test' });
      t.ledger.close();
      ledger = Ledger.open({ path: t.path, deferTail: true });
      assert.equal(ledger.tailPending, false);
      assert.ok(ledger.servingState.zones.has('late.test.'));
    } finally {
      ledger?.close();
      t.cleanup();
    }
  }
  {
    // No zone of 1,024+ apex children: nothing is deferred, the tail replays at open as before.
    const t = testLedger();
    let ledger: Ledger | undefined;
    try {
      t.ledger.execute({ kind: 'createZone', zone: 'small.test', soa: { primary_ns: 'ns1.small.test', admin_email: 'h@small.test' } }, { actor: 'test' });
      t.ledger.checkpoint();
      t.ledger.execute({ kind: 'changeRecords', zone: 'small.test', ops: [{ op: 'create', name: 'www.small.test', type: 'A', value: '192.0.2.80' }] }, { actor: 'test' });
      t.ledger.close();
      ledger = Ledger.open({ path: t.path, deferTail: true });
      assert.equal(ledger.tailPending, false);
      assert.equal(ledger.startup.tailDeferred, undefined);
      assert.ok(ledger.startup.replayed > 0);
    } finally {
      ledger?.close();
      t.cleanup();
    }
  }
});
