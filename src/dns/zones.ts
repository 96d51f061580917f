/**
 * The one zone lookup: which of our zones a question's name belongs to. Answers, transfers, NOTIFY
 * and UPDATE all go through here, so a name is matched against the zones in one spelling only (the
 * ledger's canonical form) and the longest-match rule (RFC 1034 4.3.2 step 2) lives in one place.
 *
 * State kept: one plain Map over the zones of each zones map looked at, made when the projection
 * swaps its zones map (a write; O(zones)) and dropped with that map (a WeakMap). Why: the
 * projection's zone map is a persistent map whose lookups cost a hash walk per suffix; a native Map
 * hashes the question's string in place. The Map is derived from the zones map it is asked about,
 * so a lookup never sees another state's zones.
 */
import type { LedgerState, ZoneState } from '../projections/state.ts';

const SPECIALS_RE = /["();@$]/;
const SPECIALS_G = /["();@$]/g;

/**
 * The ledger's canonical form of a query's lowercased name: readQuery escapes only `.` and `\`,
 * the ledger also escapes `" ( ) ; @ $` (names.ts), so those get a backslash here.
 */
export function canonicalQueryName(qnameKey: string): string {
  return SPECIALS_RE.test(qnameKey) ? qnameKey.replace(SPECIALS_G, '\\$&') : qnameKey;
}

/**
 * The index of each zones map still in use, held weakly by that map: a Map kept in a module variable
 * instead held the zones of the last state a question was asked about for as long as no other
 * question came, and those zones' records and tries diverge from the live ones with every write
 * (the paths each write copies, up to a second copy of a big zone's tries and maps).
 */
const zoneIndexes = new WeakMap<LedgerState['zones'], Map<string, ZoneState>>();

function zoneIndex(zones: LedgerState['zones']): Map<string, ZoneState> {
  let index = zoneIndexes.get(zones);
  if (index === undefined) {
    index = new Map(zones);
    zoneIndexes.set(zones, index);
  }
  return index;
}

/** The served zone that is the longest suffix of the canonical name `name`, if any. */
export function findZone(state: LedgerState, name: string): ZoneState | undefined {
  const zones = zoneIndex(state.zones);
  if (zones.size === 0) return undefined;
  let i = 0;
  const n = name.length;
  for (;;) {
    const z = zones.get(i === 0 ? name : name.slice(i));
    if (z) return z;
    if (i >= n - 1) break;
    // Advance past the next unescaped dot.
    while (i < n) {
      const c = name.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === 46) {
        i++;
        break;
      } else i++;
    }
    if (i >= n) break;
  }
  return zones.get('.');
}

/** The zone whose apex is exactly the question's name (transfers, NOTIFY, UPDATE's zone section), if we serve it. */
export function zoneAtApex(state: LedgerState, q: { qnameKey: string }): ZoneState | undefined {
  return zoneIndex(state.zones).get(canonicalQueryName(q.qnameKey));
}
