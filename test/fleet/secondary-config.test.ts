/**
 * `mcns secondary-config`: what each generated configuration says (the real daemons run them in
 * secondaries.test.ts and restore.test.ts), and the CLI's refusals naming the bad option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { secondaryConfig, type SecondarySetup } from '../../src/catalog/secondary-config.ts';
import { tempDir } from '../helpers/ledger.ts';
import { mcns } from '../cli/run.ts';

const base: SecondarySetup = {
  kind: 'knot',
  primary: { host: '192.0.2.1', port: 53 },
  key: { name: 'xfr-key.', algorithm: 'hmac-sha256', secret: 'c2VjcmV0' },
  catalog: 'catalog.mcns.invalid.',
  zones: ['a.test.', 'b.test.'],
  listen: { host: '0.0.0.0', port: 53 },
  dir: '/var/lib/knot',
};

test('Knot and BIND are configured with the catalog only; NSD with the zone list; the key guards transfers and NOTIFY', () => {
  const knot = secondaryConfig(base);
  assert.match(knot, /catalog-role: interpret\n\s+catalog-template: mcns-member/);
  assert.match(knot, /remote:\n {2}- id: mcns\n {4}address: 192\.0\.2\.1@53\n {4}key: xfr-key\n/);
  assert.match(knot, /action: notify/);
  assert.doesNotMatch(knot, /a\.test/);
  const bind = secondaryConfig({ ...base, kind: 'bind', dir: '/var/cache/bind' });
  assert.match(bind, /catalog-zones \{ zone "catalog\.mcns\.invalid" default-primaries port 53 \{ 192\.0\.2\.1 key "xfr-key"; \} in-memory yes min-update-interval 1; \};/);
  assert.match(bind, /allow-notify \{ key "xfr-key"; \};/);
  assert.doesNotMatch(bind, /a\.test/);
  const nsd = secondaryConfig({ ...base, kind: 'nsd', dir: '/var/lib/nsd' });
  assert.match(nsd, /request-xfr: UDP 192\.0\.2\.1@53 xfr-key\n\s+allow-notify: 192\.0\.2\.1 xfr-key/);
  assert.match(nsd, /name: a\.test\n\s+include-pattern: mcns/);
  assert.match(nsd, /name: b\.test\n/);
  assert.doesNotMatch(nsd, /catalog/);
  // Without a catalog, Knot lists the zones; without a key, NSD says NOKEY.
  assert.match(secondaryConfig({ ...base, catalog: undefined }), /domain: a\.test\n\s+template: mcns-member/);
  assert.match(secondaryConfig({ ...base, kind: 'nsd', key: undefined }), /request-xfr: 192\.0\.2\.1@53 NOKEY/);
});

test('settings for a busy primary: Knot keeps its TCP connections, NSD asks IXFR over UDP (signed only) and reloads at once; --source sets the address used', () => {
  // MCNS accepts one TCP connection per event-loop turn: Knot's pool and NSD's UDP IXFR spare it one per change.
  assert.match(secondaryConfig(base), /server:[^]*background-workers: 8\n {4}remote-pool-limit: 10\n/);
  const nsd = secondaryConfig({ ...base, kind: 'nsd', dir: '/var/lib/nsd' });
  assert.match(nsd, /request-xfr: UDP 192\.0\.2\.1@53 xfr-key\n/);
  assert.match(nsd, /xfrd-reload-timeout: 0\n {4}xfrd-tcp-max: 10\n/);
  // Each secondary holds at most half of MCNS's tcp_max_per_client (20 by default): a connection it has
  // closed still counts on a busy primary for a moment, and one over the limit is reset.
  assert.match(secondaryConfig({ ...base, kind: 'bind' }), /transfers-per-ns 10;/);
  assert.match(secondaryConfig({ ...base, kind: 'bind', primaryTcpPerClient: 64 }), /transfers-per-ns 32;/);
  assert.match(secondaryConfig({ ...base, primaryTcpPerClient: 6 }), /background-workers: 3\n {4}remote-pool-limit: 3\n/);
  assert.match(secondaryConfig({ ...base, kind: 'nsd', primaryTcpPerClient: 1 }), /xfrd-tcp-max: 1\n/);
  assert.throws(() => secondaryConfig({ ...base, primaryTcpPerClient: 0 }), /primaryTcpPerClient must be a whole number of at least 1, got 0/);
  assert.doesNotMatch(secondaryConfig({ ...base, kind: 'nsd', key: undefined }), /UDP/, 'UDP transfers only with TSIG');
  for (const kind of ['knot', 'bind', 'nsd'] as const) assert.doesNotMatch(secondaryConfig({ ...base, kind }), /via:|transfer-source|outgoing-interface/);
  assert.match(secondaryConfig({ ...base, source: '192.0.2.7' }), /address: 192\.0\.2\.1@53\n {4}via: 192\.0\.2\.7\n/);
  assert.match(secondaryConfig({ ...base, kind: 'bind', source: '192.0.2.7' }), /^ {2}transfer-source 192\.0\.2\.7;$/m);
  assert.match(secondaryConfig({ ...base, kind: 'bind', source: '2001:db8::7' }), /^ {2}transfer-source-v6 2001:db8::7;$/m);
  assert.match(secondaryConfig({ ...base, kind: 'nsd', source: '192.0.2.7' }), /pattern:[^]*outgoing-interface: 192\.0\.2\.7\n/);
});

test('mcns secondary-config refuses an unknown --for, a key that is not defined, and a wildcard listen address without --addr', async () => {
  const tmp = tempDir();
  try {
    const cfg = join(tmp.dir, 'mcns.toml');
    writeFileSync(cfg, ['[server]', 'tls_cert = "c.pem"', 'tls_key = "k.pem"', '[database]', `path = "${tmp.dir}/mcns.db"`, '[dns]', 'listen_addr = "0.0.0.0:53"', '[mcias]', 'server_url = "https://127.0.0.1:9"', ''].join('\n'));
    const bad = await mcns(['secondary-config', '--for', 'powerdns', '--config', cfg]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--for must be one of knot, bind, nsd, got "powerdns"/);
    const key = await mcns(['secondary-config', '--for', 'knot', '--config', cfg, '--addr', '192.0.2.1:53', '--key', 'nope']);
    assert.equal(key.code, 2);
    assert.match(key.stderr, /--key "nope" is not defined under \[tsig\.keys\]/);
    const source = await mcns(['secondary-config', '--for', 'knot', '--config', cfg, '--addr', '192.0.2.1:53', '--source', 'eth0']);
    assert.equal(source.code, 2);
    assert.match(source.stderr, /--source must be an IP address, got "eth0"/);
    const addr = await mcns(['secondary-config', '--for', 'knot', '--config', cfg]);
    assert.equal(addr.code, 2);
    assert.match(addr.stderr, /--addr HOST:PORT is needed/);
  } finally {
    tmp.cleanup();
  }
});
