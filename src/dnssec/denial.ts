/**
 * The pieces of authenticated denial that do not depend on how a zone is stored: the type bitmap
 * shared by NSEC and NSEC3 (RFC 4034 4.1.2), NSEC RDATA, and NSEC3 owner hashing and RDATA
 * (RFC 5155). MCNS follows RFC 9276 for NSEC3: SHA-1, no extra iterations, empty salt, no opt-out.
 */
import { createHash } from 'node:crypto';
import { nameToWire } from '../records/names.ts';
import { canonicalRDataWire } from '../records/rdata.ts';
import { encodeTypeBitmap } from '../records/rrtypes/dnssec.ts';
import { toBase32Hex } from '../records/rrtypes/text.ts';
import { ByteSink } from '../records/rrtypes/wire-io.ts';
import { longLivedBytes } from './slab.ts';

/** NSEC3 hash algorithm 1: SHA-1, the only one defined. */
export const NSEC3_SHA1 = 1;

/** RFC 9276 section 3.1: iterations 0 and an empty salt. */
export const NSEC3_ITERATIONS = 0;
export const NSEC3_SALT: Uint8Array = new Uint8Array(0);

/** The type bitmap of a set of type codes (the records module's encoder: one implementation of RFC 4034 4.1.2). */
export function typeBitmap(types: Iterable<number>): Uint8Array {
  const sorted = typeSet(types);
  for (const t of sorted) if (!Number.isInteger(t) || t < 0 || t > 0xffff) throw new RangeError(`type code ${t} out of range`);
  const sink = new ByteSink();
  encodeTypeBitmap(sorted, sink);
  return sink.result();
}

/** Type codes sorted, each once (what a type bitmap holds). */
function typeSet(types: Iterable<number>): number[] {
  return [...new Set(types)].sort((a, b) => a - b);
}

/** NSEC RDATA: the next owner name (canonical, uncompressed) and the type bitmap, by the NSEC codec. */
export function nsecRdata(nextOwner: string, types: Iterable<number>): Uint8Array {
  return canonicalRDataWire({ type: 'NSEC', nextName: nextOwner.toLowerCase(), types: typeSet(types) });
}

/**
 * NSEC RDATA from the next owner's lowercase wire name: the same bytes as {@link nsecRdata} (the
 * NSEC codec writes the name uncompressed, then the bitmap), without parsing the name again — the
 * signer writes one per name of the zone, into a slab (slab.ts) since it lives as long as the zone.
 */
export function nsecRdataFromWire(nextOwnerWire: Uint8Array, types: Iterable<number>): Uint8Array {
  const bitmapLength = writeTypeBitmap(types, bitmapScratch);
  const out = longLivedBytes(nextOwnerWire.length + bitmapLength);
  out.set(nextOwnerWire, 0);
  out.set(bitmapScratch.subarray(0, bitmapLength), nextOwnerWire.length);
  return out;
}

/** Room for the largest type bitmap: 256 windows of 2 + 32 bytes. */
const bitmapScratch = new Uint8Array(256 * 34);

/**
 * The type bitmap of `types` (RFC 4034 4.1.2; the bytes of {@link typeBitmap}) written into `out`,
 * returning its length. Written in place, without the sets, arrays and sinks of the codec path: the
 * signer writes one per name, 100,000 for a 100,000-name zone.
 */
function writeTypeBitmap(types: Iterable<number>, out: Uint8Array): number {
  const sorted = Array.from(types).sort((a, b) => a - b);
  let o = 0;
  let windowAt = -1;
  let window = -1;
  for (const t of sorted) {
    if (!Number.isInteger(t) || t < 0 || t > 0xffff) throw new RangeError(`type code ${t} out of range`);
    if (t >> 8 !== window) {
      window = t >> 8;
      windowAt = o;
      out[o] = window;
      out[o + 1] = 0;
    }
    const low = t & 0xff;
    const byte = low >> 3;
    while (out[windowAt + 1] <= byte) out[windowAt + 2 + out[windowAt + 1]++] = 0;
    out[windowAt + 2 + byte] |= 0x80 >> (low & 7);
    o = windowAt + 2 + out[windowAt + 1];
  }
  return o;
}

/** The NSEC3 hash of an owner name (RFC 5155 section 5), raw bytes. */
export function nsec3Hash(owner: string, salt: Uint8Array = NSEC3_SALT, iterations: number = NSEC3_ITERATIONS): Uint8Array {
  let digest = createHash('sha1').update(nameToWire(owner.toLowerCase())).update(salt).digest();
  for (let i = 0; i < iterations; i++) digest = createHash('sha1').update(digest).update(salt).digest();
  return new Uint8Array(digest);
}

/** Base32hex without padding (RFC 4648 section 7), lowercase: the form of NSEC3 owner labels. */
export function base32hex(bytes: Uint8Array): string {
  return toBase32Hex(bytes).toLowerCase();
}

/** The NSEC3 owner name of `name` in `zone`: "<base32hex(hash)>.<zone>". */
export function nsec3Owner(name: string, zone: string, salt: Uint8Array = NSEC3_SALT, iterations: number = NSEC3_ITERATIONS): string {
  return `${base32hex(nsec3Hash(name, salt, iterations))}.${zone}`;
}

/** NSEC3 RDATA (RFC 5155 section 3.2) by the NSEC3 codec; flags 0, since MCNS never opts out. */
export function nsec3Rdata(nextHashed: Uint8Array, types: Iterable<number>, salt: Uint8Array = NSEC3_SALT, iterations: number = NSEC3_ITERATIONS): Uint8Array {
  return canonicalRDataWire({ type: 'NSEC3', hashAlgorithm: NSEC3_SHA1, flags: 0, iterations, salt, nextHashed, types: typeSet(types) });
}

/** NSEC3PARAM RDATA: algorithm, flags 0, iterations, salt. */
export function nsec3paramRdata(salt: Uint8Array = NSEC3_SALT, iterations: number = NSEC3_ITERATIONS): Uint8Array {
  return canonicalRDataWire({ type: 'NSEC3PARAM', hashAlgorithm: NSEC3_SHA1, flags: 0, iterations, salt });
}
