/**
 * `mcns zone dnssec enable|status|ds|rollover|disable ZONE`, run as real processes: offline on a
 * database file (--db), and through the REST API (--addr, --token, --ca-cert) against the API
 * harness. Both print the same view; `ds` prints the DS the parent needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { seedZone, startHarness } from '../api/harness.ts';
import { mcns } from '../cli/run.ts';
import { tempDir } from '../helpers/ledger.ts';

const ZONE_FILE = '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n';

test('offline (--db): enable, status, ds, rollover, disable; the keys are in the file, the events carry the actor', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'mcns.db');
  const l = Ledger.open({ path: db });
  l.execute(importCommand('cli.test.', ZONE_FILE), { actor: 'test' });
  l.close();

  const en = await mcns(['zone', 'dnssec', 'enable', 'cli.test', '--db', db, '--denial', 'nsec3', '--actor', 'ops', '-o', 'json']);
  assert.equal(en.code, 0, en.stderr);
  const view = JSON.parse(en.stdout);
  assert.equal(view.enabled, true);
  assert.equal(view.denial, 'nsec3');
  assert.equal(view.keys.length, 2);

  const st = await mcns(['zone', 'dnssec', 'status', 'cli.test', '--db', db]);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /DNSSEC on \(ecdsap256sha256, nsec3\)/);
  assert.match(st.stdout, /ksk\s+ecdsap256sha256\s+active/);

  const ds = await mcns(['zone', 'dnssec', 'ds', 'cli.test', '--db', db]);
  assert.equal(ds.code, 0, ds.stderr);
  assert.deepEqual(ds.stdout.trim().split('\n'), [`cli.test. IN DS ${view.ds[0]}`]);

  const roll = await mcns(['zone', 'dnssec', 'rollover', 'cli.test', '--role', 'zsk', '--db', db, '-o', 'json']);
  assert.equal(roll.code, 0, roll.stderr);
  assert.ok(JSON.parse(roll.stdout).keys.some((k: { state: string; replaces?: number }) => k.state === 'published' && k.replaces !== undefined));
  const bad = await mcns(['zone', 'dnssec', 'rollover', 'cli.test', '--role', 'big', '--db', db]);
  assert.equal(bad.code, 2, bad.stderr);

  // The history says what each DNSSEC event did.
  const hist = await mcns(['history', '--db', db, 'cli.test']);
  assert.equal(hist.code, 0, hist.stderr);
  assert.match(hist.stdout, /DnssecConfigured\s+signing on \(ecdsap256sha256, nsec3\)/);
  assert.match(hist.stdout, /DnssecKeyCreated\s+ZSK \d+ created published, replaces \d+/);
  const off = await mcns(['zone', 'dnssec', 'disable', 'cli.test', '--db', db, '-o', 'json']);
  assert.equal(off.code, 0, off.stderr);
  assert.equal(JSON.parse(off.stdout).enabled, false);

  const histOff = await mcns(['history', '--db', db, 'cli.test']);
  assert.match(histOff.stdout, /DnssecKeyChanged\s+key \d+ removed: DNSSEC turned off for the zone/);
  const check = Ledger.open({ path: db, create: false });
  try {
    assert.equal((check.db.prepare('SELECT count(*) AS n FROM dnssec_private_keys').get() as { n: number }).n, 3);
    const actors = new Set(check.log.read(0, 1000).filter((e) => e.body.type.startsWith('Dnssec')).map((e) => e.actor));
    assert.deepEqual([...actors].sort(), ['cli', 'ops'], 'enable as --actor ops, the rest as the default actor');
  } finally {
    check.close();
  }
});

test('through the API (--addr): enable then ds prints the DS of the KSK', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await seedZone(h, 'viaapi.test');
  const ca = join(h.dir, 'ca.pem');
  writeFileSync(ca, h.tls.ca);
  const api = ['--addr', `https://127.0.0.1:${h.restPort}`, '--ca-cert', ca, '--token', h.tokens.alice];
  const en = await mcns(['zone', 'dnssec', 'enable', 'viaapi.test', '--algorithm', 'ed25519', ...api]);
  assert.equal(en.code, 0, en.stderr);
  assert.match(en.stdout, /DNSSEC on \(ed25519, nsec\)/);
  const ds = await mcns(['zone', 'dnssec', 'ds', 'viaapi.test', ...api]);
  assert.equal(ds.code, 0, ds.stderr);
  assert.match(ds.stdout, /^viaapi\.test\. IN DS \d+ 15 2 [0-9A-F]{64}\n$/);
  const user = await mcns(['zone', 'dnssec', 'status', 'viaapi.test', ...api.slice(0, 4), '--token', h.tokens.bob]);
  assert.equal(user.code, 1);
  assert.match(user.stderr, /403: bob .* may not dnssec.get/);
});
