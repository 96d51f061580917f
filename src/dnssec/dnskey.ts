/**
 * DNSKEY RDATA, its key tag, and the DS that points at it (RFC 4034 sections 2, 5 and appendix B;
 * RFC 4509 for SHA-256 digests). Pure functions over bytes, so the signer, the API (`ds`) and the
 * tests all compute these one way.
 */
import { createHash } from 'node:crypto';
import { nameToWire } from '../records/names.ts';
import { dnskeyKeyTag } from '../records/rrtypes/dnssec.ts';
import { canonicalRDataWire, formatRData } from '../records/rdata.ts';
import type { RDataOf } from '../records/types.ts';

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

/** DNSKEY RDATA wire bytes, through the records module's DNSKEY codec (protocol 3). */
export function dnskeyRdata(key: DnskeyFields): Uint8Array {
  return canonicalRDataWire({ type: 'DNSKEY', flags: key.flags, protocol: DNSKEY_PROTOCOL, algorithm: key.algorithm, publicKey: key.publicKey });
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

/** The DS (digest type 2) of a DNSKEY RDATA of `owner`, as records-module data. */
function dsData(owner: string, dnskey: Uint8Array): RDataOf<'DS'> {
  return { type: 'DS', keyTag: keyTag(dnskey), algorithm: dnskey[3], digestType: DS_DIGEST_SHA256, digest: dsDigest(owner, dnskey) };
}

/** DS RDATA wire bytes for a DNSKEY RDATA of `owner` (the CDS the zone publishes has the same). */
export function dsRdata(owner: string, dnskey: Uint8Array): Uint8Array {
  return canonicalRDataWire(dsData(owner, dnskey));
}

/** The DS record value for a DNSKEY in presentation form: "<tag> <alg> 2 <HEX>". */
export function dsPresentation(owner: string, key: DnskeyFields): string {
  return formatRData(dsData(owner, dnskeyRdata(key)));
}
