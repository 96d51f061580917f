/**
 * DNSSEC decisions through the real ledger: turning signing on writes the configuration and the
 * keys' public halves as events with the actor, then a serial bump; the projection, a checkpoint
 * and a full replay all hold the same DNSSEC state; rollovers and lifecycle steps are events too;
 * refusals name the field; turning it off removes every key; nothing private is in the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { Ledger } from '../../src/ledger.ts';
import { McnsError } from '../../src/errors.ts';
import { generateKey } from '../../src/dnssec/algorithms.ts';
import { zoneKeyRdata } from '../../src/dnssec/zone-keys.ts';
import { rolloverStart } from '../../src/dnssec/lifecycle.ts';
import type { NewDnssecKey } from '../../src/projections/decide-dnssec.ts';
import type { DnssecKeyRole } from '../../src/projections/dnssec-state.ts';
import { testLedger } from '../helpers/ledger.ts';

function newKey(role: DnssecKeyRole, algorithm: 'ecdsap256sha256' | 'ed25519' = 'ecdsap256sha256'): NewDnssecKey & { pkcs8: Buffer } {
  const m = generateKey(algorithm);
  return { tag: zoneKeyRdata({ role, publicKey: m.publicKey, algorithm }).tag, role, algorithm, publicKey: Buffer.from(m.publicKey).toString('base64'), pkcs8: m.privatePkcs8 };
}

test('DNSSEC decisions are events with actors, survive checkpoint and replay, and refuse what cannot be done', (t) => {
  const { ledger, path, cleanup } = testLedger();
  t.after(cleanup);
  const zone = 'signed.test.';
  ledger.execute({ kind: 'createZone', zone, soa: { primary_ns: 'ns1.signed.test.', admin_email: 'hostmaster@signed.test' } }, { actor: 'admin' });
  const serial0 = ledger.zone(zone)?.serial as number;
  const ksk = newKey('ksk');
  const zsk = newKey('zsk');
  const at = 1_800_000_000;
  const on = ledger.execute({ kind: 'dnssec', zone, change: { op: 'configure', enabled: true, algorithm: 'ecdsap256sha256', denial: 'nsec3', newKeys: [ksk, zsk], at } }, { actor: 'admin' });
  assert.deepEqual(on.events.map((e) => e.body.type), ['DnssecConfigured', 'DnssecKeyCreated', 'DnssecKeyCreated', 'SerialBumped']);
  assert.ok(on.events.every((e) => e.actor === 'admin'));
  const d = ledger.zone(zone)?.dnssec;
  assert.equal(d?.enabled, true);
  assert.equal(d?.denial, 'nsec3');
  assert.deepEqual(d?.keys.map((k) => [k.role, k.state, k.ds]), [['ksk', 'active', true], ['zsk', 'active', false]]);
  assert.ok((ledger.zone(zone)?.serial as number) > serial0);

  // Enabling again with the same settings writes nothing; another algorithm is refused naming the field.
  assert.equal(ledger.execute({ kind: 'dnssec', zone, change: { op: 'configure', enabled: true, algorithm: 'ecdsap256sha256', denial: 'nsec3', newKeys: [], at } }, { actor: 'admin' }).events.length, 0);
  assert.throws(
    () => ledger.execute({ kind: 'dnssec', zone, change: { op: 'configure', enabled: true, algorithm: 'ed25519', denial: 'nsec3', newKeys: [], at } }, { actor: 'admin' }),
    (e: unknown) => e instanceof McnsError && e.kind === 'conflict' && e.field === 'algorithm',
  );

  // A ZSK rollover starts as an event; a second one while it runs is refused; a CSK roll names the keys there are.
  const zsk2 = newKey('zsk');
  const roll = ledger.execute({ kind: 'dnssec', zone, change: { op: 'rollover', role: 'zsk', newKey: zsk2, start: rolloverStart('zsk'), at: at + 10 } }, { actor: 'admin' });
  assert.deepEqual(roll.events.map((e) => e.body.type), ['DnssecKeyCreated', 'SerialBumped']);
  assert.throws(() => ledger.execute({ kind: 'dnssec', zone, change: { op: 'rollover', role: 'zsk', newKey: newKey('zsk'), start: rolloverStart('zsk'), at: at + 20 } }, { actor: 'admin' }), /already running/);
  assert.throws(() => ledger.execute({ kind: 'dnssec', zone, change: { op: 'rollover', role: 'csk', newKey: newKey('csk'), start: rolloverStart('csk'), at: at + 20 } }, { actor: 'admin' }), /no active CSK/);
  ledger.execute({ kind: 'dnssec', zone, change: { op: 'advance', steps: [{ tag: zsk2.tag, state: 'active', ds: false, at: at + 4000, reason: 'r' }, { tag: zsk.tag, state: 'retired', ds: false, at: at + 4000, reason: 'r' }] } }, { actor: 'system' });
  ledger.execute({ kind: 'dnssec', zone, change: { op: 'advance', steps: [{ tag: zsk.tag, state: 'removed', ds: false, at: at + 90000, reason: 'r' }] } }, { actor: 'system' });
  const after = ledger.zone(zone)?.dnssec;
  assert.deepEqual(after?.keys.map((k) => [k.tag, k.state, k.replaces]), [[ksk.tag, 'active', undefined], [zsk.tag, 'removed', undefined], [zsk2.tag, 'active', undefined]]);

  // The checkpoint and a full replay hold the same DNSSEC state as the live projection.
  ledger.checkpoint();
  const live = ledger.zone(zone)?.dnssec;
  ledger.close();
  const reopened = Ledger.open({ path });
  assert.deepEqual(reopened.zone(zone)?.dnssec, live, 'from the checkpoint');
  reopened.close();
  const db = new Database(path);
  db.exec('DELETE FROM checkpoints');
  db.close();
  const replayed = Ledger.open({ path });
  assert.deepEqual(replayed.zone(zone)?.dnssec, live, 'from a full replay');

  // Nothing private in the log: no event payload holds a private key's bytes.
  const raw = new Database(path, { readonly: true });
  const payloads = (raw.prepare('SELECT payload FROM events').all() as Array<{ payload: string }>).map((r) => r.payload).join('\n');
  raw.close();
  for (const k of [ksk, zsk, zsk2]) assert.ok(!payloads.includes(k.pkcs8.toString('base64').slice(40, 80)), 'a private key in the log');

  // Off: every live key removed, in one batch with a serial bump.
  const off = replayed.execute({ kind: 'dnssec', zone, change: { op: 'configure', enabled: false, algorithm: 'ecdsap256sha256', denial: 'nsec3', newKeys: [], at: at + 100000 } }, { actor: 'admin' });
  assert.deepEqual(off.events.map((e) => e.body.type), ['DnssecConfigured', 'DnssecKeyChanged', 'DnssecKeyChanged', 'SerialBumped']);
  assert.ok(replayed.zone(zone)?.dnssec?.keys.every((k) => k.state === 'removed'));
  replayed.close();
});

test('enabling needs a CSK or a KSK and a ZSK of the zone algorithm', (t) => {
  const { ledger, cleanup } = testLedger();
  t.after(cleanup);
  const zone = 'x.test.';
  ledger.execute({ kind: 'createZone', zone, soa: { primary_ns: 'ns.x.test.', admin_email: 'h@x.test' } }, { actor: 'admin' });
  const at = 1_800_000_000;
  assert.throws(() => ledger.execute({ kind: 'dnssec', zone, change: { op: 'configure', enabled: true, algorithm: 'ed25519', denial: 'nsec', newKeys: [newKey('zsk', 'ed25519')], at } }, { actor: 'admin' }), /needs a CSK, or a KSK and a ZSK/);
  assert.throws(() => ledger.execute({ kind: 'dnssec', zone, change: { op: 'configure', enabled: true, algorithm: 'ed25519', denial: 'nsec', newKeys: [newKey('csk')], at } }, { actor: 'admin' }), /is ecdsap256sha256/);
  assert.equal(ledger.zone(zone)?.dnssec, undefined);
});
