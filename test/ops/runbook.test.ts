// The RUNBOOK walked as an operator would, with real processes: start from a config file on high
// loopback ports, health checks (CLI, REST, gRPC, DNS), snapshot, add records, SIGTERM while a request
// is in flight (drains, exits 0), restore the snapshot over the database, start, the zones answer as
// at snapshot time, integrity_check ok; and the Database Corruption procedure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../src/api/grpc.ts';
import { makeTestTls, type TestTls } from '../helpers/tls.ts';
import { startMcIasFake, type McIasFake } from '../helpers/mcias-fake.ts';
import { mcns, spawnMcns, REPO, type Spawned } from '../cli/run.ts';
import { serialCompare } from '../../src/projections/serial.ts';
import { freePort } from '../helpers/ports.ts';

let tls: TestTls;
let mcias: McIasFake;
let srv: string; // plays /srv/mcns
let cfg: string;
let ports: { rest: number; grpc: number; dns: number };
let token: string;

function dig(name: string, type: string, extra: string[] = ['+short']): string {
  return execFileSync('dig', [`@127.0.0.1`, '-p', String(ports.dns), name, type, '+time=2', '+tries=1', ...extra], { encoding: 'utf8' }).trim();
}

function https(method: string, path: string, opts: { token?: string; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const req = request({ host: '127.0.0.1', port: ports.rest, path, method, ca: tls.ca, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function grpcHealth(): Promise<{ status: string }> {
  const pkg = grpc.loadPackageDefinition(loadProtos()) as any;
  const client = new pkg.mcns.v1.AdminService(`127.0.0.1:${ports.grpc}`, grpc.credentials.createSsl(tls.ca));
  return new Promise((resolve, reject) => {
    client.Health({}, (err: Error | null, res: { status: string }) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

async function startServer(): Promise<Spawned> {
  const s = spawnMcns(['server', '--config', cfg], { cwd: srv, env: { PORT_REST: String(ports.rest), PORT_GRPC: String(ports.grpc) } });
  await s.waitForLog('mcns serving');
  return s;
}

async function stop(s: Spawned): Promise<number | null> {
  s.child.kill('SIGTERM');
  return (await s.exited).code;
}

before(async () => {
  tls = makeTestTls();
  mcias = await startMcIasFake();
  token = mcias.tokenFor('alice');
  srv = mkdtempSync(join(tmpdir(), 'mcns-srv-'));
  mkdirSync(join(srv, 'certs'));
  copyFileSync(tls.certPath, join(srv, 'certs/cert.pem'));
  copyFileSync(tls.keyPath, join(srv, 'certs/key.pem'));
  copyFileSync(tls.caPath, join(srv, 'certs/ca.pem'));
  copyFileSync(mcias.tls.caPath, join(srv, 'certs/mcias-ca.pem'));
  ports = { rest: await freePort(), grpc: await freePort(), dns: await freePort(true) };
  cfg = join(srv, 'mcns.toml');
  writeFileSync(
    cfg,
    [
      '[server]',
      `listen_addr = "127.0.0.1:8443"`,
      `grpc_addr = "127.0.0.1:9443"`,
      `tls_cert = "${srv}/certs/cert.pem"`,
      `tls_key = "${srv}/certs/key.pem"`,
      'shutdown_timeout = "20s"',
      '[database]',
      `path = "${srv}/mcns.db"`,
      '[dns]',
      `listen_addr = "127.0.0.1:${ports.dns}"`,
      'upstreams = []',
      '[mcias]',
      `server_url = "${mcias.url}"`,
      `ca_cert = "${srv}/certs/mcias-ca.pem"`,
      'service_name = "mcns"',
      'timeout = "2s"',
      '[log]',
      'level = "info"',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await mcias.close();
});

test('RUNBOOK: start from a config, health checks, snapshot, drain on SIGTERM, restore from snapshot', async () => {
  // The control plane's way of choosing the API ports (the file keeps 8443/9443).
  const env = { PORT_REST: String(ports.rest), PORT_GRPC: String(ports.grpc) };
  const api = `https://127.0.0.1:${ports.rest}`;
  const client = ['--addr', api, '--ca-cert', join(srv, 'certs/ca.pem'), '--token', token];

  // Start the Service (a config from a file; MCP-style $PORT_REST/$PORT_GRPC).
  let server = spawnMcns(['server', '--config', cfg], { cwd: srv, env });
  const serving = await server.waitForLog('mcns serving');
  assert.equal(serving.rest, `127.0.0.1:${ports.rest}`);
  assert.equal(serving.grpc, ports.grpc);

  // Health Checks: CLI, REST, gRPC.
  const status = await mcns(['status', '--addr', api, '--ca-cert', join(srv, 'certs/ca.pem')]);
  // "ok", then the chain head being served (record it off the host; `mcns verify --head` checks it later).
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^ok\nchain head \d+:[0-9a-f]{64}\n(start-up: .*\n)?$/);
  const health = await https('GET', '/v1/health');
  assert.equal(health.status, 200);
  assert.equal((JSON.parse(health.body) as { status: string }).status, 'ok');
  assert.equal((await grpcHealth()).status, 'ok');

  // The zones go in through the API (zone import --addr), then DNS answers the SOA query.
  for (const z of ['svc.mcp.metacircular.net', 'mcp.metacircular.net']) {
    const imp = await mcns(['zone', 'import', z, join(REPO, `test/fixtures/zones/${z}.zone`), ...client]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, new RegExp(`^${z.replace(/\./g, '\\.')} imported`));
  }
  const soa = dig('svc.mcp.metacircular.net', 'SOA');
  assert.match(soa, /^ns\.mcp\.metacircular\.net\. admin\.metacircular\.net\. \d{10} 3600 600 86400 300$/);
  assert.deepEqual(dig('mcr.svc.mcp.metacircular.net', 'A').split('\n').sort(), ['100.95.252.120', '192.168.88.181']);

  // Backup (Snapshot) while the server runs.
  const snap = await mcns(['snapshot', '--config', cfg]);
  assert.equal(snap.code, 0, snap.stderr);
  const snapshot = snap.stdout.trim();
  assert.match(snapshot, new RegExp(`^${srv}/backups/mcns-\\d{8}-\\d{6}\\.db$`));
  assert.ok(existsSync(snapshot));

  // Add records after the snapshot (CLI record add), and see them in DNS at once.
  const add = await mcns(['record', 'add', 'svc.mcp.metacircular.net', 'mcq', 'A', '192.168.88.190', '--ttl', '60', ...client]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /^ID\s+NAME\s+TTL\s+TYPE\s+VALUE\n\S+\s+mcq\.svc\.mcp\.metacircular\.net\.\s+60\s+A\s+192\.168\.88\.190\n$/);
  assert.equal(dig('mcq.svc.mcp.metacircular.net', 'A'), '192.168.88.190');
  const list = await mcns(['record', 'list', 'svc.mcp.metacircular.net', '--name', 'mcq', '--output', 'json', ...client]);
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as Array<{ id: string; value: string }>;
  assert.equal(listed.length, 1);
  const upd = await mcns(['record', 'update', 'svc.mcp.metacircular.net', listed[0].id, '--value', '192.168.88.191', ...client]);
  assert.equal(upd.code, 0, upd.stderr);
  assert.equal(dig('mcq.svc.mcp.metacircular.net', 'A'), '192.168.88.191');
  const add2 = await mcns(['record', 'add', 'svc.mcp.metacircular.net', 'tmp', 'TXT', '"temporary"', '--output', 'json', ...client]);
  assert.equal(add2.code, 0, add2.stderr);
  const tmpId = (JSON.parse(add2.stdout) as Array<{ id: string }>)[0].id;
  const del = await mcns(['record', 'delete', 'svc.mcp.metacircular.net', tmpId, ...client]);
  assert.deepEqual([del.code, del.stdout], [0, `deleted ${tmpId}\n`]);
  // The newest serial served before the restore: after it, the zone must be served past it (issue 13).
  const servedBefore = Number(dig('svc.mcp.metacircular.net', 'SOA').split(' ')[2]);
  const noToken = await mcns(['record', 'list', 'svc.mcp.metacircular.net', '--addr', api, '--ca-cert', join(srv, 'certs/ca.pem')]);
  assert.equal(noToken.code, 2);
  const badToken = await mcns(['record', 'list', 'svc.mcp.metacircular.net', '--addr', api, '--ca-cert', join(srv, 'certs/ca.pem'), '--token', 'nope']);
  assert.equal(badToken.code, 1);
  assert.match(badToken.stderr, /^mcns: HTTP 401: /);
  const exported = await mcns(['zone', 'export', 'svc.mcp.metacircular.net', ...client]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /^mcq\s+60\s+IN\s+A\s+192\.168\.88\.191$/m);

  // Stop the Service: SIGTERM while a request is in flight. MCIAS hangs, so the request waits in the
  // server until the MCIAS timeout (2s) answers it 502; the server must deliver that answer, not cut it.
  mcias.mode = 'hang';
  const before = mcias.validateCalls;
  const inFlight = https('GET', '/v1/zones', { token: mcias.tokenFor('bob') });
  for (let i = 0; i < 100 && mcias.validateCalls === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(mcias.validateCalls > before, 'the request reached the server');
  const t0 = Date.now();
  server.child.kill('SIGTERM');
  const answered = await inFlight;
  assert.equal(answered.status, 502, answered.body);
  const exit = await server.exited;
  mcias.mode = 'up';
  assert.equal(exit.code, 0, server.stderr());
  assert.ok(Date.now() - t0 < 20_000);
  assert.ok(server.stderr().includes('"msg":"checkpoint written"'));
  assert.ok(server.stderr().includes('"drained":true'));
  assert.ok(!existsSync(join(srv, 'mcns.db-wal')) || readFileSync(join(srv, 'mcns.db-wal')).length === 0, 'a clean stop leaves no WAL to replay');

  // Restore from Snapshot: back up the current database, copy the snapshot into place, start.
  copyFileSync(join(srv, 'mcns.db'), join(srv, 'mcns.db.pre-restore'));
  copyFileSync(snapshot, join(srv, 'mcns.db'));
  server = spawnMcns(['server', '--config', cfg], { cwd: srv, env });
  await server.waitForLog('mcns serving');
  const again = await mcns(['status', '--addr', api, '--ca-cert', join(srv, 'certs/ca.pem')]);
  assert.match(again.stdout, /^ok\n/);
  // The SOA of snapshot time, with a serial moved past anything served before (secondaries then transfer the restored zone).
  const restoredSoa = dig('svc.mcp.metacircular.net', 'SOA').split(' ');
  const withoutSerial = (f: string[]): string[] => [...f.slice(0, 2), ...f.slice(3)];
  assert.deepEqual(withoutSerial(restoredSoa), withoutSerial(soa.split(' ')), 'the SOA is the one of snapshot time');
  assert.ok(serialCompare(Number(restoredSoa[2]), servedBefore) > 0, `serial ${restoredSoa[2]} is past ${servedBefore}, served before the restore`);
  assert.equal(dig('mcq.svc.mcp.metacircular.net', 'A'), '', 'records added after the snapshot are gone');
  assert.match(dig('mcq.svc.mcp.metacircular.net', 'A', []), /status: NXDOMAIN/);
  assert.equal(dig('rift.mcp.metacircular.net', 'A').split('\n').length, 2);
  assert.equal(await stop(server), 0);
  assert.equal(execFileSync('sqlite3', [join(srv, 'mcns.db'), 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim(), 'ok');
  const verify = await mcns(['verify', '--config', cfg]);
  assert.deepEqual([verify.code, verify.stdout], [0, 'ok\n'], verify.stderr);
});

test('RUNBOOK Database Corruption: start-up refuses in one line pointing at integrity_check; restoring a snapshot fixes it', async () => {
  const env = { PORT_REST: String(ports.rest), PORT_GRPC: String(ports.grpc) };
  const db = join(srv, 'mcns.db');
  const good = join(srv, 'mcns.db.good');
  copyFileSync(db, good);
  // Garbage in the middle of the file: the header survives, the b-tree pages do not.
  const bytes = readFileSync(db);
  for (let i = 4096; i < Math.min(bytes.length, 4096 * 6); i++) bytes[i] = 0x5a;
  writeFileSync(db, bytes);
  const r = await mcns(['server', '--config', cfg], { cwd: srv, env });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^mcns: database .*mcns\.db cannot be used .*PRAGMA integrity_check;.*restore the newest snapshot \(RUNBOOK: Restore from Snapshot\)$/);
  const check = (() => {
    try {
      return execFileSync('sqlite3', [db, 'PRAGMA integrity_check;'], { encoding: 'utf8', stdio: 'pipe' }).trim();
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? err);
    }
  })();
  assert.notEqual(check, 'ok');
  renameSync(db, join(srv, 'mcns.db.corrupt'));
  copyFileSync(good, db);
  const s = await startServer();
  assert.match(dig('svc.mcp.metacircular.net', 'SOA'), /^ns\.mcp\.metacircular\.net\./);
  assert.equal(await stop(s), 0);
});
