/**
 * A zone of the projection as the signer takes it: every RRset with its RDATA in canonical wire
 * form (RFC 4034 6.2, through each type's codec) and the TTL it is served with (rrset-ttl.ts), and
 * the RRsets that differ between two versions of a zone, found by walking the two tries and
 * skipping every subtree they share (so the cost follows the size of the change, not of the zone).
 */
import { servedRRset } from '../projections/rrset-ttl.ts';
import type { ZoneState } from '../projections/state.ts';
import type { RecordState, RRset, TrieNode } from '../projections/trie.ts';
import { PMap } from '../projections/pmap.ts';
import { recordData } from '../dns/record-data.ts';
import { codecFor } from '../records/rrtypes/index.ts';
import { ByteSink } from '../records/rrtypes/wire-io.ts';
import { rrTypeCode } from '../records/types.ts';
import type { CanonicalRRset } from './rrsig.ts';
import { longLivedBytes, longLivedCopy } from './slab.ts';
import { parseIPv4, parseIPv6 } from '../records/ip.ts';

/** One RRset of the projection in the signer's form. */
export function canonicalRRset(owner: string, set: RRset): CanonicalRRset {
  const records = servedRRset(set);
  if (set.type === 'A' || set.type === 'AAAA') return addressRRset(owner, set.type, records);
  const codec = codecFor(set.type);
  const rdatas = records.map((r) => {
    const sink = new ByteSink(codec.canonicalLowercase);
    codec.encode(recordData(r), sink);
    // Kept as long as the signed zone: in a slab rather than an array of its own (slab.ts).
    return longLivedCopy(sink.result());
  });
  return { owner, type: rrTypeCode(set.type), ttl: records.length > 0 ? records[0].ttl : 0, rdatas };
}

/**
 * An A or AAAA RRset: each address parsed by the parser the A and AAAA codecs write with (ip.ts)
 * straight into its long-lived bytes. Nine records in ten of a typical zone are addresses, and the
 * codec path made a parsed value, a sink and a copy for each.
 */
function addressRRset(owner: string, type: 'A' | 'AAAA', records: readonly RecordState[]): CanonicalRRset {
  const rdatas = new Array<Uint8Array>(records.length);
  for (let i = 0; i < records.length; i++) {
    const value = records[i].value;
    const out = longLivedBytes(type === 'A' ? 4 : 16);
    const ok = type === 'A' ? parseIPv4(value, 0, value.length, out, 0) : parseIPv6(value, out, 0);
    if (!ok) throw new RangeError(`invalid ${type} address ${JSON.stringify(value)} at ${owner}`);
    rdatas[i] = out;
  }
  return { owner, type: rrTypeCode(type), ttl: records.length > 0 ? records[0].ttl : 0, rdatas };
}

/** Every RRset of a zone (the synthesized SOA included), in the signer's form. */
export function zoneRRsets(zone: ZoneState): IterableIterator<CanonicalRRset> {
  return zoneRRsetList(zone)[Symbol.iterator]();
}

/**
 * {@link zoneRRsets} as an array, in the same order (each node's RRsets, then its children's, depth
 * first). Pushed by a plain recursion: a recursive generator passes each of a 100,000-name zone's
 * RRsets up through a `yield*` per level, which cost a whole-zone signing ~0.3 s.
 */
export function zoneRRsetList(zone: ZoneState): CanonicalRRset[] {
  const out: CanonicalRRset[] = [];
  const walk = (node: TrieNode): void => {
    for (const set of node.rrsets.values()) if (set.records.length > 0) out.push(canonicalRRset(node.name, set));
    for (const child of node.children.values()) walk(child);
  };
  walk(zone.tree);
  return out;
}

/** Receives one changed RRset: `after` is undefined when the RRset is gone. */
export type RRsetChange = (owner: string, type: number, after: CanonicalRRset | undefined) => void;

/** Report every RRset that differs between two versions of a zone's trie (by reference: records are immutable). */
export function diffZoneRRsets(before: TrieNode | undefined, after: TrieNode | undefined, fn: RRsetChange): void {
  if (before === after) return;
  const owner = (after ?? before)?.name as string;
  const b = before?.rrsets;
  const a = after?.rrsets;
  if (b !== a) {
    for (const set of a?.values() ?? []) {
      if (b?.get(set.type) !== set) fn(owner, rrTypeCode(set.type), set.records.length > 0 ? canonicalRRset(owner, set) : undefined);
    }
    for (const set of b?.values() ?? []) {
      if (!a?.has(set.type)) fn(owner, rrTypeCode(set.type), undefined);
    }
  }
  const kb = before?.children ?? PMap.empty<TrieNode>();
  const ka = after?.children ?? PMap.empty<TrieNode>();
  PMap.diff(kb, ka, (_label, x, y) => diffZoneRRsets(x, y, fn));
}
