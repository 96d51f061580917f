/**
 * SignedZone kept current by `replace` must equal a zone signed from scratch, byte for byte, after
 * every change: random RRset writes and deletes over names that exercise delegations appearing and
 * going (glue becoming authoritative and back), DS at cuts, empty non-terminals, wildcards, and SOA
 * changes that move the negative TTL. Ed25519 signatures are deterministic, so with one clock the
 * two states can be compared exactly. `refresh` is checked against the clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKey, privateKeyObject, publicKeyObject } from '../../src/dnssec/algorithms.ts';
import { SignedZone, DEFAULT_SIGNING_POLICY, type SignedZoneOptions } from '../../src/dnssec/signed-zone.ts';
import { TYPE, zoneKeyRdata, type ZoneKey } from '../../src/dnssec/zone-keys.ts';
import { verifyRRset, type CanonicalRRset } from '../../src/dnssec/rrsig.ts';
import { nameToWire } from '../../src/records/names.ts';
import { rng } from '../helpers/rng.ts';

const ZONE = 'prop.test.';
const OWNERS = [ZONE, `a.${ZONE}`, `b.${ZONE}`, `a.b.${ZONE}`, `x.y.z.${ZONE}`, `y.z.${ZONE}`, `*.w.${ZONE}`, `sub.${ZONE}`, `ns.sub.${ZONE}`, `deep.ns.sub.${ZONE}`, `c.a.b.${ZONE}`];

function soa(serial: number, minimum: number): CanonicalRRset {
  const r = [...nameToWire(`ns.${ZONE}`), ...nameToWire(`h.${ZONE}`)];
  for (const v of [serial, 3600, 600, 86400, minimum]) r.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  return { owner: ZONE, type: TYPE.SOA, ttl: 3600, rdatas: [new Uint8Array(r)] };
}

function keys(roles: Array<'ksk' | 'zsk' | 'csk'>): ZoneKey[] {
  return roles.map((role) => {
    const m = generateKey('ed25519');
    const { tag } = zoneKeyRdata({ role, publicKey: m.publicKey, algorithm: 'ed25519' });
    return { role, algorithm: 'ed25519' as const, publicKey: m.publicKey, signing: { algorithm: 'ed25519' as const, keyTag: tag, privateKey: privateKeyObject(m.privatePkcs8) } };
  });
}

function serialize(z: SignedZone): string[] {
  const out: string[] = [];
  for (const rs of z.records()) {
    const rdatas = rs.rdatas.map((r) => Buffer.from(r).toString('hex')).sort();
    out.push(`${rs.owner} ${rs.type} ${rs.ttl} ${rdatas.join(',')}`);
  }
  return out.sort();
}

const rrKey = (owner: string, type: number, ttl: number, r: Uint8Array): string => `${owner} ${type} ${ttl} ${Buffer.from(r).toString('hex')}`;

/** Every record of the signed zone, one key each. */
function records(z: SignedZone): string[] {
  const out: string[] = [];
  for (const rs of z.records()) for (const r of rs.rdatas) out.push(rrKey(rs.owner, rs.type, rs.ttl, r));
  return out.sort();
}

function randomRRset(r: () => number, owner: string): CanonicalRRset {
  const kinds = owner === ZONE ? [1, 16] : owner === `sub.${ZONE}` || owner === `a.b.${ZONE}` ? [1, 16, TYPE.NS, TYPE.NS, TYPE.DS] : [1, 16, 1];
  const type = kinds[Math.floor(r() * kinds.length)];
  const n = 1 + Math.floor(r() * 3);
  const rdatas: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    if (type === 1) rdatas.push(new Uint8Array([192, 0, 2, Math.floor(r() * 256)]));
    else if (type === 16) rdatas.push(new Uint8Array([3, 0x61 + Math.floor(r() * 26), 0x62, 0x63]));
    else if (type === TYPE.NS) rdatas.push(nameToWire(`ns${Math.floor(r() * 3)}.elsewhere.test.`));
    else rdatas.push(new Uint8Array([0x30, 0x39, 15, 2, ...Array.from({ length: 32 }, () => Math.floor(r() * 256))]));
  }
  // An RRset holds each record once (the ledger refuses duplicates).
  const unique = [...new Map(rdatas.map((d) => [Buffer.from(d).toString('hex'), d])).values()];
  return { owner, type, ttl: [60, 300, 3600][Math.floor(r() * 3)], rdatas: unique };
}

