/**
 * Past projections for point-in-time reads: the state at a seq, folded with `evolveAll` from the
 * nearest base at or before it (a recently computed state or the newest valid checkpoint, whichever
 * is closer), and kept in a small LRU so that reads of the same or nearby points cost little.
 * Runs in the point-in-time worker on a read-only connection; nothing here touches the live state.
 */
import type Database from 'better-sqlite3';
import { EventLog } from '../events/log.ts';
import { checkpointSeqAtOrBefore, loadCheckpoint } from './checkpoint.ts';
import { EMPTY_STATE, evolveAll, type LedgerState } from './state.ts';

/** How many past states are kept, and how many records they may hold together (memory bound). */
export interface PastStatesLimits {
  entries: number;
  records: number;
}

/** Defaults: a handful of points, and no more records than about two copies of a 1M-record zone. */
export const PAST_STATES_LIMITS: PastStatesLimits = { entries: 32, records: 2_000_000 };

/** What the last `stateAt` did, for tests and the worker's log. */
export interface FoldStats {
  /** Seq of the base the fold started from (0: the empty state). */
  base: number;
  from: 'cache' | 'checkpoint' | 'empty';
  /** Events folded on top of the base. */
  folded: number;
  /** Checkpoints refused on the way (edited or not matching the log). */
  rejected?: string[];
}

function recordCount(state: LedgerState): number {
  let n = 0;
  for (const z of state.zones.values()) n += z.records.size;
  return n;
}

/** Past states of one ledger database. */
export class PastStates {
  private readonly log: EventLog;
  /** seq -> state, least recently used first (Map keeps insertion order). */
  private readonly cache = new Map<number, { state: LedgerState; records: number }>();
  private cachedRecords = 0;
  last?: FoldStats;

  constructor(
    private readonly db: Database.Database,
    private readonly limits: PastStatesLimits = PAST_STATES_LIMITS,
  ) {
    this.log = new EventLog(db);
  }

  /** The projection after the event at `seq` (which must be in the log). */
  stateAt(seq: number): LedgerState {
    const hit = this.cache.get(seq);
    if (hit) {
      this.touch(seq, hit);
      this.last = { base: seq, from: 'cache', folded: 0 };
      return hit.state;
    }
    let base: LedgerState = EMPTY_STATE;
    let from: FoldStats['from'] = 'empty';
    let rejected: string[] | undefined;
    const cached = this.nearestCachedAtOrBefore(seq);
    const cpSeq = checkpointSeqAtOrBefore(this.db, seq) ?? 0;
    if (cached && cached.seq >= cpSeq) {
      base = cached;
      from = 'cache';
      this.touch(cached.seq, this.cache.get(cached.seq)!);
    } else {
      const cp = loadCheckpoint(this.db, seq);
      rejected = cp.rejected;
      if (cp.state) {
        base = cp.state;
        from = 'checkpoint';
        // Kept as a base too: random points near this checkpoint then skip decoding it again.
        this.remember(cp.state);
      }
      if (cached && cached.seq > base.seq) {
        base = cached;
        from = 'cache';
      }
    }
    const state = evolveAll(base, this.log.iterate(base.seq, seq));
    if (state.seq !== seq) throw new Error(`the log ends at seq ${state.seq}, before ${seq}`);
    this.remember(state);
    this.last = { base: base.seq, from, folded: seq - base.seq, ...(rejected ? { rejected } : {}) };
    return state;
  }

  private nearestCachedAtOrBefore(seq: number): LedgerState | undefined {
    let best: LedgerState | undefined;
    for (const { state } of this.cache.values()) {
      if (state.seq <= seq && (!best || state.seq > best.seq)) best = state;
    }
    return best;
  }

  private touch(seq: number, entry: { state: LedgerState; records: number }): void {
    this.cache.delete(seq);
    this.cache.set(seq, entry);
  }

  private remember(state: LedgerState): void {
    if (this.cache.has(state.seq)) return;
    const records = recordCount(state);
    if (records > this.limits.records) return; // larger than the whole budget: not kept
    this.cache.set(state.seq, { state, records });
    this.cachedRecords += records;
    for (const [seq, entry] of this.cache) {
      if (this.cache.size <= this.limits.entries && this.cachedRecords <= this.limits.records) break;
      this.cache.delete(seq);
      this.cachedRecords -= entry.records;
    }
  }
}
