// The `mcns` command as an operator runs it: real processes of bin/mcns, their output and exit codes
// (0 success, 1 failure, 2 usage error; one-line errors, stacks only with --debug).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Ledger } from '../../src/ledger.ts';
import { importCommand, exportZone } from '../../src/projections/zone-files.ts';
import { makeTestTls, type TestTls } from '../helpers/tls.ts';
import { mcns, REPO } from './run.ts';
import { applyRetention } from '../../src/cli/commands/snapshot.ts';

const EXAMPLE = join(REPO, 'test/fixtures/zones/example.com.zone');
const SVC = join(REPO, 'test/fixtures/zones/svc.mcp.metacircular.net.zone');

function tmp(prefix = 'mcns-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A config file for `--config` commands, pointing at a database in the same temp dir. */
function configFor(dir: string, extra = ''): string {
  const p = join(dir, 'mcns.toml');
  writeFileSync(
    p,
    `[server]\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n[database]\npath = "mcns.db"\n${extra}\n[mcias]\nserver_url = "https://127.0.0.1:1"\n`,
  );
  return p;
}

function dataLines(zoneText: string): string[] {
  return zoneText.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';'));
}

let tls: TestTls;
before(() => {
  tls = makeTestTls();
});

test('usage errors exit 2, unknown commands and missing options included', async () => {
  assert.equal((await mcns(['--help'])).code, 0);
  const unknown = await mcns(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  assert.equal((await mcns(['replay'])).code, 2);
  const server = await mcns(['server']);
  assert.equal(server.code, 2);
  assert.equal(server.stderr, 'mcns: server needs --config PATH or --dev\n');
  assert.equal((await mcns(['replay', '--db', 'x.db', '--format', 'yaml'])).code, 2);
  assert.equal((await mcns(['record', 'list', 'example.com'], { env: { MCNS_TOKEN: 't' } })).code, 2, '--addr missing');
});

test('failures exit 1 with one line on stderr; --debug adds the stack', async () => {
  const r = await mcns(['verify', '--db', '/nonexistent/mcns.db']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^mcns: cannot open database \/nonexistent\/mcns\.db/);
  const d = await mcns(['verify', '--db', '/nonexistent/mcns.db', '--debug']);
  assert.equal(d.code, 1);
  assert.ok(d.stderr.split('\n').length > 2 && /\n\s+at /.test(d.stderr), d.stderr);
});

test('zone import/export --db, history and verify --db / --config on a database file', async () => {
  const dir = tmp();
  const db = join(dir, 'mcns.db');
  const imp = await mcns(['zone', 'import', 'example.com', EXAMPLE, '--db', db]);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /^example\.com imported: \d+ created, 0 updated, 0 deleted \(seq 1\.\.\d+\), serial \d{10}\n$/);
  assert.equal(imp.stderr, '', 'no progress output when stderr is not a terminal');
  const again = await mcns(['zone', 'import', 'example.com', EXAMPLE, '--db', db]);
  assert.match(again.stdout, /^example\.com imported: nothing written \(already equal\), serial \d{10}\n$/);
  const exp = await mcns(['zone', 'export', 'example.com', '--db', db]);
  assert.equal(exp.code, 0);
  assert.match(exp.stdout, /^@\s+\d+\s+IN\s+SOA\s+ns1\.example\.com\./m);
  const hist = await mcns(['history', '--db', db, 'example.com']);
  assert.equal(hist.code, 0);
  assert.match(hist.stdout, /^SEQ\s+TIME\s+ACTOR\s+SURFACE\s+EVENT\s+CHANGE/);
  assert.match(hist.stdout, /import/);
  const v = await mcns(['verify', '--db', db]);
  assert.deepEqual([v.code, v.stdout], [0, 'ok\n']);
  const vc = await mcns(['verify', '--config', configFor(dir)]);
  assert.deepEqual([vc.code, vc.stdout, vc.stderr], [0, 'ok\n', '']);
  const missing = await mcns(['zone', 'export', 'nope.example', '--db', db]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /zone nope\.example\. does not exist/);
});

