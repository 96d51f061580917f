/**
 * AXFR (RFC 5936): the whole zone as a stream of messages, SOA first and last, every other record
 * in between, packed into messages of up to ~16 KiB (compressed by src/dns/wire.ts) so a large
 * zone never needs one giant buffer and a client can start applying it early.
 */
import { encodeMessage, type WireRR } from '../wire.ts';
import type { RData } from '../../records/types.ts';
import { codecFor } from '../../records/rrtypes/index.ts';
import type { ZoneState } from '../../projections/state.ts';
import type { RecordState } from '../../projections/trie.ts';
import { servedRecords } from '../../projections/rrset-ttl.ts';
import { transferable } from '../oversized.ts';
import { RCODE, responseFlags } from '../header.ts';
import { recordToWire } from './message.ts';
import type { CanonicalRRset } from '../../dnssec/rrsig.ts';
import type { SignedStep } from '../../dnssec/signer.ts';

const SOA_TYPE = 6;

/** Default payload bound of one transfer message (BIND and Knot use similar sizes). */
export const DEFAULT_MESSAGE_SIZE = 16 * 1024;

/** The question a transfer answers (as readQuery parsed it). */
export interface TransferQuestion {
  id: number;
  flags: number;
  qname: string;
  qtype: number;
  qclass: number;
}

/** Upper bound of a name's wire length: its presentation is never shorter (escapes only lengthen it), plus the root and first length bytes. */
const nameBound = (name: string): number => name.length + 2;

/** Upper bound of the uncompressed wire size of an rdata. */
function rdataSize(d: RData | Uint8Array): number {
  if (d instanceof Uint8Array) return d.length;
  return codecFor(d.type).wireLength(d, nameBound);
}

/** Upper bound of the uncompressed wire size of one record (presentation names are never shorter than wire). */
export function recordSize(rr: WireRR): number {
  return rr.name.length + 2 + 10 + rdataSize(rr.data);
}

/**
 * Pack records into response messages of at most about `maxSize` bytes each. The first message
 * carries the question; later ones do not (RFC 5936 2.2.1 allows either, every secondary accepts it).
 */
export function* packMessages(q: TransferQuestion, records: Iterable<WireRR>, maxSize = DEFAULT_MESSAGE_SIZE): Generator<Buffer> {
  const flags = responseFlags(q.flags, RCODE.NOERROR, { aa: true });
  const question = [{ name: q.qname, type: q.qtype, class: q.qclass }];
  let answer: WireRR[] = [];
  let size = 12 + q.qname.length + 6;
  let first = true;
  const flush = (): Buffer => {
    const bytes = encodeMessage({ id: q.id, flags, question: first ? question : [], answer, authority: [], additional: [] }).bytes;
    first = false;
    answer = [];
    size = 12;
    return bytes;
  };
  for (const rr of records) {
    const n = recordSize(rr);
    if (answer.length > 0 && size + n > maxSize) yield flush();
    answer.push(rr);
    size += n;
  }
  if (answer.length > 0 || first) yield flush();
}

/** The zone's SOA record as the encoder writes it. */
export function soaWire(zone: ZoneState): WireRR {
  const soa = zone.tree.rrsets.get('SOA')!.records[0];
  return recordToWire(soa);
}

/**
 * The records of an AXFR: SOA, every record of the zone except the SOA, SOA again. A record that
 * cannot fit a message (only an older build could have stored one) is left out and pushed onto
 * `skipped`, so the rest of the zone still transfers.
 */
export function* axfrRecords(zone: ZoneState, skipped?: RecordState[]): Generator<WireRR> {
  const soa = soaWire(zone);
  yield soa;
  // Each RRset with the one TTL it is served with (an older log's mixed TTLs: the lowest).
  for (const r of servedRecords(zone.tree)) {
    if (r.type === 'SOA') continue;
    if (!transferable(r, zone.name)) {
      skipped?.push(r);
      continue;
    }
    yield recordToWire(r);
  }
  yield soa;
}

/** The messages of an AXFR response for `zone` to the query `q` (unsigned; TSIG is added by the caller); see axfrRecords for `skipped`. */
export function axfrMessages(zone: ZoneState, q: TransferQuestion, maxSize = DEFAULT_MESSAGE_SIZE, skipped?: RecordState[]): Generator<Buffer> {
  return packMessages(q, axfrRecords(zone, skipped), maxSize);
}

/**
 * The records of an AXFR of a signed zone: SOA, every record of the signed zone (the zone's own,
 * DNSKEY, CDS/CDNSKEY, the NSEC/NSEC3 chain and every RRSIG), SOA again. `signed` is taken whole
 * before the first message (SignedZone changes in place on the next write; its RRset objects do
 * not), so a transfer sent over several event-loop turns is one version of the zone.
 */
export function signedAxfrMessages(zone: ZoneState, signed: Iterable<CanonicalRRset>, q: TransferQuestion, maxSize = DEFAULT_MESSAGE_SIZE): Generator<Buffer> {
  const snapshot = [...signed];
  function* records(): Generator<WireRR> {
    const soa = soaWire(zone);
    yield soa;
    for (const rs of snapshot) {
      if (rs.type === SOA_TYPE) continue;
      for (const data of rs.rdatas) yield { name: rs.owner, type: rs.type, ttl: rs.ttl, data };
    }
    yield soa;
  }
  return packMessages(q, records(), maxSize);
}

/**
 * An IXFR of a signed zone from the signer's journal (RFC 1995): the current SOA, then per step the
 * old SOA, what it removed (records, RRSIGs and denial records), the new SOA, what it added; the
 * current SOA again.
 */
export function signedIxfrMessages(zone: ZoneState, steps: readonly SignedStep[], q: TransferQuestion, maxSize = DEFAULT_MESSAGE_SIZE): Generator<Buffer> {
  function* records(): Generator<WireRR> {
    const soa = soaWire(zone);
    yield soa;
    for (const s of steps) {
      for (const rs of [s.soaBefore, ...s.removed, s.soaAfter, ...s.added]) {
        for (const data of rs.rdatas) yield { name: rs.owner, type: rs.type, ttl: rs.ttl, data };
      }
    }
    yield soa;
  }
  return packMessages(q, records(), maxSize);
}
