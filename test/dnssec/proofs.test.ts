/**
 * Denial proofs checked the way a validator checks them (RFC 4035 5.4, RFC 5155 8), by code that
 * shares nothing with the signer but the NSEC3 hash (itself checked against RFC 5155's vectors):
 * for random zones and random names, an NXDOMAIN proof must cover the name (NSEC) or prove the
 * closest encloser (NSEC3) and cover the wildcard there; a NODATA proof must match the name with
 * the type absent from its bitmap; a wildcard answer must prove the name itself absent. What
 * "exists" means is computed here from the zone's content, independently of SignedZone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKey, privateKeyObject } from '../../src/dnssec/algorithms.ts';
import { SignedZone } from '../../src/dnssec/signed-zone.ts';
import { denialProof, type DenialCase } from '../../src/dnssec/proofs.ts';
import { TYPE, zoneKeyRdata, type ZoneKey } from '../../src/dnssec/zone-keys.ts';
import { base32hex, nsec3Hash } from '../../src/dnssec/denial.ts';
import type { CanonicalRRset } from '../../src/dnssec/rrsig.ts';
import { compareNames, isInZone, nameToWire, splitLabels } from '../../src/records/names.ts';
import { rng } from '../helpers/rng.ts';

const ZONE = 'proof.test.';
const POOL = ['a', 'b', 'a.b', 'c.a.b', 'x.y.z', '*.w', 'm.*.w', 'sub', 'ns.sub', 'q', 'r.q', 'k.j'];

function keys(): ZoneKey[] {
  const m = generateKey('ed25519');
  const { tag } = zoneKeyRdata({ role: 'csk', publicKey: m.publicKey, algorithm: 'ed25519' });
  return [{ role: 'csk', algorithm: 'ed25519', publicKey: m.publicKey, signing: { algorithm: 'ed25519', keyTag: tag, privateKey: privateKeyObject(m.privatePkcs8) } }];
}

function soa(): CanonicalRRset {
  const r = [...nameToWire(`ns.${ZONE}`), ...nameToWire(`h.${ZONE}`)];
  for (const v of [1, 3600, 600, 86400, 300]) r.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  return { owner: ZONE, type: TYPE.SOA, ttl: 3600, rdatas: [new Uint8Array(r)] };
}

/** Decode a wire name (uncompressed) at `off`; returns the name and the offset after it. */
function readName(b: Uint8Array, off: number): [string, number] {
  const labels: string[] = [];
  while (b[off] !== 0) {
    labels.push(Buffer.from(b.subarray(off + 1, off + 1 + b[off])).toString('latin1'));
    off += 1 + b[off];
  }
  return [labels.length ? `${labels.join('.')}.` : '.', off + 1];
}

function bitmapHas(bitmap: Uint8Array, type: number): boolean {
  let i = 0;
  while (i < bitmap.length) {
    const w = bitmap[i];
    const len = bitmap[i + 1];
    if (w === type >> 8) {
      const low = type & 0xff;
      return (low >> 3) < len && (bitmap[i + 2 + (low >> 3)] & (0x80 >> (low & 7))) !== 0;
    }
    i += 2 + len;
  }
  return false;
}

interface Nsec { owner: string; next: string; bitmap: Uint8Array }
interface Nsec3 { ownerHash: string; nextHash: string; bitmap: Uint8Array }

function parseNsec(rs: CanonicalRRset): Nsec {
  const [next, off] = readName(rs.rdatas[0], 0);
  return { owner: rs.owner, next, bitmap: rs.rdatas[0].subarray(off) };
}
function parseNsec3(rs: CanonicalRRset): Nsec3 {
  const r = rs.rdatas[0];
  const saltLen = r[4];
  const hashLen = r[5 + saltLen];
  const next = r.subarray(6 + saltLen, 6 + saltLen + hashLen);
  return { ownerHash: splitLabels(rs.owner)[0], nextHash: base32hex(next), bitmap: r.subarray(6 + saltLen + hashLen) };
}

const nsecCovers = (n: Nsec, name: string): boolean =>
  compareNames(n.owner, name) < 0 && (compareNames(name, n.next) < 0 || n.next === ZONE);
const h = (name: string): string => base32hex(nsec3Hash(name));
const nsec3Covers = (n: Nsec3, name: string): boolean => {
  const x = h(name);
  return n.ownerHash < n.nextHash ? n.ownerHash < x && x < n.nextHash : x > n.ownerHash || x < n.nextHash;
};

