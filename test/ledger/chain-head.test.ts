/**
 * Tamper evidence of the hash chain. The chain is unkeyed, so someone who can write the database
 * file can rewrite an event and recompute every hash after it: `mcns verify` alone then says ok.
 * What the attacker does not hold is a chain head recorded elsewhere: `mcns status`, GET /v1/health
 * (and gRPC Health) and the snapshot API return it, and `mcns verify --head SEQ:HASH` proves the log
 * still holds it. Start-up checks the chain of the tail it replays after the checkpoint: a tail
 * event edited in the file stops the server from starting (logged as an error) instead of serving
 * the forged data.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Ledger } from '../../src/ledger.ts';
import { ChainError, eventHash } from '../../src/events/hash.ts';
import { checkChainHead, formatChainHead, parseChainHead, readChainHead } from '../../src/events/chain-head.ts';
import type { EventRow } from '../../src/events/log.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { McnsError } from '../../src/errors.ts';
import { mcns } from '../cli/run.ts';
import { testLedger, tempDir } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { startHarness } from '../api/harness.ts';

const ZONE = 'chain.test.';

/** A small history: a zone and a few records, one batch each. */
function writeHistory(ledger: Ledger, from: number, n: number): void {
  for (let i = from; i < from + n; i++) {
    ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `h${i}.${ZONE}`, type: 'A', value: `192.0.2.${i}` }] }, { actor: 'test' });
  }
}

function createZone(ledger: Ledger): void {
  ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster.${ZONE}` } }, { actor: 'test' });
}

/** What an attacker with write access to the file does: edit one event's payload, optionally recomputing every hash from there. */
function forge(path: string, seq: number, edit: (payload: string) => string, opts: { rechain: boolean }): void {
  const db = new Database(path);
  try {
    db.exec('DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;');
    const row = db.prepare('SELECT * FROM events WHERE seq = ?').get(seq) as EventRow;
    const payload = edit(row.payload);
    assert.notEqual(payload, row.payload, 'the forgery changes the event');
    db.prepare('UPDATE events SET payload = ? WHERE seq = ?').run(payload, seq);
    if (opts.rechain) {
      let prev = (db.prepare('SELECT hash FROM events WHERE seq = ?').get(seq - 1) as { hash: string }).hash;
      for (const r of db.prepare('SELECT * FROM events WHERE seq >= ? ORDER BY seq').all(seq) as EventRow[]) {
        const h = eventHash(prev, r);
        db.prepare('UPDATE events SET hash = ? WHERE seq = ?').run(h, r.seq);
        prev = h;
      }
      // Checkpoints would give the rewrite away: the attacker removes them.
      db.exec('DELETE FROM checkpoints');
    }
  } finally {
    db.close();
  }
}

const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('parseChainHead / formatChainHead round-trip, and a malformed head is named', () => {
  const head = { seq: 42, hash: 'ab'.repeat(32) };
  assert.deepEqual(parseChainHead(formatChainHead(head)), head);
  assert.deepEqual(parseChainHead(` 42:${'AB'.repeat(32)} `), head);
  for (const bad of ['42', `x:${'a'.repeat(64)}`, `42:${'a'.repeat(63)}`, `42:${'g'.repeat(64)}`]) {
    assert.throws(() => parseChainHead(bad, '--head'), (e: unknown) => e instanceof McnsError && /^--head: must be SEQ:HASH/.test(e.message));
  }
});

test('a rewritten and re-chained history passes a plain verify, and fails verify --head with the recorded head', async () => {
  const env = testLedger();
  cleanups.push(env.cleanup);
  createZone(env.ledger);
  writeHistory(env.ledger, 1, 5);
  const recorded = readChainHead(env.ledger.db);
  writeHistory(env.ledger, 6, 3);
  env.ledger.close();
  const pristine = join(env.dir, 'pristine.db');
  copyFileSync(env.path, pristine);

  // The untouched log holds the head.
  const good = await mcns(['verify', '--db', pristine, '--head', formatChainHead(recorded)]);
  assert.deepEqual([good.code, good.stdout], [0, 'ok\n'], good.stderr);

  // Rewrite an event before the recorded head (an address changed) and recompute the chain.
  const victim = recorded.seq - 3; // the RecordCreated of an earlier batch
  forge(env.path, victim, (p) => p.replace(/192\.0\.2\.(\d+)/, '203.0.113.66'), { rechain: true });
  const plain = await mcns(['verify', '--db', env.path]);
  assert.equal(plain.code, 0, 'an unkeyed chain cannot tell a rewrite from the original on its own');
  const withHead = await mcns(['verify', '--db', env.path, '--head', formatChainHead(recorded)]);
  assert.equal(withHead.code, 1, withHead.stdout);
  assert.match(withHead.stderr, new RegExp(`chain head ${recorded.seq}:${recorded.hash}: event ${recorded.seq} has hash [0-9a-f]{64}, not the recorded head's .*rewritten at or before seq ${recorded.seq}`));
});

