/**
 * The ledger: the event log and its live projection, and the one write path every surface uses
 * (REST, gRPC, DNS UPDATE, import, restore, seeding).
 *
 * A write is decided against the current projection, appended in one SQLite transaction, and
 * returns only after the projection that DNS reads has applied it (read-your-writes). Appends are
 * delivered to the projection through an RxJS pipeline (`log.follow` -> `scan(evolve)`), so live
 * writes, other processes' writes and start-up replay all take the same path.
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { BehaviorSubject, filter, scan, type Observable, type Subscription } from 'rxjs';
import { batchHeader, bigBatchCacheKib, EventLog, VersionConflictError, type WriteSurface } from './events/log.ts';
import { BULK_CHUNK_ROWS, BulkAppendWorker, BulkRowStream, BulkStoredEvent, PhaseTimer, type BulkStats } from './events/bulk-append.ts';
import { GENESIS_HASH } from './events/hash.ts';
import { openDatabase } from './events/schema.ts';
import type { StoredEvent } from './events/types.ts';
import { McnsError, precondition } from './errors.ts';
import { decide, zoneName, type Command, type Decision } from './projections/decide.ts';
import { EMPTY_STATE, evolveAll, headsAfter, type LedgerState, type ZoneState } from './projections/state.ts';
import { bindCheckpoint, loadCheckpoint, saveCheckpoint, serializeStateSliced, storeCheckpoint, takeUnbuilt, type CheckpointWritten, type Unbuilt } from './projections/checkpoint.ts';
import type { PMap } from './projections/pmap.ts';
import { PointInTimeReader } from './projections/point-in-time.ts';

/** How to open a ledger. */
export interface LedgerOptions {
  /** Path of the SQLite database (created when absent unless `create` is false). */
  path: string;
  create?: boolean;
  /** Injected clock in ms (serials and event timestamps); tests use it to move time. */
  clock?: () => number;
  /** Injected record-id generator (default: a {@link recordIdSequence} per write). */
  newId?: () => string;
  /** Injected random part of batch ids (tests that compare two logs byte for byte). */
  batchIdSuffix?: () => string;
  /** executeInBulk: the batch size from which the bulk append worker writes it, and its rows per message (tests make both small). */
  bulk?: { workerEvents?: number; chunkRows?: number };
  /** Write a checkpoint after this many new events (0: only when asked). */
  checkpointEvery?: number;
  /**
   * Leave the log's tail unapplied at open when the checkpoint deferred a big zone (DEFER_CHILDREN)
   * and the tail is short (DEFER_TAIL_MAX events): the server, which serves the tail's end state
   * from the serving-index image meanwhile (servingState). The tail's hash chain is still checked at
   * open; it is applied by the first use of `state` or `state$`, or in slices by prepareRecordMaps.
   */
  deferTail?: boolean;
  /**
   * Write those checkpoints in the background instead of inline (the server: serializing a
   * million-record zone takes a second or two that DNS must not wait for): in slices of a few ms
   * between event-loop turns, compressed on the thread pool (see Ledger.checkpointBackground).
   */
  checkpointInBackground?: boolean;
  /** Also poll the database for other processes' appends every this many ms. */
  pollMs?: number;
  /** Up to this many records held, exit writes a checkpoint of any tail (default 100,000: a fraction of a second). */
  exitCheckpointRecords?: number;
  /** Told of every checkpoint written (its seq, the log's hash there, its digest): the server logs it. */
  onCheckpoint?: (written: CheckpointWritten & { background: boolean }) => void;
  /**
   * Told when a checkpoint is refused because it does not match the log or its digest (edited or
   * corrupted), at start-up or by a point-in-time read: the server logs it as an error.
   */
  onCheckpointRejected?: (reasons: string[], during: 'startup' | 'point-in-time read') => void;
}

/** What a write returns: the batch it appended (nothing when the command changed nothing). */
export interface WriteResult {
  batchId?: string;
  firstSeq?: number;
  lastSeq?: number;
  /** The zone's serial after the write (undefined when the zone no longer exists). */
  serial?: number;
  events: StoredEvent[];
  /** What the write did beyond what was asked (decide's Decision.notes: an RRset's TTL set with one record's). */
  notes?: string[];
}

/** Who writes, and the optional If-Match serial the caller decided against. */
export interface WriteOptions {
  actor: string;
  ifMatch?: number;
  /** Where the write came in (recorded beside the batch for the history). */
  surface?: WriteSurface;
}

/**
 * A command derived from the projection a write attempt decides against, called again on every
 * retry: what a write checks (DNS UPDATE prerequisites) then holds for the state it is appended
 * to. Throw to refuse (the error reaches the caller, nothing is written); undefined: nothing to write.
 */
export type CommandPlan = (state: LedgerState) => Command | undefined;

/** Test hooks of executeInBulk. */
export interface BulkTestHooks {
  /** Fail inside the worker's transaction after this many rows. */
  failAfterRows?: number;
  /** Told where a batch written by the worker spent its time (bench/import). */
  onStats?: (stats: BulkStats) => void;
  /** Called on this thread after the rows were sent and folded, before the commit is asked for (throw to fail there; or kill the worker). */
  beforeCommit?: (worker: BulkAppendWorker) => void | Promise<void>;
}

/** A point in the log: a sequence number or a time (ms since the epoch). */
export type LogPoint = { seq: number } | { time: number };

/** Random bytes drawn 8 KiB at a time: one system call per 2,048 draws, not one per id (an import makes millions). */
let idPool = Buffer.alloc(0);
let idPos = 0;

function randomUint32(): number {
  if (idPos + 4 > idPool.length) {
    idPool = randomBytes(8192);
    idPos = 0;
  }
  idPos += 4;
  return idPool.readUInt32LE(idPos - 4);
}

