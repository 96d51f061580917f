/**
 * A canonical text form of a projection, for deep-equality checks between a live projection, a full
 * replay and a checkpoint plus tail (tests and `mcns verify`): order-independent, every field included.
 */
import { createHash } from 'node:crypto';
import type { LedgerState } from './state.ts';
import { allRecords } from './trie.ts';

function sortKeys<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))) as T;
}

/** The state as sorted plain data (zones, heads, records by id, and every trie record). */
export function canonicalState(state: LedgerState): unknown {
  const zones = [...state.zones.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((z) => ({
      name: z.name,
      soa: sortKeys(z.soa),
      serial: z.serial,
      version: z.version,
      records: [...z.records.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => [r.id, r.name, r.type, r.ttl, r.value]),
      tree: [...allRecords(z.tree)].map((r) => `${r.id} ${r.name} ${r.ttl} ${r.type} ${r.value}`).sort(),
    }));
  const heads = [...state.heads.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([z, h]) => [z, h.seq, h.serial, h.deleted]);
  return { seq: state.seq, zones, heads };
}

/** SHA-256 of {@link canonicalState}. */
export function stateDigest(state: LedgerState): string {
  return createHash('sha256').update(JSON.stringify(canonicalState(state))).digest('hex');
}