test('verify --head on a log cut short names the missing head; a malformed --head is a usage error', async () => {
  const env = testLedger();
  cleanups.push(env.cleanup);
  createZone(env.ledger);
  writeHistory(env.ledger, 1, 4);
  const recorded = readChainHead(env.ledger.db);
  env.ledger.close();
  const db = new Database(env.path);
  db.exec('DROP TRIGGER events_no_delete');
  db.prepare('DELETE FROM events WHERE seq > ?').run(recorded.seq - 3);
  db.exec('DELETE FROM checkpoints');
  db.close();
  const r = await mcns(['verify', '--db', env.path, '--head', formatChainHead(recorded)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`the log ends at seq ${recorded.seq - 3}, before the recorded head ${recorded.seq}: events were removed`));
  const usage = await mcns(['verify', '--db', env.path, '--head', 'nonsense']);
  assert.equal(usage.code, 2, usage.stderr);
  assert.match(usage.stderr, /--head: must be SEQ:HASH/);
});

test('start-up checks the tail it replays after the checkpoint: an edited tail event stops Ledger.open with a ChainError naming it', () => {
  const env = testLedger();
  cleanups.push(() => env.cleanup());
  createZone(env.ledger);
  writeHistory(env.ledger, 1, 3);
  const cpSeq = env.ledger.checkpoint();
  writeHistory(env.ledger, 4, 3);
  const tailSeq = env.ledger.state.seq - 1; // the last batch's RecordCreated
  env.ledger.close();
  forge(env.path, tailSeq, (p) => p.replace('192.0.2.6', '203.0.113.66'), { rechain: false });
  assert.ok(tailSeq > cpSeq);
  assert.throws(
    () => Ledger.open({ path: env.path }),
    (e: unknown) => e instanceof ChainError && e.seq === tailSeq && /hash chain broken at seq \d+.*refusing to serve/.test(e.message),
  );
});

test('the server refuses to start on a forged tail and logs the error', async () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const cfg = writeServerConfig(dir);
  const config = loadConfig({ path: cfg });
  const ledger = Ledger.open({ path: config.database.path });
  createZone(ledger);
  writeHistory(ledger, 1, 2);
  const seq = ledger.state.seq - 1;
  ledger.close();
  forge(config.database.path, seq, (p) => p.replace('192.0.2.2', '203.0.113.66'), { rechain: false });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  await assert.rejects(startServer(config, { logger: pino({ level: 'info' }, sink) }), ChainError);
  const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; seq?: number }).find((l) => /hash chain broken/.test(l.msg));
  assert.ok(logged, `an error line was logged: ${lines.join('')}`);
  assert.equal(logged.level, 50);
  assert.equal(logged.seq, seq);
});

test('GET /v1/health, gRPC Health, mcns status and POST /v1/snapshots return the chain head; the snapshot verifies against it', async () => {
  const h = await startHarness();
  cleanups.push(() => h.close());
  const made = await h.rest('POST', '/v1/zones', { token: h.tokens.alice, body: { name: 'head.test', primary_ns: 'ns1.head.test', admin_email: 'hostmaster@head.test' } });
  assert.equal(made.status, 201, made.text);
  const expected = readChainHead(h.ledger.db);
  assert.equal(expected.seq, h.ledger.state.seq);

  const health = await h.rest('GET', '/v1/health');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body.chain_head, expected);
  const g = await h.grpc('AdminService', 'Health', {});
  assert.equal(g.code, 0, g.details);
  assert.deepEqual(g.body.chain_head, expected);

  const status = await mcns(['status', '--addr', `https://127.0.0.1:${h.restPort}`, '--ca-cert', h.tls.caPath]);
  assert.equal(status.code, 0, status.stderr);
  // The chain head on the second line; the start-up phases (issue 17) follow on a third.
  assert.equal(status.stdout.split('\n').slice(0, 2).join('\n'), `ok\nchain head ${formatChainHead(expected)}`);
  assert.match(status.stdout.split('\n')[2], /^start-up: checkpoint load \d+\.\d s \((none|seq \d+)\), tail replay \d+\.\d s \(\d+ events\)(, DNS warm-up \d+\.\d s)?, index build (\d+\.\d s|in progress)$/);

  const snap = await h.rest('POST', '/v1/snapshots', { token: h.tokens.alice });
  assert.equal(snap.status, 201, snap.text);
  const copy = new Database(snap.body.path, { readonly: true });
  assert.deepEqual(snap.body.chain_head, readChainHead(copy));
  assert.deepEqual(checkChainHead(copy, snap.body.chain_head), { ok: true });
  copy.close();
  const v = await mcns(['verify', '--db', snap.body.path, '--head', formatChainHead(snap.body.chain_head)]);
  assert.deepEqual([v.code, v.stdout], [0, 'ok\n'], v.stderr);
  const gs = await h.grpc('AdminService', 'Snapshot', {}, { token: h.tokens.alice });
  assert.equal(gs.code, 0, gs.details);
  assert.deepEqual(gs.body.chain_head, readChainHead(h.ledger.db));
});

test('mcns snapshot prints the path on stdout and the snapshot chain head on stderr', async () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const cfg = writeServerConfig(dir);
  const ledger = Ledger.open({ path: join(dir, 'mcns.db') });
  createZone(ledger);
  writeHistory(ledger, 1, 2);
  ledger.close();
  const r = await mcns(['snapshot', '--config', cfg]);
  assert.equal(r.code, 0, r.stderr);
  const path = r.stdout.trim();
  const copy = new Database(path, { readonly: true });
  const head = readChainHead(copy);
  copy.close();
  assert.match(r.stderr, new RegExp(`^chain head ${formatChainHead(head)}$`, 'm'));
});
