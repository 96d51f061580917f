// The CLI's API commands against a real `mcns server --dev` (loopback, free ports): every command
// honours MCNS_ADDR / MCNS_TOKEN / MCNS_CA_CERT, validates its options with `mcns: ...` and exit 2,
// and the commands of issue 14 (zone list|create|update|delete|restore|history, events, snapshot
// --addr, history --addr, --version) do what they say.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mcns, spawnMcns, REPO, type Spawned } from './run.ts';
import { freePort } from '../helpers/ports.ts';
import { table } from '../../src/cli/output.ts';

let dir: string;
let server: Spawned;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcns-cli-api-'));
  const restPort = await freePort();
  const serverEnv = {
    MCNS_DNS_LISTEN_ADDR: `127.0.0.1:${await freePort(true)}`,
    PORT_REST: String(restPort),
    PORT_GRPC: String(await freePort()),
    // A small body limit, so the over-the-limit import needs only a 1.2 MiB file.
    MCNS_SERVER_MAX_BODY: '1MiB',
  };
  server = spawnMcns(['server', '--dev'], { cwd: dir, env: serverEnv });
  await server.waitForLog('mcns serving');
  env = {
    MCNS_ADDR: `https://127.0.0.1:${restPort}`,
    MCNS_TOKEN: readFileSync(join(dir, '.mcns-dev/admin.token'), 'utf8').trim(),
    MCNS_CA_CERT: join(dir, '.mcns-dev/cert.pem'),
  };
});

after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
});

const run = (args: string[], extra: Record<string, string | undefined> = {}) => mcns(args, { cwd: dir, env: { ...env, ...extra } });

test('mcns --version prints the package version', async () => {
  const r = await mcns(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
});

test('zone export and import honour MCNS_ADDR, MCNS_TOKEN and MCNS_CA_CERT (no --db, no --addr)', async () => {
  const exp = await run(['zone', 'export', 'svc.mcp.metacircular.net']);
  assert.equal(exp.code, 0, exp.stderr);
  assert.match(exp.stdout, /^\$ORIGIN svc\.mcp\.metacircular\.net\.$/m);
  const file = join(dir, 'svc.zone');
  writeFileSync(file, exp.stdout);
  const imp = await run(['zone', 'import', 'svc.mcp.metacircular.net', file]);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /nothing written \(already equal\)/);
  // Without MCNS_ADDR the same command asks for --db or --addr, naming MCNS_ADDR.
  const offline = await run(['zone', 'export', 'svc.mcp.metacircular.net'], { MCNS_ADDR: undefined });
  assert.equal(offline.code, 2);
  assert.match(offline.stderr, /^mcns: --db PATH is required \(or --addr URL, or MCNS_ADDR\)/);
});

