// [server] max_body: the REST body limit as a config key (a size like "4MiB" or a number of bytes),
// default 4 MiB; a bad value stops start-up naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';

const devDir = mkdtempSync(join(tmpdir(), 'mcns-maxbody-'));
const load = (value?: string) => loadConfig({ dev: true, devDir, env: value === undefined ? {} : { MCNS_SERVER_MAX_BODY: value } });

test('[server] max_body: default 4 MiB, sizes and byte counts accepted, bad values named', () => {
  assert.equal(load().server.max_body, 4 * 1024 * 1024);
  assert.equal(load('16MiB').server.max_body, 16 * 1024 * 1024);
  assert.equal(load('512KiB').server.max_body, 512 * 1024);
  assert.equal(load('1000000').server.max_body, 1_000_000);
  for (const bad of ['lots', '0', '-5', '4MB']) assert.throws(() => load(bad), /server\.max_body.*must be a size like "4MiB"/, bad);
});
