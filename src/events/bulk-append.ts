/**
 * The bulk append worker: a worker thread that writes one large batch (an offline import of a
 * million records) into the log through its own connection, while the main thread folds the same
 * events into the projection and serializes its checkpoint. On a machine with two cores the SQLite
 * inserts and the hash chain (about half of such an import's CPU) then no longer add to its time.
 *
 * The batch is still one transaction: the worker opens it (BEGIN IMMEDIATE, the same version and
 * head checks as EventLog.append), writes the rows the main thread streams to it, and commits only
 * when the main thread says so, after its own part succeeded; any failure on either side rolls it
 * back, and a worker that dies takes its uncommitted transaction with it. The rows are written by
 * the same EventLog.batchRows as the single-threaded append, so the log holds the same bytes and
 * hashes either way (test/zonefile/import-worker.test.ts).
 *
 * Rows travel as one string per chunk (a single copy, not millions of cloned objects): per event its
 * type, payload JSON, record id, name and record type, each followed by a NUL. JSON never holds a
 * raw NUL; ids, names and types are checked for one (and for being empty, which stands for null).
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { EventBody, EventDraft, StoredEvent } from './types.ts';
import { VersionConflictError, type BatchHeader, type LogHead, type WriteSurface } from './log.ts';
import { McnsError } from '../errors.ts';

const ENTRY = fileURLToPath(new URL('./bulk-append-worker.mjs', import.meta.url));

/** Rows per chunk posted to the worker (about 1.5 MB of text for the realistic zone). */
export const BULK_CHUNK_ROWS = 16_384;

/** What opens the worker's batch. */
export interface BulkBegin {
  kind: 'begin';
  zones: string[];
  expectedVersion: number;
  /** The head the main thread decided after: the worker refuses the batch (conflict) when the log moved on. */
  head: LogHead;
  header: BatchHeader;
  actor: string;
  surface?: WriteSurface;
  /** The chain key the main thread's log already checked (keyed chains). */
  chainKey?: Uint8Array;
  /** Test hook: fail inside the worker's transaction after this many rows. */
  failAfterRows?: number;
  /** Page cache for the batch, KiB (as EventLog.withBigCache). */
  cacheKib: number;
}

/** Messages to the worker. */
export type BulkRequest = BulkBegin | { kind: 'rows'; zone: string; text: string } | { kind: 'commit' } | { kind: 'abort' };

/** Messages from the worker. */
export type BulkReply =
  | { kind: 'committed'; seq: number; hash: string }
  | { kind: 'aborted' }
  | { kind: 'failed'; message: string; code?: string; conflict?: { zone: string; expected: number; actual: number } };

/** The text of one nullable column: empty for null. */
function column(v: unknown, what: string): string {
  if (typeof v !== 'string') return '';
  if (v.length === 0 || v.includes('\u0000')) throw new McnsError('internal', `bulk append: ${what} ${JSON.stringify(v)} cannot be sent to the worker (empty or holding NUL)`);
  return v;
}

/** The chunk text of drafts[from, to) (see the module comment). */
export function encodeRows(drafts: readonly EventDraft[], from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) {
    const body = drafts[i].body;
    const p = body.payload as Record<string, unknown>;
    text += `${body.type}\u0000${JSON.stringify(p)}\u0000${column(p.id, 'record id')}\u0000${column(p.name, 'name')}\u0000${column(p.type, 'type')}\u0000`;
  }
  return text;
}

/**
 * The main thread's handle on one worker: started early (it loads its modules and opens its
 * connection while the main thread parses), then used for one batch at a time.
 */
export class BulkAppendWorker {
  private readonly worker: Worker;
  private pending?: { resolve: (r: BulkReply) => void; reject: (err: Error) => void };
  private dead?: Error;

  constructor(path: string) {
    this.worker = new Worker(ENTRY, { workerData: { path } });
    this.worker.on('message', (r: BulkReply) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(r);
    });
    const die = (err: Error): void => {
      this.dead ??= err;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(this.dead);
    };
    this.worker.on('error', (err) => die(new McnsError('internal', `bulk append worker failed: ${err.message}`)));
    this.worker.on('exit', (code) => die(new McnsError('internal', `bulk append worker exited (code ${code}) before the batch was committed; nothing was written`)));
  }

  /** The worker has not died (a dead one is replaced by the next bulk write). */
  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Open the batch (the worker's transaction); a conflict or any failure of the worker is reported by commit(). */
  begin(msg: Omit<BulkBegin, 'kind'>): void {
    this.post({ kind: 'begin', ...msg });
  }

  /** Send the rows of drafts[from, to), all of `zone`. */
  rows(zone: string, drafts: readonly EventDraft[], from: number, to: number): void {
    this.post({ kind: 'rows', zone, text: encodeRows(drafts, from, to) });
  }

  /** Commit the batch: resolves with the last event's seq and hash once it is durable; rejects (nothing written) on any failure. */
  async commit(): Promise<{ seq: number; hash: string }> {
    const r = await this.request({ kind: 'commit' });
    if (r.kind === 'committed') return { seq: r.seq, hash: r.hash };
    throw replyError(r);
  }

  /** Roll the batch back (after a failure on the main thread); resolves once the worker has. */
  async abort(): Promise<void> {
    if (this.dead) return;
    await this.request({ kind: 'abort' }).catch(() => undefined);
  }

  /** Stop the worker (an open transaction is rolled back with its connection). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  /** Kill the worker now (tests: a worker that dies in the middle of a batch). */
  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private post(msg: BulkRequest): void {
    if (this.dead) return;
    this.worker.postMessage(msg);
  }

  private request(msg: BulkRequest): Promise<BulkReply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg);
    });
  }
}

/**
 * An event of a batch the worker appended, as the main thread knows it: everything but its hash,
 * which the worker computed and the log holds; read from there when asked (nobody in the offline
 * import asks; keeping 1.5M hashes on this thread would cost ~100 MB). Its hash is a getter: an
 * object spread or JSON.stringify of the event leaves it out.
 */
export class BulkStoredEvent implements StoredEvent {
  constructor(
    readonly seq: number,
    readonly ts: number,
    readonly actor: string,
    readonly zone: string,
    readonly batchId: string,
    readonly version: number,
    readonly body: EventBody,
    private readonly hashAt: (seq: number) => string | undefined,
  ) {}

  get hash(): string {
    const h = this.hashAt(this.seq);
    if (h === undefined) throw new McnsError('internal', `event ${this.seq} is not in the log`);
    return h;
  }
}

function replyError(r: BulkReply): Error {
  if (r.kind === 'failed' && r.conflict) return new VersionConflictError(r.conflict.zone, r.conflict.expected, r.conflict.actual);
  if (r.kind === 'failed') return r.code ? new McnsError(r.code as McnsError['kind'], r.message) : new Error(r.message);
  return new McnsError('internal', `bulk append worker: unexpected reply ${r.kind}`);
}
