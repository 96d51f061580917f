/**
 * The one rule for the TTL an RRset is served and transferred with (RFC 2181 5.2: the records of an
 * RRset share one TTL, and a server that meets differing ones treats the RRset as having the
 * lowest). Every write since one-TTL-per-RRset keeps an RRset's records at one TTL (decide.ts), so
 * for them this is simply that TTL; logs written before hold RRsets with mixed TTLs, which answers
 * (answer.ts, the serving index) and transfers (AXFR, IXFR) all serve with the lowest, until the
 * RRset is next written. Every one of those paths calls these functions, so they cannot disagree.
 */
import type { RecordState, RRset, TrieNode } from './trie.ts';

/** The TTL the records of one RRset are served with: their lowest (0 for no records). */
export function rrsetTtl(records: readonly { readonly ttl: number }[]): number {
  let ttl = records.length > 0 ? records[0].ttl : 0;
  for (let i = 1; i < records.length; i++) if (records[i].ttl < ttl) ttl = records[i].ttl;
  return ttl;
}

/** True when the records of one RRset do not all have the same TTL (only logs written before the rule hold such). */
export function hasMixedTtls(records: readonly { readonly ttl: number }[]): boolean {
  for (let i = 1; i < records.length; i++) if (records[i].ttl !== records[0].ttl) return true;
  return false;
}

/** Copies of records served with another TTL than they hold, kept per record so transfers of one zone version share them. */
const retimed = new WeakMap<RecordState, RecordState>();

/** `r` as served with `ttl`: itself when it holds that TTL, else a copy that does. */
export function withServedTtl(r: RecordState, ttl: number): RecordState {
  if (r.ttl === ttl) return r;
  const cached = retimed.get(r);
  if (cached?.ttl === ttl) return cached;
  const copy: RecordState = { ...r, ttl };
  retimed.set(r, copy);
  return copy;
}

/** The records of one RRset as served: every one with the RRset's TTL. */
export function servedRRset(set: RRset): readonly RecordState[] {
  if (!hasMixedTtls(set.records)) return set.records;
  const ttl = rrsetTtl(set.records);
  return set.records.map((r) => withServedTtl(r, ttl));
}

/** Every record at and below `node` as served and transferred (AXFR), in no particular order. */
export function* servedRecords(node: TrieNode): IterableIterator<RecordState> {
  for (const set of node.rrsets.values()) yield* servedRRset(set);
  for (const child of node.children.values()) yield* servedRecords(child);
}

/**
 * For the records one batch of changes touched (IXFR builds its steps from them): a function giving
 * each record as it was served, with the lowest TTL of the records of its RRset in `records`. The
 * caller passes every record of an RRset whose served TTL the batch changed: decide.ts writes every
 * record of an RRset whose TTL changes, and of an RRset that held mixed TTLs, in the same batch.
 */
export function servedWithin(records: Iterable<RecordState | null | undefined>): (r: RecordState) => RecordState {
  const sets = new Map<string, RecordState[]>();
  for (const r of records) {
    if (!r) continue;
    const key = `${r.name}\u0000${r.type}`;
    const set = sets.get(key);
    if (set) set.push(r);
    else sets.set(key, [r]);
  }
  const ttls = new Map<string, number>();
  for (const [key, set] of sets) ttls.set(key, rrsetTtl(set));
  return (r) => withServedTtl(r, ttls.get(`${r.name}\u0000${r.type}`) ?? r.ttl);
}
