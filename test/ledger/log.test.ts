/**
 * The event log: append-only at the database level, hash-chained, atomic batches, optimistic
 * concurrency, upcasting of old events, and a follower that sees every event once, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { firstValueFrom, take, toArray } from 'rxjs';
import { EventLog, VersionConflictError } from '../../src/events/log.ts';
import { openDatabase } from '../../src/events/schema.ts';
import { verifyChain } from '../../src/events/verify.ts';
import { eventHash, GENESIS_HASH } from '../../src/events/hash.ts';
import { upcast } from '../../src/events/upcast.ts';
import { Ledger } from '../../src/ledger.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { testLedger, tempDir } from '../helpers/ledger.ts';
import { waitFor } from '../helpers/wait.ts';
import { join } from 'node:path';
import type { StoredEvent } from '../../src/events/types.ts';

const zoneCmd = { kind: 'createZone' as const, zone: 'example.com', soa: { primary_ns: 'ns.example.com', admin_email: 'h@example.com' } };
const addA = (i: number) => ({ kind: 'changeRecords' as const, zone: 'example.com', ops: [{ op: 'create' as const, name: `h${i}.example.com`, type: 'A', value: `192.0.2.${i % 250}` }] });

test('UPDATE and DELETE on the events table are refused by the database', () => {
  const t = testLedger();
  try {
    t.ledger.execute(zoneCmd, { actor: 'test' });
    assert.throws(() => t.ledger.db.prepare("UPDATE events SET actor = 'mallory' WHERE seq = 1").run(), /append-only: UPDATE refused/);
    assert.throws(() => t.ledger.db.prepare('DELETE FROM events WHERE seq = 1').run(), /append-only: DELETE refused/);
    assert.equal((t.ledger.db.prepare('SELECT actor FROM events WHERE seq = 1').get() as { actor: string }).actor, 'test');
  } finally {
    t.cleanup();
  }
});

test('changing an event behind the triggers\' back is found by the chain check, naming the event', () => {
  const t = testLedger();
  try {
    t.ledger.execute(zoneCmd, { actor: 'test' });
    for (let i = 0; i < 5; i++) t.ledger.execute(addA(i), { actor: 'test' });
    assert.deepEqual(verifyChain(t.ledger.db).ok, true);
    const db = t.ledger.db;
    db.exec('DROP TRIGGER events_no_update');
    db.prepare("UPDATE events SET payload = replace(payload, '192.0.2.3', '203.0.113.66') WHERE seq = 10").run();
    const res = verifyChain(db);
    assert.equal(res.ok, false);
    assert.equal(!res.ok && res.seq, 10);
    assert.match(!res.ok ? res.reason : '', /hash mismatch/);
  } finally {
    t.cleanup();
  }
});

test('the hash covers every stored column', () => {
  const base = { seq: 1, ts: 1, actor: 'a', zone: 'z.', type: 'ZoneDeleted', version: 1, payload: '{}', batch_id: 'b' };
  const h = eventHash(GENESIS_HASH, base);
  for (const [k, v] of Object.entries({ seq: 2, ts: 2, actor: 'b', zone: 'y.', type: 'ZoneCreated', version: 2, payload: '{ }', batch_id: 'c' })) {
    assert.notEqual(eventHash(GENESIS_HASH, { ...base, [k]: v }), h, k);
  }
  assert.notEqual(eventHash('1'.repeat(64), base), h);
});

test('an append that fails in the middle leaves no partial batch', () => {
  const t = testLedger();
  try {
    t.ledger.execute(zoneCmd, { actor: 'test' });
    const before = t.ledger.log.head();
    const drafts = [1, 2, 3].map((i) => ({ zone: 'example.com.', body: { type: 'RecordCreated' as const, payload: { id: `x${i}`, name: `x${i}.example.com.`, type: 'A' as const, value: '192.0.2.1', ttl: 60 } } }));
    assert.throws(() => t.ledger.log.append(drafts, { actor: 'test', expectedVersion: before.seq, failAfterRows: 2 }), /injected failure/);
    assert.deepEqual(t.ledger.log.head(), before);
    assert.equal(t.ledger.state.seq, before.seq);
    assert.equal(verifyChain(t.ledger.db).ok, true);
  } finally {
    t.cleanup();
  }
});

test('a stale expected version is refused and writes nothing', () => {
  const t = testLedger();
  try {
    t.ledger.execute(zoneCmd, { actor: 'test' });
    const head = t.ledger.log.head();
    const draft = { zone: 'example.com.', body: { type: 'ZoneDeleted' as const, payload: {} } };
    assert.throws(() => t.ledger.log.append([draft], { actor: 'test', expectedVersion: head.seq - 1 }), VersionConflictError);
    assert.deepEqual(t.ledger.log.head(), head);
  } finally {
    t.cleanup();
  }
});

test('If-Match with an old serial answers precondition (412) and writes nothing', () => {
  const t = testLedger();
  try {
    const r = t.ledger.execute(zoneCmd, { actor: 'test' });
    t.ledger.execute(addA(1), { actor: 'test', ifMatch: r.serial });
    const seq = t.ledger.state.seq;
    assert.throws(() => t.ledger.execute(addA(2), { actor: 'test', ifMatch: r.serial }), (e: { kind?: string }) => e.kind === 'precondition');
    assert.equal(t.ledger.state.seq, seq);
  } finally {
    t.cleanup();
  }
});

test('a write by another process is picked up by retrying against the fresh state', () => {
  const t = testLedger();
  try {
    t.ledger.execute(zoneCmd, { actor: 'test' });
    const other = Ledger.open({ path: t.path });
    other.execute(addA(1), { actor: 'other' });
    other.close();
    // Our projection has not seen seq 5 yet: the append conflicts, the ledger refreshes and retries.
    const res = t.ledger.execute(addA(2), { actor: 'test' });
    assert.ok(res.lastSeq! > 5);
    assert.ok(t.ledger.zone('example.com.')!.records.size >= 3);
  } finally {
    t.cleanup();
  }
});

test('version-1 events from the fixture are upcast and replayed', () => {
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/events-v1.json', import.meta.url), 'utf8')) as { events: Array<{ type: string; version: number; payload: unknown }> };
  const bodies = fixture.events.map((e) => upcast(e.type, e.version, e.payload));
  assert.deepEqual(bodies[0].payload, { primary_ns: 'ns.old.test.', admin_email: 'hostmaster.old.test.', ttl: 120, refresh: 3600, retry: 600, expire: 86400, minimum: 120 });
  assert.deepEqual(bodies[1].payload, { id: 'legacy1', name: 'www.old.test.', type: 'A', value: '192.0.2.10', ttl: 60 });
  // Stored as version 1 rows in a real database, they load into a working projection.
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'old.db');
    const db = openDatabase(path);
    let prev = GENESIS_HASH;
    fixture.events.forEach((e, i) => {
      const cols = { seq: i + 1, ts: 1700000000000, actor: 'system', zone: 'old.test.', type: e.type, version: e.version, payload: JSON.stringify(e.payload), batch_id: 'legacy' };
      prev = eventHash(prev, cols);
      const p = e.payload as { id?: string; name?: string; type?: string };
      db.prepare('INSERT INTO events (seq, ts, actor, zone, type, version, payload, batch_id, record_id, name, rtype, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)').run(
        cols.seq, cols.ts, cols.actor, cols.zone, cols.type, cols.version, cols.payload, cols.batch_id, p.id ?? null, p.name ?? null, p.type ?? null, prev,
      );
    });
    db.close();
    const ledger = Ledger.open({ path });
    const z = ledger.zone('old.test.')!;
    assert.equal(z.serial, 2024010100);
    assert.equal(z.soa.ttl, 120);
    assert.equal(z.records.get('legacy1')!.value, '192.0.2.10');
    assert.equal(verifyChain(ledger.db).ok, true);
    ledger.close();
  } finally {
    cleanup();
  }
  assert.throws(() => upcast('RecordCreated', 3, {}), /version 3/);
  assert.throws(() => upcast('NoSuchEvent', 1, {}), /unknown event type/);
});

test('follow delivers every event once, in order, without gaps, including other processes\' appends', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(zoneCmd, { actor: 'test' });
    const seen: StoredEvent[] = [];
    const sub = t.ledger.log.follow(1).subscribe((batch) => seen.push(...batch));
    for (let i = 0; i < 20; i++) t.ledger.execute(addA(i), { actor: 'test' });
    // Another process appends; then our own append arrives after a gap the follower must fill.
    const other = new EventLog(new Database(t.path));
    other.append([{ zone: 'other.test.', body: { type: 'ZoneDeleted', payload: {} } }], { actor: 'x', expectedVersion: 0 });
    other.db.close();
    t.ledger.log.append([{ zone: 'third.test.', body: { type: 'ZoneDeleted', payload: {} } }], { actor: 'x', expectedVersion: 0 });
    sub.unsubscribe();
    const seqs = seen.map((e) => e.seq);
    const head = t.ledger.log.head().seq;
    assert.deepEqual(seqs, Array.from({ length: head - 1 }, (_, i) => i + 2));
    const firstTwo = await firstValueFrom(t.ledger.log.follow(0, { pageSize: 2 }).pipe(take(2), toArray()));
    assert.deepEqual(firstTwo.flat().map((e) => e.seq), [1, 2, 3, 4]);
  } finally {
    t.cleanup();
  }
});

test('a ledger reopened from its checkpoint plus tail equals a full replay', () => {
  const t = testLedger();
  try {
    t.ledger.execute(zoneCmd, { actor: 'test' });
    for (let i = 0; i < 30; i++) t.ledger.execute(addA(i), { actor: 'test' });
    t.ledger.checkpoint();
    for (let i = 30; i < 40; i++) t.ledger.execute(addA(i), { actor: 'test' });
    const live = stateDigest(t.ledger.state);
    const reopened = Ledger.open({ path: t.path });
    assert.ok(reopened.startup.checkpointSeq! > 0);
    assert.ok(reopened.startup.replayed > 0);
    assert.equal(stateDigest(reopened.state), live);
    reopened.close();
    // A checkpoint that does not match the log's hash at its seq is not trusted: full replay.
    t.ledger.db.prepare("UPDATE checkpoints SET head_hash = 'bogus'").run();
    const again = Ledger.open({ path: t.path });
    assert.equal(again.startup.checkpointSeq, undefined);
    assert.match(again.startup.skipped ?? '', /does not match/);
    assert.equal(stateDigest(again.state), live);
    again.close();
    // A checkpoint of another format is ignored too.
    t.ledger.db.prepare('UPDATE checkpoints SET format = 0').run();
    const third = Ledger.open({ path: t.path });
    assert.equal(third.startup.checkpointSeq, undefined);
    assert.equal(stateDigest(third.state), live);
    third.close();
  } finally {
    t.cleanup();
  }
});

test('background checkpoints (sliced between event-loop turns) are written and used at the next start', async () => {
  const t = testLedger({ checkpointEvery: 20, checkpointInBackground: true });
  try {
    t.ledger.execute(zoneCmd, { actor: 'test' });
    for (let i = 0; i < 15; i++) t.ledger.execute(addA(i), { actor: 'test' });
    // The 20-event threshold started a background checkpoint; wait for its row to appear.
    const row = await waitFor(() => t.ledger.db.prepare('SELECT seq FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number } | undefined, {
      what: 'the background checkpoint row',
      timeoutMs: 15_000,
    });
    assert.ok(row.seq >= 20, 'the automatic background checkpoint was written');
    const explicit = await t.ledger.checkpointBackground();
    assert.equal(explicit, t.ledger.state.seq);
    const reopened = Ledger.open({ path: t.path });
    assert.equal(reopened.startup.checkpointSeq, explicit);
    assert.equal(stateDigest(reopened.state), stateDigest(t.ledger.state));
    reopened.close();
    for (let i = 15; i < 40; i++) t.ledger.execute(addA(i), { actor: 'test' });
    t.ledger.checkpoint();
    const kept = t.ledger.db.prepare('SELECT count(*) AS n FROM checkpoints').get() as { n: number };
    assert.ok(kept.n <= 3, `old checkpoints are pruned (${kept.n} kept)`);
  } finally {
    t.cleanup();
  }
});