/** 8 bytes for the two halves of an id; written as hex in one call (a flat string, not a concatenation of two). */
const idBytes = Buffer.alloc(8);

function idHex(hi: number, lo: number): string {
  idBytes.writeUInt32BE(hi, 0);
  idBytes.writeUInt32BE(lo, 4);
  return idBytes.toString('hex');
}

/** A record id: 16 lowercase hex characters, random. */
export function randomRecordId(): string {
  return idHex(randomUint32(), randomUint32());
}

/**
 * The record ids of one write: 16 lowercase hex characters, the first one random and each next one
 * a random 1 to 2^20 above the one before. A million-record import then inserts its ids into the
 * log's (zone, record_id) index in ascending order, each next to the one before, instead of at a
 * random place in a B-tree of a million entries (a bare better-sqlite3 loop of the 1.57M rows of
 * the realistic import: 13.9 s of inserts with random ids, 8.7 s with ascending ones). Ids are opaque names, unique in their zone (decide checks); nothing reads
 * an order or a meaning into them.
 */
export function recordIdSequence(): () => string {
  let hi = randomUint32();
  let lo = randomUint32();
  let first = true;
  return () => {
    if (first) first = false;
    else {
      lo += 1 + (randomUint32() & 0xfffff);
      if (lo > 0xffffffff) {
        lo -= 0x100000000;
        hi = (hi + 1) >>> 0;
      }
    }
    return idHex(hi, lo);
  };
}

/** The event log plus its live projection. */
export class Ledger {
  readonly db: Database.Database;
  readonly log: EventLog;
  /**
   * The projection readers follow: the current state on subscribe, then one per applied batch. While
   * the tail waits (deferTail) it emits nothing: its first value is the state the tail ends at.
   */
  readonly state$: Observable<LedgerState>;
  /** The projection, or undefined while the tail waits (`pending`). */
  private readonly current: BehaviorSubject<LedgerState | undefined>;
  /**
   * The tail left unapplied at open (deferTail): its events (hash chain checked), how far a sliced
   * apply got (`state`, after `applied` events, in `ms`), and the stand-in the serving index is bound
   * to meanwhile: the seq and zone heads the tail ends at, the checkpoint's zones (see servingState).
   */
  private pending?: PendingTail;
  /** While the tail waits: looks for other processes' appends every LedgerOptions.pollMs. */
  private pendingPoll?: NodeJS.Timeout;
  /** Told, once, when a deferred tail has been applied: (the stand-in, the state it stood in for). */
  private readonly onSettled: Array<(standIn: LedgerState, settled: LedgerState) => void> = [];
  /** How start-up got its state: the checkpoint used (if any), the tail replayed, and how long each phase took. */
  readonly startup: StartupReport;
  /** Point-in-time reads (`?at=`), answered by a worker thread so that DNS never waits for a replay. */
  readonly pointInTime: PointInTimeReader;
  private readonly onCheckpoint?: LedgerOptions['onCheckpoint'];
  private readonly clock: () => number;
  private readonly newId?: () => string;
  private readonly batchIdSuffix?: () => string;
  private readonly bulkWorkerEvents: number;
  private readonly bulkChunkRows: number;
  private readonly checkpointEvery: number;
  private readonly checkpointInBackground: boolean;
  private readonly exitCheckpointRecords: number;
  private lastCheckpointSeq: number;
  private backgroundCheckpoint?: Promise<number>;
  /** Set to make a running background checkpoint finish without pausing (shutdown waits for it). */
  private hurry = false;
  /** Set at shutdown to stop a running routine background checkpoint at its next pause (its tail stays in the log). */
  private abandon = false;
  /** Set at shutdown: no new background checkpoint starts. */
  private stopping = false;
  /**
   * Last seq of the newest batch of BULK_EVENTS or more applied (an import, a restore, a large
   * batch, a burst another process appended, a long replay at start): while no checkpoint covers
   * it, one is due at once. Many small writes never make a bulk tail (they are due by checkpointDue).
   */
  private bulkSeq = 0;
  /**
   * What the loaded checkpoint left for first use: big zones' nodes below the apex still to be read,
   * and children maps to be built (prepareRecordMaps does both in slices; buildTrieMaps at once).
   */
  private unbuilt: Unbuilt = { children: [], deferred: [] };
  /**
   * The loaded checkpoint is of an earlier build and held a zone the load could have deferred
   * (Unbuilt.readWhole): once the start-up work is done (prepareRecordMaps), a background checkpoint
   * rewrites it, once.
   */
  private rewriteLayout = false;
  /** prepareRecordMaps while it runs (Preparation). */
  private preparing?: Preparation;
  private closed = false;
  /** The bulk append worker, once a bulk write (or prepareBulkAppend) started it. */
  private bulkWorker?: BulkAppendWorker;
  /** The projection executeInBulk folded for the batch it is publishing (the follow pipeline takes it as is). */
  private precomputed?: { batch: StoredEvent[]; from: LedgerState; state: LedgerState };
  private readonly checkpointWatch?: Subscription;
  private readonly path: string;
  private subscription?: Subscription;

