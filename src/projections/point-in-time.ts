/**
 * Point-in-time reads off the main thread. The main thread answers DNS; replaying the log to a past
 * point takes as long as the events it folds, so `?at=` reads are sent to one worker thread (started
 * on the first read) that opens the database read-only, folds from the nearest checkpoint or
 * recently computed state (PastStates), and sends back only the API answer. Requests queue in the
 * worker in order; more than `maxPending` at once are refused (503) rather than queued without end.
 */
import { Worker } from 'node:worker_threads';
import { ERROR_KINDS, McnsError, type ErrorKind } from '../errors.ts';
import type { AtAnswer, AtQuery } from '../api/at-answers.ts';
import type { FoldStats } from './past-states.ts';

/** A request to the worker. */
export interface PointRequest {
  id: number;
  seq: number;
  query: AtQuery;
}

/** The worker's reply: the answer and how it was computed, or the error. */
export interface PointResponse {
  id: number;
  answer?: AtAnswer;
  stats?: FoldStats;
  error?: { message: string; kind?: string; field?: string };
}

/** Options of the reader. */
export interface PointInTimeOptions {
  /** Reads in flight at once before more are refused with 503 (default 64). */
  maxPending?: number;
  /** Told when the worker passes over checkpoints that do not match the log or their digest. */
  onCheckpointRejected?: (reasons: string[]) => void;
}

interface Pending {
  resolve: (r: PointResponse) => void;
  reject: (err: Error) => void;
}

/** The main thread's side of point-in-time reads of one ledger database. */
export class PointInTimeReader {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly maxPending: number;
  /** How the newest answer was computed (tests and benchmarks look at it). */
  lastStats?: FoldStats;

  constructor(
    private readonly path: string,
    private readonly opts: PointInTimeOptions = {},
  ) {
    this.maxPending = opts.maxPending ?? 64;
  }

  /** Answer `query` from the projection as it was after the event at `seq` (which must exist). */
  async read<Q extends AtQuery>(seq: number, query: Q): Promise<AtAnswer<Q['kind']>> {
    if (this.pending.size >= this.maxPending) {
      throw new McnsError('unavailable', `${this.pending.size} point-in-time reads are already in progress; retry later`, 'at');
    }
    const worker = this.start();
    const id = this.nextId++;
    const res = await new Promise<PointResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Referenced only while a read waits, so an idle worker never keeps the process alive.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, seq, query } satisfies PointRequest);
    });
    if (res.error) {
      const kind = res.error.kind && res.error.kind in ERROR_KINDS ? (res.error.kind as ErrorKind) : 'internal';
      throw new McnsError(kind, kind === 'internal' ? `point-in-time read at seq ${seq}: ${res.error.message}` : res.error.message, res.error.field);
    }
    this.lastStats = res.stats;
    if (res.stats?.rejected) this.opts.onCheckpointRejected?.(res.stats.rejected);
    return res.answer as AtAnswer<Q['kind']>;
  }

  /** Stop the worker (reads still waiting fail). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new McnsError('unavailable', 'the ledger is closing'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./point-in-time-worker.mjs', import.meta.url), { workerData: { path: this.path } });
    w.unref();
    w.on('message', (res: PointResponse) => {
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      if (this.pending.size === 0) w.unref();
      p.resolve(res);
    });
    const lost = (why: string): void => {
      if (this.worker !== w) return;
      this.worker = undefined; // the next read starts a fresh one
      this.failAll(new McnsError('internal', `point-in-time worker ${why}`));
    };
    w.on('error', (err) => lost(`failed: ${err.message}`));
    w.on('exit', (code) => lost(`exited with code ${code}`));
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(err);
  }
}
