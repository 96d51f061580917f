/**
 * Point-in-time reads (`?at=`) off the DNS thread. The attack: eight parallel `?at=` reads by a
 * read-only user replayed the log on the thread that answers DNS, stalling it for as long as each
 * replay took. Now a separate low-priority process folds past states; the main thread's event loop
 * must stay responsive while they run, and its answers must equal the in-thread fold for any point.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAt, type AtQuery } from '../../src/api/at-answers.ts';
import type { Command, RecordOp } from '../../src/projections/decide.ts';
import { EMPTY_STATE, evolveAll } from '../../src/projections/state.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { testLedger } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';
import { startHarness } from './harness.ts';
import { isCi, onPath } from '../helpers/tools.ts';
import { PointInTimeReader } from '../../src/projections/point-in-time.ts';

const ZONES = ['a.test.', 'b.test.', 'sub.a.test.'];

test('for random points, the worker answers exactly what the in-thread fold answers', async () => {
  const random = rng(20261202);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const t = testLedger({ checkpointEvery: 60 });
  try {
    const { ledger, clock } = t;
    for (let i = 0; i < 600; i++) {
      clock.advance(1000);
      const zone = pick(ZONES);
      const z = ledger.state.zones.get(zone);
      let cmd: Command;
      if (!z || random() < 0.02) {
        if (z) cmd = { kind: 'deleteZone', zone };
        else cmd = { kind: 'createZone', zone, soa: { primary_ns: `ns1.${zone}`, admin_email: `hostmaster.${zone}` } };
      } else {
        const ids = [...z.records.keys()];
        const ops: RecordOp[] = [];
        for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
          const r = random();
          if (r < 0.6 || ids.length === 0) ops.push({ op: 'create', name: `${pick(['www', 'mail', 'x', 'y.z'])}${i}.${zone}`, type: pick(['A', 'TXT']) as 'A', value: random() < 0.5 ? `192.0.2.${i % 250}` : `"v${i}"` });
          else if (r < 0.8) ops.push({ op: 'delete', id: ids.splice(Math.floor(random() * ids.length), 1)[0] });
          else ops.push({ op: 'update', id: pick(ids), ttl: 60 + i });
        }
        cmd = { kind: 'changeRecords', zone, ops };
      }
      try {
        ledger.execute(cmd, { actor: 'test' });
      } catch {
        // a refused command (e.g. a TXT value given to an A record) changes nothing; fine here
      }
    }
    const head = ledger.state.seq;
    assert.ok(head > 800, `a log of ${head} events`);
    const points = [1, head - 1, ...Array.from({ length: 30 }, () => 1 + Math.floor(random() * (head - 1)))];
    for (const seq of points) {
      const inThread = ledger.stateAt({ seq });
      assert.equal(stateDigest(inThread), stateDigest(evolveAll(EMPTY_STATE, ledger.log.iterate(0, seq))), `stateAt(${seq}) is the full replay`);
      const queries: AtQuery[] = [{ kind: 'zones' }];
      for (const zone of ZONES) {
        queries.push({ kind: 'zone', zone }, { kind: 'records', zone }, { kind: 'records', zone, type: 'TXT' }, { kind: 'export', zone, note: ` (at=${seq})` });
      }
      for (const q of queries) {
        assert.deepEqual(await ledger.pointInTime.read(seq, q), answerAt(inThread, q), `seq ${seq}: ${JSON.stringify(q)}`);
      }
    }
  } finally {
    t.cleanup();
  }
});

test('the worker keeps recent points: the same point again folds nothing, a nearby later one folds only the difference', async () => {
  const t = testLedger();
  try {
    t.ledger.execute({ kind: 'createZone', zone: 'c.test', soa: { primary_ns: 'ns.c.test', admin_email: 'h.c.test' } }, { actor: 'test' });
    for (let i = 0; i < 200; i++) t.ledger.execute({ kind: 'changeRecords', zone: 'c.test', ops: [{ op: 'create', name: `h${i}.c.test.`, type: 'A', value: '192.0.2.7' }] }, { actor: 'test' });
    const q = { kind: 'zone', zone: 'c.test.' } as const;
    await t.ledger.pointInTime.read(300, q);
    assert.deepEqual(t.ledger.pointInTime.lastStats, { base: 0, from: 'empty', folded: 300 });
    await t.ledger.pointInTime.read(300, q);
    assert.equal(t.ledger.pointInTime.lastStats?.from, 'cache');
    assert.equal(t.ledger.pointInTime.lastStats?.folded, 0);
    await t.ledger.pointInTime.read(310, q);
    assert.deepEqual(t.ledger.pointInTime.lastStats, { base: 300, from: 'cache', folded: 10 });
  } finally {
    t.cleanup();
  }
});

test('a decoded checkpoint is kept as a base: another point past the same checkpoint does not decode it again', async () => {
  const t = testLedger({ checkpointEvery: 100 });
  try {
    t.ledger.execute({ kind: 'createZone', zone: 'd.test', soa: { primary_ns: 'ns.d.test', admin_email: 'h.d.test' } }, { actor: 'test' });
    for (let i = 0; i < 200; i++) t.ledger.execute({ kind: 'changeRecords', zone: 'd.test', ops: [{ op: 'create', name: `h${i}.d.test.`, type: 'A', value: '192.0.2.8' }] }, { actor: 'test' });
    const kept = t.ledger.db.prepare('SELECT seq FROM checkpoints ORDER BY seq').pluck().all() as number[];
    const cp = kept[0];
    const q = { kind: 'zone', zone: 'd.test.' } as const;
    await t.ledger.pointInTime.read(cp + 20, q);
    assert.deepEqual(t.ledger.pointInTime.lastStats, { base: cp, from: 'checkpoint', folded: 20 });
    await t.ledger.pointInTime.read(cp + 10, q);
    assert.deepEqual(t.ledger.pointInTime.lastStats, { base: cp, from: 'cache', folded: 10 });
  } finally {
    t.cleanup();
  }
});

test('the point-in-time process runs every one of its threads at nice 19 and SCHED_IDLE, with one GC thread; this process keeps its priority', async (ctx) => {
  if (process.platform !== 'linux') {
    // CI runs on Linux; a CI run elsewhere must not pass by dropping this check.
    if (isCi()) throw new Error('CI=true: the priority check needs Linux (per-thread nice values in /proc)');
    ctx.skip('per-thread nice values are a Linux feature');
    return;
  }
  const t = testLedger();
  try {
    t.ledger.execute({ kind: 'createZone', zone: 'e.test', soa: { primary_ns: 'ns.e.test', admin_email: 'h.e.test' } }, { actor: 'test' });
    t.ledger.execute({ kind: 'changeRecords', zone: 'e.test', ops: [{ op: 'create', name: 'a.e.test.', type: 'A', value: '192.0.2.9' }] }, { actor: 'test' });
    // Fields of stat counted after the ")" that ends the name (which is field 2): field 19 is the
    // nice value, field 41 the scheduling policy (5: SCHED_IDLE).
    const statOf = (pid: number | 'self', field: number): Map<number, number> => {
      const out = new Map<number, number>();
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3]));
      }
      return out;
    };
    const niceOf = (pid: number | 'self'): Map<number, number> => statOf(pid, 19);
    const before = niceOf('self');
    await t.ledger.pointInTime.read(1, { kind: 'zones' });
    const pid = t.ledger.pointInTime.processId;
    assert.ok(pid !== undefined && pid !== process.pid, 'the reads run in a process of their own');
    // Every thread of the child, the GC and libuv threads too (they inherit it from the start).
    const child = niceOf(pid);
    assert.ok(child.size >= 1);
    for (const [tid, nice] of child) assert.equal(nice, 19, `thread ${tid} of the point-in-time process runs at nice ${nice}`);
    const SCHED_IDLE = 5;
    if (onPath('chrt')) {
      for (const [tid, policy] of statOf(pid, 41)) assert.equal(policy, SCHED_IDLE, `thread ${tid} of the point-in-time process has scheduling policy ${policy}`);
    } else if (isCi()) assert.fail('CI=true: chrt (util-linux) is missing, so the point-in-time process is not SCHED_IDLE');
    assert.ok(![...statOf('self', 41).values()].includes(SCHED_IDLE), 'no thread of this process is SCHED_IDLE');
    assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('--single-threaded-gc'), 'the child collects garbage on its own thread');
    const after = niceOf('self');
    for (const [tid, nice] of after) if (before.has(tid)) assert.equal(nice, before.get(tid), `thread ${tid} of this process keeps its nice value`);
    assert.ok(![...after].some(([tid, nice]) => !before.has(tid) && nice === 19), 'no low-priority thread was added to this process');
  } finally {
    t.cleanup();
  }
});

test('a point-in-time process that dies fails the reads waiting on it with a clear error, and the next read starts a new one', async () => {
  const t = testLedger();
  try {
    t.ledger.execute({ kind: 'createZone', zone: 'k.test', soa: { primary_ns: 'ns.k.test', admin_email: 'h.k.test' } }, { actor: 'test' });
    await t.ledger.pointInTime.read(1, { kind: 'zones' });
    const first = t.ledger.pointInTime.processId;
    assert.ok(first !== undefined);
    // Stopped first, so that it cannot answer the read before the kill lands (on the other core it could).
    process.kill(first, 'SIGSTOP');
    const waiting = t.ledger.pointInTime.read(1, { kind: 'zone', zone: 'k.test.' });
    process.kill(first, 'SIGKILL');
    await assert.rejects(waiting, (err: Error & { kind?: string }) => {
      assert.equal(err.kind, 'internal');
      assert.match(err.message, /point-in-time process was killed by SIGKILL/);
      return true;
    });
    const again = await t.ledger.pointInTime.read(1, { kind: 'zone', zone: 'k.test.' });
    assert.equal(again.missing, undefined);
    assert.notEqual(t.ledger.pointInTime.processId, first, 'a fresh process');
  } finally {
    t.cleanup();
  }
});

test('closing the ledger ends the point-in-time process; a database that cannot be opened fails the read naming it', async () => {
  const t = testLedger();
  t.ledger.execute({ kind: 'createZone', zone: 'q.test', soa: { primary_ns: 'ns.q.test', admin_email: 'h.q.test' } }, { actor: 'test' });
  await t.ledger.pointInTime.read(1, { kind: 'zones' });
  const pid = t.ledger.pointInTime.processId;
  assert.ok(pid !== undefined);
  await t.ledger.pointInTime.close();
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the child has exited');
  t.cleanup();

  const missing = new PointInTimeReader('/nonexistent/dir/mcns.db');
  await assert.rejects(missing.read(1, { kind: 'zones' }), (err: Error & { kind?: string }) => {
    assert.equal(err.kind, 'internal');
    assert.match(err.message, /cannot open \/nonexistent\/dir\/mcns\.db/);
    return true;
  });
  await missing.close();
});

test('eight parallel ?at= reads by a read-only user do not stall the main thread (which answers DNS)', async () => {
  const h = await startHarness();
  try {
    const zone = 'stall.test';
    const r = await h.rest('POST', '/v1/zones', { token: h.tokens.alice, body: { name: zone, primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` } });
    assert.equal(r.status, 201);
    // A log long enough that one replay on this thread is clearly visible (no checkpoints: this
    // ledger writes none, so every past point replays from seq 0, as in a long log before the fix).
    for (let b = 0; b < 100; b++) {
      const ops: RecordOp[] = Array.from({ length: 100 }, (_, i) => ({ op: 'create', name: `h${b}-${i}.${zone}.`, type: 'A', value: `192.0.2.${i}` }));
      h.ledger.execute({ kind: 'changeRecords', zone, ops }, { actor: 'alice' });
    }
    const head = h.ledger.state.seq;
    // What one such read costs when it replays on this thread (the old code path, measured here).
    const started = performance.now();
    h.ledger.stateAt({ seq: head - 1 });
    const inThreadMs = performance.now() - started;
    assert.ok(inThreadMs > 40, `one in-thread replay takes ${inThreadMs.toFixed(0)} ms: enough to see a stall`);

    // Warm the worker up (its start is a one-time cost), then watch the event loop during 8 reads.
    await h.rest('GET', `/v1/zones/${zone}?at=1`, { token: h.tokens.bob });
    let worstLagMs = 0;
    let last = performance.now();
    let ticking = true;
    const tick = (): void => {
      const now = performance.now();
      worstLagMs = Math.max(worstLagMs, now - last);
      last = now;
      if (ticking) setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    const points = Array.from({ length: 8 }, (_, i) => head - 1 - i * 97);
    const replies = await Promise.all(points.map((p) => h.rest('GET', `/v1/zones/${zone}?at=${p}`, { token: h.tokens.bob })));
    ticking = false;
    // The same answers as folding on this thread (one pass over the points, in order).
    let state = EMPTY_STATE;
    for (const i of points.map((_, k) => k).sort((x, y) => points[x] - points[y])) {
      state = evolveAll(state, h.ledger.log.iterate(state.seq, points[i]));
      const expected = answerAt(state, { kind: 'zone', zone: `${zone}.` });
      if (expected.missing) assert.fail(`zone missing at ${points[i]}`);
      assert.equal(replies[i].status, 200, replies[i].text);
      assert.deepEqual(replies[i].body.zone, expected.value.zone);
    }
    // Eight in-thread replays would have blocked the loop for at least one full replay at a time.
    assert.ok(worstLagMs < Math.max(inThreadMs / 2, 20), `worst event-loop lag ${worstLagMs.toFixed(1)} ms during 8 reads (one in-thread replay: ${inThreadMs.toFixed(0)} ms)`);
  } finally {
    await h.close();
  }
});
