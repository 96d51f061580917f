/**
 * The event log: append a batch in one transaction with optimistic concurrency, read ranges, and
 * follow the log as an observable that delivers every event once, in order, without gaps.
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { Observable, Subject } from 'rxjs';
import { CURRENT_VERSION, type EventDraft, type EventType, type StoredEvent } from './types.ts';
import { upcast } from './upcast.ts';
import { batchEventHasher, ChainError, eventHash, GENESIS_HASH, type HashedColumns } from './hash.ts';
import { adoptOrCheckChainMacs, chainMac, type ChainMacCheck } from './chain-key.ts';
import { McnsError } from '../errors.ts';

/** A row of the events table as stored: the hashed columns, the derived ones, and the hash. */
export interface EventRow extends HashedColumns {
  record_id: string | null;
  name: string | null;
  rtype: string | null;
  hash: string;
}

/** Where a write came in: the REST or gRPC API, DNS UPDATE, the offline CLI, or MCNS itself (the dev seed). */
export type WriteSurface = 'rest' | 'grpc' | 'update' | 'cli' | 'system';

/** What an append needs besides the drafts. */
export interface AppendOptions {
  actor: string;
  /** Seq of the zone's last event the batch was decided against (0: the zone never had one). */
  expectedVersion: number;
  /** Injected clock (ms); defaults to Date.now. */
  now?: number;
  /** The surface the batch came through (rest, grpc, update, cli, ...), recorded beside it for the history. */
  surface?: WriteSurface;
  /** Injected failure point for tests: throw after writing this many rows, inside the transaction. */
  failAfterRows?: number;
  /** Injected random part of the batch id (tests that compare two logs byte for byte). */
  batchIdSuffix?: () => string;
}

