// The operator pass of issue 14 against a real `mcns server --dev`: `record list` pages through the
// API and prints as it goes (full names), every import path prints the one summary, exports start
// with the one header line, `mcns grpc` calls any RPC, relative names that read as another zone's
// are refused unless --relative, and nothing piped carries an escape code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mcns, spawnMcns, type Spawned } from './run.ts';
import { freePort } from '../helpers/ports.ts';

let dir: string;
let server: Spawned;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcns-cli-pass-'));
  const restPort = await freePort();
  const grpcPort = await freePort();
  server = spawnMcns(['server', '--dev'], { cwd: dir, env: { MCNS_DNS_LISTEN_ADDR: `127.0.0.1:${await freePort(true)}`, PORT_REST: String(restPort), PORT_GRPC: String(grpcPort) } });
  await server.waitForLog('mcns serving');
  env = {
    MCNS_ADDR: `https://127.0.0.1:${restPort}`,
    MCNS_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
    MCNS_TOKEN: readFileSync(join(dir, '.mcns-dev/admin.token'), 'utf8').trim(),
    MCNS_CA_CERT: join(dir, '.mcns-dev/cert.pem'),
  };
});

after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
});

const run = (args: string[], extra: Record<string, string | undefined> = {}) => mcns(args, { cwd: dir, env: { ...env, ...extra } });

function zoneFile(zone: string, n: number, extra = ''): string {
  const lines = [`$ORIGIN ${zone}.`, `@ 300 SOA ns.${zone}. h.${zone}. 1 3600 600 86400 300`, `@ 300 NS ns.${zone}.`];
  for (let i = 0; i < n; i++) lines.push(`h${i} 300 A 10.2.${i >> 8}.${i & 255}`);
  return lines.join('\n') + '\n' + extra;
}

const SUMMARY = /^(\S+) imported: (\d+) created, (\d+) updated, (\d+) deleted \(seq \d+\.\.\d+\), serial \d+\n$/;

test('record list pages through the API, prints every record once with its full name, table and JSON alike', async () => {
  writeFileSync(join(dir, 'big.zone'), zoneFile('big.test', 2500));
  assert.equal((await run(['zone', 'import', 'big.test', join(dir, 'big.zone')])).code, 0);
  const paged = await run(['record', 'list', 'big.test', '--page-size', '300']);
  assert.equal(paged.code, 0, paged.stderr);
  const rows = paged.stdout.trim().split('\n');
  assert.match(rows[0], /^ID +NAME +TTL +TYPE +VALUE$/);
  assert.equal(rows.length, 1 + 2501, 'the header and every record, once');
  assert.equal(new Set(rows.slice(1).map((r) => r.split(/\s+/)[0])).size, 2501, 'no record twice');
  assert.ok(rows.slice(1).every((r) => /^[0-9a-f]+ +(h\d+\.)?big\.test\. +300 +(A|NS) /.test(r)), 'full names');
  const whole = await run(['record', 'list', 'big.test', '--page-size', '10000']);
  assert.equal(whole.stdout.split('\n').slice(1).map((r) => r.split(/\s+/)[0]).join(), rows.slice(1).map((r) => r.split(/\s+/)[0]).concat('').join(), 'same order whatever the page size');
  const json = await run(['record', 'list', 'big.test', '--page-size', '700', '-o', 'json']);
  const parsed = JSON.parse(json.stdout) as Array<{ fqdn: string }>;
  assert.equal(parsed.length, 2501, 'one valid JSON array across pages');
  const none = await run(['record', 'list', 'big.test', '--type', 'MX', '-o', 'json']);
  assert.deepEqual(JSON.parse(none.stdout), []);
  assert.equal((await run(['record', 'list', 'big.test', '--page-size', '0'])).code, 2);
});

test('every import path prints the same summary: offline CLI, CLI through the API, and gRPC count alike', async () => {
  const first = zoneFile('sum.test', 40);
  // The second file: h0..h4 change value, h35..h39 are gone, two new names.
  const second = first
    .split('\n')
    .filter((l) => !/^h3[5-9] /.test(l))
    .map((l) => l.replace(/^(h[0-4]) 300 A .*/, '$1 300 A 192.0.2.77'))
    .join('\n') + 'n1 300 A 192.0.2.1\nn2 300 A 192.0.2.2\n';
  writeFileSync(join(dir, 'sum1.zone'), first);
  writeFileSync(join(dir, 'sum2.zone'), second);
  const db = join(dir, 'offline.db');
  const counts = (out: string): string[] => {
    const m = SUMMARY.exec(out);
    assert.ok(m, out);
    return [m[1], m[2], m[3], m[4]];
  };
  const off1 = await run(['zone', 'import', 'sum.test', join(dir, 'sum1.zone'), '--db', db], { MCNS_ADDR: undefined });
  const api1 = await run(['zone', 'import', 'sum.test', join(dir, 'sum1.zone')]);
  assert.deepEqual(counts(off1.stdout), ['sum.test', '41', '0', '0']);
  assert.deepEqual(counts(api1.stdout), counts(off1.stdout));
  const off2 = await run(['zone', 'import', 'sum.test', join(dir, 'sum2.zone'), '--db', db], { MCNS_ADDR: undefined });
  const api2 = await run(['zone', 'import', 'sum.test', join(dir, 'sum2.zone')]);
  // A changed value is a new record (an RRset may hold several): the import's diff, whatever the path.
  const [, created, updated, deleted] = counts(off2.stdout);
  assert.deepEqual([created, updated, deleted], ['7', '0', '10']);
  assert.deepEqual(counts(api2.stdout), counts(off2.stdout));
  const g = await run(['grpc', 'ZoneService/ImportZone', JSON.stringify({ zone: 'sum.test', zone_file: first })]);
  assert.equal(g.code, 0, g.stderr);
  const body = JSON.parse(g.stdout) as { created: number; updated: number; deleted: number };
  assert.deepEqual([body.created ?? 0, body.updated ?? 0, body.deleted ?? 0], [10, 0, 7], 'back to the first file through gRPC: the same counts the other way round');
  const same = await run(['zone', 'import', 'sum.test', join(dir, 'sum1.zone')]);
  const sameOff = await run(['zone', 'import', 'sum.test', join(dir, 'sum2.zone'), '--db', db], { MCNS_ADDR: undefined });
  for (const r of [same, sameOff]) assert.match(r.stdout, /^sum\.test imported: nothing written \(already equal\), serial \d+\n$/);
});

