/**
 * The event log: append a batch in one transaction with optimistic concurrency, read ranges, and
 * follow the log as an observable that delivers every event once, in order, without gaps.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { Observable, Subject } from 'rxjs';
import { CURRENT_VERSION, type EventDraft, type StoredEvent } from './types.ts';
import { upcast } from './upcast.ts';
import { eventHash, GENESIS_HASH } from './hash.ts';
import { McnsError } from '../errors.ts';

/** A row of the events table as stored. */
export interface EventRow {
  seq: number;
  ts: number;
  actor: string;
  zone: string;
  type: string;
  version: number;
  payload: string;
  batch_id: string;
  record_id: string | null;
  name: string | null;
  rtype: string | null;
  hash: string;
}

/** What an append needs besides the drafts. */
export interface AppendOptions {
  actor: string;
  /** Seq of the zone's last event the batch was decided against (0: the zone never had one). */
  expectedVersion: number;
  /** Injected clock (ms); defaults to Date.now. */
  now?: number;
  /** Injected failure point for tests: throw after writing this many rows, inside the transaction. */
  failAfterRows?: number;
}

/** Raised when the zone moved on between decide and append; nothing was written. */
export class VersionConflictError extends McnsError {
  constructor(zone: string, expected: number, actual: number) {
    super('precondition', `zone ${zone} changed while this write was decided (expected version ${expected}, found ${actual})`);
  }
}

/** Turn a stored row into an event, upcasting its payload. */
export function rowToEvent(row: EventRow): StoredEvent {
  let payload: unknown;
  try {
    payload = JSON.parse(row.payload);
  } catch {
    throw new McnsError('internal', `event ${row.seq}: payload is not JSON`);
  }
  return {
    seq: row.seq,
    ts: row.ts,
    actor: row.actor,
    zone: row.zone,
    batchId: row.batch_id,
    version: row.version,
    body: upcast(row.type, row.version, payload),
    hash: row.hash,
  };
}

/** The append-only log over one SQLite database. */
export class EventLog {
  readonly db: Database.Database;
  private readonly appended = new Subject<StoredEvent[]>();
  /** Fires when someone knows the database may hold events this process has not seen. */
  private readonly poked = new Subject<void>();
  private readonly stmts;

  constructor(db: Database.Database) {
    this.db = db;
    this.stmts = {
      head: db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1'),
      zoneHead: db.prepare('SELECT max(seq) AS seq FROM events WHERE zone = ?'),
      insert: db.prepare(
        `INSERT INTO events (seq, ts, actor, zone, type, version, payload, batch_id, record_id, name, rtype, hash)
         VALUES (@seq, @ts, @actor, @zone, @type, @version, @payload, @batch_id, @record_id, @name, @rtype, @hash)`,
      ),
      after: db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      range: db.prepare('SELECT * FROM events WHERE seq > ? AND seq <= ? ORDER BY seq'),
      seqAtTime: db.prepare('SELECT max(seq) AS seq FROM events WHERE ts <= ?'),
    };
  }

