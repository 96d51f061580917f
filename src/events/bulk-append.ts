/**
 * The bulk append worker: a worker thread that writes one large batch (an offline import of a
 * million records) into the log through its own connection, while the main thread folds the same
 * events into the projection and serializes its checkpoint. On a machine with two cores the SQLite
 * inserts and the hash chain (about half of such an import's CPU) then no longer add to its time.
 *
 * The batch is still one transaction: the worker opens it (BEGIN IMMEDIATE, the same version and
 * head checks as EventLog.append), writes the rows the main thread streams to it, and commits only
 * when the main thread says so, once it has folded the batch (it then serializes the checkpoint
 * while the worker commits); any failure before that, on either side, rolls it back, and a worker
 * that dies takes its uncommitted transaction with it. The checkpoint is stored after the commit. The rows are written by
 * the same EventLog.batchRows as the single-threaded append, so the log holds the same bytes and
 * hashes either way (test/zonefile/import-worker.test.ts).
 *
 * Rows travel as one buffer of UTF-8 per chunk (transferred, not millions of cloned objects): per
 * event its fields, each followed by a NUL (see encodeRows). JSON never holds a raw NUL; a NUL in another
 * field is caught by the worker, which checks that the chunk splits into as many fields as were sent.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { CURRENT_VERSION, type EventBody, type EventDraft, type StoredEvent } from './types.ts';
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
export type BulkRequest = BulkBegin | ({ kind: 'rows'; zone: string } & RowChunk) | { kind: 'commit' } | { kind: 'abort' };

/** Messages from the worker. */
export type BulkReply =
  | { kind: 'committed'; seq: number; hash: string; cpuMs: number; commitMs: number; idleMs: number }
  | { kind: 'aborted' }
  | { kind: 'failed'; message: string; code?: string; conflict?: { zone: string; expected: number; actual: number } };

/** The text of one nullable column: empty for null (an empty string is refused: it would read back as null). */
function column(v: unknown, what: string): string {
  if (typeof v !== 'string') return '';
  if (v.length === 0) throw new McnsError('internal', `bulk append: an empty ${what} cannot be sent to the worker`);
  return v;
}

/** The keys of a RecordCreated payload in the order decide builds it (and JSON.stringify writes it). */
const CREATED_KEYS = ['id', 'name', 'type', 'value', 'ttl'];

/** Whether `p` is a RecordCreated payload the worker can write as JSON itself: exactly CREATED_KEYS, in order, with strings and an integer TTL. */
function plainCreated(p: Record<string, unknown>): p is { id: string; name: string; type: string; value: string; ttl: number } {
  let i = 0;
  for (const k in p) if (k !== CREATED_KEYS[i++]) return false;
  return i === 5 && typeof p.id === 'string' && typeof p.name === 'string' && typeof p.type === 'string' && typeof p.value === 'string' && Number.isSafeInteger(p.ttl);
}

/** One chunk of rows as the worker receives it: its fields, each followed by a NUL, as UTF-8 bytes or (see encodeRows) as a string. */
export type RowChunk = { bytes: ArrayBuffer; text?: undefined; fields: number } | { text: string; bytes?: undefined; fields: number };

/**
 * The rows of drafts[from, to) (see the module comment): a RecordCreated event of the usual shape is
 * sent as its fields ("C", id, name, type, value, ttl), the worker writing the JSON JSON.stringify
 * would (createdJson: the same bytes); any other as its type, payload JSON, record id, name and
 * record type. Written row by row as UTF-8 into one buffer that is transferred, not copied: for a
 * million-record import this took 0.5 s where an array of fields joined into one string took 2.4 s
 * (the join, and the posted string's copy). A field that UTF-8 cannot carry exactly (a lone
 * surrogate, which the zone file reader never yields) sends the chunk as a string, as before.
 * A NUL inside a field would split it: the worker refuses a chunk that does not split into exactly
 * `fields` fields.
 */
export function encodeRows(drafts: readonly EventDraft[], from: number, to: number): RowChunk {
  let buf = Buffer.allocUnsafe(Math.max(4096, (to - from) * 128));
  let off = 0;
  let fields = 0;
  for (let i = from; i < to; i++) {
    const row = rowText(drafts[i]);
    if (!isWellFormed(row)) return encodeRowsAsText(drafts, from, to);
    // At most 3 UTF-8 bytes per UTF-16 unit (a pair of them, 4 bytes, is two units).
    if (off + row.length * 3 > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, off + row.length * 3));
      buf.copy(bigger, 0, 0, off);
      buf = bigger;
    }
    off += buf.write(row, off, 'utf8');
    fields += fieldsOf(row);
  }
  // A buffer of its own (allocUnsafe may hand out a slice of a shared pool), so that it can be transferred.
  const bytes = buf.byteOffset === 0 && buf.buffer.byteLength === off ? buf.buffer : buf.buffer.slice(buf.byteOffset, buf.byteOffset + off);
  return { bytes: bytes as ArrayBuffer, fields };
}