test('verify --config names the bad key of a broken config', async () => {
  const dir = tmp();
  const p = join(dir, 'mcns.toml');
  writeFileSync(p, '[database]\npath = "mcns.db"\ncheckpoint = 5\n');
  const r = await mcns(['verify', '--config', p]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown key database\.checkpoint/);
});

test('replay --until reproduces the past state of a log with many changes', async () => {
  const dir = tmp();
  const db = join(dir, 'mcns.db');
  let t = Date.UTC(2026, 0, 10, 8, 0, 0);
  const ledger = Ledger.open({ path: db, clock: () => t, checkpointEvery: 50 });
  const snapshots: Array<{ seq: number; text: string }> = [];
  try {
    ledger.execute(importCommand('svc.mcp.metacircular.net', readFileSync(SVC, 'utf8')), { actor: 'import' });
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) {
      t += 60_000;
      const zone = ledger.zone('svc.mcp.metacircular.net.')!;
      const ops =
        i % 3 === 2 && ids.length > 0
          ? [{ op: 'delete' as const, id: ids.shift()! }]
          : i % 3 === 1 && ids.length > 0
            ? [{ op: 'update' as const, id: ids[ids.length - 1], value: `10.1.${i}.1`, ttl: 60 + i }]
            : [{ op: 'create' as const, name: `host${i}.svc.mcp.metacircular.net.`, type: 'A', value: `10.0.${i}.1` }];
      const res = ledger.execute({ kind: 'changeRecords', zone: zone.name, ops }, { actor: i % 2 ? 'alice' : 'mcp-agent' });
      for (const e of res.events) {
        const p = e.body.payload as { id?: string };
        if (e.body.type === 'RecordCreated' && p.id) ids.push(p.id);
      }
      if (i % 17 === 0) snapshots.push({ seq: ledger.state.seq, text: exportZone(ledger.zone('svc.mcp.metacircular.net.')!) });
    }
  } finally {
    ledger.close();
  }
  assert.ok(snapshots.length >= 7);
  for (const s of snapshots) {
    const r = await mcns(['replay', '--db', db, '--until', String(s.seq), '--zone', 'svc.mcp.metacircular.net']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(dataLines(r.stdout), dataLines(s.text), `state at seq ${s.seq}`);
  }
  // By time: one minute after the import is the state right after the first change batch.
  const byTime = await mcns(['replay', '--db', db, '--until', '2026-01-10T08:01:00Z', '--format', 'json']);
  assert.equal(byTime.code, 0, byTime.stderr);
  const json = JSON.parse(byTime.stdout) as { seq: number; zones: Array<{ name: string; records: Array<{ name: string }> }> };
  assert.ok(json.zones[0].records.some((r) => r.name === 'host0.svc.mcp.metacircular.net.'));
  assert.ok(!json.zones[0].records.some((r) => r.name.startsWith('host3.')));
  const trace = await mcns(['replay', '--db', db, '--trace', '--until', '20']);
  assert.equal(trace.code, 0, trace.stderr);
  assert.ok(trace.stdout.split('\n').length > 20);
  const bad = await mcns(['replay', '--db', db, '--until', 'last tuesday']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--until: must be a sequence number or an RFC 3339 time/);
});

