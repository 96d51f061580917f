/**
 * Key lifecycle and rollovers as a pure function of the keys' recorded states and the clock: given
 * what the log says (each key's role, state and the time it entered that state) and the timings,
 * `nextTransition` says which key moves to which state, and when. The driver appends that move as
 * an event (actor `system`) when the time comes, so every step is in the zone's history, and a
 * restart or a replay resumes the rollover where the log left it.
 *
 * States: `created` (key exists, not in the DNSKEY RRset), `published` (in DNSKEY, not signing),
 * `active` (in DNSKEY, signing), `retired` (in DNSKEY, no longer signing: validators may still hold
 * signatures made with it), `removed` (gone). A KSK or CSK also carries whether its DS should be
 * at the parent: the CDS/CDNSKEY RRsets (RFC 7344, 8078) list exactly the keys whose `ds` is true,
 * which is the parent's signal.
 *
 * Rollovers (RFC 6781 4.1, RFC 7583):
 * - ZSK, pre-publication: new key `published`; after the DNSKEY TTL and the propagation delay it
 *   becomes `active` and the old one `retired`; after the largest TTL of the zone's RRsets and the
 *   propagation delay the old key is `removed`.
 * - KSK, double-DS: new key `created` with its DS signalled (CDS lists old and new); after the
 *   parent's registration delay, the DS TTL and the propagation delay, the DNSKEY RRset swaps (new
 *   `active`, old `retired` with its DS withdrawn: CDS lists the new one only); after the DNSKEY
 *   TTL and the propagation delay the old key is `removed`.
 * - CSK: new key `published` with its DS signalled; after the longer of the DNSKEY wait and the
 *   parent's wait it becomes `active` (signs everything) and the old one `retired` with its DS
 *   withdrawn; after the largest zone TTL and the propagation delay the old key is `removed`.
 */
import type { KeyRole } from './zone-keys.ts';

export type KeyState = 'created' | 'published' | 'active' | 'retired' | 'removed';

/** One key as the log describes it. */
export interface KeyStatus {
  tag: number;
  role: KeyRole;
  state: KeyState;
  /** When the key entered `state`, seconds since the epoch. */
  since: number;
  /** KSK/CSK: its DS is wanted at the parent (listed in CDS/CDNSKEY). */
  ds: boolean;
  /** The key this one replaces, while a rollover runs. */
  replaces?: number;
}

/** Rollover timings, seconds (Knot's and BIND's dnssec-policy defaults are of this order). */
export interface RolloverTimings {
  dnskeyTtl: number;
  /** The largest TTL of the zone's signed RRsets (signatures made with a retired key live that long in caches). */
  maxZoneTtl: number;
  /** Time for a change to reach every secondary. */
  propagationDelay: number;
  /** Time the parent takes to publish a DS after CDS signals it. */
  parentRegistrationDelay: number;
  /** TTL of the DS RRset at the parent. */
  parentDsTtl: number;
}

export const DEFAULT_ROLLOVER_TIMINGS: RolloverTimings = {
  dnskeyTtl: 3600,
  maxZoneTtl: 86400,
  propagationDelay: 300,
  parentRegistrationDelay: 86400,
  parentDsTtl: 86400,
};

/** One step of a rollover: key `tag` enters `state` (and its DS signal becomes `ds`) at time `at`. */
export interface Transition {
  tag: number;
  state: KeyState;
  ds: boolean;
  at: number;
  /** Why, for the history ("ZSK rollover: new key active after DNSKEY TTL + propagation delay"). */
  reason: string;
}

/**
 * The next transitions due, in time order: the earliest group (several keys move together at a
 * swap). Empty when no rollover is running.
 */
export function nextTransitions(keys: readonly KeyStatus[], t: RolloverTimings): Transition[] {
  const out: Transition[] = [];
  for (const k of keys) {
    if (k.replaces === undefined) continue;
    const old = keys.find((o) => o.tag === k.replaces);
    if (k.role === 'zsk') {
      if (k.state === 'published') {
        const at = k.since + t.dnskeyTtl + t.propagationDelay;
        out.push({ tag: k.tag, state: 'active', ds: false, at, reason: 'ZSK rollover: new key signs, the DNSKEY TTL and propagation delay after it was published' });
        if (old && old.state === 'active') out.push({ tag: old.tag, state: 'retired', ds: false, at, reason: 'ZSK rollover: old key stops signing' });
      } else if (k.state === 'active' && old && old.state === 'retired') {
        out.push({ tag: old.tag, state: 'removed', ds: false, at: old.since + t.maxZoneTtl + t.propagationDelay, reason: 'ZSK rollover: old key removed once its signatures expired from caches' });
      }
    } else if (k.role === 'ksk') {
      if (k.state === 'created') {
        const at = k.since + t.parentRegistrationDelay + t.parentDsTtl + t.propagationDelay;
        out.push({ tag: k.tag, state: 'active', ds: true, at, reason: 'KSK rollover (double-DS): new key signs the DNSKEY RRset once its DS is at the parent' });
        if (old && old.state === 'active') out.push({ tag: old.tag, state: 'retired', ds: false, at, reason: 'KSK rollover (double-DS): old key leaves the DNSKEY RRset, its DS withdrawn' });
      } else if (k.state === 'active' && old && old.state === 'retired') {
        out.push({ tag: old.tag, state: 'removed', ds: false, at: old.since + t.dnskeyTtl + t.propagationDelay, reason: 'KSK rollover (double-DS): old key removed' });
      }
    } else {
      if (k.state === 'published') {
        const at = k.since + Math.max(t.dnskeyTtl + t.propagationDelay, t.parentRegistrationDelay + t.parentDsTtl + t.propagationDelay);
        out.push({ tag: k.tag, state: 'active', ds: true, at, reason: 'CSK rollover: new key signs once its DNSKEY and its DS have propagated' });
        if (old && old.state === 'active') out.push({ tag: old.tag, state: 'retired', ds: false, at, reason: 'CSK rollover: old key stops signing, its DS withdrawn' });
      } else if (k.state === 'active' && old && old.state === 'retired') {
        out.push({ tag: old.tag, state: 'removed', ds: false, at: old.since + t.maxZoneTtl + t.propagationDelay, reason: 'CSK rollover: old key removed once its signatures expired from caches' });
      }
    }
  }
  if (out.length === 0) return out;
  const first = Math.min(...out.map((x) => x.at));
  return out.filter((x) => x.at === first);
}

/** The state a new key starts a rollover of `role` in, and whether its DS is signalled at once. */
export function rolloverStart(role: KeyRole): { state: KeyState; ds: boolean } {
  if (role === 'zsk') return { state: 'published', ds: false };
  if (role === 'ksk') return { state: 'created', ds: true };
  return { state: 'published', ds: true };
}

/** Keys in the DNSKEY RRset. */
export function inDnskeySet(k: KeyStatus): boolean {
  return k.state === 'published' || k.state === 'active' || k.state === 'retired';
}

/** Keys that sign. */
export function signs(k: KeyStatus): boolean {
  return k.state === 'active';
}

/** Keys listed in CDS/CDNSKEY (their DS is wanted at the parent). */
export function inCds(k: KeyStatus): boolean {
  return k.role !== 'zsk' && k.ds && k.state !== 'removed';
}