for (const denial of ['nsec', 'nsec3'] as const) {
  test(`${denial}: proofs for random zones and names satisfy a validator's checks`, () => {
    const r = rng(denial === 'nsec' ? 5 : 7);
    let checked = 0;
    for (let round = 0; round < 30; round++) {
      const owners = POOL.filter(() => r() < 0.5).map((l) => `${l}.${ZONE}`);
      const sets: CanonicalRRset[] = [soa(), { owner: ZONE, type: TYPE.NS, ttl: 3600, rdatas: [nameToWire(`ns.${ZONE}`)] }];
      for (const o of owners) {
        if (o === `sub.${ZONE}`) sets.push({ owner: o, type: TYPE.NS, ttl: 3600, rdatas: [nameToWire('ns.other.test.')] });
        else sets.push({ owner: o, type: 1, ttl: 300, rdatas: [new Uint8Array([192, 0, 2, 1])] });
      }
      const z = SignedZone.build({ zone: ZONE, keys: keys(), denial, dnskeyTtl: 3600 }, sets, 1_800_000_000);
      const cut = owners.includes(`sub.${ZONE}`) ? `sub.${ZONE}` : undefined;
      const auth = [ZONE, ...owners].filter((o) => !cut || o === cut || !isInZone(o, cut));
      const exists = (name: string): boolean => auth.some((o) => isInZone(o, name));
      const typesAt = (name: string): number[] => sets.filter((s) => s.owner === name).map((s) => s.type);

      for (const probe of [...POOL, 'nope', 'deep.nope.a', 'zz.x.y.z', 'n.w', 'a.n.w', 'y.z', 'z', 'w', 'j', 'o.k.j']) {
        const qname = `${probe}.${ZONE}`;
        if (cut && isInZone(qname, cut)) continue;
        const labels = splitLabels(qname);
        let ce = ZONE;
        for (let n = labels.length - 1; n > splitLabels(ZONE).length; n--) {
          const cand = `${labels.slice(labels.length - n).join('.')}.`;
          if (exists(cand)) { ce = cand; break; }
        }
        const wildcard = `*.${ce}`;
        const qtype = r() < 0.5 ? 1 : 16;
        let c: DenialCase;
        if (exists(qname)) {
          if (typesAt(qname).includes(qtype)) continue; // a positive answer: nothing to deny
          c = { kind: 'nodata', qname };
        } else if (exists(wildcard)) {
          // RFC 4592: an existing wildcard (an empty non-terminal included) answers for the name.
          c = typesAt(wildcard).includes(qtype) ? { kind: 'wildcard-answer', qname, wildcard } : { kind: 'wildcard-nodata', qname, wildcard };
        } else {
          c = { kind: 'nxdomain', qname };
        }
        const lacks = (bitmap: Uint8Array, name: string): boolean => !bitmapHas(bitmap, qtype) && typesAt(name).every((t) => bitmapHas(bitmap, t));
        const proof = denialProof(z, c);
        assert.ok(proof.length >= 2 && proof.length % 2 === 0, `${c.kind} ${qname}: proof with RRSIGs`);
        for (let i = 1; i < proof.length; i += 2) assert.equal(proof[i].type, TYPE.RRSIG);
        const recs = proof.filter((p) => p.type !== TYPE.RRSIG);
        if (denial === 'nsec') {
          const ns = recs.map(parseNsec);
          if (c.kind === 'nodata') {
            const m = ns.find((n) => n.owner === qname);
            if (m) {
              assert.ok(lacks(m.bitmap, qname), `NODATA bitmap at ${qname}`);
            } else {
              // An empty non-terminal: covered, with the next name below it.
              assert.ok(ns.some((n) => nsecCovers(n, qname) && isInZone(n.next, qname)), `ENT proof for ${qname}`);
            }
          } else {
            assert.ok(ns.some((n) => nsecCovers(n, qname)), `${c.kind}: NSEC covering ${qname}`);
            if (c.kind === 'nxdomain') assert.ok(ns.some((n) => nsecCovers(n, wildcard)), `NSEC covering ${wildcard}`);
            if (c.kind === 'wildcard-nodata') {
              const m = ns.find((n) => n.owner === wildcard);
              const ent = ns.some((n) => nsecCovers(n, wildcard) && isInZone(n.next, wildcard));
              assert.ok((m && lacks(m.bitmap, wildcard)) || ent, `NSEC matching ${wildcard} without the type`);
            }
          }
        } else {
          const ns = recs.map(parseNsec3);
          const matches = (name: string): Nsec3 | undefined => ns.find((n) => n.ownerHash === h(name));
          if (c.kind === 'nodata') {
            const m = matches(qname);
            assert.ok(m, `NSEC3 matching ${qname}`);
            assert.ok(lacks(m.bitmap, qname), `NODATA bitmap at ${qname}`);
          } else {
            const nextCloser = `${labels.slice(labels.length - splitLabels(ce).length - 1).join('.')}.`;
            assert.ok(ns.some((n) => nsec3Covers(n, nextCloser)), `${c.kind}: NSEC3 covering next closer ${nextCloser}`);
            if (c.kind !== 'wildcard-answer') assert.ok(matches(ce), `NSEC3 matching closest encloser ${ce}`);
            if (c.kind === 'nxdomain') assert.ok(ns.some((n) => nsec3Covers(n, wildcard)), `NSEC3 covering ${wildcard}`);
            if (c.kind === 'wildcard-nodata') {
              const m = matches(wildcard);
              assert.ok(m && lacks(m.bitmap, wildcard), `NSEC3 matching ${wildcard} without the type`);
            }
          }
        }
        checked++;
      }
    }
    assert.ok(checked > 200, `checked ${checked}`);
  });
}