/** Raised when the zone moved on between decide and append; nothing was written. */
export class VersionConflictError extends McnsError {
  constructor(
    readonly zone: string,
    readonly expected: number,
    readonly actual: number,
  ) {
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

/**
 * The seq range (first, last) of a batch, or undefined when no such batch exists. Ids written by
 * this build start with their first seq (batches are contiguous in seq); older (UUID) ids are
 * found by a scan.
 */
export function findBatch(db: Database.Database, batchId: string): { first: number; last: number } | undefined {
  const m = /^(\d+)-/.exec(batchId);
  let first: number | undefined;
  if (m) {
    const row = db.prepare('SELECT seq FROM events WHERE seq = ? AND batch_id = ?').get(Number(m[1]), batchId) as { seq: number } | undefined;
    first = row?.seq;
  } else {
    first = (db.prepare('SELECT min(seq) AS seq FROM events WHERE batch_id = ?').get(batchId) as { seq: number | null }).seq ?? undefined;
  }
  if (first === undefined) return undefined;
  const next = db.prepare('SELECT seq FROM events WHERE seq > ? AND batch_id != ? ORDER BY seq LIMIT 1').get(first, batchId) as { seq: number } | undefined;
  const last = next ? next.seq - 1 : (db.prepare('SELECT max(seq) AS seq FROM events').get() as { seq: number }).seq;
  return { first, last };
}

/** A batch of at least this many events is appended with a page cache sized for it (see withBigCache). */
const BIG_BATCH_EVENTS = 20_000;

/** The newest event of the log (seq 0, the genesis hash and ts 0 for an empty log). */
export interface LogHead {
  seq: number;
  hash: string;
  ts: number;
}

/** What every event of a batch shares besides the actor: its timestamp and its id. */
export interface BatchHeader {
  ts: number;
  batchId: string;
}

/**
 * A batch's timestamp and id after `head`. Timestamps never go backwards along the log, even when
 * the clock does: "the log at time T" is then a prefix, found by binary search (seqAt). The id is
 * "<first seq>-<random>": batches are contiguous in seq, so the id itself says where its events
 * are (history by batch needs no index), and the random part keeps ids unique.
 */
export function batchHeader(head: LogHead, now: number = Date.now(), idSuffix: () => string = randomBatchSuffix): BatchHeader {
  return { ts: Math.max(now, head.ts), batchId: `${head.seq + 1}-${idSuffix()}` };
}

/** The random part of a batch id: 8 hex characters. */
export function randomBatchSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** The rows of one batch being written (EventLog.batchRows): seq and hash are the last row's. */
export interface BatchRows {
  seq: number;
  hash: string;
  readonly ts: number;
  readonly batchId: string;
  write(zone: string, type: EventType, payloadJson: string, recordId: string | null, name: string | null, rtype: string | null): void;
  end(): void;
}

/** The page cache a batch of `events` is appended with (KiB): about 400 bytes of table and index pages per event, at most 512 MiB. */
export function bigBatchCacheKib(events: number): number {
  return Math.min(512 * 1024, Math.ceil((events * 400) / 1024));
}

/** The append-only log over one SQLite database. */
export class EventLog {
  readonly db: Database.Database;
  private readonly appended = new Subject<StoredEvent[]>();
  /** Fires when someone knows the database may hold events this process has not seen. */
  private readonly poked = new Subject<void>();
  private readonly stmts;
  private readonly appendTx;
  /** The chain key once useChainKey accepted it: every batch appended then gets a MAC of its last event. */
  private chainKey?: Buffer;
  private macInsert?: Database.Statement;

  constructor(db: Database.Database) {
    this.db = db;
    this.stmts = {
      head: db.prepare('SELECT seq, hash, ts FROM events ORDER BY seq DESC LIMIT 1'),
      tsOf: db.prepare('SELECT ts FROM events WHERE seq = ?').pluck(),
      zoneHead: db.prepare('SELECT max(seq) AS seq FROM events WHERE zone = ?'),
      // Positional parameters: binding by name costs more, and this runs for every event written.
      insert: db.prepare(
        `INSERT INTO events (seq, ts, actor, zone, type, version, payload, batch_id, record_id, name, rtype, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // Arrays rather than row objects: this statement feeds start-up replay, a million rows.
      after: db.prepare('SELECT seq, ts, actor, zone, type, version, payload, batch_id, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?').raw(true),
      range: db.prepare('SELECT * FROM events WHERE seq > ? AND seq <= ? ORDER BY seq'),
      surfaceInsert: db.prepare('INSERT INTO batch_surfaces (batch_id, surface) VALUES (?, ?)'),
    };
    this.appendTx = this.compileAppend();
  }

  /** Sequence number and hash of the newest event (0 and the genesis hash for an empty log). */
  head(): { seq: number; hash: string } {
    const row = this.stmts.head.get() as { seq: number; hash: string } | undefined;
    return row ? { seq: row.seq, hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  /**
   * Key the chain from now on (`[database] chain_key_file`): check the MACs already in the log from
   * `fromSeq` on (or adopt a log that has none), and MAC the last event of every batch appended
   * after. When the check fails nothing changes and the caller must refuse to serve.
   */
  useChainKey(key: Buffer, fromSeq = 0): ChainMacCheck {
    const check = adoptOrCheckChainMacs(this.db, key, fromSeq);
    if (check.ok) {
      this.chainKey = key;
      this.macInsert = this.db.prepare('INSERT INTO chain_macs (seq, mac) VALUES (?, ?)');
    }
    return check;
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
    const stored = drafts.length >= BIG_BATCH_EVENTS ? this.withBigCache(drafts.length, () => this.appendTx.immediate(drafts, opts)) : this.appendTx.immediate(drafts, opts);
    this.appended.next(stored);
    return stored;
  }

  /**
   * Run a large append with a page cache sized for it: with SQLite's default 2 MB the pages of a
   * million-row batch (and of its record-id index, whose inserts land all over it) are spilled to
   * the WAL and read back many times over; a cache that holds the batch writes each page once
   * (15-20% less CPU for a million-record import). The cache only grows as pages are used, and
   * is set back afterwards.
   */
  private withBigCache<T>(events: number, fn: () => T): T {
    const before = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma(`cache_size = -${bigBatchCacheKib(events)}`);
    try {
      return fn();
    } finally {
      this.db.pragma(`cache_size = ${before}`);
    }
  }

  /** Make every follower read the database now (after another process may have appended). */
  poke(): void {
    this.poked.next();
  }

  /** The body of `append`, inside one IMMEDIATE transaction (compiled once: it runs per write). */
  private compileAppend() {
    return this.db.transaction((drafts: readonly EventDraft[], opts: AppendOptions): StoredEvent[] => {
      const head = this.beginBatch(new Set(drafts.map((d) => d.zone)), opts.expectedVersion);
      const rows = this.batchRows(head, batchHeader(head, opts.now, opts.batchIdSuffix), opts);
      const out = new Array<StoredEvent>(drafts.length);
      for (let i = 0; i < drafts.length; i++) {
        const d = drafts[i];
        const type = d.body.type;
        const payload = d.body.payload as Record<string, unknown>;
        rows.write(
          d.zone,
          type,
          JSON.stringify(payload),
          typeof payload.id === 'string' ? payload.id : null,
          typeof payload.name === 'string' ? payload.name : null,
          typeof payload.type === 'string' ? payload.type : null,
        );
        out[i] = { seq: rows.seq, ts: rows.ts, actor: opts.actor, zone: d.zone, batchId: rows.batchId, version: CURRENT_VERSION[type], body: d.body, hash: rows.hash };
      }
      rows.end();
      return out;
    });
  }

  /**
   * The first step of a batch, inside its transaction: refuses (VersionConflictError) when a zone's
   * newest event is not `expectedVersion`; returns the log's head.
   */
  beginBatch(zones: Iterable<string>, expectedVersion: number): LogHead {
    for (const zone of zones) {
      const actual = this.zoneVersion(zone);
      if (actual !== expectedVersion) throw new VersionConflictError(zone, expectedVersion, actual);
    }
    const head = this.stmts.head.get() as LogHead | undefined;
    return head ?? { seq: 0, hash: GENESIS_HASH, ts: 0 };
  }

  /**
   * Writes the rows of one batch after `head`, inside its transaction (the single-threaded append
   * and the bulk append worker both write through it, so their rows and hashes are the same bytes):
   * each row's seq, its link in the hash chain, its insert; `end` adds the batch's chain MAC.
   */
  batchRows(head: LogHead, header: BatchHeader, opts: { actor: string; surface?: WriteSurface; failAfterRows?: number }): BatchRows {
    if (opts.surface) this.stmts.surfaceInsert.run(header.batchId, opts.surface);
    // The hashed columns every event of the batch shares are encoded once (eventHash's bytes).
    const hashNext = batchEventHasher(header.ts, opts.actor, header.batchId);
    const insert = this.stmts.insert;
    const { ts, batchId } = header;
    const actor = opts.actor;
    const failAfter = opts.failAfterRows ?? Infinity;
    const first = head.seq + 1;
    const rows: BatchRows = {
      seq: head.seq,
      hash: head.hash,
      ts,
      batchId,
      write: (zone, type, payloadJson, recordId, name, rtype) => {
        if (rows.seq - first + 1 >= failAfter) throw new Error(`injected failure after ${rows.seq - first + 1} rows`);
        const seq = rows.seq + 1;
        const version = CURRENT_VERSION[type];
        const hash = hashNext(rows.hash, seq, zone, type, version, payloadJson);
        insert.run(seq, ts, actor, zone, type, version, payloadJson, batchId, recordId, name, rtype, hash);
        rows.seq = seq;
        rows.hash = hash;
      },
      end: () => {
        // One MAC per batch: the last event's hash covers the batch and everything before it.
        if (this.chainKey && this.macInsert) this.macInsert.run(rows.seq, chainMac(this.chainKey, rows.seq, rows.hash));
      },
    };
    return rows;
  }

  /** The chain key this log MACs its batches with (for a bulk append worker's own connection), if any. */
  get chainKeyInUse(): Buffer | undefined {
    return this.chainKey;
  }

  /** Use a chain key another connection of this process already checked (a bulk append worker's). */
  useCheckedChainKey(key: Buffer): void {
    this.chainKey = key;
    this.macInsert = this.db.prepare('INSERT INTO chain_macs (seq, mac) VALUES (?, ?)');
  }

  /** Deliver a batch appended through another connection of this process (the bulk append worker) to followers, after its commit. */
  publish(stored: StoredEvent[]): void {
    if (stored.length > 0) this.appended.next(stored);
  }

  /**
   * Up to `limit` events with seq > `after`, oldest first. With `chain` (the hash of event `after`),
   * each event's hash is recomputed from its stored bytes and must follow on from the previous one
   * (ChainError otherwise); `chain.prev` then holds the last event's hash.
   */
  read(after: number, limit = 1000, chain?: { prev: string }): StoredEvent[] {
    const rows = this.stmts.after.all(after, limit) as Array<[number, number, string, string, string, number, string, string, string]>;
    const out = new Array<StoredEvent>(rows.length);
    let expected = after + 1;
    for (let i = 0; i < rows.length; i++) {
      const [seq, ts, actor, zone, type, version, payload, batch_id, hash] = rows[i];
      const row = { seq, ts, actor, zone, type, version, payload, batch_id, hash, record_id: null, name: null, rtype: null };
      if (chain) {
        if (seq !== expected) throw new ChainError(seq, `sequence gap: expected ${expected}, found ${seq}`);
        if (eventHash(chain.prev, row) !== hash) throw new ChainError(seq, "the event's stored bytes do not hash to its stored hash, or it does not follow on from the event before it");
        chain.prev = hash;
        expected = seq + 1;
      }
      out[i] = rowToEvent(row);
    }
    return out;
  }

  /** The stored hash of event `seq` (the genesis hash for 0), or undefined when the log has no such event. */
  hashAt(seq: number): string | undefined {
    if (seq === 0) return GENESIS_HASH;
    return (this.db.prepare('SELECT hash FROM events WHERE seq = ?').get(seq) as { hash: string } | undefined)?.hash;
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
    // Binary search: seqs have no gaps and their timestamps never decrease (see append).
    let lo = 0;
    let hi = this.head().seq;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((this.stmts.tsOf.get(mid) as number) <= until.time) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Follow the log from `after`: emits batches of events in order, each event exactly once, with no
   * gaps. Catches up from the database first, then follows appends made through this log object;
   * `pollMs` also picks up appends by other processes (DNS followers in other processes use it).
   *
   * The catch-up (start-up's replay of the tail after a checkpoint) checks the hash chain of every
   * event it reads, from the stored hash of event `after` on, and errors with a ChainError naming
   * the first event that does not hash to itself: a tail edited in the file is never served. (Later
   * reads are not checked: an error there would stop a serving process; `mcns verify` covers them.)
   */
  follow(after: number, opts: { pollMs?: number; pageSize?: number } = {}): Observable<StoredEvent[]> {
    return new Observable<StoredEvent[]>((subscriber) => {
      let last = after;
      const pageSize = opts.pageSize ?? 10000;
      // Anchored at the event the caller starts after; none when that event is not in the log (nothing to chain from).
      const anchor = this.hashAt(after);
      let chain: { prev: string } | undefined = anchor === undefined ? undefined : { prev: anchor };
      const drain = (): void => {
        for (;;) {
          const page = this.read(last, pageSize, chain);
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
      chain = undefined;
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
