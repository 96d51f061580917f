/**
 * DNSKEY RDATA, its key tag, and the DS that points at it (RFC 4034 sections 2, 5 and appendix B;
 * RFC 4509 for SHA-256 digests). Pure functions over bytes, so the signer, the API (`ds`) and the
 * tests all compute these one way.
 */
import { createHash } from 'node:crypto';
import { nameToWire } from '../records/names.ts';
import { dnskeyKeyTag } from '../records/rrtypes/dnssec.ts';

/** DNSKEY flags: Zone Key (bit 7) always; Secure Entry Point (bit 15) marks a KSK or CSK. */
export const ZONE_KEY_FLAG = 0x0100;
export const SEP_FLAG = 0x0001;

/** The protocol field is always 3 (RFC 4034 section 2.1.2). */
const DNSKEY_PROTOCOL = 3;

/** DS digest type 2: SHA-256 (RFC 4509), the one every validator supports and RFC 8624 requires. */
export const DS_DIGEST_SHA256 = 2;

/** The fields of a DNSKEY record. */
export interface DnskeyFields {
  flags: number;
  algorithm: number;
  publicKey: Uint8Array;
}

/** DNSKEY RDATA wire bytes: flags, protocol 3, algorithm, public key. */
export function dnskeyRdata(key: DnskeyFields): Uint8Array {
  const out = new Uint8Array(4 + key.publicKey.length);
  out[0] = key.flags >> 8;
  out[1] = key.flags & 0xff;
  out[2] = DNSKEY_PROTOCOL;
  out[3] = key.algorithm;
  out.set(key.publicKey, 4);
  return out;
}

/** The key tag of a DNSKEY RDATA (RFC 4034 appendix B), by the records module's one implementation. */
export function keyTag(rdata: Uint8Array): number {
  return dnskeyKeyTag({ type: 'DNSKEY', flags: (rdata[0] << 8) | rdata[1], protocol: rdata[2], algorithm: rdata[3], publicKey: rdata.subarray(4) });
}

/**
 * The SHA-256 DS digest of a DNSKEY: SHA-256 over the owner name in canonical form (lowercase,
 * uncompressed) followed by the DNSKEY RDATA (RFC 4034 section 5.1.4).
 */
export function dsDigest(owner: string, rdata: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(nameToWire(owner.toLowerCase())).update(rdata).digest());
}

/** The DS record value for a DNSKEY in presentation form: "<tag> <alg> 2 <HEX>". */
export function dsPresentation(owner: string, key: DnskeyFields): string {
  const rdata = dnskeyRdata(key);
  return `${keyTag(rdata)} ${key.algorithm} ${DS_DIGEST_SHA256} ${Buffer.from(dsDigest(owner, rdata)).toString('hex').toUpperCase()}`;
}
