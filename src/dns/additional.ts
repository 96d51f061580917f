/**
 * Additional-section processing (RFC 1034 3.7 and 4.3.2 step 6, RFC 9460 4.1), as Knot 3.x does it:
 * for every NS, MX, SRV, SVCB and HTTPS record in the answer and authority sections, the A and AAAA
 * RRsets of its target name, and for SVCB and HTTPS also the target's own SVCB or HTTPS RRset (so an
 * AliasMode record brings the record it aliases). Only targets inside the zone the record came from
 * are looked at; a target covered by a wildcard gets the wildcard's records under its own name, and
 * a target below a zone cut its glue. One level only: records added here bring nothing more. A
 * ServiceMode target "." (the owner itself) brings nothing, and neither do NAPTR replacements
 * (Knot adds no additional data for NAPTR). Each (target, type) is added once (RFC 2181 5: duplicate
 * records are suppressed).
 */
import type { ZoneState } from '../projections/state.ts';
import type { RRset, TrieNode } from '../projections/trie.ts';
import { splitLabels } from '../records/names.ts';
import type { RData, RRType } from '../records/types.ts';
import { pushRRset } from './answer-rrset.ts';
import type { WireRR } from './wire.ts';

const ADDRESSES: readonly RRType[] = ['A', 'AAAA'];
const SVCB_ADDITIONAL: readonly RRType[] = ['A', 'AAAA', 'SVCB'];
const HTTPS_ADDITIONAL: readonly RRType[] = ['A', 'AAAA', 'HTTPS'];

/** Whether canonical `name` is `zone` or below it. */
function inZone(name: string, zone: string): boolean {
  if (zone === '.') return true;
  if (name === zone) return true;
  return name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46 && !escapedAt(name, name.length - zone.length - 1);
}

function escapedAt(name: string, dot: number): boolean {
  let n = 0;
  for (let i = dot - 1; i >= 0 && name.charCodeAt(i) === 92; i--) n++;
  return n % 2 === 1;
}

/** The node holding `name`'s records in `zone`: the name's own node, else the wildcard child of its closest encloser (cuts are walked through: glue). */
function nodeOrWildcard(zone: ZoneState, name: string): TrieNode | undefined {
  const all = splitLabels(name);
  let node = zone.tree;
  for (let i = all.length - zone.apexLabels - 1; i >= 0; i--) {
    const child = node.children.get(all[i]);
    if (!child) return node.children.get('*');
    node = child;
  }
  return node;
}

/** The target name of a record that brings additional data, and the types it brings. */
function targetOf(d: RData): [string, readonly RRType[]] | undefined {
  switch (d.type) {
    case 'NS':
      return [d.target, ADDRESSES];
    case 'MX':
      return [d.exchange, ADDRESSES];
    case 'SRV':
      return [d.target, ADDRESSES];
    case 'SVCB':
      return [d.target, SVCB_ADDITIONAL];
    case 'HTTPS':
      return [d.target, HTTPS_ADDITIONAL];
    default:
      return undefined;
  }
}

/**
 * Adds to `additional` the records the records `records[from..]` (found in `zone`) bring. `seen`
 * holds "target\0type" pairs already added to this response.
 */
export function addAdditional(zone: ZoneState, records: readonly WireRR[], from: number, additional: WireRR[], seen: Set<string>): void {
  for (let i = from; i < records.length; i++) {
    const data = records[i].data;
    if (data instanceof Uint8Array) continue;
    const wanted = targetOf(data);
    if (!wanted) continue;
    const [target, types] = wanted;
    if (!inZone(target, zone.name)) continue;
    let node: TrieNode | undefined | null = null;
    for (const type of types) {
      const key = `${target}\u0000${type}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (node === null) node = nodeOrWildcard(zone, target);
      const set: RRset | undefined = node?.rrsets.get(type);
      if (set) pushRRset(additional, target, set);
    }
  }
}
