// The README quick start, run on a fresh copy of the repository: `bin/mcns server --dev` starts with no
// files, prints the admin token once (kept mode 0600), seeds the example zones, and the tour's
// `dig @127.0.0.1 -p 5353 svc.mcp.metacircular.net SOA +short` and /v1/health answer.
// (`npm ci` is what .ci/run already did for this checkout: the copy links to its node_modules.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, statSync, symlinkSync } from 'node:fs';
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
  if (!(await portFree(5353, true))) env.MCNS_DNS_LISTEN_ADDR = `127.0.0.1:${(dnsPort = await freePort(true))}`;
  if (!(await portFree(8443, false))) env.PORT_REST = String((restPort = await freePort()));
  if (!(await portFree(9443, false))) env.PORT_GRPC = String(await freePort());

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
