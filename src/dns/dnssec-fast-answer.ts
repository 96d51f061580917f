/**
 * The fast path for DO=1 questions into a signed zone: a positive answer written straight from the
 * signed zone's bytes (the RRset's RDATA and its RRSIG RDATAs, computed when the RRset was signed),
 * without building a message through the general path and addDnssec. It takes only what it can
 * answer exactly as they do — a plain question (QUERY, class IN, EDNS version 0, uncompressed
 * name), a type whose RDATA holds no name and brings no additional data, an existing authoritative
 * RRset that is no referral, an answer that fits the client's UDP size — and declines everything
 * else (undefined: the caller takes the general path). Every answer it gives is byte for byte the
 * general path's (test/dnssec/fast-answer.test.ts).
 *
 * Why: on a signed zone a first-sight DO query went through answerQuery, addDnssec and
 * encodeMessage, about three times the CPU of the same question without DO, which the serving
 * index answers from pre-encoded bytes.
 *
 * The layout written is the general path's: the header (id, RD and CD echoed, AA), the client's
 * question copied verbatim, each record of the RRset owned by a pointer to the question, then its
 * RRSIGs the same way (RFC 4035 3.1.1), then our OPT with DO (RFC 3225).
 */
import type { SignedZone } from '../dnssec/signed-zone.ts';
import { isPlainQuestion } from './answer.ts';
import { RCODE, writeOpt, writeResponseHeader } from './header.ts';
import type { ParsedQuery } from './query.ts';
import { canonicalQueryName } from './zones.ts';

const TYPE_RRSIG = 46;

/**
 * Types answered here: their RDATA holds no domain name (so the signer's canonical RDATA is the
 * served RDATA, and nothing in it is compressed) and the general path adds no additional data for
 * them. The signer's own types, DS (answered from the parent side), CNAME, DNAME, NS, SOA and ANY
 * are not among them.
 */
export const FAST_TYPES: ReadonlySet<number> = new Set([
  1 /* A */, 28 /* AAAA */, 16 /* TXT */, 257 /* CAA */, 44 /* SSHFP */, 52 /* TLSA */, 53 /* SMIMEA */, 61 /* OPENPGPKEY */, 29 /* LOC */, 256 /* URI */,
]);

const AUTHORITATIVE = { aa: true } as const;
/** Owner name, type, class, TTL and RDATA length of one record, the owner a pointer to the question. */
const RR_FIXED = 12;

/** The DO answer for `q` into the signed zone `z`, or undefined when the general path must answer. */
export function fastDnssecAnswer(z: SignedZone, q: ParsedQuery, raw: Uint8Array, limit: number): Buffer | undefined {
  const edns = q.edns;
  if (edns === undefined || !edns.do || !FAST_TYPES.has(q.qtype) || !isPlainQuestion(q, raw)) return undefined;
  const found = z.signedAnswer(canonicalQueryName(q.qnameKey), q.qtype);
  if (found === undefined) return undefined;
  const { rrset, rrsigs } = found;
  const rdatas = rrset.rdatas;
  if (rdatas.length === 0) return undefined;
  const questionEnd = q.questionEnd;
  let size = questionEnd + 11;
  for (const r of rdatas) size += RR_FIXED + r.length;
  for (const r of rrsigs) size += RR_FIXED + r.length;
  // Too large for the client: the general path truncates.
  if (size > limit) return undefined;
  const out = Buffer.allocUnsafe(size);
  writeResponseHeader(out, q, raw, RCODE.NOERROR, AUTHORITATIVE, rdatas.length + rrsigs.length, 0);
  let w = questionEnd;
  for (const r of rdatas) w = writeRecord(out, w, rrset.type, rrset.ttl, r);
  for (const r of rrsigs) w = writeRecord(out, w, TYPE_RRSIG, rrset.ttl, r);
  writeOpt(out, w, true);
  return out;
}

function writeRecord(out: Buffer, w: number, type: number, ttl: number, rdata: Uint8Array): number {
  out[w] = 0xc0;
  out[w + 1] = 12;
  out.writeUInt16BE(type, w + 2);
  out.writeUInt16BE(1, w + 4);
  out.writeUInt32BE(ttl >>> 0, w + 6);
  out.writeUInt16BE(rdata.length, w + 10);
  out.set(rdata, w + 12);
  return w + 12 + rdata.length;
}
