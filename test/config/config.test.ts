// Configuration: defaults, MCNS_<SECTION>_<KEY> and $PORT_REST/$PORT_GRPC overrides, and the refusals
// that name the key and the file (missing required key, unknown key, bad value, --dev off loopback).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseDuration, isLoopbackAddr, splitHostPort } from '../../src/config.ts';
import { McnsError } from '../../src/errors.ts';

const FULL = `
[server]
listen_addr = ":8443"
grpc_addr   = ":9443"
tls_cert    = "/srv/mcns/certs/cert.pem"
tls_key     = "/srv/mcns/certs/key.pem"
[database]
path = "/srv/mcns/mcns.db"
[dns]
listen_addr = ":53"
upstreams   = ["1.1.1.1:53", "8.8.8.8:53"]
[mcias]
server_url   = "https://mcias.metacircular.net:8443"
ca_cert      = ""
service_name = "mcns"
tags         = []
[log]
level = "info"
`;

function write(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-config-'));
  const p = join(dir, 'mcns.toml');
  writeFileSync(p, text);
  return p;
}

function refusal(fn: () => unknown): McnsError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof McnsError, `expected McnsError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the configuration to be refused');
}

test('the seed README config loads with its defaults filled in', () => {
  const c = loadConfig({ path: write(FULL), env: {} });
  assert.equal(c.server.listen_addr, ':8443');
  assert.equal(c.server.grpc_addr, ':9443');
  assert.equal(c.server.shutdown_timeout, 30_000);
  assert.equal(c.database.path, '/srv/mcns/mcns.db');
  assert.equal(c.database.backup_dir, '/srv/mcns/backups');
  assert.deepEqual(c.dns.listen_addr, [':53']);
  assert.deepEqual(c.dns.upstreams, ['1.1.1.1:53', '8.8.8.8:53']);
  assert.equal(c.dns.query_log, false);
  assert.equal(c.mcias.service_name, 'mcns');
  assert.equal(c.mcias.timeout, 10_000);
  assert.equal(c.log.level, 'info');
  assert.deepEqual(c.transfer, { allow_from: [], allow_keys: [], notify: [], zone_notify: {} });
});

test('relative paths resolve against the config file directory', () => {
  const p = write(FULL.replace('/srv/mcns/mcns.db', 'data/mcns.db').replace('/srv/mcns/certs/cert.pem', 'cert.pem'));
  const c = loadConfig({ path: p, env: {} });
  assert.equal(c.database.path, join(p, '..', 'data/mcns.db'));
  assert.equal(c.database.backup_dir, join(p, '..', 'data/backups'));
  assert.equal(c.server.tls_cert, join(p, '..', 'cert.pem'));
});

test('MCNS_<SECTION>_<KEY> overrides are typed: strings, numbers, booleans, comma lists', () => {
  const c = loadConfig({
    path: write(FULL),
    env: {
      MCNS_DATABASE_PATH: '/tmp/other.db',
      MCNS_DATABASE_CHECKPOINT_EVERY: '250',
      MCNS_DNS_QUERY_LOG: 'true',
      MCNS_DNS_QUERY_LOG_SAMPLE: '0.5',
      MCNS_DNS_UPSTREAMS: '9.9.9.9:53, 1.0.0.1:53',
      MCNS_DNS_LISTEN_ADDR: '127.0.0.1:5300,[::1]:5300',
      MCNS_LOG_LEVEL: 'debug',
      MCNS_SERVER_SHUTDOWN_TIMEOUT: '5s',
      MCNS_TOKEN: 'not configuration, ignored',
    },
  });
  assert.equal(c.database.path, '/tmp/other.db');
  assert.equal(c.database.checkpoint_every, 250);
  assert.equal(c.dns.query_log, true);
  assert.equal(c.dns.query_log_sample, 0.5);
  assert.deepEqual(c.dns.upstreams, ['9.9.9.9:53', '1.0.0.1:53']);
  assert.deepEqual(c.dns.listen_addr, ['127.0.0.1:5300', '[::1]:5300']);
  assert.equal(c.log.level, 'debug');
  assert.equal(c.server.shutdown_timeout, 5000);
});

test('an env override with a bad value names the variable-backed key', () => {
  const e = refusal(() => loadConfig({ path: write(FULL), env: { MCNS_DATABASE_CHECKPOINT_EVERY: 'lots' } }));
  assert.match(e.message, /database\.checkpoint_every: must be a number, got "lots"/);
  const b = refusal(() => loadConfig({ path: write(FULL), env: { MCNS_DNS_QUERY_LOG: 'maybe' } }));
  assert.match(b.message, /dns\.query_log: must be true or false/);
  const l = refusal(() => loadConfig({ path: write(FULL), env: { MCNS_LOG_LEVEL: 'loud' } }));
  assert.match(l.message, /environment variable MCNS_LOG_LEVEL: log\.level/);
});

test('an unknown MCNS_ key of a known section is reported with the variable name', () => {
  const e = refusal(() => loadConfig({ path: write(FULL), env: { MCNS_DNS_UPSTREAM: '1.1.1.1:53' } }));
  assert.match(e.message, /unknown configuration key dns\.upstream \(from environment variable MCNS_DNS_UPSTREAM\)/);
});

test('$PORT_REST and $PORT_GRPC replace the ports and keep the hosts, over the file and MCNS_ vars', () => {
  const p = write(FULL.replace('listen_addr = ":8443"', 'listen_addr = "10.0.0.1:8443"'));
  const c = loadConfig({ path: p, env: { PORT_REST: '18443', PORT_GRPC: '19443', MCNS_SERVER_GRPC_ADDR: '127.0.0.1:9000' } });
  assert.equal(c.server.listen_addr, '10.0.0.1:18443');
  assert.equal(c.server.grpc_addr, '127.0.0.1:19443');
  const d = loadConfig({ path: write(FULL.replace(/listen_addr = ":8443"\n/, '')), env: { PORT_REST: '28443' } });
  assert.equal(d.server.listen_addr, ':28443');
  const bad = refusal(() => loadConfig({ path: p, env: { PORT_REST: 'http' } }));
  assert.match(bad.message, /PORT_REST: must be a port number/);
});

for (const [section, key] of [
  ['server', 'tls_cert'],
  ['server', 'tls_key'],
  ['database', 'path'],
  ['mcias', 'server_url'],
] as const) {
  test(`a missing ${section}.${key} stops start-up naming the key and the file`, () => {
    const text = FULL.replace(new RegExp(`^${key === 'path' ? 'path' : key}\\s*=.*$`, 'm'), '');
    const p = write(text);
    const e = refusal(() => loadConfig({ path: p, env: {} }));
    assert.equal(e.kind, 'invalid');
    assert.equal(e.field, `${section}.${key}`);
    assert.ok(e.message.includes(`${section}.${key} is required`), e.message);
    assert.ok(e.message.includes(p), e.message);
  });
}

test('an unknown key is reported with its full path and the file', () => {
  const p = write(FULL + '\n[dns.extra]\nfoo = 1\n[tsig.keys.xfr-key]\nsecret = "c2VjcmV0"\nalgoritm = "hmac-sha256"\n');
  const e = refusal(() => loadConfig({ path: p, env: {} }));
  assert.ok(e.message.includes(`${p}: unknown key dns.extra`), e.message);
  assert.ok(e.message.includes(`${p}: unknown key tsig.keys.xfr-key.algoritm`), e.message);
  const s = refusal(() => loadConfig({ path: write(FULL + '\n[cache]\nsize = 1\n'), env: {} }));
  assert.match(s.message, /unknown key cache/);
});

test('bad values are refused naming the key', () => {
  const cases: Array<[string, RegExp]> = [
    [FULL.replace('level = "info"', 'level = "chatty"'), /log\.level/],
    [FULL.replace('upstreams   = ["1.1.1.1:53", "8.8.8.8:53"]', 'upstreams = "1.1.1.1"'), /dns\.upstreams must be array/],
    [FULL.replace('upstreams   = ["1.1.1.1:53", "8.8.8.8:53"]', 'upstreams = ["1.1.1.1"]'), /dns\.upstreams\.0 must be "host:port"/],
    [FULL.replace('listen_addr = ":8443"', 'listen_addr = 8443'), /server\.listen_addr must be string/],
    [FULL + '\n[transfer]\nallow_from = ["300.1.1.1/8"]\n', /transfer\.allow_from\.0 must be an IP address or a CIDR/],
    [FULL.replace('[database]', '[database]\nsnapshot_retention = -1'), /database\.snapshot_retention/],
    [FULL.replace('[server]', '[server]\nshutdown_timeout = "soon"'), /server\.shutdown_timeout must be a duration/],
    [FULL.replace('server_url   = "https://mcias.metacircular.net:8443"', 'server_url = "mcias"'), /mcias\.server_url/],
    [FULL + '\n[tsig.keys.k]\nsecret = "not base64!"\n', /tsig\.keys\.k\.secret must be base64/],
    [FULL + '\n[tsig.keys.k]\nalgorithm = "hmac-md5"\nsecret = "c2VjcmV0"\n', /tsig\.keys\.k\.algorithm/],
    [FULL + '\n[tsig.keys.k]\n', /tsig\.keys\.k .*exactly one of secret or secret_file/],
    [FULL + '\n[transfer]\nallow_keys = ["nokey"]\n', /transfer\.allow_keys: names key "nokey"/],
    ['[server\n', /not valid TOML \(line 1/],
  ];
  for (const [text, re] of cases) {
    const e = refusal(() => loadConfig({ path: write(text), env: {} }));
    assert.match(e.message, re);
  }
});

test('transfer and tsig keys parse; secret_file is read relative to the config', () => {
  const p = write(FULL + '\n[transfer]\nallow_from = ["127.0.0.1/32", "::1"]\nallow_keys = ["xfr-key"]\nnotify = ["127.0.0.1:5301"]\n[tsig.keys.xfr-key]\nsecret_file = "xfr.key"\n');
  writeFileSync(join(p, '..', 'xfr.key'), 'c2VjcmV0c2VjcmV0\n');
  const c = loadConfig({ path: p, env: {} });
  assert.deepEqual(c.tsig.keys['xfr-key.'], { name: 'xfr-key.', algorithm: 'hmac-sha256', secret: 'c2VjcmV0c2VjcmV0' });
  assert.deepEqual(c.transfer.notify, ['127.0.0.1:5301']);
  const missing = refusal(() => loadConfig({ path: write(FULL + '\n[tsig.keys.k]\nsecret_file = "absent.key"\n'), env: {} }));
  assert.match(missing.message, /tsig\.keys\.k\.secret_file: cannot read .*absent\.key/);
});

test('a missing config file names the path; no path and no --dev is refused', () => {
  assert.match(refusal(() => loadConfig({ path: '/nonexistent/mcns.toml', env: {} })).message, /cannot read \/nonexistent\/mcns\.toml: no such file/);
  assert.match(refusal(() => loadConfig({ env: {} })).message, /--config/);
});

test('--dev: loopback defaults, data under the dev dir, no MCIAS needed', () => {
  const devDir = mkdtempSync(join(tmpdir(), 'mcns-dev-'));
  const c = loadConfig({ dev: true, devDir, env: {} });
  assert.equal(c.server.listen_addr, '127.0.0.1:8443');
  assert.equal(c.server.grpc_addr, '127.0.0.1:9443');
  assert.deepEqual(c.dns.listen_addr, ['127.0.0.1:5353']);
  assert.deepEqual(c.dns.upstreams, []);
  assert.equal(c.database.path, join(devDir, 'mcns.db'));
  assert.equal(c.server.tls_cert, join(devDir, 'cert.pem'));
});

test('--dev refuses a non-loopback address from the environment or a file', () => {
  const devDir = mkdtempSync(join(tmpdir(), 'mcns-dev-'));
  const e = refusal(() => loadConfig({ dev: true, devDir, env: { MCNS_DNS_LISTEN_ADDR: '0.0.0.0:5353' } }));
  assert.match(e.message, /dns\.listen_addr: --dev binds to loopback only, refusing "0\.0\.0\.0:5353" \(from environment variable MCNS_DNS_LISTEN_ADDR\)/);
  const f = refusal(() => loadConfig({ dev: true, devDir, path: write('[server]\nlisten_addr = ":8443"\n'), env: {} }));
  assert.match(f.message, /server\.listen_addr: --dev binds to loopback only/);
  // PORT_REST keeps the loopback host.
  assert.equal(loadConfig({ dev: true, devDir, env: { PORT_REST: '18443' } }).server.listen_addr, '127.0.0.1:18443');
});

test('helpers: durations, host:port, loopback', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration(3), 3000);
  assert.ok(Number.isNaN(parseDuration('3 weeks')));
  assert.deepEqual(splitHostPort('[::1]:53'), { host: '::1', port: 53 });
  assert.deepEqual(splitHostPort(':53'), { host: '', port: 53 });
  assert.equal(splitHostPort('example'), undefined);
  assert.ok(isLoopbackAddr('127.0.0.2:53'));
  assert.ok(isLoopbackAddr('[::1]:53'));
  assert.ok(isLoopbackAddr('localhost:53'));
  assert.ok(!isLoopbackAddr(':53'));
  assert.ok(!isLoopbackAddr('192.168.88.181:53'));
});

test('hardening keys: [metrics] listen_addr/tls, auth failure limits, the MCIAS negative cache; defaults keep today\'s behaviour', () => {
  const d = loadConfig({ path: write(FULL), env: {} });
  assert.deepEqual(d.metrics, { listen_addr: '', tls: false }, '/metrics stays on the REST listener by default');
  assert.equal(d.server.auth_failure_burst, 20);
  assert.equal(d.server.auth_failures_per_minute, 10);
  assert.equal(d.mcias.negative_cache, 10_000);
  const c = loadConfig({
    path: write(`${FULL}\n[metrics]\nlisten_addr = "127.0.0.1:9100"\ntls = true\n`),
    env: { MCNS_SERVER_AUTH_FAILURE_BURST: '0', MCNS_SERVER_AUTH_FAILURES_PER_MINUTE: '30', MCNS_MCIAS_NEGATIVE_CACHE: '5s' },
  });
  assert.deepEqual(c.metrics, { listen_addr: '127.0.0.1:9100', tls: true });
  assert.equal(c.server.auth_failure_burst, 0);
  assert.equal(c.server.auth_failures_per_minute, 30);
  assert.equal(c.mcias.negative_cache, 5000);
  assert.equal(loadConfig({ path: write(FULL), env: { MCNS_METRICS_LISTEN_ADDR: '[::1]:9100' } }).metrics.listen_addr, '[::1]:9100');
  assert.match(refusal(() => loadConfig({ path: write(`${FULL}\n[metrics]\nlisten_addr = "loopback"\n`), env: {} })).message, /metrics\.listen_addr must be "host:port"/);
  assert.match(refusal(() => loadConfig({ path: write(`${FULL}\n[metrics]\nport = 9100\n`), env: {} })).message, /unknown key metrics\.port/);
  assert.match(refusal(() => loadConfig({ path: write(FULL), env: { MCNS_SERVER_AUTH_FAILURE_BURST: '-1' } })).message, /server\.auth_failure_burst/);
  const devDir = mkdtempSync(join(tmpdir(), 'mcns-dev-'));
  assert.match(refusal(() => loadConfig({ dev: true, devDir, env: { MCNS_METRICS_LISTEN_ADDR: ':9100' } })).message, /metrics\.listen_addr: --dev binds to loopback only/);
});
