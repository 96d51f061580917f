/**
 * Negative answers (RFC 2308): the one place that decides what NXDOMAIN and NODATA carry (the zone's
 * SOA in the authority section, with TTL min(SOA TTL, SOA minimum): section 3 and 5) and the one
 * place that writes them as bytes for the serving index.
 *
 * answerQuery puts negativeSoa() in its message and the encoder writes it. The serving index cannot
 * afford an encode per question on a large zone, so it keeps, per zone, the encoder's own output for
 * a question at the apex (a template, made by encodeMessage here) and moves the compression
 * pointers by the difference in question length. That is exact unless the encoder would compress
 * the SOA's MNAME or RNAME against a label of the question below the apex; those questions are
 * declined (`risky`) and the general path encodes them. test/dns/serving-index.test.ts and
 * test/dns/large-rrsets.test.ts check the bytes against answerQuery + encodeMessage.
 */
import type { ZoneState } from '../projections/state.ts';
import { nameToWire } from '../records/names.ts';
import { writeOpt, writeResponseHeader } from './header.ts';
import type { ParsedQuery } from './query.ts';
import { recordData } from './record-data.ts';
import { encodeMessage, type WireRR } from './wire.ts';

const TYPE_A = 1;
const CLASS_IN = 1;

/** The SOA for a negative answer: TTL = min(SOA TTL, SOA minimum) (RFC 2308 section 3). */
export function negativeSoa(zone: ZoneState): WireRR[] {
  const set = zone.tree.rrsets.get('SOA');
  if (!set) return [];
  const ttl = Math.min(zone.soa.ttl, zone.soa.minimum);
  return set.records.map((r) => ({ name: zone.name, type: 'SOA' as const, ttl, data: recordData(r) }));
}

/**
 * A zone's negative authority section (its SOA with the negative TTL) as encodeMessage writes it
 * after a question for the apex itself, with the offsets of its compression pointers. After a
 * question for a name `d` bytes longer, the same bytes with every pointer moved by `d` are what
 * encodeMessage writes, unless the SOA's MNAME or RNAME could be compressed against a label of the
 * question below the apex: names whose label right under the apex is one of `risky` are declined.
 */
export interface NegativeTemplate {
  rr: Uint8Array;
  pointers: number[];
  apexWireLength: number;
  risky: Uint8Array[];
  /** Offset of the SOA's TTL in `rr` (its numbers, serial to minimum, are the last 20 bytes). */
  ttlAt: number;
  /**
   * `rr` with the TTL and the five numbers zeroed: what stays the same from one write to the next
   * (the names). Answers that hold the SOA encoded after other names (a CNAME chain's negative end,
   * in the serving index) copy the TTL and the numbers from the newest template, and are taken again
   * when this changes.
   */
  shape: string;
}

/** Offsets of the compression pointers in the name at `p`; returns the offset after the name. */
function pointersIn(b: Uint8Array, p: number, into: number[]): number {
  for (;;) {
    const l = b[p];
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) {
      into.push(p);
      return p + 2;
    }
    p += l + 1;
  }
}

/** The label right under `apex` on the way to `name` (lowercase wire bytes), when `name` is below the apex. */
function labelUnder(name: string, apex: string): Uint8Array | undefined {
  let wire: Uint8Array;
  let apexWire: Uint8Array;
  try {
    wire = nameToWire(name);
    apexWire = nameToWire(apex);
  } catch {
    return undefined;
  }
  const lower = (c: number): number => (c >= 65 && c <= 90 ? c | 0x20 : c);
  const at = wire.length - apexWire.length;
  if (at <= 0) return undefined;
  for (let k = 0; k < apexWire.length; k++) if (lower(wire[at + k]) !== lower(apexWire[k])) return undefined;
  let p = 0;
  while (p + wire[p] + 1 < at) p += wire[p] + 1;
  if (p + wire[p] + 1 !== at) return undefined;
  return Uint8Array.from(wire.subarray(p + 1, at), lower);
}

