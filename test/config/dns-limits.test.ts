// The [dns] TCP limits, warm-up and [dns.rrl] keys: defaults, durations, the example config's values, and
// refusals that name the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { McnsError } from '../../src/errors.ts';

function configWith(extra: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-config-'));
  const p = join(dir, 'mcns.toml');
  writeFileSync(p, `[dns]\nlisten_addr = "127.0.0.1:5353"\n${extra}\n`);
  return p;
}

function load(extra: string) {
  return loadConfig({ path: configWith(extra), dev: true, devDir: tmpdir(), env: {} });
}

function refusal(extra: string): string {
  try {
    load(extra);
  } catch (err) {
    assert.ok(err instanceof McnsError);
    return err.message;
  }
  return assert.fail('expected a refusal');
}

test('defaults: TCP limits after Knot, RRL off with slip 2', () => {
  const c = load('');
  assert.equal(c.dns.tcp_max_clients, 1000);
  assert.equal(c.dns.tcp_max_per_client, 20);
  assert.equal(c.dns.tcp_idle_timeout, 10_000);
  assert.equal(c.dns.tcp_message_timeout, 1000);
  assert.equal(c.dns.warm_up, 1000);
  assert.deepEqual(c.dns.rrl, { responses_per_second: 0, slip: 2, table_size: 65_536 });
});

test('values from the file, durations in ms', () => {
  const c = load('tcp_max_clients = 200\ntcp_max_per_client = 4\ntcp_idle_timeout = "30s"\ntcp_message_timeout = "500ms"\n[dns.rrl]\nresponses_per_second = 20\nslip = 0\n');
  assert.deepEqual(
    [c.dns.tcp_max_clients, c.dns.tcp_max_per_client, c.dns.tcp_idle_timeout, c.dns.tcp_message_timeout],
    [200, 4, 30_000, 500],
  );
  assert.deepEqual(c.dns.rrl, { responses_per_second: 20, slip: 0, table_size: 65_536 });
});

test('warm_up: a duration, "0s" for none, at most 10 s', () => {
  assert.equal(load('warm_up = "0s"').dns.warm_up, 0);
  assert.equal(load('warm_up = "1s"').dns.warm_up, 1000);
  assert.equal(loadConfig({ path: configWith(''), dev: true, devDir: tmpdir(), env: { MCNS_DNS_WARM_UP: '50ms' } }).dns.warm_up, 50);
  assert.match(refusal('warm_up = "11s"'), /dns\.warm_up must be at most 10s/);
  assert.match(refusal('warm_up = "soon"'), /dns\.warm_up must be a duration/);
});

test('environment overrides for the TCP limits', () => {
  const c = loadConfig({ path: configWith(''), dev: true, devDir: tmpdir(), env: { MCNS_DNS_TCP_MAX_PER_CLIENT: '3', MCNS_DNS_TCP_MESSAGE_TIMEOUT: '2s' } });
  assert.equal(c.dns.tcp_max_per_client, 3);
  assert.equal(c.dns.tcp_message_timeout, 2000);
});

test('bad values are refused naming the key', () => {
  assert.match(refusal('tcp_max_per_client = 0'), /dns\.tcp_max_per_client/);
  assert.match(refusal('tcp_idle_timeout = 0'), /dns\.tcp_idle_timeout must be more than 0/);
  assert.match(refusal('tcp_message_timeout = "soon"'), /dns\.tcp_message_timeout must be a duration/);
  assert.match(refusal('[dns.rrl]\nresponses_per_second = -1'), /dns\.rrl\.responses_per_second/);
  assert.match(refusal('[dns.rrl]\nslip = 1000'), /dns\.rrl\.slip/);
  assert.match(refusal('[dns.rrl]\nburst = 5'), /unknown key dns\.rrl\.burst/);
});

test('the example config documents every new key with its default', () => {
  const text = readFileSync(new URL('../../deploy/examples/mcns.toml', import.meta.url), 'utf8');
  for (const key of ['tcp_max_clients', 'tcp_max_per_client', 'tcp_idle_timeout', 'tcp_message_timeout', 'warm_up', 'responses_per_second', 'slip', 'table_size']) {
    assert.match(text, new RegExp(`^${key}\\s*=.*default`, 'm'), key);
  }
  assert.match(text, /^\[dns\.rrl\]$/m);
});