  private constructor(db: Database.Database, opts: LedgerOptions) {
    this.db = db;
    this.log = new EventLog(db);
    this.clock = opts.clock ?? Date.now;
    this.newId = opts.newId;
    this.batchIdSuffix = opts.batchIdSuffix;
    this.bulkWorkerEvents = opts.bulk?.workerEvents ?? BULK_WORKER_EVENTS;
    this.bulkChunkRows = opts.bulk?.chunkRows ?? BULK_CHUNK_ROWS;
    this.checkpointEvery = opts.checkpointEvery ?? 0;
    this.checkpointInBackground = opts.checkpointInBackground ?? false;
    this.exitCheckpointRecords = opts.exitCheckpointRecords ?? EXIT_CHECKPOINT_RECORDS;
    this.path = opts.path;
    this.onCheckpoint = opts.onCheckpoint;
    this.pointInTime = new PointInTimeReader(opts.path, { onCheckpointRejected: (r) => opts.onCheckpointRejected?.(r, 'point-in-time read') });
    const t0 = performance.now();
    const cp = loadCheckpoint(db);
    if (cp.rejected) opts.onCheckpointRejected?.(cp.rejected, 'startup');
    const initial = cp.state ?? EMPTY_STATE;
    if (cp.state) this.unbuilt = takeUnbuilt(cp.state);
    this.lastCheckpointSeq = cp.seq ?? 0;
    const t1 = performance.now();
    const follow = { pollMs: opts.pollMs };
    const tail = opts.deferTail && this.unbuilt.deferred.length > 0 ? this.readShortTail(initial.seq) : undefined;
    if (tail && tail.length > 0) {
      const last = tail[tail.length - 1];
      this.pending = { events: tail, applied: 0, state: initial, ms: 0, standIn: { seq: last.seq, zones: initial.zones, heads: headsAfter(initial.heads, tail) }, follow };
      this.current = new BehaviorSubject<LedgerState | undefined>(undefined);
      // Another process's appends (what follow's polling would find) apply the tail, and then them.
      if (opts.pollMs) {
        const standIn = this.pending.standIn;
        this.pendingPoll = setInterval(() => {
          if (!this.db.open || this.log.head().seq === standIn.seq) return;
          try {
            this.settle();
          } catch {
            // (Not from a timer: the next use of `state` applies it again and meets the error itself.)
            clearInterval(this.pendingPoll);
          }
        }, opts.pollMs);
        this.pendingPoll.unref();
      }
    } else {
      this.current = new BehaviorSubject<LedgerState | undefined>(initial);
      // Subscribing replays the tail synchronously (follow's catch-up), so t2 - t1 is the tail replay.
      this.followFrom(initial, follow);
    }
    this.state$ = this.current.pipe(filter((s): s is LedgerState => s !== undefined));
    const t2 = performance.now();
    this.startup = {
      checkpointSeq: cp.seq,
      replayed: this.servingState.seq - initial.seq,
      skipped: cp.skipped,
      rejected: cp.rejected,
      phases: { checkpointLoadMs: Math.round(t1 - t0), tailReplayMs: this.pending ? 0 : Math.round(t2 - t1) },
      ...(this.pending ? { tailDeferred: true } : {}),
    };
    // Background checkpoints follow the projection itself, so appends by other processes (an
    // offline import on the live file) and large batches are checkpointed as well as this
    // process's own writes: the next start then never replays more than a bounded tail.
    if (this.checkpointInBackground) {
      this.checkpointWatch = this.state$.subscribe(() => this.maybeCheckpoint());
    }
  }

  /**
   * Follows the log from `from`: the catch-up replays what is newer at once (checking its hash
   * chain), then every append (this process's, and other processes' found by polling) is applied.
   */
  private followFrom(from: LedgerState, opts: { pollMs?: number }): void {
    this.subscription = this.log
      .follow(from.seq, opts)
      .pipe(
        scan((state: LedgerState, batch: StoredEvent[]) => {
          if (batch.length >= BULK_EVENTS) this.bulkSeq = batch[batch.length - 1].seq;
          // A batch the bulk append worker wrote was folded by executeInBulk already.
          const pre = this.precomputed;
          if (pre && pre.batch === batch && pre.from === state) return pre.state;
          return evolveAll(state, batch);
        }, from),
      )
      .subscribe({ next: (s) => this.current.next(s), error: (err) => this.current.error(err) });
  }

  /**
   * The log's events after `after` when there are at most DEFER_TAIL_MAX of them and none creates or
   * deletes a zone (the stand-in has the checkpoint's zone set), their hash chain checked as follow's
   * catch-up does (a ChainError here refuses the start as it would); else undefined.
   */
  private readShortTail(after: number): StoredEvent[] | undefined {
    const head = this.log.head().seq;
    if (head - after > DEFER_TAIL_MAX) return undefined;
    const anchor = this.log.hashAt(after);
    const chain = anchor === undefined ? undefined : { prev: anchor };
    const events: StoredEvent[] = [];
    for (;;) {
      const page = this.log.read(after, 10_000, chain);
      if (page.length === 0) return events;
      for (const e of page) {
        if (e.body.type === 'ZoneCreated' || e.body.type === 'ZoneDeleted') return undefined;
        events.push(e);
      }
      after = page[page.length - 1].seq;
    }
  }

  /** Open a ledger: load the newest valid checkpoint, then replay the tail of the log. */
  static open(opts: LedgerOptions): Ledger {
    return new Ledger(openDatabase(opts.path, { create: opts.create }), opts);
  }

  /** The current projection. While the tail waits (deferTail), applies it first, at once. */
  get state(): LedgerState {
    if (this.pending) this.settle();
    return this.current.value as LedgerState;
  }

  /**
   * What the DNS serving index is bound to: the current projection, or while the tail waits
   * (deferTail) a stand-in of the state it ends at, with that seq, that the index restored from the
   * image of that state is bound to. Only the seq, the zone names and the zone heads of the stand-in
   * are right (its zones' contents are the checkpoint's): nothing but the index's identity checks
   * and the served serials (the server's metrics) may read it.
   */
  get servingState(): LedgerState {
    return this.pending ? this.pending.standIn : (this.current.value as LedgerState);
  }

