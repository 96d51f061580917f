// `npm ci` prints no EBADENGINE warning: every package the lockfile installs accepts the Node we run
// on (npm compares the same `engines.node` ranges). cookie@2 wants Node 22; package.json overrides
// light-my-request's copy to cookie 1.1.1 (same stringifySetCookie, Node >= 18).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { REPO } from '../cli/run.ts';

// npm's own range matcher (semver has no bundled types; this is the one function we need).
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };

test('every package in package-lock.json accepts this Node (no EBADENGINE on npm ci)', () => {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
  const refused: string[] = [];
  for (const [path, pkg] of Object.entries(lock.packages)) {
    const range = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node;
    if (path !== '' && range && !semver.satisfies(process.version, range)) refused.push(`${path} wants node ${range}`);
  }
  assert.deepEqual(refused, [], `running ${process.version}`);
});

test('the cookie override keeps what light-my-request (fastify inject) uses', async () => {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/', (_req, reply) => reply.header('set-cookie', 'a=b; Path=/').send('x'));
  const res = await app.inject({ url: '/' });
  assert.equal(res.cookies[0]?.name, 'a');
  await app.close();
});
