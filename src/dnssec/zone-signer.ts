/**
 * Sign a whole zone: given the zone's RRsets (RDATA in canonical wire form) and its keys, derive
 * what a signed zone adds — the DNSKEY RRset, an NSEC or NSEC3 chain over the authoritative names,
 * and an RRSIG for every authoritative RRset (RFC 4035 section 2). The function is pure apart from
 * the randomness of ECDSA signatures: the same input gives the same records, and for Ed25519 the
 * same bytes. It knows nothing of the ledger; the caller turns its zone state into the input.
 *
 * Rules kept here, in one place:
 * - Names below a delegation point (glue) are not authoritative: not signed, not in the chain.
 * - At a delegation point only DS and the denial record are signed; the NS RRset is not.
 * - The DNSKEY RRset is signed by every KSK (or CSK); every other RRset by every ZSK (or CSK).
 * - NSEC/NSEC3 TTL is min(SOA minimum, SOA TTL) (RFC 9077).
 * - NSEC3 follows RFC 9276 (0 iterations, empty salt, no opt-out); empty non-terminals get an
 *   NSEC3 with an empty bitmap, and NSEC3PARAM is published at the apex with TTL 0.
 */
import { compareNames, isInZone, splitLabels } from '../records/names.ts';
import { dnskeyRdata, keyTag, SEP_FLAG, ZONE_KEY_FLAG } from './dnskey.ts';
import { ALGORITHM_NUMBERS } from './algorithms.ts';
import { nsec3Hash, nsec3Owner, nsec3paramRdata, nsec3Rdata, nsecRdata, base32hex } from './denial.ts';
import { rrsigRdata, signRRset, type CanonicalRRset, type SigningKey } from './rrsig.ts';

/** Type codes this module reasons about. */
export const TYPE = { NS: 2, SOA: 6, DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, NSEC3PARAM: 51 } as const;

export type KeyRole = 'ksk' | 'zsk' | 'csk';

/** A key the zone publishes; `signing` is absent for a key that is published but does not sign. */
export interface ZoneKey {
  role: KeyRole;
  /** DNSKEY public-key field. */
  publicKey: Uint8Array;
  algorithm: SigningKey['algorithm'];
  /** Present when this key signs (active); absent when only published or retired. */
  signing?: SigningKey;
}

export interface SignZoneInput {
  /** Absolute lowercase apex. */
  zone: string;
  /** The zone's own RRsets (SOA included; no DNSKEY, RRSIG, NSEC, NSEC3 or NSEC3PARAM). */
  rrsets: readonly CanonicalRRset[];
  keys: readonly ZoneKey[];
  denial: 'nsec' | 'nsec3';
  /** TTL of the DNSKEY RRset. */
  dnskeyTtl: number;
  /** Signature validity window, seconds since the epoch. */
  inception: number;
  expiration: number;
}

/** DNSKEY flags for a key role. */
export function dnskeyFlags(role: KeyRole): number {
  return role === 'zsk' ? ZONE_KEY_FLAG : ZONE_KEY_FLAG | SEP_FLAG;
}

/** The DNSKEY RDATA and key tag of a zone key. */
export function zoneKeyRdata(key: Pick<ZoneKey, 'role' | 'publicKey' | 'algorithm'>): { rdata: Uint8Array; tag: number } {
  const rdata = dnskeyRdata({ flags: dnskeyFlags(key.role), algorithm: ALGORITHM_NUMBERS[key.algorithm], publicKey: key.publicKey });
  return { rdata, tag: keyTag(rdata) };
}

/** Read the SOA TTL and MINIMUM (the last 4 bytes of its RDATA). */
function soaNegativeTtl(soa: CanonicalRRset): number {
  const r = soa.rdatas[0];
  const minimum = new DataView(r.buffer, r.byteOffset, r.byteLength).getUint32(r.length - 4);
  return Math.min(minimum, soa.ttl);
}

