/**
 * The fast path for DO=1 questions into a signed zone: a positive answer copied from the answer
 * section the signed zone pre-encoded when it signed the RRset (SignedZone.fastAnswer, found by the
 * question's wire name in a table the garbage collector does not trace), and NODATA at an existing
 * name assembled from the negative SOA and the signed zone's RRSIG and NSEC/NSEC3 bytes — without
 * building a message through the general path and addDnssec. It takes only what it can
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
import { FAST_ANSWER_TYPES, type SignedZone } from '../dnssec/signed-zone.ts';
import { isPlainQuestion } from './answer.ts';
import { RCODE, writeOpt, writeResponseHeader } from './header.ts';
import { writeNegative } from './negative.ts';
import type { ParsedQuery } from './query.ts';
import { canonicalQueryName } from './zones.ts';

const TYPE_RRSIG = 46;
const TYPE_NSEC3 = 50;

/**
 * Types answered here: their RDATA holds no domain name (so the signer's canonical RDATA is the
 * served RDATA, and nothing in it is compressed) and the general path adds no additional data for
 * them. The signer's own types, DS (answered from the parent side), CNAME, DNAME, NS, SOA and ANY
 * are not among them.
 */
export const FAST_TYPES: ReadonlySet<number> = FAST_ANSWER_TYPES;

const AUTHORITATIVE = { aa: true } as const;

/**
 * Types whose NODATA at an existing name is answered here: the general path answers a question for
 * a type the name lacks with NODATA whatever the type, but the signer's own types, DS, DNAME, ANY
 * and the meta types have answers of their own and are not among them.
 */
export const NODATA_TYPES: ReadonlySet<number> = new Set([
  ...FAST_TYPES, 15 /* MX */, 33 /* SRV */, 2 /* NS */, 5 /* CNAME */, 12 /* PTR */, 6 /* SOA */, 64 /* SVCB */, 65 /* HTTPS */, 35 /* NAPTR */,
]);

/** The DO answer for `q` into the signed zone `z`, or undefined when the general path must answer. */
export function fastDnssecAnswer(z: SignedZone, q: ParsedQuery, raw: Uint8Array, limit: number): Buffer | undefined {
  const edns = q.edns;
  if (edns === undefined || !edns.do || !NODATA_TYPES.has(q.qtype) || !isPlainQuestion(q, raw)) return undefined;
  const questionEnd = q.questionEnd;
  if (FAST_TYPES.has(q.qtype)) {
    // The answer section pre-encoded when the RRset was signed (SignedZone.fastAnswer), found by the question's wire name.
    const found = z.fastAnswer(raw, 12, questionEnd - 4, q.qtype);
    if (found !== undefined) {
      const size = questionEnd + found.length + 11;
      // Too large for the client: the general path truncates.
      if (size > limit) return undefined;
      const out = Buffer.allocUnsafe(size);
      writeResponseHeader(out, q, raw, RCODE.NOERROR, AUTHORITATIVE, found.count, 0);
      out.set(found.data.subarray(found.at, found.at + found.length), questionEnd);
      writeOpt(out, questionEnd + found.length, true);
      return out;
    }
  }
  const qname = canonicalQueryName(q.qnameKey);
  // The root and escaped names (a dot inside a label) are left to the general path's encoder.
  if (qname === '.' || qname.includes('\\')) return undefined;
  return nodata(z, q, raw, limit, qname) ?? nxdomain(z, q, raw, limit, qname);
}

/**
 * NXDOMAIN: the negative SOA (negative.ts's template, rcode NXDOMAIN), its RRSIGs, then the denial
 * proof addDnssec adds (proofs.ts: each NSEC/NSEC3 and its RRSIGs), every owner compressed as the
 * encoder compresses it (Compressor: the names already written, the question's and the SOA's, are
 * the dictionary).
 */