for (const denial of ['nsec', 'nsec3'] as const) {
  for (const roles of [['ksk', 'zsk'], ['csk']] as Array<Array<'ksk' | 'zsk' | 'csk'>>) {
    test(`${denial} ${roles.join('+')}: 400 random changes kept current equal a zone signed from scratch after each`, () => {
      const r = rng(denial === 'nsec' ? 11 : 13);
      const now = 1_800_000_000;
      const opts: SignedZoneOptions = { zone: ZONE, keys: keys(roles), denial, dnskeyTtl: 3600 };
      const content = new Map<string, CanonicalRRset>();
      const keyOf = (owner: string, type: number): string => `${owner}|${type}`;
      content.set(keyOf(ZONE, TYPE.SOA), soa(1, 300));
      content.set(keyOf(ZONE, TYPE.NS), { owner: ZONE, type: TYPE.NS, ttl: 3600, rdatas: [nameToWire(`ns.${ZONE}`)] });
      const live = SignedZone.build(opts, content.values(), now);
      const mirror = new Set(records(live));
      for (let step = 0; step < 400; step++) {
        const owner = OWNERS[Math.floor(r() * OWNERS.length)];
        const roll = r();
        if (roll < 0.1) {
          const s = soa(step + 2, [60, 300, 7200][Math.floor(r() * 3)]);
          content.set(keyOf(ZONE, TYPE.SOA), s);
          live.replace(ZONE, TYPE.SOA, s, now);
        } else if (roll < 0.45) {
          const existing = [...content.values()].filter((rs) => rs.owner === owner && rs.type !== TYPE.SOA && !(rs.owner === ZONE && rs.type === TYPE.NS));
          if (existing.length === 0) continue;
          const victim = existing[Math.floor(r() * existing.length)];
          content.delete(keyOf(victim.owner, victim.type));
          live.replace(victim.owner, victim.type, undefined, now);
        } else {
          const rs = randomRRset(r, owner);
          content.set(keyOf(owner, rs.type), rs);
          live.replace(owner, rs.type, rs, now);
        }
        const fresh = SignedZone.build(opts, content.values(), now);
        assert.deepEqual(serialize(live), serialize(fresh), `after step ${step}`);
        // The delta, applied to the previous records as a secondary applies an IXFR step, gives the new ones.
        const delta = live.takeDelta();
        for (const rs of delta.removed) {
          for (const r of rs.rdatas) {
            const k = rrKey(rs.owner, rs.type, rs.ttl, r);
            assert.ok(mirror.has(k), `step ${step}: the delta removes ${k}, which is not there`);
            mirror.delete(k);
          }
        }
        for (const rs of [delta.soaBefore].filter((x) => x !== undefined)) for (const r of rs.rdatas) mirror.delete(rrKey(rs.owner, rs.type, rs.ttl, r));
        for (const rs of [...delta.added, ...[delta.soaAfter].filter((x) => x !== undefined)]) for (const r of rs.rdatas) mirror.add(rrKey(rs.owner, rs.type, rs.ttl, r));
        assert.deepEqual([...mirror].sort(), records(live), `step ${step}: previous records + delta`);
      }
    });
  }
}

test('every RRSIG the kept-current zone serves verifies with its DNSKEY', () => {
  const ks = keys(['ksk', 'zsk']);
  const z = SignedZone.build({ zone: ZONE, keys: ks, denial: 'nsec3', dnskeyTtl: 3600 }, [soa(1, 300), { owner: `a.${ZONE}`, type: 1, ttl: 60, rdatas: [new Uint8Array([192, 0, 2, 1])] }], 1_800_000_000);
  z.replace(`b.${ZONE}`, 16, { owner: `b.${ZONE}`, type: 16, ttl: 60, rdatas: [new Uint8Array([1, 0x61])] }, 1_800_000_100);
  const byTag = new Map(ks.map((k) => [k.signing?.keyTag, publicKeyObject('ed25519', k.publicKey)]));
  const all = [...z.records()];
  let checked = 0;
  for (const sigSet of all.filter((rs) => rs.type === TYPE.RRSIG)) {
    for (const sig of sigSet.rdatas) {
      const covered = (sig[0] << 8) | sig[1];
      const target = all.find((rs) => rs.owner === sigSet.owner && rs.type === covered) as CanonicalRRset;
      const v = new DataView(sig.buffer, sig.byteOffset, sig.byteLength);
      const fields = {
        typeCovered: covered,
        algorithm: sig[2],
        labels: sig[3],
        originalTtl: v.getUint32(4),
        expiration: v.getUint32(8),
        inception: v.getUint32(12),
        keyTag: v.getUint16(16),
        signerName: ZONE,
        signature: sig.subarray(18 + nameToWire(ZONE).length),
      };
      assert.ok(verifyRRset(target, fields, 'ed25519', byTag.get(fields.keyTag) as ReturnType<typeof publicKeyObject>), `${sigSet.owner} ${covered}`);
      checked++;
    }
  }
  assert.ok(checked >= 6, `only ${checked} signatures checked`);
});

test('refresh re-signs what would expire within the refresh window, and nothing earlier', () => {
  const t0 = 1_800_000_000;
  const z = SignedZone.build({ zone: ZONE, keys: keys(['csk']), denial: 'nsec', dnskeyTtl: 3600 }, [soa(1, 300), { owner: `a.${ZONE}`, type: 1, ttl: 60, rdatas: [new Uint8Array([192, 0, 2, 1])] }], t0);
  const { validity, refreshBefore } = DEFAULT_SIGNING_POLICY;
  assert.equal(z.nextRefresh(), t0 + validity - refreshBefore);
  assert.equal(z.refresh(t0 + validity - refreshBefore - 1), 0);
  const before = serialize(z);
  // At most `max` RRsets per call, the rest on the next (a large zone is refreshed in slices).
  const due = t0 + validity - refreshBefore + 1;
  assert.equal(z.refresh(due, 2), 2);
  const n = 2 + z.refresh(due);
  assert.ok(n >= 5, `re-signed ${n}`);
  assert.equal(z.refresh(due), 0, "nothing left due");
  assert.notDeepEqual(serialize(z), before);
  assert.equal(z.nextRefresh(), t0 + validity - refreshBefore + 1 + validity - refreshBefore);
});

test('derived types cannot be written through replace', () => {
  const z = SignedZone.build({ zone: ZONE, keys: keys(['csk']), denial: 'nsec', dnskeyTtl: 3600 }, [soa(1, 300)], 1_800_000_000);
  for (const t of [TYPE.DNSKEY, TYPE.RRSIG, TYPE.NSEC, TYPE.NSEC3, TYPE.NSEC3PARAM]) {
    assert.throws(() => z.replace(ZONE, t, undefined, 1_800_000_000), /derived by the signer/);
  }
});
