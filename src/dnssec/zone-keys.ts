/**
 * A zone's keys as the signer sees them: role (KSK, ZSK or CSK), algorithm, public key, and the
 * private key when the key signs. Also the DNSSEC type codes the signer reasons about.
 */
import { ALGORITHM_NUMBERS } from './algorithms.ts';
import { dnskeyRdata, keyTag, SEP_FLAG, ZONE_KEY_FLAG } from './dnskey.ts';
import type { SigningKey } from './rrsig.ts';

/** Type codes the signer reasons about. */
export const TYPE = { NS: 2, SOA: 6, DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, NSEC3PARAM: 51, CDS: 59, CDNSKEY: 60 } as const;

export type KeyRole = 'ksk' | 'zsk' | 'csk';

/** A key the zone publishes; `signing` is absent for a key that is published but does not sign. */
export interface ZoneKey {
  role: KeyRole;
  /** DNSKEY public-key field. */
  publicKey: Uint8Array;
  algorithm: SigningKey['algorithm'];
  /** Present when this key signs (active); absent when only published or retired. */
  signing?: SigningKey;
  /** In the DNSKEY RRset (default true; false for a KSK whose DS goes to the parent first, double-DS). */
  published?: boolean;
  /** Listed in CDS/CDNSKEY: its DS is wanted at the parent (RFC 7344). */
  cds?: boolean;
}

/** DNSKEY flags for a key role: a KSK or CSK carries the SEP flag, as Knot and BIND publish them. */
export function dnskeyFlags(role: KeyRole): number {
  return role === 'zsk' ? ZONE_KEY_FLAG : ZONE_KEY_FLAG | SEP_FLAG;
}

/** The DNSKEY RDATA and key tag of a zone key. */
export function zoneKeyRdata(key: Pick<ZoneKey, 'role' | 'publicKey' | 'algorithm'>): { rdata: Uint8Array; tag: number } {
  const rdata = dnskeyRdata({ flags: dnskeyFlags(key.role), algorithm: ALGORITHM_NUMBERS[key.algorithm], publicKey: key.publicKey });
  return { rdata, tag: keyTag(rdata) };
}