function nxdomain(z: SignedZone, q: ParsedQuery, raw: Uint8Array, limit: number, qname: string): Buffer | undefined {
  const t = z.negativeTemplate;
  const found = t && z.signedNxdomain(qname);
  if (!t || !found) return undefined;
  const base = writeNegative(t, q, raw, 65535, RCODE.NXDOMAIN);
  if (!base) return undefined;
  const questionEnd = q.questionEnd;
  const soaEnd = questionEnd + t.rr.length;
  const { soaRrsigs, proof } = found;
  // Names the compressor writes by their characters: no escapes (the general path's encoder takes those).
  if (proof.some((rs) => rs.owner.includes('\\'))) return undefined;
  let bound = soaEnd + 11;
  for (const r of soaRrsigs) bound += 255 + 10 + r.length;
  for (const rs of proof) for (const r of rs.rdatas) bound += 255 + 10 + r.length;
  const out = Buffer.allocUnsafe(bound);
  base.copy(out, 0, 0, soaEnd);
  const c = new Compressor(out);
  c.learn(12);
  // The SOA: its owner, then MNAME and RNAME in its RDATA (10 bytes of type, class, TTL, length after the owner).
  let p = c.learn(questionEnd) + 10;
  p = c.learn(p);
  c.learn(p);
  const soaTtl = out.readUInt32BE(questionEnd + t.ttlAt);
  let w = soaEnd;
  let count = 1;
  for (const r of soaRrsigs) {
    w = writeTail(out, c.write(z.zone, w), TYPE_RRSIG, soaTtl, r);
    count++;
  }
  for (const rs of proof) {
    for (const r of rs.rdatas) {
      w = writeTail(out, c.write(rs.owner, w), rs.type, rs.ttl, r);
      count++;
    }
  }
  if (w + 11 > limit) return undefined;
  out.writeUInt16BE(count, 8);
  writeOpt(out, w, true);
  return out.subarray(0, w + 11);
}

/** The largest offset a compression pointer can reach. */
const MAX_POINTER_TARGET = 0x3fff;

/**
 * encodeMessage's name compression, replayed over bytes already written: a dictionary from each
 * name suffix written out in full (letters folded) to its offset. A name is written as its labels
 * up to the first suffix the dictionary holds, then a pointer to it; the suffixes it wrote out are
 * added — what the encoder does (wire.ts writeName).
 */
class Compressor {
  /** Lowercase dotted suffixes ("example.test.") to offsets. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly out: Buffer) {}

  /** Add the suffixes the name at `p` spells out (as the encoder did when it wrote it); returns the offset after the name. */
  learn(p: number): number {
    const out = this.out;
    const literal: number[] = [];
    let q = p;
    while (out[q] !== 0 && (out[q] & 0xc0) !== 0xc0) {
      literal.push(q);
      q += out[q] + 1;
    }
    for (const at of literal) {
      if (at >= MAX_POINTER_TARGET) break;
      const key = this.keyAt(at);
      if (key !== undefined && !this.seen.has(key)) this.seen.set(key, at);
    }
    return out[q] === 0 ? q + 1 : q + 2;
  }

  /**
   * Write `name` (absolute, lowercase, no escapes, not the root) at `w`, compressed; returns the
   * offset after it.
   */
  write(name: string, w: number): number {
    const out = this.out;
    for (let i = 0; ; ) {
      const hit = this.seen.get(i === 0 ? name : name.slice(i));
      if (hit !== undefined) {
        out[w] = 0xc0 | (hit >> 8);
        out[w + 1] = hit & 0xff;
        return w + 2;
      }
      if (w < MAX_POINTER_TARGET) this.seen.set(i === 0 ? name : name.slice(i), w);
      const dot = name.indexOf('.', i);
      out[w++] = dot - i;
      for (let k = i; k < dot; k++) out[w++] = name.charCodeAt(k);
      i = dot + 1;
      if (i >= name.length) {
        out[w] = 0;
        return w + 1;
      }
    }
  }

  /** The name at `at` (pointers followed), lowercase and dotted; undefined when a label holds a dot or a backslash. */
  private keyAt(at: number): string | undefined {
    const out = this.out;
    let key = '';
    let p = at;
    for (let hops = 0; hops < 64; ) {
      const l = out[p];
      if (l === 0) break;
      if ((l & 0xc0) === 0xc0) {
        p = ((l & 0x3f) << 8) | out[p + 1];
        hops++;
        continue;
      }
      for (let k = 1; k <= l; k++) {
        const ch = out[p + k];
        if (ch === 0x2e || ch === 0x5c) return undefined;
        key += String.fromCharCode(ch >= 65 && ch <= 90 ? ch | 0x20 : ch);
      }
      key += '.';
      p += l + 1;
    }
    return key;
  }
}

