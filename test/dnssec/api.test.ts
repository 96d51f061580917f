/**
 * The operator's DNSSEC interface over REST (SPEC 4): PUT turns signing on with a new KSK and ZSK
 * whose private halves are in the key store and nowhere else (not in GET, the history or the raw
 * log); GET shows the keys and the DS for the parent; rollover starts a ZSK rollover; the signer's
 * types cannot be written by users of a signed zone; only admins may do any of it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureDnssec, startRollover } from '../../src/api/dnssec.ts';
import { ALGORITHM_NUMBERS, generateKey, type AlgorithmName, type KeyMaterial } from '../../src/dnssec/algorithms.ts';
import { dsPresentation } from '../../src/dnssec/dnskey.ts';
import { dnskeyFlags } from '../../src/dnssec/zone-keys.ts';
import { pino } from 'pino';
import { seedZone, startHarness, type Harness } from '../api/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h.close());

const admin = (): { token: string } => ({ token: h.tokens.alice });

test('PUT enables DNSSEC with a KSK and a ZSK; GET shows public keys and the DS; private keys appear nowhere in the API', async () => {
  const zone = await seedZone(h, 'signme.test');
  const put = await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { ...admin(), body: { enabled: true } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.enabled, true);
  assert.equal(put.body.algorithm, 'ecdsap256sha256');
  assert.equal(put.body.denial, 'nsec');
  assert.deepEqual(put.body.keys.map((k: { role: string; state: string }) => `${k.role}:${k.state}`).sort(), ['ksk:active', 'zsk:active']);

  const get = await h.rest('GET', `/v1/zones/${zone}/dnssec`, admin());
  assert.equal(get.status, 200, get.text);
  const ksk = get.body.keys.find((k: { role: string }) => k.role === 'ksk');
  assert.match(ksk.dnskey, /^257 3 13 [A-Za-z0-9+/]+=*$/);
  assert.ok(!Number.isNaN(Date.parse(ksk.created_at)));
  // The DS is the one computed from the published KSK, in "<tag> <alg> 2 <HEX>" form.
  const pub = Buffer.from(ksk.dnskey.split(' ')[3], 'base64');
  assert.deepEqual(get.body.ds, [dsPresentation(`${zone}.`, { flags: dnskeyFlags('ksk'), algorithm: ALGORITHM_NUMBERS.ecdsap256sha256, publicKey: pub })]);
  assert.match(get.body.ds[0], new RegExp(`^${ksk.tag} 13 2 [0-9A-F]{64}$`));

  // The private halves are in the key store, and their bytes in no answer, history entry or event.
  const rows = h.ledger.db.prepare('SELECT pkcs8 FROM dnssec_private_keys WHERE zone = ?').all(`${zone}.`) as Array<{ pkcs8: Buffer }>;
  assert.equal(rows.length, 2);
  const history = await h.rest('GET', `/v1/zones/${zone}/history?limit=1000`, admin());
  const events = await h.rest('GET', '/v1/events?limit=1000', admin());
  assert.ok(history.body.entries.some((e: { event: string; actor: string }) => e.event === 'DnssecKeyCreated' && e.actor === 'alice'));
  for (const { pkcs8 } of rows) {
    // The whole PKCS#8, and the private scalar alone: P-256's sits at byte 36 of node's 138-byte
    // PKCS#8 (after the algorithm identifiers and the ECPrivateKey header), Ed25519's at byte 16.
    const at = pkcs8.length > 100 ? 36 : 16;
    const secret = pkcs8.subarray(at, at + 32);
    for (const bytes of [pkcs8, secret]) {
      for (const text of [bytes.toString('base64'), bytes.toString('hex'), bytes.toString('hex').toUpperCase(), bytes.toString('base64url')]) {
        for (const [what, body] of [['PUT', put.text], ['GET', get.text], ['history', history.text], ['events', events.text]] as const) {
          assert.ok(!body.includes(text), `${what} holds private key bytes`);
        }
      }
    }
  }
});

test('a signed zone refuses user writes of the types the signer derives (400 naming type)', async () => {
  const zone = await seedZone(h, 'derived.test');
  const dnskey = '257 3 13 ' + Buffer.alloc(64, 7).toString('base64');
  // Before signing, a DNSKEY is ordinary data.
  const before = await h.rest('POST', `/v1/zones/${zone}/records`, { ...admin(), body: { name: '@', type: 'DNSKEY', value: dnskey } });
  assert.equal(before.status, 201, before.text);
  assert.equal((await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { ...admin(), body: { enabled: true, algorithm: 'ed25519', denial: 'nsec3' } })).status, 200);
  const cases: Array<[string, string]> = [
    ['DNSKEY', dnskey],
    ['CDS', `12345 13 2 ${'AB'.repeat(32)}`],
    ['CDNSKEY', dnskey],
    ['NSEC', `www.${zone}. A`],
    ['NSEC3PARAM', '1 0 0 -'],
  ];
  for (const [type, value] of cases) {
    const r = await h.rest('POST', `/v1/zones/${zone}/records`, { ...admin(), body: { name: '@', type, value } });
    assert.equal(r.status, 400, `${type}: ${r.text}`);
    assert.match(r.body.error, /^type: /);
    assert.match(r.body.error, /derived by the signer for a signed zone/);
  }
  // Nor can the DNSKEY written before signing be changed.
  const upd = await h.rest('PUT', `/v1/zones/${zone}/records/${before.body.record.id}`, { ...admin(), body: { ttl: 60 } });
  assert.equal(upd.status, 400, upd.text);
  // Nor can a zone file bring one in.
  const file = `$ORIGIN ${zone}.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n@ DNSKEY 256 3 13 ${Buffer.alloc(64, 9).toString('base64')}\n`;
  const imp = await h.rest('POST', `/v1/zones/${zone}/import`, { ...admin(), text: file });
  assert.equal(imp.status, 400, imp.text);
  assert.match(imp.body.error, /derived by the signer for a signed zone/);
  // Ordinary records still go in.
  assert.equal((await h.rest('POST', `/v1/zones/${zone}/records`, { ...admin(), body: { name: 'www', type: 'A', value: '192.0.2.1' } })).status, 201);
});

test('rollover starts a ZSK rollover with a new published key; a second is refused; denial and off; admins only', async () => {
  const zone = await seedZone(h, 'roll.test');
  assert.equal((await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { ...admin(), body: { enabled: true } })).status, 200);
  const r = await h.rest('POST', `/v1/zones/${zone}/dnssec/rollover`, { ...admin(), body: { role: 'zsk' } });
  assert.equal(r.status, 200, r.text);
  const zsks = r.body.keys.filter((k: { role: string }) => k.role === 'zsk');
  const old = zsks.find((k: { state: string }) => k.state === 'active');
  const fresh = zsks.find((k: { state: string }) => k.state === 'published');
  assert.ok(old && fresh, r.text);
  assert.equal(fresh.replaces, old.tag);
  const again = await h.rest('POST', `/v1/zones/${zone}/dnssec/rollover`, { ...admin(), body: { role: 'zsk' } });
  assert.equal(again.status, 409, again.text);
  assert.equal((await h.rest('POST', `/v1/zones/${zone}/dnssec/rollover`, { ...admin(), body: { role: 'csk' } })).status, 400);
  assert.equal((await h.rest('POST', `/v1/zones/${zone}/dnssec/rollover`, { ...admin(), body: { role: 'big' } })).status, 400);

  // A KSK rollover (double-DS): the new key is not yet in DNSKEY, but its DS is wanted beside the old one.
  const k = await h.rest('POST', `/v1/zones/${zone}/dnssec/rollover`, { ...admin(), body: { role: 'ksk' } });
  assert.equal(k.status, 200, k.text);
  assert.equal(k.body.ds.length, 2);

  const nsec3 = await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { ...admin(), body: { enabled: true, denial: 'nsec3' } });
  assert.equal(nsec3.body.denial, 'nsec3');
  assert.equal(nsec3.body.algorithm, 'ecdsap256sha256', 'an omitted algorithm keeps the zone\'s');
  const alg = await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { ...admin(), body: { enabled: true, algorithm: 'ed25519' } });
  assert.equal(alg.status, 409, alg.text);
  assert.match(alg.body.error, /algorithm/);

  for (const who of ['bob', 'mcp-agent']) {
    assert.equal((await h.rest('GET', `/v1/zones/${zone}/dnssec`, { token: h.tokens[who] })).status, 403, who);
    assert.equal((await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { token: h.tokens[who], body: { enabled: false } })).status, 403, who);
  }
  assert.equal((await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { ...admin(), body: { enabled: 'yes' } })).status, 400);
  assert.equal((await h.rest('GET', '/v1/zones/nosuch.test/dnssec', admin())).status, 404);

  const off = await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { ...admin(), body: { enabled: false } });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.body.enabled, false);
  assert.deepEqual(off.body.ds, []);
  assert.ok(off.body.keys.every((x: { state: string }) => x.state === 'removed'));
  const hist = await h.rest('GET', `/v1/zones/${zone}/history?limit=1000`, admin());
  const steps = hist.body.entries.filter((e: { event: string }) => e.event.startsWith('Dnssec')).map((e: { event: string; actor: string }) => `${e.event}/${e.actor}`);
  assert.ok(steps.includes('DnssecConfigured/alice') && steps.includes('DnssecKeyChanged/alice'), steps.join(' '));
});

test('a new key whose tag equals a live key of the zone is thrown away and another made', async () => {
  const zone = await seedZone(h, 'tags.test');
  const made: KeyMaterial[] = [];
  const recording = (a: AlgorithmName): KeyMaterial => {
    const m = generateKey(a);
    made.push(m);
    return m;
  };
  configureDnssec(h.ledger, `${zone}.`, { enabled: true }, { actor: 'alice' }, { generate: recording });
  const zsk = made[1];
  // The first key offered for the rollover is the live ZSK's own pair: same DNSKEY, same tag.
  const offered: KeyMaterial[] = [];
  const colliding = (a: AlgorithmName): KeyMaterial => {
    const m = offered.length === 0 ? zsk : generateKey(a);
    offered.push(m);
    return m;
  };
  startRollover(h.ledger, `${zone}.`, 'zsk', { actor: 'alice' }, { generate: colliding });
  assert.equal(offered.length, 2, 'the colliding key was replaced by a second one');
  const keys = h.ledger.state.zones.get(`${zone}.`)!.dnssec!.keys;
  assert.equal(new Set(keys.map((k) => k.tag)).size, 3, 'three keys, three tags');
});

test('the gRPC twins: SetDnssec, GetDnssec, StartRollover; SetDnssec without `enabled` is refused, never read as "off"', async () => {
  const zone = await seedZone(h, 'grpc-signed.test');
  const md = { token: h.tokens.alice };
  const missing = await h.grpc('DnssecService', 'SetDnssec', { zone, denial: 'nsec3' }, md);
  assert.equal(missing.code, 3, missing.details);
  assert.match(missing.details ?? '', /enabled/);
  const on = await h.grpc('DnssecService', 'SetDnssec', { zone, enabled: true, algorithm: 'ed25519' }, md);
  assert.equal(on.code, 0, on.details);
  assert.equal(on.body.enabled, true);
  assert.equal(on.body.keys.length, 2);
  assert.ok(on.body.batch.first_seq > 0);
  const got = await h.grpc('DnssecService', 'GetDnssec', { zone }, md);
  assert.equal(got.code, 0, got.details);
  const rest = await h.rest('GET', `/v1/zones/${zone}/dnssec`, admin());
  assert.deepEqual(got.body.ds, rest.body.ds, 'the same DS through both surfaces');
  assert.match(got.body.ds[0], / 15 2 [0-9A-F]{64}$/);
  const roll = await h.grpc('DnssecService', 'StartRollover', { zone, role: 'ksk' }, md);
  assert.equal(roll.code, 0, roll.details);
  assert.equal(roll.body.ds.length, 2);
  assert.equal((await h.grpc('DnssecService', 'GetDnssec', { zone }, { token: h.tokens.bob })).code, 7);
  const rows = h.ledger.db.prepare('SELECT pkcs8 FROM dnssec_private_keys WHERE zone = ?').all(`${zone}.`) as Array<{ pkcs8: Buffer }>;
  for (const { pkcs8 } of rows) {
    const text = JSON.stringify([on.body, got.body, roll.body]);
    assert.ok(!text.includes(pkcs8.toString('base64')) && !text.includes(pkcs8.subarray(16, 48).toString('base64')));
  }
});

test('no private key bytes in the API logs (trace level) of enabling and rolling keys', async () => {
  const lines: string[] = [];
  const h2 = await startHarness({ logger: pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) }) });
  try {
    const zone = await seedZone(h2, 'logged.test');
    const token = h2.tokens.alice;
    assert.equal((await h2.rest('PUT', `/v1/zones/${zone}/dnssec`, { token, body: { enabled: true } })).status, 200);
    assert.equal((await h2.rest('POST', `/v1/zones/${zone}/dnssec/rollover`, { token, body: { role: 'ksk' } })).status, 200);
    assert.equal((await h2.grpc('DnssecService', 'StartRollover', { zone, role: 'zsk' }, { token })).code, 0);
    const logs = lines.join('');
    assert.match(logs, /dnssec/, 'the requests were logged');
    const rows = h2.ledger.db.prepare('SELECT pkcs8 FROM dnssec_private_keys').all() as Array<{ pkcs8: Buffer }>;
    assert.equal(rows.length, 4);
    for (const { pkcs8 } of rows) {
      const secret = pkcs8.subarray(36, 68);
      for (const text of [pkcs8.toString('base64'), pkcs8.toString('hex'), secret.toString('base64'), secret.toString('hex'), secret.toString('base64url')]) {
        assert.ok(!logs.includes(text), 'private key bytes in the logs');
      }
    }
  } finally {
    await h2.close();
  }
});
