/**
 * The keyed chain (`[database] chain_key_file`): with a key the database does not hold, each batch's
 * last event is MACed. Someone who can write the database file but not read the key can rewrite
 * history and recompute the unkeyed hashes (plain `mcns verify` still says ok), but no MAC then
 * verifies: `mcns verify --chain-key-file` names the seq and the server refuses to start. Events
 * appended without the key (a forgery, or an offline write that forgot it) are found too.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Ledger } from '../../src/ledger.ts';
import { ChainError, eventHash } from '../../src/events/hash.ts';
import { checkChainMacs, keyChainFromFile, readChainKey } from '../../src/events/chain-key.ts';
import type { EventRow } from '../../src/events/log.ts';
import { verifyLedger } from '../../src/projections/verify-ledger.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { McnsError } from '../../src/errors.ts';
import { mcns } from '../cli/run.ts';
import { tempDir } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';

const ZONE = 'keyed.test.';
const cleanups: Array<() => void> = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

function setup(): { dir: string; path: string; keyFile: string; key: Buffer } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const keyFile = join(dir, 'chain.key');
  writeFileSync(keyFile, `${Buffer.alloc(48, 7).toString('base64')}\n`, { mode: 0o600 });
  return { dir, path: join(dir, 'mcns.db'), keyFile, key: readChainKey(keyFile) };
}

/** A keyed ledger with a zone and `n` one-record batches, closed. */
function keyedHistory(path: string, key: Buffer, n: number): void {
  const ledger = Ledger.open({ path });
  try {
    assert.equal(ledger.log.useChainKey(key).ok, true);
    ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster.${ZONE}` } }, { actor: 'test' });
    for (let i = 1; i <= n; i++) ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `h${i}.${ZONE}`, type: 'A', value: `192.0.2.${i}` }] }, { actor: 'test' });
  } finally {
    ledger.close();
  }
}

/** The attacker: edit one event and recompute every hash after it (no key: the MACs stay as they were). */
function rewriteAndRechain(path: string, seq: number): void {
  const db = new Database(path);
  db.exec('DROP TRIGGER events_no_update');
  const row = db.prepare('SELECT * FROM events WHERE seq = ?').get(seq) as EventRow;
  const forged = row.payload.replace(/192\.0\.2\.\d+/, '203.0.113.66');
  assert.notEqual(forged, row.payload, `event ${seq} holds an address to forge`);
  db.prepare('UPDATE events SET payload = ? WHERE seq = ?').run(forged, seq);
  let prev = (db.prepare('SELECT hash FROM events WHERE seq = ?').get(seq - 1) as { hash: string }).hash;
  for (const r of db.prepare('SELECT * FROM events WHERE seq >= ? ORDER BY seq').all(seq) as EventRow[]) {
    const h = eventHash(prev, r);
    db.prepare('UPDATE events SET hash = ? WHERE seq = ?').run(h, r.seq);
    prev = h;
  }
  db.exec('DELETE FROM checkpoints');
  db.close();
}

test('a chain key file needs 32 bytes; the error names the config key', () => {
  const { dir } = setup();
  const short = join(dir, 'short.key');
  writeFileSync(short, 'too short\n');
  assert.throws(() => readChainKey(short), (e: unknown) => e instanceof McnsError && /^database\.chain_key_file: .*9 bytes; a chain key needs at least 32/.test(e.message));
  assert.throws(() => readChainKey(join(dir, 'missing.key')), /database\.chain_key_file: cannot read .*ENOENT/);
});

test('every batch written with the key carries a MAC and verify with the key says ok', () => {
  const { path, key } = setup();
  keyedHistory(path, key, 4);
  const db = new Database(path, { readonly: true });
  const batches = (db.prepare('SELECT count(DISTINCT batch_id) AS n FROM events').get() as { n: number }).n;
  assert.equal((db.prepare('SELECT count(*) AS n FROM chain_macs').get() as { n: number }).n, batches);
  assert.deepEqual(verifyLedger(db, undefined, { chainKey: key }), { ok: true, events: (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n });
  const wrong = checkChainMacs(db, Buffer.alloc(48, 9));
  assert.equal(wrong.ok, false);
  db.close();
});

test('a rewritten, re-chained history: plain verify says ok, verify with the key names the first bad MAC', async () => {
  const { path, key, keyFile } = setup();
  keyedHistory(path, key, 5);
  rewriteAndRechain(path, 4);
  const plain = await mcns(['verify', '--db', path]);
  assert.equal(plain.code, 0, 'the unkeyed chain alone cannot see it');
  const keyed = await mcns(['verify', '--db', path, '--chain-key-file', keyFile]);
  assert.equal(keyed.code, 1, keyed.stdout);
  assert.match(keyed.stderr, /keyed chain: the chain MAC at seq \d+ does not verify: the log was rewritten at or before seq \d+/);
  const db = new Database(path, { readonly: true });
  const check = checkChainMacs(db, key);
  db.close();
  assert.ok(!check.ok && check.seq >= 4);
});

test('the server with chain_key_file refuses to start on a rewritten log and logs the error', async () => {
  const { dir, key } = setup();
  const cfg = writeServerConfig(dir, { dns: [] });
  // chain_key_file is relative to the config file's directory.
  writeFileSync(cfg, (await import('node:fs')).readFileSync(cfg, 'utf8').replace('[database]\n', '[database]\nchain_key_file = "chain.key"\n'));
  const config = loadConfig({ path: cfg });
  assert.equal(config.database.chain_key_file, join(dir, 'chain.key'));
  keyedHistory(config.database.path, key, 3);
  rewriteAndRechain(config.database.path, 4);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  await assert.rejects(startServer(config, { logger: pino({ level: 'info' }, sink) }), (e: unknown) => e instanceof ChainError && /keyed chain: the chain MAC at seq/.test(e.message));
  const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => /keyed chain check failed/.test(l.msg));
  assert.ok(logged, lines.join(''));
  assert.equal(logged.level, 50);
});

test('events appended without the key are found at start-up; an offline import must pass the key', async () => {
  const { dir, path, key, keyFile } = setup();
  keyedHistory(path, key, 2);
  // Appended by someone without the key (a forgery, correctly chained).
  const ledger = Ledger.open({ path });
  ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `forged.${ZONE}`, type: 'A', value: '203.0.113.66' }] }, { actor: 'test' });
  const forgedSeq = ledger.state.seq;
  const warnings: string[] = [];
  const errors: Array<{ obj: object; msg: string }> = [];
  const logger = { info: () => {}, warn: (_o: object, m: string) => warnings.push(m), error: (obj: object, msg: string) => errors.push({ obj, msg }) };
  assert.throws(() => keyChainFromFile(ledger.log, keyFile, 0, logger), (e: unknown) => e instanceof ChainError && /carry no chain MAC: they were appended without the key/.test(e.message));
  assert.equal(errors.length, 1);
  assert.ok(forgedSeq > 0);
  ledger.close();

  // The offline writer refuses to add unkeyed batches to a keyed log, and MACs them with the key.
  const zoneFile = join(dir, 'z.zone');
  writeFileSync(zoneFile, `$ORIGIN other.test.\n$TTL 300\n@ IN SOA ns1.other.test. h.other.test. 1 3600 600 86400 300\n@ IN NS ns1.other.test.\n`);
  const clean = join(dir, 'clean.db');
  keyedHistory(clean, key, 1);
  const without = await mcns(['zone', 'import', 'other.test', zoneFile, '--db', clean]);
  assert.equal(without.code, 2, without.stderr);
  assert.match(without.stderr, /keyed chain: pass --chain-key-file/);
  const withKey = await mcns(['zone', 'import', 'other.test', zoneFile, '--db', clean, '--chain-key-file', keyFile]);
  assert.equal(withKey.code, 0, withKey.stderr);
  const v = await mcns(['verify', '--db', clean, '--chain-key-file', keyFile]);
  assert.deepEqual([v.code, v.stdout], [0, 'ok\n'], v.stderr);
});

test('first use of the key on an unkeyed log adopts its head (warned), then MACs every batch', () => {
  const { path, key, keyFile } = setup();
  const ledger = Ledger.open({ path });
  ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster.${ZONE}` } }, { actor: 'test' });
  const warnings: string[] = [];
  keyChainFromFile(ledger.log, keyFile, 0, { info: () => {}, warn: (_o, m) => warnings.push(m), error: () => {} });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /keyed chain started/);
  ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `a.${ZONE}`, type: 'A', value: '192.0.2.1' }] }, { actor: 'test' });
  const check = checkChainMacs(ledger.db, key);
  assert.ok(check.ok && check.macs === 2 && check.newest === ledger.state.seq, JSON.stringify(check));
  ledger.close();
});

test('the server with chain_key_file starts on a good keyed log, MACs what it writes, and mcns verify --config checks it', async () => {
  const { dir, key } = setup();
  const cfg = writeServerConfig(dir);
  writeFileSync(cfg, (await import('node:fs')).readFileSync(cfg, 'utf8').replace('[database]\n', '[database]\nchain_key_file = "chain.key"\n'));
  const config = loadConfig({ path: cfg });
  keyedHistory(config.database.path, key, 2);
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  try {
    server.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `live.${ZONE}`, type: 'A', value: '192.0.2.77' }] }, { actor: 'test' });
    const check = checkChainMacs(server.ledger.db, key);
    assert.ok(check.ok && check.newest === server.ledger.state.seq, JSON.stringify(check));
  } finally {
    await server.stop('test');
  }
  const v = await mcns(['verify', '--config', cfg]);
  assert.deepEqual([v.code, v.stdout], [0, 'ok\n'], v.stderr);
});
