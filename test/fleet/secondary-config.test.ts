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
  assert.match(nsd, /request-xfr: 192\.0\.2\.1@53 xfr-key\n\s+allow-notify: 192\.0\.2\.1 xfr-key/);
  assert.match(nsd, /name: a\.test\n\s+include-pattern: mcns/);
  assert.match(nsd, /name: b\.test\n/);
  assert.doesNotMatch(nsd, /catalog/);
  // Without a catalog, Knot lists the zones; without a key, NSD says NOKEY.
  assert.match(secondaryConfig({ ...base, catalog: undefined }), /domain: a\.test\n\s+template: mcns-member/);
  assert.match(secondaryConfig({ ...base, kind: 'nsd', key: undefined }), /request-xfr: 192\.0\.2\.1@53 NOKEY/);
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
    const addr = await mcns(['secondary-config', '--for', 'knot', '--config', cfg]);
    assert.equal(addr.code, 2);
    assert.match(addr.stderr, /--addr HOST:PORT is needed/);
  } finally {
    tmp.cleanup();
  }
});
