/**
 * The one table of record-type codecs: every per-type rule (presentation, wire, length, names
 * inside) is looked up here, so parse, format, the DNS encoder, UPDATE's decoder, transfers and the
 * size limits all agree. Types without a codec get the RFC 3597 one (./generic.ts).
 */
import { isKnownRRType, type KnownRRType, type RDataOf, type RRType, type UnknownRRType } from '../types.ts';
import { A, AAAA, CAA, CNAME, DNAME, HINFO, MX, NS, PTR, RP, SOA, SRV, TXT } from './basic.ts';
import type { RRCodec } from './codec.ts';
import { CDNSKEY, CDS, DNSKEY, DS, NSEC, NSEC3, NSEC3PARAM, RRSIG } from './dnssec.ts';
import { unknownCodec } from './generic.ts';
import { HTTPS, SVCB } from './svcb.ts';
import { CERT, OPENPGPKEY, SMIMEA, SSHFP, TLSA } from './keys.ts';
import { LOC } from './loc.ts';
import { NAPTR, URI } from './service.ts';

type CodecTable = { readonly [T in KnownRRType]: RRCodec<RDataOf<T>> };

/** Every known type's codec. */
export const CODECS: CodecTable = {
  A,
  AAAA,
  CNAME,
  NS,
  SOA,
  MX,
  TXT,
  SRV,
  PTR,
  CAA,
  DS,
  DNSKEY,
  CDS,
  CDNSKEY,
  HTTPS,
  SVCB,
  TLSA,
  SMIMEA,
  SSHFP,
  NAPTR,
  URI,
  LOC,
  DNAME,
  HINFO,
  RP,
  OPENPGPKEY,
  CERT,
  RRSIG,
  NSEC,
  NSEC3,
  NSEC3PARAM,
};

/** The codec of any stored type (RFC 3597's for a type without its own). */
export function codecFor(type: RRType): RRCodec {
  if (isKnownRRType(type)) return CODECS[type] as unknown as RRCodec;
  return unknownCodec(type as UnknownRRType) as unknown as RRCodec;
}

export type { NameLength, RRCodec, WireSink, WireSource } from './codec.ts';
export { WireError } from './codec.ts';