/**
 * NODATA at an existing name: the zone's negative SOA as the serving index writes it (negative.ts,
 * whose template follows the encoder's compression), then — as addDnssec orders them — the SOA's
 * RRSIGs, owned by the SOA's own owner bytes (a pointer to the apex in the question), the NSEC or
 * NSEC3 matching the name and its RRSIGs. The NSEC is owned by the question name (a pointer to it);
 * an NSEC3 by its hash label followed by the apex pointer, and its RRSIGs by a pointer to that owner,
 * which is where the encoder would point them.
 */
function nodata(z: SignedZone, q: ParsedQuery, raw: Uint8Array, limit: number, qname: string): Buffer | undefined {
  const t = z.negativeTemplate;
  const found = t && z.signedNodata(qname, q.qtype);
  if (!t || !found) return undefined;
  const base = writeNegative(t, q, raw, 65535, RCODE.NOERROR);
  if (!base) return undefined;
  const questionEnd = q.questionEnd;
  const soaEnd = questionEnd + t.rr.length;
  const apexOwner = base.subarray(questionEnd, nameEnd(base, questionEnd));
  const { soaRrsigs, proof } = found;
  const nsec3 = proof.rrset.type === TYPE_NSEC3;
  const hashLabel = nsec3 ? Buffer.from(proof.rrset.owner.slice(0, proof.rrset.owner.indexOf('.')), 'latin1') : undefined;
  const proofOwnerLen = hashLabel ? 1 + hashLabel.length + apexOwner.length : 2;
  let size = soaEnd + 11;
  for (const r of soaRrsigs) size += apexOwner.length + 10 + r.length;
  for (const r of proof.rrset.rdatas) size += proofOwnerLen + 10 + r.length;
  for (const r of proof.rrsig.rdatas) size += 12 + r.length;
  if (size > limit) return undefined;
  const out = Buffer.allocUnsafe(size);
  base.copy(out, 0, 0, soaEnd);
  out.writeUInt16BE(1 + soaRrsigs.length + proof.rrset.rdatas.length + proof.rrsig.rdatas.length, 8);
  let w = soaEnd;
  const soaTtl = out.readUInt32BE(questionEnd + t.ttlAt);
  for (const r of soaRrsigs) {
    out.set(apexOwner, w);
    w = writeTail(out, w + apexOwner.length, TYPE_RRSIG, soaTtl, r);
  }
  // The proof's owner: the question (NSEC), or the hash label then the apex (NSEC3), where its RRSIGs point.
  const proofAt = nsec3 ? w : 12;
  for (const r of proof.rrset.rdatas) {
    if (hashLabel) {
      out[w] = hashLabel.length;
      out.set(hashLabel, w + 1);
      out.set(apexOwner, w + 1 + hashLabel.length);
      w = writeTail(out, w + 1 + hashLabel.length + apexOwner.length, proof.rrset.type, proof.rrset.ttl, r);
    } else {
      out[w] = 0xc0;
      out[w + 1] = 12;
      w = writeTail(out, w + 2, proof.rrset.type, proof.rrset.ttl, r);
    }
  }
  for (const r of proof.rrsig.rdatas) {
    out[w] = 0xc0 | (proofAt >> 8);
    out[w + 1] = proofAt & 0xff;
    w = writeTail(out, w + 2, TYPE_RRSIG, proof.rrsig.ttl, r);
  }
  writeOpt(out, w, true);
  return out;
}

/** The offset after the (possibly compressed) name at `p`. */
function nameEnd(b: Uint8Array, p: number): number {
  for (;;) {
    const l = b[p];
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2;
    p += l + 1;
  }
}

/** Type, class, TTL, RDATA length and RDATA of a record whose owner is already written up to `w`. */
function writeTail(out: Buffer, w: number, type: number, ttl: number, rdata: Uint8Array): number {
  out.writeUInt16BE(type, w);
  out.writeUInt16BE(1, w + 2);
  out.writeUInt32BE(ttl >>> 0, w + 4);
  out.writeUInt16BE(rdata.length, w + 8);
  out.set(rdata, w + 10);
  return w + 10 + rdata.length;
}
