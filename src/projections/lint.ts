/**
 * Lint: mistakes that are legal to store but break resolution, reported as warnings with a write's
 * 2xx (never refusals; the write has happened). Two kinds:
 *
 * - a CNAME loop inside our zones: following CNAMEs from a name comes back to a name already seen
 *   (through exact names and wildcards, across every zone MCNS serves; a chain that leaves our
 *   zones or reaches a delegation is not followed);
 * - an MX, NS, SRV or CNAME whose target is an IP address ("10 192.0.2.1."): the target must be a
 *   host name with A/AAAA records; an address there is read as a name that does not exist.
 *
 * Checked from the names a write touched, against the state after the write.
 */
import { isIP } from 'node:net';
import { parseRData } from '../records/rdata.ts';
import { splitLabels } from '../records/names.ts';
import type { RRType } from '../records/types.ts';
import { labelsBelow, type LedgerState, type ZoneState } from './state.ts';
import { lookup, type TrieNode } from './trie.ts';

/** Longest chain followed before giving up (resolvers stop well before; a loop shows up far sooner). */
const MAX_CHAIN = 32;
/** Most warnings returned; past it one line says how many more there were. */
export const MAX_WARNINGS = 100;

/** The zone of ours that holds `name` (the longest apex it is at or below), if any. */
function zoneOf(state: LedgerState, name: string): ZoneState | undefined {
  const labels = splitLabels(name);
  for (let i = 0; i <= labels.length; i++) {
    const z = state.zones.get(i === labels.length ? '.' : `${labels.slice(i).join('.')}.`);
    if (z) return z;
  }
  return undefined;
}

/** The node answering for `name` in its zone (exact, else the wildcard), unless a delegation answers it. */
function answeringNode(state: LedgerState, name: string): TrieNode | undefined {
  const zone = zoneOf(state, name);
  if (!zone) return undefined;
  const l = lookup(zone.tree, labelsBelow(name, zone.apexLabels));
  if (l.cut) return undefined;
  return l.exact ?? l.wildcard;
}

function cnameOf(state: LedgerState, name: string): string | undefined {
  const rec = answeringNode(state, name)?.rrsets.get('CNAME')?.records[0];
  if (!rec) return undefined;
  try {
    const rd = parseRData('CNAME', rec.value);
    return rd.type === 'CNAME' ? rd.target : undefined;
  } catch {
    return undefined;
  }
}

/** The loop reached by following CNAMEs from `start`, as the names of the cycle, or undefined. */
function cnameLoopFrom(state: LedgerState, start: string): string[] | undefined {
  const path: string[] = [start];
  const seen = new Map<string, number>([[start, 0]]);
  let name = start;
  for (let i = 0; i < MAX_CHAIN; i++) {
    const next = cnameOf(state, name);
    if (next === undefined) return undefined;
    const at = seen.get(next);
    if (at !== undefined) return path.slice(at);
    seen.set(next, path.length);
    path.push(next);
    name = next;
  }
  return undefined;
}

/** A cycle written from its smallest name, so the same loop found from two names reads the same. */
function describeLoop(cycle: string[]): string {
  let first = 0;
  for (let i = 1; i < cycle.length; i++) if (cycle[i] < cycle[first]) first = i;
  const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
  return `CNAME loop: ${[...rotated, rotated[0]].join(' -> ')} (resolvers answer SERVFAIL for every name on it)`;
}

const TARGET_TYPES: readonly RRType[] = ['MX', 'NS', 'SRV', 'CNAME'];

/** The target name of an MX, NS, SRV or CNAME value, if it parses. */
function targetOf(type: RRType, value: string): string | undefined {
  try {
    const rd = parseRData(type, value);
    if (rd.type === 'MX') return rd.exchange;
    if (rd.type === 'SRV' || rd.type === 'NS' || rd.type === 'CNAME') return rd.target;
  } catch {
    // Unparseable stored values are not lint's business.
  }
  return undefined;
}

/**
 * The IP address a target name really is, if it is one: the whole name ("192.0.2.1.", "2001:db8::1.",
 * "[2001:db8::1]."), or an address made relative by a missing trailing dot ("192.0.2.1.example.com."
 * from a zone file, "2001:db8::1.example.com." from a single-label API value). Reverse-tree names
 * (in-addr.arpa, ip6.arpa) are names, not mistakes.
 */
export function addressIn(target: string): string | undefined {
  const bare = target.replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 0) return bare;
  if (/\.(in-addr|ip6)\.arpa\.?$/i.test(target)) return undefined;
  const labels = splitLabels(target.endsWith('.') ? target : `${target}.`);
  const first = (labels[0] ?? '').replace(/^\[(.*)\]$/, '$1');
  if (first.includes(':') && isIP(first) === 6) return first;
  if (labels.length > 4) {
    const v4 = labels.slice(0, 4).join('.');
    if (isIP(v4) === 4) return v4;
  }
  return undefined;
}

/** Whether a target name is really an IP address (see {@link addressIn}). */
export function isAddressTarget(target: string): boolean {
  return addressIn(target) !== undefined;
}

/** Warnings for the names a write touched (owner names of created, updated and deleted records). */
export function lintNames(state: LedgerState, names: Iterable<string>): string[] {
  const out = new Set<string>();
  const done = new Set<string>();
  for (const name of names) {
    if (done.has(name)) continue;
    done.add(name);
    const zone = zoneOf(state, name);
    const node = zone ? lookup(zone.tree, labelsBelow(name, zone.apexLabels)).exact : undefined;
    if (node && node.name === name) {
      for (const type of TARGET_TYPES) {
        for (const r of node.rrsets.get(type)?.records ?? []) {
          const target = targetOf(type, r.value);
          const address = target === undefined ? undefined : addressIn(target);
          if (address !== undefined) {
            out.add(`${name} ${type} ${r.value}: the target ${address} is an IP address, not a host name (point it at a name with A/AAAA records)`);
          }
        }
      }
    }
    // A name that exists without a CNAME starts no chain (cnameOf would find this same node, or a
    // delegation): skipped without a second lookup, which is most of an import's names.
    if (node && !node.rrsets.has('CNAME')) continue;
    const loop = cnameLoopFrom(state, name);
    if (loop) out.add(describeLoop(loop));
  }
  const all = [...out];
  if (all.length <= MAX_WARNINGS) return all;
  return [...all.slice(0, MAX_WARNINGS), `... and ${all.length - MAX_WARNINGS} more warnings`];
}

/** Warnings for a whole zone (imports). */
export function lintZone(state: LedgerState, zone: string): string[] {
  const z = state.zones.get(zone);
  if (!z) return [];
  const names = new Set<string>();
  for (const r of z.records.values()) names.add(r.name);
  return lintNames(state, names);
}
