// The README quick start, run on a fresh copy of the repository: `bin/mcns server --dev` starts with no
// files, prints the admin token once (kept mode 0600), seeds the example zones, and the tour's
// `dig @127.0.0.1 -p 5353 svc.mcp.metacircular.net SOA +short` and /v1/health answer.
// (`npm ci` is what .ci/run already did for this checkout: the copy links to its node_modules.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnMcns, REPO } from '../cli/run.ts';
import { freePort } from '../helpers/ports.ts';

/** Whether a port is free on 127.0.0.1 for TCP (and UDP). */
async function portFree(port: number, udp: boolean): Promise<boolean> {
  const tcp = await new Promise<boolean>((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
  if (!tcp || !udp) return tcp;
  return new Promise<boolean>((res) => {
    const s = createSocket('udp4');
    s.once('error', () => res(false));
    s.bind(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** The command lines of the README's "A short tour" (every indented line, in order). */
function tourCommands(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.split('## A short tour')[1].split('\n## ')[0];
  return section.split('\n').filter((l) => l.startsWith('    ')).map((l) => l.trim());
}

/**
 * What each tour command must print (stdout, whole-output regex; and stderr when given), in README
 * order. A README change to the tour must come with its expected output here, so the tour cannot
 * silently break again.
 */
const TOUR: Array<[string, RegExp, RegExp?]> = [
  ['dig @127.0.0.1 -p 5353 svc.mcp.metacircular.net SOA +short', /^ns\.mcp\.metacircular\.net\. admin\.metacircular\.net\. \d{10} 3600 600 86400 300\n$/],
  ['dig @127.0.0.1 -p 5353 mcr.svc.mcp.metacircular.net A +short', /^(\d+\.\d+\.\d+\.\d+\n)+$/],
  ['curl -k https://127.0.0.1:8443/v1/health', /^\{"status":"ok","seq":\d+,"chain_head":\{"seq":\d+,"hash":"[0-9a-f]{64}"\},"max_body":4194304(,"startup":\{.*\})?\}$/],
  ['export MCNS_TOKEN=$(cat .mcns-dev/admin.token) MCNS_ADDR=https://127.0.0.1:8443 MCNS_CA_CERT=.mcns-dev/cert.pem', /^$/],
  ['bin/mcns status', /^ok\nchain head \d+:[0-9a-f]{64}\n(start-up: .*\n)?$/],
  ['bin/mcns zone list', /^NAME +SERIAL +RECORDS .*\nmcp\.metacircular\.net +\d{10} .*\nsvc\.mcp\.metacircular\.net +\d{10} .*\n$/],
  ['bin/mcns record list svc.mcp.metacircular.net', /^ID +NAME +TTL +TYPE +VALUE\n(.*\n)*[0-9a-f]+ +mcr\.svc\.mcp\.metacircular\.net\. +\d+ +A +\d/],
  ['bin/mcns record add svc.mcp.metacircular.net mcq A 192.168.88.190', /^ID +NAME +TTL +TYPE +VALUE\n[0-9a-f]+ +mcq\.svc\.mcp\.metacircular\.net\. +\d+ +A +192\.168\.88\.190\n$/],
  ['dig @127.0.0.1 -p 5353 mcq.svc.mcp.metacircular.net A +short', /^192\.168\.88\.190\n$/],
  ['bin/mcns zone export svc.mcp.metacircular.net > /tmp/svc.zone', /^$/],
  ['bin/mcns zone import svc.mcp.metacircular.net /tmp/svc.zone', /^svc\.mcp\.metacircular\.net imported: nothing written \(already equal\), serial \d+\n$/],
  ['bin/mcns history svc.mcp.metacircular.net mcq', /^SEQ +TIME +ACTOR +SURFACE +EVENT +CHANGE\n\d+ +\S+ +dev-admin +rest +RecordCreated +mcq\.svc\.mcp\.metacircular\.net\. A 300 192\.168\.88\.190\n$/],
  ['bin/mcns history svc.mcp.metacircular.net --limit 3', /^SEQ +TIME +ACTOR +SURFACE +EVENT +CHANGE\n\d+ .* SerialBumped .*\n\d+ .* RecordCreated +mcq\.svc\S+ A 300 192\.168\.88\.190\n\d+ .*\n$/, /^\d+ older entries, use --cursor \d+\n$/],
  ['bin/mcns zone create demo.test --primary-ns ns.demo.test --admin-email hostmaster.demo.test', /^NAME .*\ndemo\.test +\d{10} +\d+ +ns\.demo\.test\. /],
  ['bin/mcns zone restore demo.test --at 1 --allow-delete', /^demo\.test deleted \(it did not exist at seq 1\) \(seq \d+\.\.\d+\)\n$/],
  ['bin/mcns events --limit 3', /^SEQ +TIME +ACTOR +ZONE +EVENT +CHANGE\n1 .*\n2 .*\n3 .*\n$/],
  ['bin/mcns snapshot', /^\S+\/\.mcns-dev\/backups\/mcns-\d{8}-\d{6}(-\d+)?\.db\n$/],
  ['curl -s --cacert .mcns-dev/cert.pem https://127.0.0.1:8443/v1/openapi.json | head -c 70', /^\{"openapi":"3\.1\.0","info":\{"title":"MCNS management API"/],
  [
    'curl -s --cacert .mcns-dev/cert.pem -H "Authorization: Bearer $MCNS_TOKEN" "https://127.0.0.1:8443/v1/zones/svc.mcp.metacircular.net/records?limit=2"',
    /^\{"records":\[\{"id":"[0-9a-f]+","name":"[^"]+","fqdn":"[^"]+\.svc\.mcp\.metacircular\.net\.".*\}\],"next_cursor":"[A-Za-z0-9_-]+"\}$/,
  ],
  ['bin/mcns grpc ZoneService/GetZone \'{"zone": "svc.mcp.metacircular.net"}\'', /^\{\n {2}"zone": \{\n {4}"name": "svc\.mcp\.metacircular\.net",\n {4}"serial": \d+,\n/],
  // Newest first: the tour's own record first, the seeding import of the zone last.
  ['bin/mcns history --db .mcns-dev/mcns.db svc.mcp.metacircular.net', /^SEQ +TIME +ACTOR +SURFACE +EVENT +CHANGE\n\d+ .* SerialBumped .*\n\d+ .* RecordCreated +mcq\.svc(.*\n)*\d+ .* ZoneImported +zone file of \d+ records.*\n$/],
  ['bin/mcns replay --db .mcns-dev/mcns.db --until 10 --zone svc.mcp.metacircular.net', /IN\s+SOA/],
  ['bin/mcns replay --db .mcns-dev/mcns.db --trace -o json', /^\{.*"seq":1[,}]/],
  ['bin/mcns verify --db .mcns-dev/mcns.db', /^ok\n$/],
  ['bin/mcns zone import example.com test/fixtures/zones/example.com.zone --db /tmp/demo.db', /^example\.com imported: \d+ created, 0 updated, 0 deleted \(seq 1\.\.\d+\), serial \d+\n$/],
];

/**
 * Run the tour in one shell, line by line as written (the `export` carries over), on the copy; only
 * the ports (when the defaults are taken here) and /tmp (a directory of this test) are substituted.
 */
function runTour(copy: string, ports: { dnsPort: number; restPort: number; grpcPort: number }): void {
  const commands = tourCommands();
  assert.deepEqual(commands, TOUR.map(([c]) => c), 'the README tour and the expected outputs list the same commands');
  const tmp = join(copy, 'tmp');
  mkdirSync(tmp);
  const script = commands
    .map((line, i) => {
      const cmd = line.replaceAll('-p 5353', `-p ${ports.dnsPort}`).replaceAll('127.0.0.1:8443', `127.0.0.1:${ports.restPort}`).replaceAll('/tmp/', `${tmp}/`);
      return `{ ${cmd} ; } > ${tmp}/out.${i} 2> ${tmp}/err.${i}; echo $? > ${tmp}/rc.${i}`;
    })
    .join('\n');
  // gRPC is found at the host of MCNS_ADDR on 9443, unless (here, when 9443 was taken) MCNS_GRPC_ADDR says otherwise.
  const grpcAddr = ports.grpcPort === 9443 ? '' : `127.0.0.1:${ports.grpcPort}`;
  const r = spawnSync('bash', ['-c', script], { cwd: copy, encoding: 'utf8', timeout: 600_000, env: { ...process.env, MCNS_TOKEN: '', MCNS_ADDR: '', MCNS_CA_CERT: '', MCNS_GRPC_ADDR: grpcAddr } });
  assert.equal(r.status, 0, r.stderr);
  // Every step is checked, and every failing step reported at once.
  const failures: string[] = [];
  TOUR.forEach(([line, expected, expectedErr], i) => {
    const out = readFileSync(join(tmp, `out.${i}`), 'utf8');
    const err = readFileSync(join(tmp, `err.${i}`), 'utf8');
    const rc = readFileSync(join(tmp, `rc.${i}`), 'utf8').trim();
    if (rc !== '0') failures.push(`${line}\nexit status ${rc}; stderr: ${err}`);
    else if (!expected.test(out)) failures.push(`${line}\nstdout:\n${out.slice(0, 2000)}\nstderr: ${err}`);
    else if (expectedErr && !expectedErr.test(err)) failures.push(`${line}\nstderr:\n${err}`);
  });
  assert.deepEqual(failures, []);
}

test('README: the quick start is exactly the two documented command lines', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = readme.split('## Quick start')[1].split('##')[0];
  const commands = block.split('\n').filter((l) => l.startsWith('    ')).map((l) => l.trim());
  assert.deepEqual(commands, ['npm ci && bin/mcns server --dev', 'npm ci && npm test']);
  assert.match(readme, /dig @127\.0\.0\.1 -p 5353 svc\.mcp\.metacircular\.net SOA \+short/);
  assert.match(readme, /curl -k https:\/\/127\.0\.0\.1:8443\/v1\/health/);
});

test('README quick start: `bin/mcns server --dev` on a fresh copy serves the seeded zones', async () => {
  const copy = mkdtempSync(join(tmpdir(), 'mcns-clone-'));
  cpSync(REPO, copy, {
    recursive: true,
    filter: (src) => !/^(node_modules|\.git|\.mcns-dev|bench\/out)(\/|$)/.test(relative(REPO, src)),
  });
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'), 'dir');

  // The literal defaults when they are free here; other loopback ports (same code path) when not.
  const env: Record<string, string> = {};
  let dnsPort = 5353;
  let restPort = 8443;
  let grpcPort = 9443;
  if (!(await portFree(5353, true))) env.MCNS_DNS_LISTEN_ADDR = `127.0.0.1:${(dnsPort = await freePort(true))}`;
  if (!(await portFree(8443, false))) env.PORT_REST = String((restPort = await freePort()));
  if (!(await portFree(9443, false))) env.PORT_GRPC = String((grpcPort = await freePort()));

  const server = spawnMcns(['server', '--dev'], { cwd: copy, env });
  try {
    await server.waitForLog('mcns serving');
    const token = readFileSync(join(copy, '.mcns-dev/admin.token'), 'utf8').trim();
    assert.equal(statSync(join(copy, '.mcns-dev/admin.token')).mode & 0o777, 0o600);
    assert.ok(server.stdout().includes(token), 'the token is printed');
    assert.equal(server.stdout().split('\n').filter((l) => l.includes(token)).length, 1, 'once');
    const soa = execFileSync('dig', ['@127.0.0.1', '-p', String(dnsPort), 'svc.mcp.metacircular.net', 'SOA', '+short', '+time=2', '+tries=2'], { encoding: 'utf8' }).trim();
    assert.match(soa, /^ns\.mcp\.metacircular\.net\. admin\.metacircular\.net\. \d{10} 3600 600 86400 300$/);
    const a = execFileSync('dig', ['@127.0.0.1', '-p', String(dnsPort), 'rift.mcp.metacircular.net', 'A', '+short'], { encoding: 'utf8' }).trim();
    assert.deepEqual(a.split('\n').sort(), ['100.95.252.120', '192.168.88.181']);
    const health = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: restPort, path: '/v1/health', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(health, 200);
    runTour(copy, { dnsPort, restPort, grpcPort });
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal((await server.exited).code, 0, server.stderr());

  // Second start: same token (not printed again), no second seeding.
  const again = spawnMcns(['server', '--dev'], { cwd: copy, env });
  try {
    const opened = await again.waitForLog('ledger opened');
    assert.ok((opened.seq as number) > 0);
    await again.waitForLog('mcns serving');
    assert.equal(again.stdout(), '');
    assert.ok(!again.stderr().includes('seeded the example zones'));
  } finally {
    again.child.kill('SIGTERM');
  }
  assert.equal((await again.exited).code, 0, again.stderr());
});
