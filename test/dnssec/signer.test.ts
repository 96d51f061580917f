/**
 * ZoneSigners follows the projection: a zone whose DNSSEC is turned on through the ledger is signed
 * with the keys from the log and the key store, kept current write by write (equal to signing the
 * new state afresh), rebuilt when its keys change, dropped when DNSSEC is turned off, and left
 * unsigned with an error when a private key is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateKey } from '../../src/dnssec/algorithms.ts';
import { KeyStore } from '../../src/dnssec/keystore.ts';
import { ZoneSigners } from '../../src/dnssec/signer.ts';
import { TYPE, zoneKeyRdata } from '../../src/dnssec/zone-keys.ts';
import { rolloverStart } from '../../src/dnssec/lifecycle.ts';
import type { SignedZone } from '../../src/dnssec/signed-zone.ts';
import type { DnssecKeyRole } from '../../src/projections/dnssec-state.ts';
import { testLedger } from '../helpers/ledger.ts';

const ZONE = 'signer.test.';

function serialize(z: SignedZone | undefined): string[] {
  assert.ok(z);
  return [...z.records()].map((rs) => `${rs.owner} ${rs.type} ${rs.ttl} ${rs.rdatas.map((r) => Buffer.from(r).toString('hex')).sort().join(',')}`).sort();
}

test('signers follow the ledger: on, writes, rollover, missing key, off', (t) => {
  const { ledger, cleanup } = testLedger();
  t.after(cleanup);
  const store = new KeyStore(ledger.db);
  const now = Math.floor(Date.now() / 1000);
  const makeKey = (role: DnssecKeyRole, keep = true) => {
    const m = generateKey('ed25519');
    const { rdata, tag } = zoneKeyRdata({ role, publicKey: m.publicKey, algorithm: 'ed25519' });
    if (keep) store.put({ zone: ZONE, tag, algorithm: 'ed25519', dnskeySha256: createHash('sha256').update(rdata).digest(), pkcs8: m.privatePkcs8, createdAt: new Date().toISOString() });
    return { tag, role, algorithm: 'ed25519' as const, publicKey: Buffer.from(m.publicKey).toString('base64') };
  };
  const errors: string[] = [];
  const signers = new ZoneSigners({ keys: store, clock: () => now, onError: (z, e) => errors.push(`${z}: ${e.message}`) });
  const fresh = () => {
    const s = new ZoneSigners({ keys: store, clock: () => now });
    s.update(ledger.state);
    return s.get(ZONE);
  };

  ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: 'ns1.signer.test.', admin_email: 'h@signer.test' } }, { actor: 'admin' });
  signers.update(ledger.state);
  assert.equal(signers.get(ZONE), undefined, 'not signed before DNSSEC is on');

  const ksk = makeKey('ksk');
  ledger.execute({ kind: 'dnssec', zone: ZONE, change: { op: 'configure', enabled: true, algorithm: 'ed25519', denial: 'nsec', newKeys: [ksk, makeKey('zsk')], at: now } }, { actor: 'admin' });
  signers.update(ledger.state);
  const signed = signers.get(ZONE);
  assert.ok(signed);
  assert.equal(signed.dnskey().rdatas.length, 2);
  const types = new Set([...signed.records()].map((rs) => rs.type));
  for (const t of [TYPE.DNSKEY, TYPE.CDS, TYPE.CDNSKEY, TYPE.NSEC, TYPE.RRSIG]) assert.ok(types.has(t), `type ${t}`);

  for (const value of ['192.0.2.1', '192.0.2.2']) {
    ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `www.${ZONE}`, type: 'A', value }] }, { actor: 'admin' });
    signers.update(ledger.state);
    assert.equal(signers.get(ZONE), signed, 'kept current in place');
    assert.deepEqual(serialize(signers.get(ZONE)), serialize(fresh()));
  }

  // A KSK rollover (double-DS) changes the keys: CDS lists old and new, DNSKEY still the old two.
  const ksk2 = makeKey('ksk');
  ledger.execute({ kind: 'dnssec', zone: ZONE, change: { op: 'rollover', role: 'ksk', newKey: ksk2, start: rolloverStart('ksk'), at: now } }, { actor: 'admin' });
  signers.update(ledger.state);
  const rolled = signers.get(ZONE);
  assert.notEqual(rolled, signed, 'rebuilt for new keys');
  const cds = [...(rolled as SignedZone).records()].find((rs) => rs.type === TYPE.CDS);
  assert.equal(cds?.rdatas.length, 2);
  assert.equal(rolled?.dnskey().rdatas.length, 2);
  assert.deepEqual(serialize(rolled), serialize(fresh()));

  // A key whose private half is missing: served unsigned, with the reason told.
  ledger.execute({ kind: 'dnssec', zone: ZONE, change: { op: 'rollover', role: 'zsk', newKey: makeKey('zsk', false), start: { state: 'active', ds: false }, at: now } }, { actor: 'admin' });
  signers.update(ledger.state);
  assert.equal(signers.get(ZONE), undefined);
  assert.match(errors.join('\n'), /private key of ZSK \d+ of signer\.test\. is not in the key store/);

  ledger.execute({ kind: 'dnssec', zone: ZONE, change: { op: 'configure', enabled: false, algorithm: 'ed25519', denial: 'nsec', newKeys: [], at: now } }, { actor: 'admin' });
  signers.update(ledger.state);
  assert.equal(signers.get(ZONE), undefined);
});

test('a write re-signs only the zone it changed: update reads the difference of the zone maps, never every zone', (t) => {
  const { ledger, cleanup } = testLedger();
  t.after(cleanup);
  const store = new KeyStore(ledger.db);
  const now = Math.floor(Date.now() / 1000);
  const signers = new ZoneSigners({ keys: store, clock: () => now });
  for (let i = 0; i < 30; i++) ledger.execute({ kind: 'createZone', zone: `z${i}.test.`, soa: { primary_ns: `ns1.z${i}.test.`, admin_email: 'h@test' } }, { actor: 'admin' });
  ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: 'ns1.signer.test.', admin_email: 'h@signer.test' } }, { actor: 'admin' });
  const keys = (['ksk', 'zsk'] as const).map((role) => {
    const m = generateKey('ed25519');
    const { rdata, tag } = zoneKeyRdata({ role, publicKey: m.publicKey, algorithm: 'ed25519' });
    store.put({ zone: ZONE, tag, algorithm: 'ed25519', dnskeySha256: createHash('sha256').update(rdata).digest(), pkcs8: m.privatePkcs8, createdAt: new Date().toISOString() });
    return { tag, role, algorithm: 'ed25519' as const, publicKey: Buffer.from(m.publicKey).toString('base64') };
  });
  ledger.execute({ kind: 'dnssec', zone: ZONE, change: { op: 'configure', enabled: true, algorithm: 'ed25519', denial: 'nsec', newKeys: keys, at: now } }, { actor: 'admin' });
  signers.update(ledger.state);
  assert.ok(signers.get(ZONE));
  for (const [zone, name] of [['z7.test.', 'www.z7.test.'], [ZONE, `www.${ZONE}`]]) {
    ledger.execute({ kind: 'changeRecords', zone, ops: [{ op: 'create', name, type: 'A', value: '192.0.2.7' }] }, { actor: 'admin' });
    const zones = ledger.state.zones;
    // Walking every zone per write is what this forbids.
    const walk = (): never => assert.fail('update walked every zone of the state');
    Object.assign(zones, { entries: walk, forEach: walk, keys: walk, values: walk, [Symbol.iterator]: walk });
    try {
      signers.update(ledger.state);
    } finally {
      for (const k of ['entries', 'forEach', 'keys', 'values']) delete (zones as unknown as Record<string, unknown>)[k];
      delete (zones as unknown as Record<symbol, unknown>)[Symbol.iterator];
    }
  }
  assert.ok(signers.get(ZONE)?.rrset(`www.${ZONE}`, 1), 'the signed zone holds the write');
});