/** The records signing adds to a zone: DNSKEY, NSEC/NSEC3(+PARAM) and RRSIG RRsets. */
export function signZone(input: SignZoneInput): CanonicalRRset[] {
  const { zone } = input;
  const byOwner = new Map<string, CanonicalRRset[]>();
  for (const rs of input.rrsets) {
    if (!isInZone(rs.owner, zone)) throw new RangeError(`${rs.owner} is not in zone ${zone}`);
    let list = byOwner.get(rs.owner);
    if (!list) byOwner.set(rs.owner, (list = []));
    list.push(rs);
  }
  const apexSets = byOwner.get(zone) ?? [];
  const soa = apexSets.find((rs) => rs.type === TYPE.SOA);
  if (!soa) throw new RangeError(`zone ${zone} has no SOA`);

  const dnskey: CanonicalRRset = { owner: zone, type: TYPE.DNSKEY, ttl: input.dnskeyTtl, rdatas: input.keys.map((k) => zoneKeyRdata(k).rdata) };
  apexSets.push(dnskey);
  byOwner.set(zone, apexSets);

  // Delegation points, and the names they occlude.
  const cuts = [...byOwner.entries()].filter(([o, sets]) => o !== zone && sets.some((s) => s.type === TYPE.NS)).map(([o]) => o);
  const occluded = (owner: string): boolean => cuts.some((c) => owner !== c && isInZone(owner, c));
  const isCut = new Set(cuts);
  const owners = [...byOwner.keys()].filter((o) => !occluded(o)).sort(compareNames);

  const negativeTtl = soaNegativeTtl(soa);
  const added: CanonicalRRset[] = [dnskey];
  const toSign: CanonicalRRset[] = [];
  for (const owner of owners) {
    for (const rs of byOwner.get(owner) ?? []) {
      if (isCut.has(owner) && rs.type !== TYPE.DS) continue;
      toSign.push(rs);
    }
  }

  if (input.denial === 'nsec') {
    for (let i = 0; i < owners.length; i++) {
      const owner = owners[i];
      const types = (byOwner.get(owner) ?? []).map((s) => s.type);
      types.push(TYPE.NSEC, TYPE.RRSIG);
      const nsec: CanonicalRRset = { owner, type: TYPE.NSEC, ttl: negativeTtl, rdatas: [nsecRdata(owners[(i + 1) % owners.length], types)] };
      added.push(nsec);
      toSign.push(nsec);
    }
  } else {
    const param: CanonicalRRset = { owner: zone, type: TYPE.NSEC3PARAM, ttl: 0, rdatas: [nsec3paramRdata()] };
    apexSets.push(param);
    added.push(param);
    toSign.push(param);
    // Every authoritative name and every empty non-terminal between it and the apex.
    const typesOf = new Map<string, number[]>();
    const apexLabels = splitLabels(zone).length;
    for (const owner of owners) {
      const sets = byOwner.get(owner) ?? [];
      const signed = !isCut.has(owner) || sets.some((s) => s.type === TYPE.DS);
      typesOf.set(owner, signed ? [...sets.map((s) => s.type), TYPE.RRSIG] : sets.map((s) => s.type));
      const labels = splitLabels(owner);
      for (let n = labels.length - 1; n > apexLabels; n--) {
        const ent = `${labels.slice(labels.length - n).join('.')}.`;
        if (!typesOf.has(ent) && !byOwner.has(ent)) typesOf.set(ent, []);
      }
    }
    const hashed = [...typesOf.entries()]
      .map(([name, types]) => ({ name, hash: nsec3Hash(name), types }))
      .sort((a, b) => Buffer.compare(Buffer.from(a.hash), Buffer.from(b.hash)));
    for (let i = 0; i < hashed.length; i++) {
      const h = hashed[i];
      const next = hashed[(i + 1) % hashed.length].hash;
      const nsec3: CanonicalRRset = {
        owner: `${base32hex(h.hash)}.${zone}`,
        type: TYPE.NSEC3,
        ttl: negativeTtl,
        rdatas: [nsec3Rdata(next, h.types)],
      };
      added.push(nsec3);
      toSign.push(nsec3);
    }
  }

  const ksks = input.keys.filter((k) => k.signing && k.role !== 'zsk').map((k) => k.signing as SigningKey);
  const zsks = input.keys.filter((k) => k.signing && k.role !== 'ksk').map((k) => k.signing as SigningKey);
  for (const rs of toSign) {
    const signers = rs.type === TYPE.DNSKEY ? ksks : zsks;
    if (signers.length === 0) throw new RangeError(`no active ${rs.type === TYPE.DNSKEY ? 'KSK or CSK' : 'ZSK or CSK'} to sign with`);
    const sigs = signers.map((k) => rrsigRdata(signRRset(rs, zone, k, input.inception, input.expiration)));
    added.push({ owner: rs.owner, type: TYPE.RRSIG, ttl: rs.ttl, rdatas: sigs });
  }
  return added;
}

export { nsec3Owner };
