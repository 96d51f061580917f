/**
 * One RRset as answer records: every record of it with the RRset's one TTL (rrset-ttl.ts), owned by
 * the name the answer spells it with (the question's spelling, or a wildcard's expansion).
 */
import { rrsetTtl } from '../projections/rrset-ttl.ts';
import type { RRset } from '../projections/trie.ts';
import { answerable, noteSkippedAnswer } from './oversized.ts';
import { recordData } from './record-data.ts';
import type { WireRR } from './wire.ts';

/** Appends the records of `set` to `out`, owned by `owner`. */
export function pushRRset(out: WireRR[], owner: string, set: RRset): void {
  // One TTL per RRset: an older log's mixed TTLs are served with the lowest (rrset-ttl.ts).
  const ttl = rrsetTtl(set.records);
  for (const r of set.records) {
    // A record an older build stored with rdata over 65,535 bytes cannot be encoded: it is left out
    // (and counted) so the rest of the answer still goes out (oversized.ts).
    if (!answerable(r)) {
      noteSkippedAnswer(r);
      continue;
    }
    out.push({ name: owner, type: r.type, ttl, data: recordData(r) });
  }
}