test('an import over [server] max_body says so (size, limit, what to do) instead of EPIPE', async () => {
  const lines = ['$ORIGIN big.test.', '@ 300 SOA ns.big.test. h.big.test. 1 3600 600 86400 300', '@ 300 NS ns.big.test.'];
  // The length is kept as lines are added (joining every time would be quadratic: minutes, not ms).
  let length = lines.join('\n').length;
  for (let i = 0; length < 1.2 * 1024 * 1024; i++) {
    const line = `host-number-${i} 300 A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    lines.push(line);
    length += line.length + 1;
  }
  const file = join(dir, 'big.zone');
  writeFileSync(file, lines.join('\n') + '\n');
  const r = await run(['zone', 'import', 'big.test', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), 'mcns: zone file is 1.2 MiB, the API accepts at most 1 MiB ([server] max_body); use --db or raise the limit');
});

test('history: options validated (exit 2), unknown zone exit 1, --addr and --db agree, more than 10,000 entries page', async () => {
  for (const [args, msg] of [
    [['--limit', 'abc'], /^mcns: --limit must be a whole number of at least 1, got "abc"$/],
    [['--limit', '0'], /^mcns: --limit must be a whole number of at least 1, got "0"$/],
    [['-o', 'yaml'], /^mcns: --output must be table or json, got "yaml"$/],
    [['--format', 'yaml'], /^mcns: --output must be table or json, got "yaml"$/],
  ] as Array<[string[], RegExp]>) {
    const r = await run(['history', 'svc.mcp.metacircular.net', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), msg);
  }
  const unknownApi = await run(['history', 'never.test']);
  assert.equal(unknownApi.code, 1);
  assert.match(unknownApi.stderr, /^mcns: .*zone never\.test/);
  const unknownDb = await run(['history', '--db', join(dir, '.mcns-dev/mcns.db'), 'never.test']);
  assert.equal(unknownDb.code, 1);
  assert.match(unknownDb.stderr, /^mcns: zone never\.test not found/);

  const online = await run(['history', 'svc.mcp.metacircular.net', '-o', 'json']);
  const offline = await run(['history', '--db', join(dir, '.mcns-dev/mcns.db'), 'svc.mcp.metacircular.net', '-o', 'json'], { MCNS_ADDR: undefined });
  assert.equal(online.code, 0, online.stderr);
  assert.equal(offline.stdout, online.stdout, 'the same entries, the same JSON');
  const first = JSON.parse(online.stdout.split('\n')[0]) as Record<string, unknown>;
  assert.ok('batch_id' in first && !('batchId' in first), 'snake_case');
  const viaZone = await run(['zone', 'history', 'svc.mcp.metacircular.net', '-o', 'json']);
  assert.equal(viaZone.stdout, online.stdout);

  // A zone with 10,500 history entries: --limit 300000 returns all of them (pages of 10,000), --limit 3 says there are more.
  const lines = ['$ORIGIN many.test.', '@ 300 SOA ns.many.test. h.many.test. 1 3600 600 86400 300', '@ 300 NS ns.many.test.'];
  for (let i = 0; i < 10_500; i++) lines.push(`h${i} 300 A 10.0.${i >> 8}.${i & 255}`);
  writeFileSync(join(dir, 'many.zone'), lines.join('\n') + '\n');
  assert.equal((await run(['zone', 'import', 'many.test', join(dir, 'many.zone')])).code, 0);
  const all = await run(['history', 'many.test', '--limit', '300000', '-o', 'json']);
  assert.equal(all.code, 0, all.stderr);
  const n = all.stdout.trim().split('\n').length;
  assert.ok(n > 10_500, `${n} entries`);
  assert.equal(all.stderr, '');
  const three = await run(['history', 'many.test', '--limit', '3']);
  assert.equal(three.stdout.trim().split('\n').length, 4, 'header + 3 rows');
  // Newest first, and the cut says how many older entries are left and where to continue.
  const seqs = three.stdout.trim().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0]));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest first');
  const cut = /^(\d+) older entries, use --cursor (\d+)$/m.exec(three.stderr);
  assert.ok(cut, three.stderr);
  assert.equal(Number(cut[1]) + 3, n, 'N older entries counts every entry not shown');
  assert.equal(Number(cut[2]), seqs[2]);
  const next = await run(['history', 'many.test', '--limit', '2', '--cursor', cut[2]]);
  assert.deepEqual(next.stdout.trim().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0])), [seqs[2] - 1, seqs[2] - 2], 'the next page continues below the cursor');
  assert.match(next.stderr, new RegExp(`^${Number(cut[1]) - 2} older entries, use --cursor ${seqs[2] - 2}$`, 'm'));
  const oldest = await run(['history', 'many.test', '--limit', '2', '--oldest-first']);
  assert.match(oldest.stderr, new RegExp(`^${n - 2} newer entries, use --cursor \\d+$`, 'm'));
});

test('zone list|create|update|delete|restore through the API; restore to before the zone existed needs --allow-delete', async () => {
  const created = await run(['zone', 'create', 'cli.test', '--primary-ns', 'ns.cli.test', '--admin-email', 'hostmaster.cli.test', '-o', 'json']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal((JSON.parse(created.stdout) as Array<{ name: string }>)[0].name, 'cli.test');
  const list = await run(['zone', 'list']);
  assert.match(list.stdout, /^NAME\s+SERIAL\s+RECORDS/);
  assert.match(list.stdout, /^cli\.test\s+\d{10}\s+\d+\s+ns\.cli\.test\./m);
  const upd = await run(['zone', 'update', 'cli.test', '--refresh', '7200', '-o', 'json']);
  assert.equal((JSON.parse(upd.stdout) as Array<{ refresh: number }>)[0].refresh, 7200);
  assert.equal((await run(['zone', 'update', 'cli.test'])).code, 2);
  assert.equal((await run(['zone', 'update', 'cli.test', '--retry', 'soon'])).code, 2);

  const ev = await run(['events', '--limit', '1', '-o', 'json']);
  assert.equal(ev.code, 0, ev.stderr);
  const firstSeq = (JSON.parse(ev.stdout.trim()) as { seq: number }).seq;
  assert.equal(firstSeq, 1);

  const refused = await run(['zone', 'restore', 'cli.test', '--at', '1']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^mcns: HTTP 409: .*zone cli\.test did not exist at 1 .*would delete it.*--allow-delete/);
  assert.match((await run(['zone', 'list'])).stdout, /^cli\.test/m, 'still there');
  const deleted = await run(['zone', 'restore', 'cli.test', '--at', '1', '--allow-delete']);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /^cli\.test deleted \(it did not exist at seq 1\)/);
  const again = await run(['zone', 'restore', 'cli.test', '--at', '1', '--allow-delete']);
  assert.match(again.stdout, /^nothing written: cli\.test is already as it was at seq 1$/m);

  // Back to a point where it existed, twice: the second restore writes nothing.
  const hist = await run(['zone', 'history', 'cli.test', '-o', 'json']);
  const lastCreate = hist.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; event: string }).filter((e) => e.event === 'ZoneUpdated')[0].seq;
  const back = await run(['zone', 'restore', 'cli.test', '--at', String(lastCreate)]);
  assert.match(back.stdout, /^cli\.test restored to seq \d+ \(seq \d+\.\.\d+/);
  const same = await run(['zone', 'restore', 'cli.test', '--at', String(lastCreate)]);
  assert.match(same.stdout, /^nothing written/);
  const del = await run(['zone', 'delete', 'cli.test']);
  assert.match(del.stdout, /^deleted zone cli\.test \(seq \d+\.\.\d+\)$/m);
});

test('snapshot --addr asks the server (POST /v1/snapshots) and prints the path', async () => {
  const r = await run(['snapshot']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /mcns-\d{8}-\d{6}(-\d+)?\.db$/);
  assert.ok(existsSync(r.stdout.trim()));
  assert.match(r.stderr, /^chain head \d+:[0-9a-f]{64}$/m);
  const none = await run(['snapshot'], { MCNS_ADDR: undefined });
  assert.equal(none.code, 2);
});

test('usage errors from commander carry the same "mcns:" prefix', async () => {
  const r = await mcns(['zone', 'list', '--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^mcns: unknown option '--bogus'/);
});

test('table() of 300,000 rows does not overflow the stack (no spread into Math.max)', () => {
  const rows = Array.from({ length: 300_000 }, (_, i) => [i, `h${i}`, 'A']);
  const out = table(['ID', 'NAME', 'TYPE'], rows);
  assert.equal(out.split('\n').length, 300_002);
  assert.match(out.split('\n')[1], /^0 {7}h0 {7}A$/);
});
