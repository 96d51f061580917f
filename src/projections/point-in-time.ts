/**
 * Point-in-time reads in a separate, low-priority process. The main thread answers DNS; replaying
 * the log to a past point takes as long as the events it folds, so `?at=` reads are sent over IPC
 * to one child process (started on the first read) that opens the database read-only, folds from
 * the nearest checkpoint or recently computed state (PastStates), and sends back only the API
 * answer. Requests queue in the child in order; more than `maxPending` at once are refused (503)
 * rather than queued without end.
 *
 * Why a process and not a worker thread: on Linux a nice value belongs to one thread, and a worker
 * thread shares the main process's V8 platform, whose GC helper threads run at normal priority and
 * did the worker's garbage collection next to the DNS thread. The child is started under
 * `nice -n 19` and, on Linux, `chrt --idle 0` (SCHED_IDLE), so every thread it ever creates (main,
 * GC, libuv, SQLite) inherits both: a nice-19 thread may still finish its time slice before a
 * woken DNS thread runs, while the kernel preempts a SCHED_IDLE thread at once for any other. With
 * `--single-threaded-gc` it collects on its one busy thread instead of spreading that work over
 * extra threads. On a machine with few cores the DNS thread runs first, and the reader still gets
 * every idle cycle.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ERROR_KINDS, McnsError, type ErrorKind } from '../errors.ts';
import type { AtAnswer, AtQuery } from '../api/at-answers.ts';
import type { FoldStats } from './past-states.ts';

/** A request to the point-in-time process. */
export interface PointRequest {
  id: number;
  seq: number;
  query: AtQuery;
}

/** The process's reply: the answer and how it was computed, or the error. */
export interface PointResponse {
  id: number;
  answer?: AtAnswer;
  stats?: FoldStats;
  error?: { message: string; kind?: string; field?: string };
}

/** Sent once by a process that cannot serve at all (the database did not open); it exits after. */
export interface PointFatal {
  fatal: string;
}

/** Options of the reader. */
export interface PointInTimeOptions {
  /** Reads in flight at once before more are refused with 503 (default 64). */
  maxPending?: number;
  /** Told when the process passes over checkpoints that do not match the log or their digest. */
  onCheckpointRejected?: (reasons: string[]) => void;
}

/** Nice value of the point-in-time process: the lowest priority. */
export const POINT_IN_TIME_NICE = 19;

/**
 * V8 flags of the child. One GC thread (its own) instead of helpers on every core; a young
 * generation large enough that a fold's short-lived objects die there (as bin/mcns sets for replay).
 */
export const POINT_IN_TIME_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=32'];

const ENTRY = fileURLToPath(new URL('./point-in-time-process.mjs', import.meta.url));

/** `nice` from coreutils, when this system has it. */
function findNice(): string | undefined {
  if (process.platform === 'win32') return undefined;
  return ['/usr/bin/nice', '/bin/nice'].find((p) => existsSync(p));
}

let idleScheduler: string[] | undefined;

/**
 * `chrt --idle 0` (util-linux) when it works here: Linux only, and a sandbox (seccomp, a container)
 * may refuse sched_setscheduler, in which case the child runs at nice 19 alone. Checked once.
 */
function idleSchedulerPrefix(): string[] {
  if (idleScheduler) return idleScheduler;
  idleScheduler = [];
  if (process.platform === 'linux') {
    const chrt = ['/usr/bin/chrt', '/bin/chrt'].find((p) => existsSync(p));
    if (chrt && spawnSync(chrt, ['--idle', '0', 'true'], { stdio: 'ignore' }).status === 0) idleScheduler = [chrt, '--idle', '0'];
  }
  return idleScheduler;
}

interface Pending {
  resolve: (r: PointResponse) => void;
  reject: (err: Error) => void;
}

/** The main process's side of point-in-time reads of one ledger database. */
export class PointInTimeReader {
  private child?: ChildProcess;
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

  /** Process id of the running point-in-time process, if one runs (tests, diagnostics). */
  get processId(): number | undefined {
    return this.child?.pid;
  }

  /** Answer `query` from the projection as it was after the event at `seq` (which must exist). */
  async read<Q extends AtQuery>(seq: number, query: Q): Promise<AtAnswer<Q['kind']>> {
    if (this.pending.size >= this.maxPending) {
      throw new McnsError('unavailable', `${this.pending.size} point-in-time reads are already in progress; retry later`, 'at');
    }
    const child = this.start();
    const id = this.nextId++;
    const res = await new Promise<PointResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Referenced only while a read waits, so an idle child never keeps this process alive.
      if (this.pending.size === 1) this.hold(child, true);
      child.send({ id, seq, query } satisfies PointRequest, (err) => {
        if (err && this.pending.delete(id)) reject(new McnsError('internal', `point-in-time read at seq ${seq}: cannot reach the point-in-time process: ${err.message}`));
      });
    });
    if (res.error) {
      const kind = res.error.kind && res.error.kind in ERROR_KINDS ? (res.error.kind as ErrorKind) : 'internal';
      throw new McnsError(kind, kind === 'internal' ? `point-in-time read at seq ${seq}: ${res.error.message}` : res.error.message, res.error.field);
    }
    this.lastStats = res.stats;
    if (res.stats?.rejected) this.opts.onCheckpointRejected?.(res.stats.rejected);
    return res.answer as AtAnswer<Q['kind']>;
  }

  /** Stop the process (reads still waiting fail); resolves once it has exited. */
  async close(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    this.failAll(new McnsError('unavailable', 'the ledger is closing'));
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.ref(); // until it has exited: a caller awaiting close() must see it happen
    // Closing the channel ends it (it exits on disconnect); the signal covers a child stuck in a fold.
    if (c.connected) c.disconnect();
    c.kill('SIGTERM');
    await exited;
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const nice = findNice();
    const node = [...idleSchedulerPrefix(), process.execPath, ...POINT_IN_TIME_NODE_FLAGS, ENTRY, this.path];
    const [command, ...args] = nice ? [nice, '-n', String(POINT_IN_TIME_NICE), ...node] : node;
    const c = spawn(command, args, {
      // stderr inherited: a crash of the child shows in the server's own output.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // Structured clone, as between threads: answers arrive exactly as answerAt built them.
      serialization: 'advanced',
    });
    if (!nice && c.pid !== undefined) {
      // Without `nice`, the child's threads started before this call keep their priority (on Linux
      // a nice value is per thread); the rest of them, and the whole process elsewhere, are lowered.
      try {
        setPriority(c.pid, POINT_IN_TIME_NICE);
      } catch {
        // Not permitted here: the reads still work, at normal priority.
      }
    }
    this.hold(c, false);
    let fatal: string | undefined;
    c.on('message', (msg: PointResponse | PointFatal) => {
      if ('fatal' in msg) {
        fatal = msg.fatal;
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.hold(c, false);
      p.resolve(msg);
    });
    const lost = (why: string): void => {
      if (this.child !== c) return;
      this.child = undefined; // the next read starts a fresh one
      this.failAll(new McnsError('internal', `point-in-time process ${fatal ? `failed: ${fatal}` : why}`));
    };
    c.on('error', (err) => lost(`failed: ${err.message}`));
    c.on('exit', (code, signal) => lost(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    this.child = c;
    return c;
  }

  /**
   * Keep this process alive for the child (while a read waits: its channel for the answer, its
   * process handle for the news that it died) or not (idle).
   */
  private hold(c: ChildProcess, on: boolean): void {
    if (on) {
      c.ref();
      c.channel?.ref();
    } else {
      c.unref();
      c.channel?.unref();
    }
  }

  private failAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(err);
  }
}
