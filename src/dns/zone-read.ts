/**
 * A general-path answer in a big zone whose nodes below the apex are not read yet (a start that
 * left them to the background: DEFER_CHILDREN, src/projections/checkpoint.ts) waits for the read
 * instead of doing it at once. Done at once, the read of a 1,000,000-name zone holds the event
 * loop for ~3 s, and every query meanwhile, the serving index's too, waits with it; after a start
 * without the index image the first CNAME, MX or TXT question (a fifth of a realistic mix) did
 * that right after the bind. Here the read, and then the build of the apex's children map, run
 * back to back in slices of a few milliseconds, the index answering between them, and the
 * waiting questions are answered when they are done.
 */
import type { PMap } from '../projections/pmap.ts';
import { unreadBelow } from '../projections/checkpoint.ts';
import type { LedgerState } from '../projections/state.ts';
import { canonicalQueryName, findZone } from './zones.ts';

/** Milliseconds of reading per slice: long enough to finish in ~1.5x the read's CPU, short enough that index answers wait little. */
const READ_SLICE_MS = 4;

/** The read under way for each apex children map (a map once read is built in place: the same key). */
const reads = new WeakMap<PMap<unknown>, Promise<void>>();

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Undefined when the general path can answer `qnameKey` in `state` now without reading a zone;
 * else a promise that settles once the zone that holds it is read and its apex's children map
 * built (rejected with the read's error, which a first use would meet too).
 */
export function zoneReadFor(state: LedgerState, qnameKey: string): Promise<void> | undefined {
  const zone = findZone(state, canonicalQueryName(qnameKey));
  if (!zone) return undefined;
  const children = zone.tree.children as PMap<unknown>;
  const unread = unreadBelow(children);
  if (!unread && children.built) return undefined;
  let read = reads.get(children);
  if (!read) {
    read = (async () => {
      if (unread) await unread.readInSlices(nextTurn, READ_SLICE_MS);
      await children.buildInSlices(nextTurn);
    })();
    reads.set(children, read);
  }
  return read;
}