  /** True while the tail is left unapplied (deferTail): nothing has been written since the start. */
  get tailPending(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Told, once, when a deferred tail is applied, before anything sees the new state: (the stand-in
   * servingState gave until then, the state it stood in for). Nothing is told when none is pending.
   */
  whenSettled(fn: (standIn: LedgerState, settled: LedgerState) => void): void {
    if (this.pending) this.onSettled.push(fn);
  }

  /**
   * Applies the deferred tail now (what slices applied so far is kept), publishes the state it ends
   * at and starts following the log from there. Nothing to do when none is pending. `beforeServing`:
   * the caller applies it before it serves anything (the server without a usable image), so the
   * start-up report says it was replayed at open, as without deferTail.
   */
  settle(beforeServing = false): void {
    const p = this.pending;
    if (!p) return;
    if (beforeServing) delete this.startup.tailDeferred;
    applyPending(p, p.events.length);
    this.publishSettled(p);
  }

  /** Publishes the state a pending tail was applied to (all of it), then follows the log from there. */
  private publishSettled(p: PendingTail): void {
    const settled = p.state;
    if (settled.seq !== p.standIn.seq) throw new McnsError('internal', `deferred tail ended at seq ${settled.seq}, not ${p.standIn.seq}`);
    this.pending = undefined;
    clearInterval(this.pendingPoll);
    // As follow's catch-up would have: a long tail is checkpointed at once (maybeCheckpoint).
    if (p.events.length >= BULK_EVENTS) this.bulkSeq = settled.seq;
    this.startup.phases.tailReplayMs = Math.round(p.ms);
    for (const fn of this.onSettled.splice(0)) fn(p.standIn, settled);
    this.current.next(settled);
    if (!this.closed) this.followFrom(settled, p.follow);
  }

  /** A zone of the current projection. */
  zone(name: string): ZoneState | undefined {
    return this.state.zones.get(name);
  }

  /** Apply any events other processes appended since the projection last looked. */
  refresh(): void {
    this.log.poke();
  }

  /**
   * Decide, append and apply one command. Throws McnsError (nothing written) when a rule refuses it,
   * 412 when `ifMatch` is not the zone's serial. A concurrent append by another process is retried,
   * decided again against the newer state; a {@link CommandPlan} is derived again too, so a write
   * whose command depends on what it read (DNS UPDATE) never lands on a state it did not check.
   */
  execute(cmdOrPlan: Command | CommandPlan, opts: WriteOptions): WriteResult {
    for (let attempt = 0; ; attempt++) {
      const state = this.state;
      const cmd = typeof cmdOrPlan === 'function' ? cmdOrPlan(state) : cmdOrPlan;
      if (cmd === undefined) return { events: [] };
      this.checkIfMatch(state, cmd, opts.ifMatch);
      const decision = decide(state, cmd, { now: this.clock(), newId: this.newId ?? recordIdSequence() });
      if (decision.drafts.length === 0) return { serial: state.zones.get(decision.zone)?.serial, events: [] };
      let events: StoredEvent[];
      try {
        events = this.log.append(decision.drafts, { actor: opts.actor, expectedVersion: decision.expectedVersion, now: this.clock(), surface: opts.surface, batchIdSuffix: this.batchIdSuffix });
      } catch (err) {
        if (err instanceof VersionConflictError && attempt < 3) {
          this.refresh();
          continue;
        }
        throw err;
      }
      return this.afterAppend(decision, events);
    }
  }

  /** A batch appended on this thread is applied: checkpointed when it is bulk, returned. */
  private afterAppend(decision: Decision, events: StoredEvent[]): WriteResult {
    this.checkApplied(events);
    if (events.length >= BULK_EVENTS && !this.checkpointInBackground) {
      // A bulk write (import, restore, a large batch) by a ledger without background checkpoints
      // (the offline CLI, tests): checkpoint it now, so the next start does not replay it.
      this.checkpoint();
    } else if (!this.checkpointWatch) this.maybeCheckpoint();
    return this.written(decision, events);
  }

  /**
   * {@link execute} for a command that may write a very large batch (the offline import): a batch
   * of BULK_WORKER_EVENTS or more is appended by the bulk append worker thread (bulk-append.ts)
   * while this thread folds the same events into the projection and then serializes its checkpoint;
   * smaller ones are appended here as usual. The same rows and hashes either way, and the batch is
   * one transaction: the worker commits once this thread has folded the batch, and a failure before
   * that on either side (or a worker that dies) leaves the log as it was. The checkpoint is written
   * after the commit, as a single-threaded append's is (a failure to serialize it, after the commit,
   * leaves the batch in the log and the projection, as a failing checkpoint does there).
   */
  async executeInBulk(cmd: Command, opts: WriteOptions & BulkTestHooks): Promise<WriteResult> {
    for (let attempt = 0; ; attempt++) {
      const state = this.state;
      this.checkIfMatch(state, cmd, opts.ifMatch);
      const timer = new PhaseTimer();
      const now = this.clock();
      let stream: BulkRowStream | undefined;
      try {
        // A large import into a zone without records: its batch is opened in the worker before it
        // is decided, and its drafts go to the worker as decide makes them (BulkRowStream), so the
        // worker inserts and hashes them while the rest is decided instead of after.
        if (this.streamsToWorker(state, cmd)) {
          const zone = zoneName(cmd.zone);
          stream = this.openInWorker(zone, state.heads.get(zone)?.seq ?? 0, opts, (cmd as { records: unknown[] }).records.length + 3);
        }
        const decision = decide(state, cmd, { now, newId: this.newId ?? recordIdSequence(), onDrafts: stream?.offer });
        timer.lap('decide');
        // (A database in memory is this connection's alone: a worker could not write into it.)
        const here = decision.drafts.length < this.bulkWorkerEvents || decision.drafts.some((d) => d.zone !== decision.zone) || this.db.memory;
        if (here) {
          let appendNow = this.clock;
          let batchIdSuffix = this.batchIdSuffix;
          if (stream) {
            // Opened for nothing (the batch is small after all): appended here with the header drawn for it, as it would have been.
            await stream.worker.abort();
            const { ts, batchId } = stream.begin.header;
            stream = undefined;
            appendNow = () => ts;
            batchIdSuffix = () => batchId.slice(batchId.indexOf('-') + 1);
          }
          if (decision.drafts.length === 0) return { serial: state.zones.get(decision.zone)?.serial, events: [] };
          const events = this.log.append(decision.drafts, { actor: opts.actor, expectedVersion: decision.expectedVersion, now: appendNow(), surface: opts.surface, failAfterRows: opts.failAfterRows, batchIdSuffix });
          return this.afterAppend(decision, events);
        }
        // The bulk creates gave up after some of their drafts were sent: the batch is sent again, whole.
        if (stream && !stream.matches(decision.drafts)) stream.restart();
        stream ??= this.openInWorker(decision.zone, decision.expectedVersion, opts, decision.drafts.length);
        return await this.appendInWorker(state, decision, stream, opts, timer);
      } catch (err) {
        // Whatever failed, a batch still open in the worker is rolled back (after its commit: nothing to do).
        await stream?.worker.abort();
        if (err instanceof VersionConflictError && attempt < 3) {
          this.refresh();
          continue;
        }
        throw err;
      }
    }
  }

  /** A command executeInBulk streams to the worker while deciding it: an import of many records into a zone that has none. */
  private streamsToWorker(state: LedgerState, cmd: Command): boolean {
    if (cmd.kind !== 'importZone' || cmd.records.length < this.bulkWorkerEvents || this.db.memory) return false;
    let zone: string;
    try {
      zone = zoneName(cmd.zone);
    } catch {
      return false; // (decide says why)
    }
    const existing = state.zones.get(zone);
    return existing === undefined || existing.records.size === 0;
  }

  /** Start the bulk append worker now (it loads and opens its connection while the caller parses its input). */
  prepareBulkAppend(): void {
    if (!this.bulkWorker?.alive) this.bulkWorker = new BulkAppendWorker(this.path);
  }

  /**
   * Open a batch of about `events` events of `zone` in the bulk append worker, after the log's head.
   * The head is read outside a transaction, to number the events and fold them here; the worker
   * checks the versions and the head again inside its own (a conflict then: decided again).
   */
  private openInWorker(zone: string, expectedVersion: number, opts: WriteOptions & BulkTestHooks, events: number): BulkRowStream {
    this.prepareBulkAppend();
    const head = this.log.beginBatch([zone], expectedVersion);
    const header = batchHeader(head, this.clock(), this.batchIdSuffix);
    const begin = {
      zones: [zone],
      expectedVersion,
      head,
      header,
      actor: opts.actor,
      surface: opts.surface,
      chainKey: this.log.chainKeyInUse,
      failAfterRows: opts.failAfterRows,
      cacheKib: bigBatchCacheKib(events),
    };
    return new BulkRowStream(this.bulkWorker!, begin, this.bulkChunkRows);
  }

  private async appendInWorker(state: LedgerState, decision: Decision, stream: BulkRowStream, opts: WriteOptions & BulkTestHooks, timer: PhaseTimer): Promise<WriteResult> {
    const worker = stream.worker;
    const { drafts, zone } = decision;
    const { head, header } = stream.begin;
    const events = new Array<StoredEvent>(drafts.length);
    let next: LedgerState;
    let blob: Buffer | undefined;
    const rowsSentWhileDeciding = stream.sentCount;
    try {
      stream.finish(drafts);
      const batch = { ts: header.ts, actor: opts.actor, zone, batchId: header.batchId, hashAt: (seq: number): string | undefined => this.log.hashAt(seq) };
      for (let i = 0; i < drafts.length; i++) events[i] = new BulkStoredEvent(head.seq + 1 + i, drafts[i].body, batch);
      timer.lap('send rows');
      next = evolveAll(state, events);
      timer.lap('fold');
      await opts.beforeCommit?.(worker);
    } catch (err) {
      await worker.abort();
      throw err;
    }
    // The rows are written and the batch folds: the worker commits (its fsync and the WAL
    // checkpoint, seconds for a million rows) while this thread serializes the checkpoint.
    const commit = worker.commit();
    commit.catch(() => undefined); // (awaited below; a rejection meanwhile is not unhandled)
    let failed: { err: unknown } | undefined;
    try {
      // The checkpoint's digest covers the head hash, which the worker knows once it has written the
      // last row: serialized now with a stand-in, its digest is made again after the commit. (Sliced
      // without pauses: the blocks are compressed on libuv's thread pool, off this thread.)
      if (drafts.length >= BULK_EVENTS && !this.checkpointInBackground) blob = await serializeStateSliced(next, GENESIS_HASH, () => Promise.resolve());
    } catch (err) {
      failed = { err };
    }
    timer.lap('serialize checkpoint');
    const committed = await commit;
    timer.lap('wait for the worker to commit');
    if (blob) bindCheckpoint(blob, committed.hash);
    this.precomputed = { batch: events, from: state, state: next };
    try {
      this.log.publish(events);
    } finally {
      this.precomputed = undefined;
    }
    this.checkApplied(events);
    // Like a checkpoint failing after a single-threaded append: the batch is in the log and the projection.
    if (failed) throw failed.err;
    if (blob) {
      const written = storeCheckpoint(this.db, next.seq, committed.hash, blob);
      this.lastCheckpointSeq = Math.max(this.lastCheckpointSeq, next.seq);
      this.onCheckpoint?.({ ...written, background: false });
    } else if (!this.checkpointWatch) this.maybeCheckpoint();
    timer.lap('publish, store checkpoint');
    opts.onStats?.({ phases: timer.phases, workerCpuMs: committed.cpuMs, workerCommitMs: committed.commitMs, workerIdleMs: committed.idleMs, rowsSentWhileDeciding, rows: drafts.length });
    return this.written(decision, events);
  }

  private checkIfMatch(state: LedgerState, cmd: Command, ifMatch: number | undefined): void {
    if (ifMatch === undefined) return;
    const zone = zoneName(cmd.zone);
    const serial = state.zones.get(zone)?.serial;
    if (serial !== ifMatch) throw precondition(`zone ${zone} is at serial ${serial ?? 'none'}, not ${ifMatch} (If-Match)`);
  }

  /** The projection must have applied the batch before a write returns (read-your-writes). */
  private checkApplied(events: StoredEvent[]): void {
    const last = events[events.length - 1];
    if (this.state.seq < last.seq) throw new McnsError('internal', `projection did not apply seq ${last.seq} (at ${this.state.seq})`);
  }

  private written(decision: Decision, events: StoredEvent[]): WriteResult {
    const last = events[events.length - 1];
    return { batchId: last.batchId, firstSeq: events[0].seq, lastSeq: last.seq, serial: this.state.zones.get(decision.zone)?.serial, events, notes: decision.notes };
  }

  /** The projection as it was at a point of the log (newest checkpoint at or before it + replay). */
  stateAt(point: LogPoint): LedgerState {
    const seq = this.log.seqAt(point);
    const current = this.state;
    if (seq >= current.seq) return current;
    const cp = loadCheckpoint(this.db, seq);
    const base = cp.state ?? EMPTY_STATE;
    return evolveAll(base, this.log.iterate(base.seq, seq));
  }

  /**
   * Does what the checkpoint load left for first use, in slices of a millisecond or two with `pause`
   * between them, so that the first write after a start does not hold the event loop for the seconds
   * it takes at once: reads the big zones' nodes below the apex (DeferredChildren), then builds the
   * large children maps and the records-by-id maps (PMap.lazyFromArrays). Stops when the ledger
   * closes; a write or read meanwhile does what it needs at once, unless it first waits for this
   * (recordMapsReady: the API's and UPDATE's do). `holdMs`: the first slice waits this long, unless a
   * caller waits for it first (or the ledger closes). Resolves with the milliseconds
   * spent reading deferred zones (by this or by whatever needed them first; undefined: there were none)
   * and those it was held back.
   */
  async prepareRecordMaps(pause: () => Promise<void>, holdMs = 0): Promise<{ zonesReadMs: number | undefined; heldMs: number }> {
    const closed = new Error('ledger closed');
    const step = (): Promise<void> => (this.closed ? Promise.reject(closed) : pause());
    const left = this.unbuilt;
    const { deferred, readWhole } = left;
    this.unbuilt = { children: [], deferred: [] };
    let finished = (): void => undefined;
    let heldMs = 0;
    const preparing: Preparation = { done: new Promise<void>((resolve) => (finished = resolve)), wanted: false };
    this.preparing = preparing;
    try {
      const holding = performance.now();
      if (holdMs > 0) await holdUnlessWoken(preparing, holdMs);
      heldMs = performance.now() - holding;
      // The zones first (every write walks the trie; one read meanwhile, or by buildTrieMaps, is
      // done at once), then the largest children maps (a map a write or read built meanwhile is
      // skipped at once), then the records maps of the zones as they are now (a tail of creates
      // replaced the loaded ones by maps that are still unbuilt: addNew).
      for (const zone of deferred) await zone.readInSlices(step);
      for (const map of childrenMaps(left)) await map.buildInSlices(step);
      for (const zone of [...this.servingState.zones.values()]) await zone.records.buildInSlices(step);
      // The deferred tail last, into the maps just built (deferTail), a few events at a time.
      const p = this.pending;
      while (p && this.pending === p && p.applied < p.events.length) {
        applyPending(p, Math.min(p.events.length, p.applied + TAIL_SLICE_EVENTS));
        await step();
      }
      if (p && this.pending === p) this.publishSettled(p);
    } catch (err) {
      if (err !== closed) throw err;
    } finally {
      // Whoever waits goes on, after an error too: what is left, its first use does at once.
      this.preparing = undefined;
      finished();
    }
    if (readWhole) {
      this.rewriteLayout = true;
      this.maybeCheckpoint();
    }
    return { zonesReadMs: deferred.length > 0 ? Math.round(deferred.reduce((ms, z) => ms + z.ms, 0)) : undefined, heldMs };
  }

  /**
   * Whether a caller waits for prepareRecordMaps (recordMapsReady): its pause should then go on at
   * the next turn of the event loop, busy or not, instead of waiting for DNS to be idle. True too
   * once the ledger is closed, so that a pause waiting for idle turns ends and the preparation stops.
   */
  get recordMapsWanted(): boolean {
    return this.closed || (this.preparing?.wanted ?? false);
  }

  /**
   * For a write or an API read about to use the projection: undefined when prepareRecordMaps is not
   * running (nothing was left, it is done, or it has not started: the caller does what it needs at
   * once, as any first use does); else the promise of its end, and from now on it runs at full pace
   * (recordMapsWanted), a slice a turn with DNS answering between them. So the first write after a
   * restart from the serving-index image waits a few seconds for the big zones' read instead of
   * doing it at once, which would hold every DNS query for as long.
   */
  recordMapsReady(): Promise<void> | undefined {
    if (!this.preparing) return undefined;
    this.preparing.wanted = true;
    // Still held back (prepareRecordMaps' holdMs): it starts now.
    this.preparing.wake?.();
    return this.preparing.done;
  }

  /**
   * Reads now the big zones the checkpoint load deferred, and builds the large children maps it left
   * for first use (not the records-by-id maps), for a caller about to walk the whole trie at once.
   * (The server no longer calls it on a start without the serving-index image: the index's first
   * pass scans a deferred zone's bytes instead, ServingIndex scanBelow.) prepareRecordMaps then
   * finds them done, and reports the time of the read.
   */
  buildTrieMaps(): void {
    for (const zone of this.unbuilt.deferred) zone.finish();
    for (const map of childrenMaps(this.unbuilt)) map.get('');
  }

  /** Write a checkpoint of the current projection now; returns its seq. */
  checkpoint(): number {
    const state = this.state;
    if (state.seq === 0) return 0;
    const written = saveCheckpoint(this.db, state, this.hashAt(state.seq));
    this.lastCheckpointSeq = Math.max(this.lastCheckpointSeq, state.seq);
    this.onCheckpoint?.({ ...written, background: false });
    return state.seq;
  }

  /** Seq of the newest checkpoint this process wrote or loaded. */
  get checkpointSeq(): number {
    return this.lastCheckpointSeq;
  }

  private hashAt(seq: number): string {
    return (this.db.prepare('SELECT hash FROM events WHERE seq = ?').get(seq) as { hash: string }).hash;
  }

  /**
   * Write a checkpoint of the current projection in the background: the projection is immutable, so
   * it is serialized in slices of a few milliseconds between event-loop turns (DNS and the API keep
   * answering) while newer versions are published, and its blocks are compressed on libuv's thread
   * pool; only the final row insert is one synchronous step. No second copy of the state is built
   * (a worker thread would have to load one: twice the memory of a large zone). Resolves with its
   * seq (0 for an empty log, or when the ledger closed first); one at a time, a call while one runs
   * gets the running one.
   */
  checkpointBackground(): Promise<number> {
    this.backgroundCheckpoint ??= (async () => {
      const state = this.state;
      if (state.seq === 0 || this.closed) return 0;
      const headHash = this.hashAt(state.seq);
      const pause = (): Promise<void> => (this.abandon ? Promise.reject(ABANDONED) : this.hurry ? Promise.resolve() : new Promise((res) => setImmediate(res)));
      const blob = await serializeStateSliced(state, headHash, pause);
      if (this.closed || this.abandon) return 0;
      const written = storeCheckpoint(this.db, state.seq, headHash, blob);
      this.lastCheckpointSeq = Math.max(this.lastCheckpointSeq, state.seq);
      this.onCheckpoint?.({ ...written, background: true });
      return state.seq;
    })().finally(() => {
      this.backgroundCheckpoint = undefined;
      // Writes that came in while it ran may already make the next one due.
      if (!this.closed && !this.stopping && this.checkpointWatch) this.maybeCheckpoint();
    });
    return this.backgroundCheckpoint;
  }

  /**
   * Events after the newest checkpoint that make the next one due: `checkpointEvery`, or one per
   * hundred records held when that is more, so that a zone of a million records is not re-serialized
   * every few seconds under a steady write load (its tail stays under 1% of its size: well under a
   * second of replay at start-up).
   */
  private get checkpointDue(): number {
    let records = 0;
    this.state.zones.forEach((z) => {
      records += z.records.size;
    });
    return Math.max(this.checkpointEvery, Math.floor(records / 100));
  }

  /** Events applied since the newest checkpoint (the tail the next start would replay); a deferred tail counts. */
  get tail(): number {
    return this.servingState.seq - this.lastCheckpointSeq;
  }

  /** A bulk batch (BULK_EVENTS or more in one) was applied after the newest checkpoint. */
  private get bulkTail(): boolean {
    return this.bulkSeq > this.lastCheckpointSeq;
  }

  private maybeCheckpoint(): void {
    if (this.closed || this.stopping) return;
    // A bulk tail is checkpointed whatever the interval; otherwise every checkpointEvery events (0: never).
    // (Counted by batch, not by tail length: 10,000 events of small writes on a large zone are not
    // bulk, and checkpointing them so would re-serialize a 1M-record zone every 25 s of writes.)
    const bulk = (this.bulkTail || this.rewriteLayout) && this.checkpointInBackground;
    if (!bulk && (this.checkpointEvery <= 0 || this.tail < this.checkpointEvery || this.tail < this.checkpointDue)) return;
    if (!this.checkpointInBackground) {
      this.checkpoint();
      return;
    }
    if (this.backgroundCheckpoint) return;
    // (Tried once: a failure is logged, and the next checkpoint due rewrites the layout anyway.)
    this.rewriteLayout = false;
    this.checkpointBackground().catch((err: Error) => {
      if (err === ABANDONED) return;
      // Counted from now, so a failing checkpoint is retried only after another round of events.
      this.lastCheckpointSeq = this.state.seq;
      this.onCheckpointFailed?.(err);
    });
  }

  /** Told when a background checkpoint fails (the server logs it); the next one is tried later. */
  onCheckpointFailed?: (err: Error) => void;

  /**
   * The checkpoint at shutdown. Exit must not take longer because the zone is large. Small zones (up
   * to `exitCheckpointRecords` records) get their tail checkpointed: a fraction of a second. On a
   * large zone, a tail of ordinary writes is left to the log, where it is durable and replays at the
   * next start in well under a second (it is at most about one checkpoint interval, max(checkpoint_every,
   * records/100) events, plus what arrived while the last background checkpoint ran); a background
   * checkpoint running for such a tail is abandoned at its next pause rather than finished, since
   * finishing it re-serializes the whole zone (3-9 s of CPU for a 1M-record zone, which took the first
   * exit after a write burst to 5-9 s). Only a bulk tail (an import, a restore, a large batch: a
   * replay of seconds) is checkpointed at exit, by finishing the running checkpoint without pauses
   * or by writing one. Returns what was done, for the log line.
   */
  async checkpointOnExit(): Promise<{ action: 'current' | 'written' | 'finished-background' | 'left-tail'; seq: number; tail: number }> {
    this.stopping = true;
    // A tail still deferred: nothing was written since the start, and the log holds it as it did then.
    if (this.pending) return { action: 'left-tail', seq: this.lastCheckpointSeq, tail: this.tail };
    let records = 0;
    this.state.zones.forEach((z) => {
      records += z.records.size;
    });
    const small = records <= this.exitCheckpointRecords;
    if (this.backgroundCheckpoint) {
      if (small || this.bulkTail) this.hurry = true;
      else this.abandon = true;
      const seq = await this.backgroundCheckpoint.catch(() => 0);
      this.abandon = false;
      if (this.tail === 0) return { action: 'finished-background', seq, tail: 0 };
    }
    if (this.state.seq === 0 || this.tail === 0) return { action: 'current', seq: this.lastCheckpointSeq, tail: 0 };
    // A tail many intervals long (background checkpoints failing) would make a long replay: written too.
    if (small || this.bulkTail || this.tail >= 4 * this.checkpointDue) return { action: 'written', seq: this.checkpoint(), tail: 0 };
    return { action: 'left-tail', seq: this.lastCheckpointSeq, tail: this.tail };
  }

  /** Stop following the log and close the database. */
  close(): void {
    this.closed = true;
    // A preparation still held back goes on now, and stops at its first pause (closed).
    this.preparing?.wake?.();
    void this.bulkWorker?.close();
    void this.pointInTime.close();
    this.checkpointWatch?.unsubscribe();
    this.subscription?.unsubscribe();
    clearInterval(this.pendingPoll);
    if (this.db.open) this.db.close();
  }
}

/**
 * A batch (or a tail) of this many events is checkpointed right away, whatever checkpoint_every
 * says: replaying it would take longer than writing the checkpoint (about a second per 100,000).
 */
const BULK_EVENTS = 10_000;

/**
 * executeInBulk hands a batch of this many events to the bulk append worker (smaller ones are not
 * worth a thread's start-up: ~0.3 s to load its modules).
 */
const BULK_WORKER_EVENTS = 50_000;

/** A tail left unapplied at open (LedgerOptions.deferTail): see Ledger.pending. */
interface PendingTail {
  events: StoredEvent[];
  /** Events applied so far, into `state`, in `ms`. */
  applied: number;
  state: LedgerState;
  ms: number;
  standIn: LedgerState;
  follow: { pollMs?: number };
}

/** Applies the pending tail's events up to index `end` (exclusive) to its state, timed. */
function applyPending(p: PendingTail, end: number): void {
  if (end <= p.applied) return;
  const t0 = performance.now();
  p.state = evolveAll(p.state, p.applied === 0 && end === p.events.length ? p.events : p.events.slice(p.applied, end));
  p.applied = end;
  p.ms += performance.now() - t0;
}

/**
 * A tail of up to this many events may be deferred (deferTail): held in memory until applied
 * (~0.5 KB each), and applied at a first use in a few seconds at most. A longer one (a crash before
 * a bulk batch's checkpoint) is replayed at open.
 */
const DEFER_TAIL_MAX = 100_000;

/**
 * prepareRecordMaps while it runs: when it ends (`done`), whether a caller waits for it (`wanted`,
 * recordMapsReady: its pause then stops waiting for idle turns, see recordMapsWanted), and, while
 * its start is held back (holdMs), what ends the hold at once (`wake`).
 */
interface Preparation {
  done: Promise<void>;
  wanted: boolean;
  wake?: () => void;
}

/** Waits `ms`, or less: `p.wake()` (a caller waits for the preparation, or the ledger closes) ends it at once. */
function holdUnlessWoken(p: Preparation, ms: number): Promise<void> {
  if (p.wanted) return Promise.resolve();
  return new Promise((resolve) => {
    const end = (): void => {
      clearTimeout(timer);
      p.wake = undefined;
      resolve();
    };
    const timer = setTimeout(end, ms);
    p.wake = end;
  });
}

/** Events of a deferred tail applied per slice in the background (prepareRecordMaps). */
const TAIL_SLICE_EVENTS = 32;

/** The rejection that stops a background checkpoint abandoned at shutdown (not a failure: nothing is logged). */
const ABANDONED = new Error('background checkpoint abandoned at shutdown');

/** Up to this many records, exit writes a checkpoint of any tail (a fraction of a second). */
const EXIT_CHECKPOINT_RECORDS = 100_000;

/** Start-up phases, for `mcns status` and the metrics. */
export interface StartupReport {
  checkpointSeq?: number;
  replayed: number;
  skipped?: string;
  rejected?: string[];
  /** Milliseconds of each phase: loading the checkpoint, replaying the tail (the server adds the serving index build). */
  /**
   * Milliseconds of each phase. zonesReadMs: reading the big zones' nodes below the apex, which the
   * checkpoint load defers (DEFER_CHILDREN): after DNS binds, in the background (prepareRecordMaps),
   * or at once by a first use (a write, an API read, a general-path query); set once done.
   */
  phases: { checkpointLoadMs: number; tailReplayMs: number; indexBuildMs?: number; indexImageMs?: number; warmUpMs?: number; zonesReadMs?: number };
  /**
   * The tail (`replayed` events) was left unapplied at open (LedgerOptions.deferTail): tailReplayMs
   * is 0 until it has been applied, in the background or by a first use, and then its time.
   */
  tailDeferred?: boolean;
}

/**
 * The children maps a load left unbuilt: its own, and those below the deferred zones' apexes (found
 * as each is read: ask once they are).
 */
function childrenMaps(unbuilt: Unbuilt): ReadonlyArray<PMap<unknown>> {
  return [...unbuilt.children, ...unbuilt.deferred.flatMap((z) => z.unbuilt)];
}

/** Parse a user's point in time: a sequence number ("1234") or an RFC 3339 time. */
export function parseLogPoint(text: string, field = 'at'): LogPoint {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { seq: Number(t) };
  const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/;
  const ms = Date.parse(t);
  if (!rfc3339.test(t) || Number.isNaN(ms)) {
    throw new McnsError('invalid', `must be a sequence number or an RFC 3339 time (e.g. 2026-01-31T12:00:00Z), got "${text}"`, field);
  }
  return { time: ms };
}
