/**
 * The bulk append worker's side (see bulk-append.ts): one connection to the database, one batch at
 * a time, in one transaction that only the main thread's "commit" ends well.
 */
import { fdatasync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './schema.ts';
import { EventLog, VersionConflictError, type BatchRows } from './log.ts';
import type { EventType } from './types.ts';
import { McnsError } from '../errors.ts';
import { createdJson, threadCpuMs, type BulkBegin, type BulkReply, type BulkRequest, type RowChunk } from './bulk-append.ts';

const port = parentPort!;
const path = (workerData as { path: string }).path;
const db = openDatabase(path, { create: false });
const log = new EventLog(db);
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');

/** The batch being written; undefined when none is open or it failed (later rows are dropped until commit/abort). */
let rows: BatchRows | undefined;
let failure: BulkReply | undefined;
let cacheBefore: number | undefined;
/** This thread's CPU ms when the batch began (for BulkStats). */
let cpuAtBegin = 0;
/** When the last chunk was written (for BulkStats: how long the worker then waited for the commit). */
let lastRowsAt = 0;

function reply(r: BulkReply): void {
  port.postMessage(r);
}

/** Roll back whatever is open and put the page cache back. */
function end(): void {
  if (db.inTransaction) rollback.run();
  if (cacheBefore !== undefined) db.pragma(`cache_size = ${cacheBefore}`);
  cacheBefore = undefined;
  rows = undefined;
}

/** Remember a failure for the main thread's commit (one reply per request: it learns of it there). */
function fail(err: unknown): void {
  try {
    end();
  } finally {
    const e = err as Error;
    failure =
      err instanceof VersionConflictError
        ? { kind: 'failed', message: e.message, conflict: { zone: err.zone, expected: err.expected, actual: err.actual } }
        : { kind: 'failed', message: e.message, code: err instanceof McnsError ? err.kind : undefined };
  }
}

function open(m: BulkBegin): void {
  cpuAtBegin = threadCpuMs();
  failure = undefined;
  cacheBefore = db.pragma('cache_size', { simple: true }) as number;
  db.pragma(`cache_size = -${Math.min(m.cacheKib, CACHE_KIB_MAX)}`);
  rowsSinceSync = 0;
  if (m.chainKey) log.useCheckedChainKey(Buffer.from(m.chainKey));
  begin.run();
  const head = log.beginBatch(m.zones, m.expectedVersion);
  // Another zone's batch landed since the main thread read the head: its seqs and batch id are stale.
  // (Reported as a conflict on the log's head: the write is decided again, as for its own zone's.)
  if (head.seq !== m.head.seq) throw new VersionConflictError(m.zones[0], m.head.seq, head.seq);
  rows = log.batchRows(head, m.header, { actor: m.actor, surface: m.surface, failAfterRows: m.failAfterRows });
}

/**
 * The batch's page cache is at most this (KiB): pages beyond it are written to the WAL during the
 * transaction (its inserts are mostly in order: table and index pages, once full, are not touched
 * again), so that the commit has little left to write...
 */
const CACHE_KIB_MAX = 128 * 1024;

/**
 * ... and the WAL written so far is flushed to disk every this many rows, on libuv's thread pool
 * (this thread goes on inserting), while the main thread still folds: the commit's fsync then
 * flushes the tail only (a bare loop of 1.5M rows: 600 MB of WAL, the commit's fsync 2.0 -> 0.8 s).
 * Frames without a commit are ignored by recovery; this only syncs earlier, it never syncs less.
 */
const SYNC_EVERY_ROWS = 65_536;
let rowsSinceSync = 0;
/** The WAL file, opened at the first sync and kept (this connection keeps the file; closing it under a running sync is not safe). */
let walFd: number | undefined;
let syncing = false;

function syncWal(): void {
  if (syncing) return;
  try {
    walFd ??= openSync(`${path}-wal`, 'r');
  } catch {
    return; // No WAL file (another journal mode): the commit syncs everything anyway.
  }
  syncing = true;
  fdatasync(walFd, () => {
    syncing = false;
  });
}

/** Write the rows of one chunk (encodeRows'). */
function write(zone: string, chunk: RowChunk): void {
  const w = rows!;
  const { fields } = chunk;
  const f = (chunk.text ?? Buffer.from(chunk.bytes).toString('utf8')).split('\u0000');
  const n = f.length - 1;
  if (n !== fields) throw new McnsError('internal', `bulk append: a chunk of ${fields} fields arrived as ${n} (a field held a NUL)`);
  let written = 0;
  for (let i = 0; i < n; written++) {
    if (f[i] === 'C') {
      const id = f[i + 1];
      const name = f[i + 2];
      const type = f[i + 3];
      w.write(zone, 'RecordCreated', createdJson(id, name, type, f[i + 4], f[i + 5]), id, name, type);
      i += 6;
    } else {
      w.write(zone, f[i] as EventType, f[i + 1], f[i + 2] || null, f[i + 3] || null, f[i + 4] || null);
      i += 5;
    }
  }
  rowsSinceSync += written;
  if (rowsSinceSync >= SYNC_EVERY_ROWS) {
    rowsSinceSync = 0;
    syncWal();
  }
}

port.on('message', (m: BulkRequest) => {
  try {
    switch (m.kind) {
      case 'begin':
        end();
        failure = undefined;
        open(m);
        return;
      case 'rows':
        if (rows) write(m.zone, m);
        lastRowsAt = performance.now();
        return;
      case 'commit': {
        if (!rows) {
          reply(failure ?? { kind: 'failed', message: 'bulk append: commit without an open batch' });
          failure = undefined;
          return;
        }
        const t0 = performance.now();
        rows.end();
        const { seq, hash } = rows;
        commit.run();
        end();
        reply({ kind: 'committed', seq, hash, cpuMs: threadCpuMs() - cpuAtBegin, commitMs: Math.round(performance.now() - t0), idleMs: Math.round(t0 - lastRowsAt) });
        return;
      }
      case 'abort':
        end();
        failure = undefined;
        reply({ kind: 'aborted' });
        return;
    }
  } catch (err) {
    fail(err);
  }
});
