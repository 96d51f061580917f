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
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { BehaviorSubject, scan, type Subscription } from 'rxjs';
import { EventLog, VersionConflictError, type WriteSurface } from './events/log.ts';
import { openDatabase } from './events/schema.ts';
import type { StoredEvent } from './events/types.ts';
import { McnsError, precondition } from './errors.ts';
import { decide, zoneName, type Command } from './projections/decide.ts';
import { EMPTY_STATE, evolveAll, type LedgerState, type ZoneState } from './projections/state.ts';
import { loadCheckpoint, saveCheckpoint, type CheckpointWritten } from './projections/checkpoint.ts';
import { PointInTimeReader } from './projections/point-in-time.ts';

/** How to open a ledger. */
export interface LedgerOptions {
  /** Path of the SQLite database (created when absent unless `create` is false). */
  path: string;
  create?: boolean;
  /** Injected clock in ms (serials and event timestamps); tests use it to move time. */
  clock?: () => number;
  /** Injected record-id generator. */
  newId?: () => string;
  /** Write a checkpoint after this many new events (0: only when asked). */
  checkpointEvery?: number;
  /**
   * Write those checkpoints in a worker thread instead of inline (the server: serializing a
   * million-record zone takes seconds that DNS must not wait for).
   */
  checkpointInBackground?: boolean;
  /** Also poll the database for other processes' appends every this many ms. */
  pollMs?: number;
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

/** A point in the log: a sequence number or a time (ms since the epoch). */
export type LogPoint = { seq: number } | { time: number };

/** A record id: 16 lowercase hex characters. */
export function randomRecordId(): string {
  return randomBytes(8).toString('hex');
}

/** The event log plus its live projection. */
export class Ledger {
  readonly db: Database.Database;
  readonly log: EventLog;
  /** The projection readers use; its value is swapped once per applied batch. */
  readonly state$: BehaviorSubject<LedgerState>;
  /** How start-up got its state: the checkpoint used (if any) and the tail replayed. */
  readonly startup: { checkpointSeq?: number; replayed: number; skipped?: string; rejected?: string[] };
  /** Point-in-time reads (`?at=`), answered by a worker thread so that DNS never waits for a replay. */
  readonly pointInTime: PointInTimeReader;
  private readonly onCheckpoint?: LedgerOptions['onCheckpoint'];
  private readonly clock: () => number;
  private readonly newId: () => string;
  private readonly checkpointEvery: number;
  private readonly checkpointInBackground: boolean;
  private lastCheckpointSeq: number;
  private backgroundCheckpoint?: Promise<number>;
  private readonly path: string;
  private readonly subscription: Subscription;

  private constructor(db: Database.Database, opts: LedgerOptions) {
    this.db = db;
    this.log = new EventLog(db);
    this.clock = opts.clock ?? Date.now;
    this.newId = opts.newId ?? randomRecordId;
    this.checkpointEvery = opts.checkpointEvery ?? 0;
    this.checkpointInBackground = opts.checkpointInBackground ?? false;
    this.path = opts.path;
    this.onCheckpoint = opts.onCheckpoint;
    this.pointInTime = new PointInTimeReader(opts.path, { onCheckpointRejected: (r) => opts.onCheckpointRejected?.(r, 'point-in-time read') });
    const cp = loadCheckpoint(db);
    if (cp.rejected) opts.onCheckpointRejected?.(cp.rejected, 'startup');
    const initial = cp.state ?? EMPTY_STATE;
    this.lastCheckpointSeq = cp.seq ?? 0;
    this.state$ = new BehaviorSubject(initial);
    this.subscription = this.log
      .follow(initial.seq, { pollMs: opts.pollMs })
      .pipe(scan((state: LedgerState, batch: StoredEvent[]) => evolveAll(state, batch), initial))
      .subscribe({ next: (s) => this.state$.next(s), error: (err) => this.state$.error(err) });
    this.startup = { checkpointSeq: cp.seq, replayed: this.state$.value.seq - initial.seq, skipped: cp.skipped, rejected: cp.rejected };
  }