test('exports through the API and from a database file start with the same one header line', async () => {
  const api = await run(['zone', 'export', 'sum.test']);
  const off = await run(['zone', 'export', 'sum.test', '--db', join(dir, 'offline.db')], { MCNS_ADDR: undefined });
  const at = await run(['zone', 'export', 'sum.test', '--at', '5']);
  for (const r of [api, off]) assert.match(r.stdout.split('\n')[0], /^; sum\.test serial \d+, log seq \d+$/);
  assert.match(at.stdout.split('\n')[0], /^; \S+ serial \d+, log seq \d+ \(at=5\)$|^$/);
  assert.equal(api.stdout.split('\n').filter((l) => l.startsWith(';')).length, 1, 'one header line');
});

test('mcns grpc lists the methods and calls one with JSON; errors carry the gRPC status', async () => {
  const list = await run(['grpc']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ZoneService\/GetZone$/m);
  assert.match(list.stdout, /^AdminService\/WatchEvents \(stream\)$/m);
  const get = await run(['grpc', 'ZoneService/GetZone', '{"zone": "svc.mcp.metacircular.net"}']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal((JSON.parse(get.stdout) as { zone: { name: string } }).zone.name, 'svc.mcp.metacircular.net');
  const health = await run(['grpc', 'mcns.v1.AdminService.Health'], { MCNS_TOKEN: undefined });
  assert.equal((JSON.parse(health.stdout) as { status: string }).status, 'ok');
  // --grpc-addr alone is enough (no REST URL); MCNS_ADDR's host on 9443 is the default.
  const direct = await run(['grpc', 'ZoneService/ListZones', '--grpc-addr', env.MCNS_GRPC_ADDR], { MCNS_ADDR: undefined, MCNS_GRPC_ADDR: undefined });
  assert.equal(direct.code, 0, direct.stderr);
  assert.ok((JSON.parse(direct.stdout) as { zones: unknown[] }).zones.length >= 2);
  const noToken = await run(['grpc', 'ZoneService/ListZones'], { MCNS_TOKEN: undefined });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /^mcns: an API token is required/);
  const missing = await run(['grpc', 'ZoneService/GetZone', '{"zone": "nope.test"}']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^mcns: gRPC NOT_FOUND: zone nope\.test does not exist\n$/);
  assert.equal((await run(['grpc', 'ZoneService/Nope'])).code, 2);
  assert.equal((await run(['grpc', 'ZoneService/GetZone', '{bad'])).code, 2);
});

test('record add refuses a relative name that reads as another served zone\'s, unless --relative', async () => {
  for (const z of ['newco.test', 'other.test']) assert.equal((await run(['zone', 'create', z, '--primary-ns', `ns.${z}`, '--admin-email', `h.${z}`])).code, 0);
  const r = await run(['record', 'add', 'newco.test', 'www.other.test', 'A', '192.0.2.5']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /looks like a name in zone other\.test .*write "www\.other\.test\." .*pass --relative/);
  const ok = await run(['record', 'add', 'newco.test', 'www.other.test', 'A', '192.0.2.5', '--relative']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^[0-9a-f]+ +www\.other\.test\.newco\.test\. +\d+ +A +192\.0\.2\.5$/m);
});

test('piped output carries no escape codes, even under CI=true or FORCE_COLOR (progress and colour are for terminals)', async () => {
  const noisy = { CI: 'true', FORCE_COLOR: '1', TERM: 'xterm-256color' };
  const runs = [
    await run(['record', 'list', 'big.test', '--page-size', '500'], noisy),
    await run(['zone', 'import', 'big.test', join(dir, 'big.zone')], noisy),
    await run(['zone', 'export', 'big.test'], noisy),
    await run(['history', 'big.test', '--limit', '5'], noisy),
    await run(['zone', 'import', 'big.test', join(dir, 'big.zone'), '--db', join(dir, 'b.db')], { ...noisy, MCNS_ADDR: undefined }),
    await run(['verify', '--db', join(dir, 'b.db')], noisy),
    await run(['replay', '--db', join(dir, 'b.db')], noisy),
    await run(['record', 'list', 'nope.test'], noisy),
    await run(['history', 'big.test', '--limit', 'x'], noisy),
  ];
  for (const r of runs) {
    assert.ok(!r.stdout.includes('\x1b') && !r.stderr.includes('\x1b'), `escape code in: ${JSON.stringify((r.stdout + r.stderr).slice(0, 300))}`);
  }
  assert.match(runs[7].stderr, /^mcns: /, 'errors keep their plain prefix');
});