/** String.prototype.isWellFormed (in Node 20; not in this project's TypeScript lib, which stops before ES2024). */
function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

/** One draft's fields, each followed by a NUL. */
function rowText(draft: EventDraft): string {
  const body = draft.body;
  const p = body.payload as Record<string, unknown>;
  if (body.type === 'RecordCreated' && plainCreated(p)) return `C\u0000${p.id}\u0000${p.name}\u0000${p.type}\u0000${p.value}\u0000${p.ttl}\u0000`;
  return `${body.type}\u0000${JSON.stringify(p)}\u0000${column(p.id, 'record id')}\u0000${column(p.name, 'name')}\u0000${column(p.type, 'type')}\u0000`;
}

/** How many fields rowText wrote: six for "C" (no event type is one letter long), else five. */
function fieldsOf(row: string): number {
  return row.charCodeAt(1) === 0 ? 6 : 5;
}

/** encodeRows as one string (posted as a copy): for a chunk with a field UTF-8 cannot carry. */
function encodeRowsAsText(drafts: readonly EventDraft[], from: number, to: number): RowChunk {
  let text = '';
  let fields = 0;
  for (let i = from; i < to; i++) {
    const row = rowText(drafts[i]);
    text += row;
    fields += fieldsOf(row);
  }
  return { text, fields };
}

/** The payload JSON of a RecordCreated event sent as its fields: what JSON.stringify gives for {id, name, type, value, ttl}. */
export function createdJson(id: string, name: string, type: string, value: string, ttl: string): string {
  return `{"id":${JSON.stringify(id)},"name":${JSON.stringify(name)},"type":${JSON.stringify(type)},"value":${JSON.stringify(value)},"ttl":${ttl}}`;
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
    const chunk = encodeRows(drafts, from, to);
    if (chunk.bytes) this.post({ kind: 'rows', zone, ...chunk }, [chunk.bytes]);
    else this.post({ kind: 'rows', zone, ...chunk });
  }

  /** Commit the batch: resolves with the last event's seq and hash once it is durable; rejects (nothing written) on any failure. */
  async commit(): Promise<Omit<Extract<BulkReply, { kind: 'committed' }>, 'kind'>> {
    const r = await this.request({ kind: 'commit' });
    if (r.kind === 'committed') return { seq: r.seq, hash: r.hash, cpuMs: r.cpuMs, commitMs: r.commitMs, idleMs: r.idleMs };
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

  private post(msg: BulkRequest, transfer?: ArrayBuffer[]): void {
    if (this.dead) return;
    this.worker.postMessage(msg, transfer);
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
 * One batch opened in the bulk append worker, and the rows sent to it so far. Opened before the
 * batch is decided when it will be large (Ledger.executeInBulk): decide hands over its drafts as it
 * makes them (`offer`, its DecideContext.onDrafts), and every full chunk goes to the worker at once,
 * so that the worker inserts and hashes while the rest is decided. The drafts sent are kept (the
 * objects, not copies): the decision must begin with those very objects (`matches`), or the batch is
 * opened again (`restart`) and sent whole. Nothing is written before the commit either way.
 */
export class BulkRowStream {
  /** The drafts sent, in order. */
  private sent: EventDraft[] = [];
  /** A draft of another zone was offered: nothing more is sent, and the batch cannot be the worker's. */
  private otherZone = false;

  constructor(
    readonly worker: BulkAppendWorker,
    readonly begin: Omit<BulkBegin, 'kind'>,
    private readonly chunkRows: number,
  ) {
    worker.begin(begin);
  }

  /** The zone of the batch. */
  get zone(): string {
    return this.begin.zones[0];
  }

  /** How many drafts were sent. */
  get sentCount(): number {
    return this.sent.length;
  }

  /** Takes the batch's drafts so far (decide's onDrafts): sends each full chunk not sent yet. */
  readonly offer = (drafts: readonly EventDraft[]): void => {
    // Fewer than were sent: decide took drafts back; `matches` will say no, so nothing more is sent.
    while (!this.otherZone && drafts.length - this.sent.length >= this.chunkRows) this.send(drafts, this.sent.length + this.chunkRows);
  };

  /** Sends drafts[sentCount, to) (all of the batch's zone, else nothing and the stream stops). */
  private send(drafts: readonly EventDraft[], to: number): void {
    const from = this.sent.length;
    for (let i = from; i < to; i++) {
      if (drafts[i].zone !== this.zone) {
        this.otherZone = true;
        this.sent.length = from;
        return;
      }
      this.sent.push(drafts[i]);
    }
    this.worker.rows(this.zone, drafts, from, to);
  }

  /** Whether `drafts` begins with the drafts sent, the same objects, and none of another zone was offered. */
  matches(drafts: readonly EventDraft[]): boolean {
    if (this.otherZone || drafts.length < this.sent.length) return false;
    for (let i = 0; i < this.sent.length; i++) if (drafts[i] !== this.sent[i]) return false;
    return true;
  }

  /** Opens the batch again, empty (the worker rolls back what it had): the same head and header. */
  restart(): void {
    this.sent = [];
    this.otherZone = false;
    this.worker.begin(this.begin);
  }

  /** Sends the rest of `drafts` (which `matches`) in chunks; the drafts sent are let go (a million objects the fold's GCs need not mark). */
  finish(drafts: readonly EventDraft[]): void {
    while (this.sent.length < drafts.length) this.send(drafts, Math.min(drafts.length, this.sent.length + this.chunkRows));
    if (this.otherZone) throw new McnsError('internal', 'bulk append: a draft of another zone in the batch');
    this.sent = [];
  }
}

/** CPU milliseconds (user + system) the calling thread has used, from /proc (NaN where there is none). */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ
  } catch {
    return NaN;
  }
}

