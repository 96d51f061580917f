/** `[dnssec]` timings: Knot-like defaults, durations parsed, a refresh longer than the validity refused naming the key. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { tempDir } from '../helpers/ledger.ts';

test('[dnssec] defaults, overrides and a refresh that cannot work', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'mcns.toml');
  const base = '[server]\ntls_cert = "c.pem"\ntls_key = "k.pem"\n[database]\npath = "mcns.db"\n[mcias]\nserver_url = "https://127.0.0.1:9"\n';
  writeFileSync(file, base);
  const d = loadConfig({ path: file, env: {} }).dnssec;
  assert.deepEqual(d, { signature_validity: 336 * 3_600_000, signature_refresh: 168 * 3_600_000, propagation_delay: 300_000, parent_ds_ttl: 86_400_000, parent_registration_delay: 86_400_000 });
  writeFileSync(file, base + '[dnssec]\nsignature_validity = "72h"\nsignature_refresh = "24h"\npropagation_delay = 60\n');
  const o = loadConfig({ path: file, env: { MCNS_DNSSEC_PARENT_DS_TTL: '1h' } }).dnssec;
  assert.deepEqual([o.signature_validity, o.signature_refresh, o.propagation_delay, o.parent_ds_ttl], [72 * 3_600_000, 24 * 3_600_000, 60_000, 3_600_000]);
  writeFileSync(file, base + '[dnssec]\nsignature_validity = "24h"\nsignature_refresh = "48h"\n');
  assert.throws(() => loadConfig({ path: file, env: {} }), /dnssec\.signature_refresh must be shorter than signature_validity/);
});