  /** Sequence number and hash of the newest event (0 and the genesis hash for an empty log). */
  head(): { seq: number; hash: string } {
    const row = this.stmts.head.get() as { seq: number; hash: string } | undefined;
    return row ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Seq of the newest event of a zone, 0 when it has none. */
  zoneVersion(zone: string): number {
    const row = this.stmts.zoneHead.get(zone) as { seq: number | null };
    return row.seq ?? 0;
  }

  /**
   * Append one batch atomically. Refuses (VersionConflictError, nothing written) when the zone's
   * newest event is not `expectedVersion`. Publishes the stored events to followers after commit.
   */
  append(drafts: readonly EventDraft[], opts: AppendOptions): StoredEvent[] {
    if (drafts.length === 0) return [];
    const zones = new Set(drafts.map((d) => d.zone));
    const ts = opts.now ?? Date.now();
    const batchId = randomUUID();
    const write = this.db.transaction((): StoredEvent[] => {
      for (const zone of zones) {
        const actual = this.zoneVersion(zone);
        if (actual !== opts.expectedVersion) throw new VersionConflictError(zone, opts.expectedVersion, actual);
      }
      let { seq, hash } = this.head();
      const out: StoredEvent[] = [];
      for (const [i, d] of drafts.entries()) {
        if (opts.failAfterRows !== undefined && i >= opts.failAfterRows) {
          throw new Error(`injected failure after ${i} rows`);
        }
        seq += 1;
        const payload = d.body.payload as Record<string, unknown>;
        const cols = {
          seq,
          ts,
          actor: opts.actor,
          zone: d.zone,
          type: d.body.type,
          version: CURRENT_VERSION[d.body.type],
          payload: JSON.stringify(payload),
          batch_id: batchId,
        };
        hash = eventHash(hash, cols);
        this.stmts.insert.run({
          ...cols,
          record_id: typeof payload.id === 'string' ? payload.id : null,
          name: typeof payload.name === 'string' ? payload.name : null,
          rtype: typeof payload.type === 'string' ? payload.type : null,
          hash,
        });
        out.push({ seq, ts, actor: opts.actor, zone: d.zone, batchId, version: cols.version, body: d.body, hash });
      }
      return out;
    });
    const stored = write.immediate();
    this.appended.next(stored);
    return stored;
  }

  /** Make every follower read the database now (after another process may have appended). */
  poke(): void {
    this.poked.next();
  }

  /** Up to `limit` events with seq > `after`, oldest first. */
  read(after: number, limit = 1000): StoredEvent[] {
    return (this.stmts.after.all(after, limit) as EventRow[]).map(rowToEvent);
  }

  /** Stored rows with seq > `after`, oldest first, streamed (for replay and verify of large logs). */
  *iterateRows(after = 0, until = Number.MAX_SAFE_INTEGER): IterableIterator<EventRow> {
    yield* this.stmts.range.iterate(after, until) as IterableIterator<EventRow>;
  }

  /** Events with seq in (after, until], streamed and upcast. */
  *iterate(after = 0, until = Number.MAX_SAFE_INTEGER): IterableIterator<StoredEvent> {
    for (const row of this.iterateRows(after, until)) yield rowToEvent(row);
  }

  /** Every event up to a sequence number, or up to a time (ms since the epoch), inclusive. */
  readUntil(until: { seq: number } | { time: number }): StoredEvent[] {
    return [...this.iterate(0, this.seqAt(until))];
  }

  /** The newest seq at or before a point: a sequence number as is, a time as the last event written by then. */
  seqAt(until: { seq: number } | { time: number }): number {
    if ('seq' in until) return until.seq;
    const row = this.stmts.seqAtTime.get(until.time) as { seq: number | null };
    return row.seq ?? 0;
  }

  /**
   * Follow the log from `after`: emits batches of events in order, each event exactly once, with no
   * gaps. Catches up from the database first, then follows appends made through this log object;
   * `pollMs` also picks up appends by other processes (DNS followers in other processes use it).
   */
  follow(after: number, opts: { pollMs?: number; pageSize?: number } = {}): Observable<StoredEvent[]> {
    return new Observable<StoredEvent[]>((subscriber) => {
      let last = after;
      const pageSize = opts.pageSize ?? 10000;
      const drain = (): void => {
        for (;;) {
          const page = this.read(last, pageSize);
          if (page.length === 0) return;
          last = page[page.length - 1].seq;
          subscriber.next(page);
          if (page.length < pageSize) return;
        }
      };
      const sub = this.appended.subscribe((batch) => {
        if (subscriber.closed) return;
        try {
          // A batch that starts right after what we delivered is passed on as is; anything else
          // (a gap from another process's appends) is read back from the database in order.
          if (batch[0].seq === last + 1) {
            last = batch[batch.length - 1].seq;
            subscriber.next(batch);
          } else if (batch[batch.length - 1].seq > last) {
            drain();
          }
        } catch (err) {
          subscriber.error(err);
        }
      });
      const pokes = this.poked.subscribe(() => {
        try {
          drain();
        } catch (err) {
          subscriber.error(err);
        }
      });
      try {
        drain();
      } catch (err) {
        subscriber.error(err);
      }
      const timer = opts.pollMs
        ? setInterval(() => {
            try {
              drain();
            } catch (err) {
              subscriber.error(err);
            }
          }, opts.pollMs)
        : undefined;
      timer?.unref();
      return () => {
        sub.unsubscribe();
        pokes.unsubscribe();
        if (timer) clearInterval(timer);
      };
    });
  }
}