/** Where a bulk write's time went (Ledger.executeInBulk's onStats): each main-thread phase's wall and thread CPU ms, and the worker thread's. */
export interface BulkStats {
  phases: Array<{ phase: string; wallMs: number; cpuMs: number }>;
  workerCpuMs: number;
  /** The worker's COMMIT (with the chain MAC), wall ms. */
  workerCommitMs: number;
  /** How long the worker, its rows written, waited for the main thread's commit (about 0: it was still writing them when the main thread was done). */
  workerIdleMs: number;
  /** Rows sent to the worker while the batch was being decided (BulkRowStream), of `rows`. */
  rowsSentWhileDeciding: number;
  rows: number;
}

/** Times the phases of the main thread for BulkStats. */
export class PhaseTimer {
  readonly phases: BulkStats['phases'] = [];
  private wall = performance.now();
  private cpu = threadCpuMs();

  lap(phase: string): void {
    const wall = performance.now();
    const cpu = threadCpuMs();
    this.phases.push({ phase, wallMs: Math.round(wall - this.wall), cpuMs: Math.round(cpu - this.cpu) });
    this.wall = wall;
    this.cpu = cpu;
  }
}

/** What every event of a batch the worker appended shares (BulkStoredEvent). */
export interface BulkBatch {
  ts: number;
  actor: string;
  zone: string;
  batchId: string;
  /** The stored hash of an event (read from the log). */
  hashAt: (seq: number) => string | undefined;
}

/**
 * An event of a batch the worker appended, as the main thread knows it: its seq and body, the rest
 * from its batch; its hash, which the worker computed and the log holds, read from there when asked
 * (nobody in the offline import asks; keeping 1.5M hashes on this thread would cost ~100 MB). Two
 * fields and the batch's instead of eight per event: a million of them are made and folded. All but
 * seq and body are getters, which an object spread or JSON.stringify of the event leaves out.
 */
export class BulkStoredEvent implements StoredEvent {
  constructor(
    readonly seq: number,
    readonly body: EventBody,
    private readonly batch: BulkBatch,
  ) {}

  get ts(): number {
    return this.batch.ts;
  }

  get actor(): string {
    return this.batch.actor;
  }

  get zone(): string {
    return this.batch.zone;
  }

  get batchId(): string {
    return this.batch.batchId;
  }

  get version(): number {
    return CURRENT_VERSION[this.body.type];
  }

  get hash(): string {
    const h = this.batch.hashAt(this.seq);
    if (h === undefined) throw new McnsError('internal', `event ${this.seq} is not in the log`);
    return h;
  }
}

function replyError(r: BulkReply): Error {
  if (r.kind === 'failed' && r.conflict) return new VersionConflictError(r.conflict.zone, r.conflict.expected, r.conflict.actual);
  if (r.kind === 'failed') return r.code ? new McnsError(r.code as McnsError['kind'], r.message) : new Error(r.message);
  return new McnsError('internal', `bulk append worker: unexpected reply ${r.kind}`);
}
