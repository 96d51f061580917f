/**
 * The structured rdata of a stored record, for the encoder. Records are immutable and their values
 * canonical, so a parse is good for the record object's life: it is memoized per record object in
 * a WeakMap (state kept here, and why: a TXT, MX or SOA answer would otherwise re-parse its text on
 * every query; the WeakMap lets the memo die with the record when a write replaces it).
 */
import type { RecordState } from '../projections/trie.ts';
import { parseRData } from '../records/rdata.ts';
import type { RData } from '../records/types.ts';
import { cachesGrow } from './encode-once.ts';

const parsed = new WeakMap<RecordState, RData>();

/** Whether a record's parse is memoized (for tests: the serving index's build leaves none). */
export function isMemoized(r: RecordState): boolean {
  return parsed.has(r);
}

/** The structured RData of a stored record (its value is canonical, so it always parses). */
export function recordData(r: RecordState): RData {
  // An address's canonical value is its RData: built fresh, it dies young. Memoizing it would put
  // one WeakMap entry per queried name into old space (on a 1M-name zone the GC then dominates).
  if (r.type === 'A' || r.type === 'AAAA') return { type: r.type, address: r.value };
  let d = parsed.get(r);
  if (d === undefined) {
    d = parseRData(r.type, r.value);
    // (Not while the serving index encodes a zone once: encode-once.ts.)
    if (cachesGrow()) parsed.set(r, d);
  }
  return d;
}
