/**
 * Stored records that cannot go on the wire: rdata longer than 65,535 bytes (RDLENGTH is 16 bits),
 * or a record too large to fit one message even alone. The write path refuses them (decide.ts), but
 * a log written by an older build may hold some; the answer path and zone transfers then leave
 * them out and serve everything else, instead of failing the whole answer or transfer.
 *
 * What the answer path leaves out is noted here (it is a pure function without a logger); the DNS
 * server drains the notes into the metrics and logs each record once.
 */
import type { RecordState } from '../projections/trie.ts';
import { parseRData } from '../records/rdata.ts';
import { MAX_MESSAGE_BYTES, MAX_RDATA_BYTES, RESPONSE_RESERVE_BYTES, rdataWireLength, rrFitsOneMessage } from '../records/wire-size.ts';

/** Rdata length of records with long values (the only ones that can be too long), computed once per record object. */
const lengths = new WeakMap<RecordState, number>();

/**
 * Only TXT and CAA values can be long; their canonical text is never shorter than their rdata (every
 * byte is at least one character, each string has two quotes for its one length byte). Every other
 * type holds at most a few names of 255 bytes, far below any bound used here. So a value this short
 * needs no parse.
 */
function shortEnough(r: RecordState, bound: number): boolean {
  return r.value.length <= bound;
}

/** Uncompressed rdata length of a stored record. */
export function storedRdataLength(r: RecordState): number {
  let n = lengths.get(r);
  if (n === undefined) {
    try {
      n = rdataWireLength(parseRData(r.type, r.value));
    } catch {
      n = r.value.length;
    }
    lengths.set(r, n);
  }
  return n;
}

/** Whether a stored record's rdata can be encoded at all (the answer path's test: one length compare for nearly every record). */
export function answerable(r: RecordState): boolean {
  return shortEnough(r, MAX_RDATA_BYTES) || storedRdataLength(r) <= MAX_RDATA_BYTES;
}

/** Largest value that surely fits a transfer message alone: owner and question names of up to 255 bytes, header, fixed fields, reserve. */
const TRANSFER_SAFE_VALUE = MAX_MESSAGE_BYTES - 12 - (255 + 4) - (255 + 10) - RESPONSE_RESERVE_BYTES;

/** Whether a stored record can be sent in a zone transfer of `zone` (it fits a message of its own, with TSIG). */
export function transferable(r: RecordState, zone: string): boolean {
  return shortEnough(r, TRANSFER_SAFE_VALUE) || rrFitsOneMessage(zone, r.name, storedRdataLength(r));
}

/** A record the answer path left out. */
export interface SkippedRecord {
  id: string;
  name: string;
  type: string;
  rdataLength: number;
}

/** Records left out of answers since the last drain: how many times, and each distinct record once. */
let skippedCount = 0;
const skippedRecords = new Map<string, SkippedRecord>();
/** Records already reported, so a name queried in a loop is logged once per process, not per query. */
const reported = new Set<string>();
const REPORTED_MAX = 10_000;

/** Note that the answer path left `r` out (called only for the rare unencodable record). */
export function noteSkippedAnswer(r: RecordState): void {
  skippedCount++;
  if (!reported.has(r.id) && !skippedRecords.has(r.id)) {
    skippedRecords.set(r.id, { id: r.id, name: r.name, type: r.type, rdataLength: storedRdataLength(r) });
  }
}

/** What was left out of answers since the last call: the count, and the records not reported before. */
export function drainSkippedAnswers(): { count: number; firstSeen: SkippedRecord[] } {
  const count = skippedCount;
  const firstSeen = [...skippedRecords.values()];
  skippedCount = 0;
  skippedRecords.clear();
  if (reported.size + firstSeen.length > REPORTED_MAX) reported.clear();
  for (const s of firstSeen) reported.add(s.id);
  return { count, firstSeen };
}
