/**
 * The one place a response's header is decided (RFC 1035 4.1.1, RFC 4035 3.1.6, RFC 6891 6.1.3):
 * which bits of the query are copied into the response, and the responses that carry no records
 * (errors, REFUSED, NOTAUTH, BADVERS, a truncated answer). Every responder (authoritative answers,
 * the serving index, the forwarder, transfers, NOTIFY, UPDATE, the listeners' FORMERR and SERVFAIL)
 * builds its flags and its record-less responses here, so a rule changes in one place.
 */
import type { ParsedQuery } from './query.ts';
import { encodeMessage, type WireMessage } from './wire.ts';

/** Header bits (RFC 1035 4.1.1, RFC 4035 3.2). */
export const QR = 0x8000;
/** Authoritative Answer. */
export const AA = 0x0400;
/** TrunCation. */
export const TC = 0x0200;
/** Recursion Desired (copied from the query). */
export const RD = 0x0100;
/** Recursion Available (set by the forwarder only). */
export const RA = 0x0080;
/** Checking Disabled (copied from the query: RFC 4035 3.1.6). */
export const CD = 0x0010;
/** The opcode field. */
export const OPCODE_BITS = 0x7800;

/** Response codes (RFC 1035, 2136, 6891; values above 15 go in the OPT's extended rcode). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  BADVERS: 16,
} as const;

/** The UDP payload size we advertise and cap UDP answers at (DNS flag day 2020). */
export const OUR_PAYLOAD_SIZE = 1232;
/** The DNSSEC OK bit of the EDNS flags word, copied from the query (RFC 3225). */
export const DO_BIT = 0x8000;
const NO_OPTIONS = new Uint8Array(0);

/** Extra header bits a responder may set beside the copied ones. */
export interface ResponseBits {
  /** Authoritative answer. */
  aa?: boolean;
  /** Recursion available (forwarded answers). */
  ra?: boolean;
  /** Truncated. */
  tc?: boolean;
}

/**
 * Flags word of a response to a query with flags `queryFlags`: QR, the query's opcode, RD and CD
 * copied, AA/RA/TC as given, and the low four bits of `rcode`.
 */
export function responseFlags(queryFlags: number, rcode: number, bits: ResponseBits = {}): number {
  return QR | (queryFlags & (OPCODE_BITS | RD | CD)) | (bits.aa ? AA : 0) | (bits.ra ? RA : 0) | (bits.tc ? TC : 0) | (rcode & 0xf);
}

/** Our OPT for a response to `q` (none when the query had none): our payload size, DO echoed, the rcode's upper bits. */
export function responseEdns(q: ParsedQuery, rcode: number): WireMessage['edns'] {
  if (!q.edns) return undefined;
  return { udpPayloadSize: OUR_PAYLOAD_SIZE, extendedRcode: rcode >> 4, version: 0, flags: q.edns.do ? DO_BIT : 0, options: NO_OPTIONS };
}

/** A response to `q` with no records: the question echoed, the OPT when the query had one. */
export function emptyResponse(q: ParsedQuery, rcode: number, bits: ResponseBits = {}): WireMessage {
  return {
    id: q.id,
    flags: responseFlags(q.flags, rcode, bits),
    question: [{ name: q.qname, type: q.qtype, class: q.qclass }],
    answer: [],
    authority: [],
    additional: [],
    edns: responseEdns(q, rcode),
  };
}

/** {@link emptyResponse} encoded. */
export function emptyResponseBytes(q: ParsedQuery, rcode: number, bits: ResponseBits = {}): Buffer {
  return encodeMessage(emptyResponse(q, rcode, bits)).bytes;
}

/**
 * A header-only response, for a message whose question could not be read (FORMERR) or a failure
 * where even echoing it is not possible: the id and the query's flags word are all we have.
 */
export function headerOnlyResponse(id: number, queryFlags: number, rcode: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(responseFlags(queryFlags, rcode), 2);
  return b;
}

/**
 * Writes a response header for `q` into `out` (counts as given, QDCOUNT 1) and copies the client's
 * question bytes from `raw`: the start of every answer the byte-level paths write.
 */
export function writeResponseHeader(out: Buffer, q: ParsedQuery, raw: Uint8Array, rcode: number, bits: ResponseBits, ancount: number, nscount: number): void {
  // Byte by byte: this runs once per answer of the serving index, and writeUInt16BE's checks cost
  // more than the writes (the values are 16-bit by construction).
  const flags = responseFlags(q.flags, rcode, bits);
  out[0] = q.id >> 8;
  out[1] = q.id & 0xff;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  out[4] = 0;
  out[5] = 1;
  out[6] = ancount >> 8;
  out[7] = ancount & 0xff;
  out[8] = nscount >> 8;
  out[9] = nscount & 0xff;
  out[10] = 0;
  out[11] = q.edns ? 1 : 0;
  for (let k = 12; k < q.questionEnd; k++) out[k] = raw[k];
}

/** Writes our OPT RR at `w` of `out`: payload size OUR_PAYLOAD_SIZE, version 0, the DO bit echoed. */
export function writeOpt(out: Buffer, w: number, dnssecOk: boolean): void {
  out[w] = 0;
  out[w + 1] = 0;
  out[w + 2] = 41;
  out[w + 3] = OUR_PAYLOAD_SIZE >> 8;
  out[w + 4] = OUR_PAYLOAD_SIZE & 0xff;
  // Extended rcode 0, version 0, then the flags: DO echoed.
  out[w + 5] = 0;
  out[w + 6] = 0;
  out[w + 7] = dnssecOk ? DO_BIT >> 8 : 0;
  out[w + 8] = 0;
  out[w + 9] = 0;
  out[w + 10] = 0;
}

/** The largest response for a query: 65535 over TCP; over UDP the EDNS size clamped to 512..1232, else 512. */
export function maxResponseSize(q: ParsedQuery, tcp: boolean): number {
  if (tcp) return 65535;
  if (!q.edns) return 512;
  const s = q.edns.udpPayloadSize;
  return s < 512 ? 512 : s > OUR_PAYLOAD_SIZE ? OUR_PAYLOAD_SIZE : s;
}