  /** Open a ledger: load the newest valid checkpoint, then replay the tail of the log. */
  static open(opts: LedgerOptions): Ledger {
    return new Ledger(openDatabase(opts.path, { create: opts.create }), opts);
  }

  /** The current projection (what DNS answers from). */
  get state(): LedgerState {
    return this.state$.value;
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
      if (opts.ifMatch !== undefined) {
        const zone = zoneName(cmd.zone);
        const serial = state.zones.get(zone)?.serial;
        if (serial !== opts.ifMatch) {
          throw precondition(`zone ${zone} is at serial ${serial ?? 'none'}, not ${opts.ifMatch} (If-Match)`);
        }
      }
      const decision = decide(state, cmd, { now: this.clock(), newId: this.newId });
      if (decision.drafts.length === 0) return { serial: state.zones.get(decision.zone)?.serial, events: [] };
      let events: StoredEvent[];
      try {
        events = this.log.append(decision.drafts, { actor: opts.actor, expectedVersion: decision.expectedVersion, now: this.clock(), surface: opts.surface });
      } catch (err) {
        if (err instanceof VersionConflictError && attempt < 3) {
          this.refresh();
          continue;
        }
        throw err;
      }
      const last = events[events.length - 1];
      if (this.state.seq < last.seq) {
        throw new McnsError('internal', `projection did not apply seq ${last.seq} (at ${this.state.seq})`);
      }
      this.maybeCheckpoint();
      return {
        batchId: last.batchId,
        firstSeq: events[0].seq,
        lastSeq: last.seq,
        serial: this.state.zones.get(decision.zone)?.serial,
        events,
        notes: decision.notes,
      };
    }
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

  /** Write a checkpoint of the current projection now; returns its seq. */
  checkpoint(): number {
    const state = this.state;
    if (state.seq === 0) return 0;
    const head = this.db.prepare('SELECT hash FROM events WHERE seq = ?').get(state.seq) as { hash: string };
    const written = saveCheckpoint(this.db, state, head.hash);
    this.lastCheckpointSeq = state.seq;
    this.onCheckpoint?.({ ...written, background: false });
    return state.seq;
  }

  /**
   * Write a checkpoint from a worker thread (its own connection: newest checkpoint + tail, then
   * serialize). Resolves with its seq; one at a time, a call while one runs gets the running one.
   */
  checkpointBackground(): Promise<number> {
    this.backgroundCheckpoint ??= new Promise<number>((resolve, reject) => {
      const worker = new Worker(new URL('./projections/checkpoint-worker.mjs', import.meta.url), { workerData: { path: this.path } });
      let written: CheckpointWritten | undefined;
      worker.on('message', (m: CheckpointWritten) => {
        written = m;
      });
      worker.on('error', reject);
      worker.on('exit', (code) => {
        if (written !== undefined && code === 0) {
          if (written.seq > 0) this.onCheckpoint?.({ ...written, background: true });
          resolve(written.seq);
        } else reject(new McnsError('internal', `background checkpoint exited with code ${code}`));
      });
    }).finally(() => {
      this.backgroundCheckpoint = undefined;
    });
    return this.backgroundCheckpoint;
  }

  private maybeCheckpoint(): void {
    if (this.checkpointEvery <= 0 || this.state.seq - this.lastCheckpointSeq < this.checkpointEvery) return;
    if (!this.checkpointInBackground) {
      this.checkpoint();
      return;
    }
    if (this.backgroundCheckpoint) return;
    // Counted from now, so a failing worker is retried after another checkpointEvery events.
    this.lastCheckpointSeq = this.state.seq;
    this.checkpointBackground().catch(() => undefined);
  }

  /** Stop following the log and close the database. */
  close(): void {
    void this.pointInTime.close();
    this.subscription.unsubscribe();
    if (this.db.open) this.db.close();
  }
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
