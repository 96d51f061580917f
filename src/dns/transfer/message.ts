/**
 * Small wire helpers shared by the transfer modules: reading names and
 * records out of raw messages (the IXFR query's SOA, TSIG, NOTIFY answers), and turning ledger
 * records into {@link WireRR}s for the encoder.
 */
import type { ParsedQuery } from '../query.ts';
import type { WireRR } from '../wire.ts';
import { parseRData } from '../../records/rdata.ts';
import type { RecordState } from '../../projections/trie.ts';
import { wireLabelToPresentation } from '../../records/names.ts';

/** DNS opcodes used here. */
export const OPCODE = { QUERY: 0, NOTIFY: 4 } as const;
/** Query types of zone transfers and the SOA. */
export const QTYPE = { SOA: 6, IXFR: 251, AXFR: 252 } as const;

/** Reads a possibly compressed name at `p`: its presentation form (lowercase) and the offset after it. */
export function readName(buf: Uint8Array, p: number): { name: string; end: number } {
  let end = -1;
  let hops = 0;
  let out = '';
  for (;;) {
    if (p >= buf.length) throw new RangeError('truncated name');
    const l = buf[p];
    if (l === 0) {
      if (end < 0) end = p + 1;
      break;
    }
    if ((l & 0xc0) === 0xc0) {
      if (p + 1 >= buf.length) throw new RangeError('truncated pointer');
      if (end < 0) end = p + 2;
      if (++hops > 128) throw new RangeError('compression loop');
      p = ((l & 0x3f) << 8) | buf[p + 1];
      continue;
    }
    if (l & 0xc0) throw new RangeError('unsupported label type');
    if (p + 1 + l > buf.length) throw new RangeError('truncated label');
    out += wireLabelToPresentation(buf.subarray(p + 1, p + 1 + l)) + '.';
    p += 1 + l;
  }
  return { name: out === '' ? '.' : out, end };
}

/** Offset just after the resource record starting at `p`. */
export function skipRR(buf: Uint8Array, p: number): number {
  const { end } = readName(buf, p);
  if (end + 10 > buf.length) throw new RangeError('truncated record');
  const rdlen = (buf[end + 8] << 8) | buf[end + 9];
  if (end + 10 + rdlen > buf.length) throw new RangeError('truncated rdata');
  return end + 10 + rdlen;
}

/**
 * The serial of the SOA an IXFR query carries in its authority section (RFC 1995 section 3), or
 * undefined when there is none (then the query is answered like an AXFR).
 */
export function ixfrClientSerial(raw: Uint8Array, q: ParsedQuery): number | undefined {
  try {
    let p = q.questionEnd;
    for (let i = 0; i < q.ancount; i++) p = skipRR(raw, p);
    for (let i = 0; i < q.nscount; i++) {
      const { end } = readName(raw, p);
      const type = (raw[end] << 8) | raw[end + 1];
      const rdlen = (raw[end + 8] << 8) | raw[end + 9];
      const rdEnd = end + 10 + rdlen;
      if (type === QTYPE.SOA && rdlen >= 22 && rdEnd <= raw.length) {
        const s = rdEnd - 20;
        return ((raw[s] << 24) | (raw[s + 1] << 16) | (raw[s + 2] << 8) | raw[s + 3]) >>> 0;
      }
      p = rdEnd;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Parsed wire records per record object, so repeated transfers of one zone version parse once. */
const wireCache = new WeakMap<RecordState, WireRR>();

/** A ledger record as a record the encoder writes. */
export function recordToWire(r: RecordState): WireRR {
  let rr = wireCache.get(r);
  if (!rr) {
    rr = { name: r.name, type: r.type, ttl: r.ttl, data: parseRData(r.type, r.value) };
    wireCache.set(r, rr);
  }
  return rr;
}

/** Writes the 2-byte length prefix of DNS over TCP (RFC 1035 4.2.2) in front of a message. */
export function tcpFrame(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  out.set(msg, 2);
  return out;
}