/** A throwaway HTTPS server that answers /v1/health the way a test wants. */
async function healthServer(status: number, body: string): Promise<{ url: string; server: Server }> {
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    res.writeHead(req.url === '/v1/health' ? status : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/v1/health' ? body : '{"error":"not found"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('status prints ok (0), or the reason: non-200, TLS error, refused (1)', async () => {
  const up = await healthServer(200, '{"status":"ok"}');
  const down = await healthServer(503, '{"status":"shutting down"}');
  try {
    const ok = await mcns(['status', '--addr', up.url, '--ca-cert', tls.caPath]);
    assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, 'ok\n', '']);
    const bad = await mcns(['status', '--addr', down.url, '--ca-cert', tls.caPath]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^mcns: .*\/v1\/health answered HTTP 503 \(shutting down\)\n$/);
    const untrusted = await mcns(['status', '--addr', up.url]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /TLS error talking to https:\/\/127\.0\.0\.1:\d+: .*certificate/);
    const port = (up.server.address() as AddressInfo).port;
    // Refused for certain once the listener has closed (its callback), not after a 50 ms sleep.
    up.server.closeAllConnections();
    await new Promise<void>((r) => up.server.close(() => r()));
    const refused = await mcns(['status', '--addr', `https://127.0.0.1:${port}`, '--ca-cert', tls.caPath]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /connection refused by https:\/\/127\.0\.0\.1:\d+/);
    assert.equal((await mcns(['status', '--addr', 'not a url'])).code, 2);
  } finally {
    up.server.close();
    down.server.close();
  }
});

test('snapshot --config writes backups/mcns-YYYYMMDD-HHMMSS.db and applies the retention', async () => {
  const dir = tmp();
  const cfg = configFor(dir, 'snapshot_retention = 2');
  const imp = await mcns(['zone', 'import', 'svc.mcp.metacircular.net', SVC, '--db', join(dir, 'mcns.db')]);
  assert.equal(imp.code, 0, imp.stderr);
  const paths: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await mcns(['snapshot', '--config', cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\/.*\/backups\/mcns-\d{8}-\d{6}(-\d+)?\.db\n$/);
    paths.push(r.stdout.trim());
    assert.ok(existsSync(paths[i]));
  }
  const left = readdirSync(join(dir, 'backups')).sort();
  assert.equal(left.length, 2, `retention 2 keeps two: ${left.join(', ')}`);
  assert.ok(!existsSync(paths[0]), 'the oldest snapshot was removed');
  assert.equal(execFileSync('sqlite3', [paths[2], 'PRAGMA integrity_check;']).toString().trim(), 'ok');
  const exp = await mcns(['zone', 'export', 'svc.mcp.metacircular.net', '--db', paths[2]]);
  assert.match(exp.stdout, /metacrypt/);
  const v = await mcns(['verify', '--db', paths[2]]);
  assert.equal(v.stdout, 'ok\n');
  const none = await mcns(['snapshot', '--config', join(dir, 'absent.toml')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /cannot read .*absent\.toml: no such file/);
});

test('server refuses a config with a missing required key, naming it (exit 1)', async () => {
  const dir = tmp();
  const p = join(dir, 'mcns.toml');
  writeFileSync(p, '[server]\ntls_cert = "c.pem"\ntls_key = "k.pem"\n[database]\npath = "mcns.db"\n');
  const r = await mcns(['server', '--config', p]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `mcns: mcias.server_url is required (missing from ${p})\n`);
  const dev = await mcns(['server', '--dev', '--dev-dir', join(dir, 'dev')], { env: { MCNS_DNS_LISTEN_ADDR: '0.0.0.0:5353' } });
  assert.equal(dev.code, 1);
  assert.match(dev.stderr, /--dev binds to loopback only, refusing "0\.0\.0\.0:5353"/);
});

test('snapshot retention orders snapshots taken within one second by their suffix', () => {
  const dir = tmp();
  const names = ['mcns-20260101-000000.db', 'mcns-20260101-000001.db', 'mcns-20260101-000001-1.db', 'mcns-20260101-000001-2.db', 'mcns-20260101-000001-10.db', 'unrelated.db'];
  for (const n of names) writeFileSync(join(dir, n), '');
  const removed = applyRetention(dir, 3).map((p) => p.split('/').pop()).sort();
  // Within 00:00:01 the plain name came first, then -1, -2 … -10 (numeric, not string, order).
  assert.deepEqual(removed, ['mcns-20260101-000000.db', 'mcns-20260101-000001.db']);
  assert.deepEqual(readdirSync(dir).sort(), ['mcns-20260101-000001-1.db', 'mcns-20260101-000001-10.db', 'mcns-20260101-000001-2.db', 'unrelated.db']);
});
