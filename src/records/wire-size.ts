/**
 * How many bytes a record takes on the wire, and the limits a record and an RRset must respect to
 * be served and transferred at all.
 *
 * RDLENGTH is a 16-bit field (RFC 1035 3.2.1), so no rdata can exceed 65,535 bytes; and a response
 * must hold a whole RRset in one message (RFC 2181 9), which over TCP is at most 65,535 bytes
 * (RFC 1035 4.2.2). Sizes here are the uncompressed ones: compression only ever makes a message
 * smaller, so a limit checked on them holds whatever the encoder does.
 */
import { nameToWire } from './names.ts';
import type { RData } from './types.ts';
import { codecFor } from './rrtypes/index.ts';

/** Largest rdata a resource record can carry (RDLENGTH is 16 bits). */
export const MAX_RDATA_BYTES = 65535;
/** Largest DNS message (the 16-bit length prefix of DNS over TCP). */
export const MAX_MESSAGE_BYTES = 65535;
/** The fixed part of a resource record after its owner name: type, class, TTL, RDLENGTH. */
const RR_FIXED_BYTES = 10;
/** Longest domain name on the wire (RFC 1035 3.1). */
const MAX_NAME_BYTES = 255;
/** Header of a DNS message. */
const HEADER_BYTES = 12;
/**
 * Room every answer keeps for what the server adds to it: an EDNS OPT record (11 bytes without
 * options) and a TSIG signature (owner name up to 255 bytes, 10 fixed bytes, and rdata of up to
 * 101 bytes: algorithm name, time, fudge, a MAC of up to 64 bytes, original id, error, other data).
 */
export const RESPONSE_RESERVE_BYTES = 11 + 255 + RR_FIXED_BYTES + 101;

/** Uncompressed wire length of an absolute presentation name; falls back to an upper bound for a name that does not encode. */
export function nameWireLength(name: string): number {
  try {
    return nameToWire(name).length;
  } catch {
    return name.length + 2;
  }
}

/** Uncompressed wire length of a record's rdata (each type's codec knows its own). */
export function rdataWireLength(d: RData): number {
  return codecFor(d.type).wireLength(d, nameWireLength);
}

/** Uncompressed wire length of one resource record: owner, fixed fields, rdata. */
export function rrWireLength(owner: string, rdataLength: number): number {
  return nameWireLength(owner) + RR_FIXED_BYTES + rdataLength;
}

/**
 * Size of the smallest response that carries the whole RRset of `owner` with these rdata lengths:
 * header, the question for the owner (for a wildcard, the longest name it can answer), every record
 * (owner uncompressed), and the reserve for OPT and TSIG. The RRset can be served over TCP only when this is at most {@link MAX_MESSAGE_BYTES}.
 */
export function rrsetResponseLength(owner: string, rdataLengths: readonly number[]): number {
  const ownerLen = nameWireLength(owner);
  // A wildcard's RRset answers questions for any name below it, up to the longest name there is.
  const questionLen = owner.startsWith('*.') ? MAX_NAME_BYTES : ownerLen;
  let n = HEADER_BYTES + questionLen + 4 + RESPONSE_RESERVE_BYTES;
  for (const len of rdataLengths) n += ownerLen + RR_FIXED_BYTES + len;
  return n;
}

/**
 * Whether one record fits a message on its own next to a question for `questionName` (a zone
 * transfer's message: header, question, the record, reserve for TSIG). A record that does not can
 * be neither answered nor transferred.
 */
export function rrFitsOneMessage(questionName: string, owner: string, rdataLength: number): boolean {
  if (rdataLength > MAX_RDATA_BYTES) return false;
  return HEADER_BYTES + nameWireLength(questionName) + 4 + rrWireLength(owner, rdataLength) + RESPONSE_RESERVE_BYTES <= MAX_MESSAGE_BYTES;
}