/** The negative template of `zone`, or undefined when it has no single SOA or an escaped apex (the general path answers). */
export function negativeTemplate(zone: ZoneState): NegativeTemplate | undefined {
  const soa = negativeSoa(zone);
  if (soa.length !== 1 || zone.name.includes('\\')) return undefined;
  const apexWireLength = nameToWire(zone.name).length;
  const bytes = encodeMessage({ id: 0, flags: 0, question: [{ name: zone.name, type: TYPE_A, class: CLASS_IN }], answer: [], authority: soa, additional: [] }).bytes;
  const rr = Uint8Array.from(bytes.subarray(12 + apexWireLength + 4));
  const pointers: number[] = [];
  const ttlAt = pointersIn(rr, 0, pointers) + 4;
  let p = ttlAt + 6;
  p = pointersIn(rr, p, pointers);
  pointersIn(rr, p, pointers);
  const shaped = Uint8Array.from(rr);
  shaped.fill(0, ttlAt, ttlAt + 4);
  shaped.fill(0, shaped.length - 20);
  const { mname, rname } = soa[0].data as { mname?: string; rname?: string };
  const risky: Uint8Array[] = [];
  for (const target of [mname, rname]) {
    const label = target ? labelUnder(target, zone.name) : undefined;
    if (label) risky.push(label);
  }
  return { rr, pointers, apexWireLength, risky, ttlAt, shape: Buffer.from(shaped).toString('latin1') };
}

/**
 * Whether the name whose wire form is `b[start..end)` (under the template's apex, or the apex
 * itself) has one of `t.risky` right under the apex: the label MNAME or RNAME would compress
 * against, so the template's bytes are not what the encoder writes after it. `fold` lowercases
 * the name's letters first (a client's spelling; a key is lowercase already).
 */
export function riskyUnderApex(t: NegativeTemplate, b: Uint8Array, start: number, end: number, fold: boolean): boolean {
  if (t.risky.length === 0 || end - start <= t.apexWireLength) return false;
  // The label right under the apex: the last one before the apex's bytes.
  let p = start;
  while (end - (p + b[p] + 1) > t.apexWireLength) p += b[p] + 1;
  for (const label of t.risky) {
    if (label.length !== b[p]) continue;
    let k = 0;
    for (; k < label.length; k++) {
      const c = b[p + 1 + k];
      if ((fold && c >= 65 && c <= 90 ? c | 0x20 : c) !== label[k]) break;
    }
    if (k === label.length) return true;
  }
  return false;
}

/**
 * NODATA (rcode NOERROR) or NXDOMAIN for the question in `raw` from template `t`: the client's
 * question, AA, the SOA, the OPT when the query had one. Undefined when the template cannot be used
 * for this question or the answer would not fit `limit`: the general path answers then.
 */
export function writeNegative(t: NegativeTemplate, q: ParsedQuery, raw: Uint8Array, limit: number, rcode: number): Buffer | undefined {
  const questionEnd = q.questionEnd;
  const shift = questionEnd - 4 - 12 - t.apexWireLength;
  if (riskyUnderApex(t, raw, 12, questionEnd - 4, true)) return undefined;
  const edns = q.edns;
  const size = questionEnd + t.rr.length + (edns ? 11 : 0);
  if (size > limit) return undefined;
  const out = Buffer.allocUnsafe(size);
  writeResponseHeader(out, q, raw, rcode, { aa: true }, 0, 1);
  out.set(t.rr, questionEnd);
  for (const at of t.pointers) {
    const o = questionEnd + at;
    const target = (((out[o] & 0x3f) << 8) | out[o + 1]) + shift;
    out[o] = 0xc0 | (target >> 8);
    out[o + 1] = target & 0xff;
  }
  if (edns) writeOpt(out, questionEnd + t.rr.length, edns.do);
  return out;
}
