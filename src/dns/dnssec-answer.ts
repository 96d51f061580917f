/**
 * DNSSEC in answers: after the general path has answered a query for a signed zone, add what a
 * validating resolver needs (RFC 4035 3.1) — RRSIGs for every RRset of the answer and authority
 * sections (and of in-zone additional data), the denial proof of a negative or wildcard answer,
 * the DS or its absence proof beside a referral — and answer the RRsets the signer derives
 * (DNSKEY, CDS, CDNSKEY, NSEC3PARAM) at the apex, with or without DO.
 *
 * It reads only the answer the general path built and the zone's SignedZone; the general path
 * stays unaware of DNSSEC. What kind of denial applies is read from the answer itself: a name the
 * signed zone does not hold but that was answered (or NODATA'd) was covered by a wildcard.
 */
import type { CanonicalRRset } from '../dnssec/rrsig.ts';
import type { SignedZone } from '../dnssec/signed-zone.ts';
import { closestEncloser, denialProof, type DenialCase } from '../dnssec/proofs.ts';
import { TYPE } from '../dnssec/zone-keys.ts';
import type { Answer } from './answer.ts';
import type { ParsedQuery } from './query.ts';
import { typeCode, type WireRR } from './wire.ts';
import { canonicalQueryName } from './zones.ts';

const TYPE_CNAME = 5;
const TYPE_DNAME = 39;
/** Query types a signed zone answers differently even without DO: the signer's own RRsets. */
export const SIGNER_QTYPES: ReadonlySet<number> = new Set([TYPE.DNSKEY, TYPE.CDS, TYPE.CDNSKEY, TYPE.NSEC3PARAM, TYPE.NSEC, TYPE.NSEC3, TYPE.RRSIG]);

/** The RRsets the signer derives at the apex, answered from it rather than from the zone's records. */
const APEX_DERIVED: ReadonlySet<number> = new Set([TYPE.DNSKEY, TYPE.CDS, TYPE.CDNSKEY, TYPE.NSEC3PARAM]);

function toWire(rs: CanonicalRRset, owner = rs.owner): WireRR[] {
  return rs.rdatas.map((data) => ({ name: owner, type: rs.type, ttl: rs.ttl, data }));
}

function lower(name: string): string {
  return name.toLowerCase();
}

/**
 * Add RRSIGs after each RRset of `section` (in place of the section): an RRset is the run of
 * records with one owner and type. RRsets the zone does not sign (glue, a CNAME synthesized from a
 * DNAME) get none; a wildcard-synthesized RRset gets the wildcard's RRSIG under the name asked.
 */
function withSignatures(z: SignedZone, section: WireRR[], synthesizedCname: Set<string>): WireRR[] {
  const out: WireRR[] = [];
  for (let i = 0; i < section.length; ) {
    const owner = lower(section[i].name);
    const type = typeCode(section[i].type);
    let j = i;
    while (j < section.length && lower(section[j].name) === owner && typeCode(section[j].type) === type) out.push(section[j++]);
    i = j;
    if (type === TYPE.RRSIG || type === 41) continue;
    if (type === TYPE_CNAME && synthesizedCname.has(owner)) continue;
    let sigs = z.rrsigs(owner, type);
    // Synthesized from a wildcard: an authoritative name the zone does not hold.
    if (!sigs && z.isAuthoritative(owner) && !z.exists(owner)) sigs = z.rrsigs(`*.${closestEncloser(z, owner).encloser}`, type);
    if (sigs) for (const data of sigs) out.push({ name: section[i - 1].name, type: TYPE.RRSIG, ttl: section[i - 1].ttl, data });
  }
  return out;
}

/** True when `name` is `zone` or below it (both lowercase, absolute). */
function within(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`) || zone === '.';
}

/**
 * Make `answer` (from the general path, for a query into the signed zone `z`) what a DNSSEC-aware
 * server answers. Returns the answer to send (the same object, changed).
 */
export function addDnssec(answer: Answer, q: ParsedQuery, z: SignedZone): Answer {
  const msg = answer.message;
  // The ledger's canonical form of the question (lowercase, its escapes), as the signed zone holds names.
  const qname = canonicalQueryName(q.qnameKey);
  const dnssecOk = q.edns?.do === true;

  // DNSKEY, CDS, CDNSKEY, NSEC3PARAM at the apex come from the signer, for every query.
  if (qname === z.zone && APEX_DERIVED.has(q.qtype) && (answer.result === 'nodata' || answer.result === 'success')) {
    const rs = z.derivedAtApex(q.qtype);
    if (rs) {
      msg.answer = toWire(rs);
      msg.authority = [];
      answer.result = 'success';
    }
  }
  // An NSEC asked for by name is an RRset of its owner like any other (NSEC3 owners are hashes nobody asks for).
  if (q.qtype === TYPE.NSEC && z.denial === 'nsec' && answer.result === 'nodata') {
    const own = z.denialMatching(qname);
    if (own && own.rrset.owner === qname) {
      msg.answer = toWire(own.rrset);
      msg.authority = [];
      answer.result = 'success';
    }
  }
  if (!dnssecOk) return answer;

  // The names a DNAME synthesized a CNAME for: the CNAME is unsigned (RFC 6672 5.3.1).
  const synthesized = new Set<string>();
  for (const rr of msg.answer) {
    if (typeCode(rr.type) !== TYPE_DNAME) continue;
    const owner = lower(rr.name);
    for (const c of msg.answer) if (typeCode(c.type) === TYPE_CNAME && lower(c.name).endsWith(`.${owner}`)) synthesized.add(lower(c.name));
  }

  // The name the answer ends at: the question, or the last CNAME target in the answer.
  let finalName = qname;
  for (const rr of msg.answer) {
    const data = rr.data;
    if (typeCode(rr.type) === TYPE_CNAME && lower(rr.name) === finalName && !(data instanceof Uint8Array) && data.type === 'CNAME') finalName = lower(data.target);
  }

  const proof: CanonicalRRset[] = [];
  if (within(finalName, z.zone)) {
    let c: DenialCase | undefined;
    if (answer.result === 'nxdomain') c = { kind: 'nxdomain', qname: finalName };
    else if (answer.result === 'nodata') {
      c = z.exists(finalName) ? { kind: 'nodata', qname: finalName } : { kind: 'wildcard-nodata', qname: finalName, wildcard: `*.${closestEncloser(z, finalName).encloser}` };
    } else if (answer.result === 'success' && !z.exists(finalName) && msg.answer.some((rr) => lower(rr.name) === finalName)) {
      c = { kind: 'wildcard-answer', qname: finalName, wildcard: `*.${closestEncloser(z, finalName).encloser}` };
    } else if (answer.result === 'delegation') {
      const ns = msg.authority.find((rr) => typeCode(rr.type) === TYPE.NS);
      const cut = ns ? lower(ns.name) : undefined;
      if (cut) {
        const ds = z.rrset(cut, TYPE.DS);
        if (ds) msg.authority.push(...toWire(ds));
        else c = { kind: 'insecure-referral', cut };
      }
    }
    if (c) proof.push(...denialProof(z, c));
  }

  msg.answer = withSignatures(z, msg.answer, synthesized);
  msg.authority = withSignatures(z, msg.authority, synthesized);
  for (const rs of proof) msg.authority.push(...toWire(rs));
  msg.additional = withSignatures(z, msg.additional, synthesized);
  return answer;
}
