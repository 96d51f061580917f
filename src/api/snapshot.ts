/**
 * Snapshots: a consistent copy of the live database, as `mcns snapshot` and POST /v1/snapshots make
 * it. A fresh checkpoint goes first, so a server started on the copy loads it and replays nothing.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { McnsError } from '../errors.ts';
import { readChainHead, type ChainHead } from '../events/chain-head.ts';
import type { Ledger } from '../ledger.ts';
import { markSnapshot } from '../dns/transfer/restored-serials.ts';

/** What a snapshot wrote. */
export interface SnapshotResult {
  path: string;
  /** Seq of the newest event in the copy. */
  seq: number;
  bytes: number;
  created_at: string;
  /**
   * The chain head of the copy (its newest event's seq and hash): record it outside the host, and
   * `mcns verify --head SEQ:HASH` later proves the log still holds that history unchanged.
   */
  chain_head: ChainHead;
}

/** The default backup directory: `backups/` beside the database (SPEC 5). */
export function defaultBackupDir(dbPath: string): string {
  return join(dirname(resolve(dbPath)), 'backups');
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/**
 * Checkpoint, then `VACUUM INTO <backupDir>/mcns-YYYYMMDD-HHMMSS.db` (UTC). A second snapshot in the
 * same second gets a `-N` suffix rather than failing, because VACUUM INTO refuses existing files.
 */
export function createSnapshot(ledger: Ledger, backupDir: string, now: Date = new Date()): SnapshotResult {
  try {
    mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new McnsError('internal', `cannot create backup directory ${backupDir}: ${(err as Error).message}`, 'database.backup_dir');
  }
  const base = join(backupDir, `mcns-${stamp(now)}`);
  let path = `${base}.db`;
  for (let i = 1; existsSync(path); i++) path = `${base}-${i}.db`;
  ledger.checkpoint();
  const seq = ledger.state.seq;
  ledger.db.prepare('VACUUM INTO ?').run(path);
  // Marked, so that a server started on a copy of it moves serials past what secondaries hold (restored-serials.ts).
  markSnapshot(path, { seq, created_at: now.toISOString() });
  // Read from the copy itself, so the head is exactly the snapshot's even if another process appended meanwhile.
  const copy = new Database(path, { readonly: true, fileMustExist: true });
  let chainHead: ChainHead;
  try {
    chainHead = readChainHead(copy);
  } finally {
    copy.close();
  }
  return { path, seq, bytes: statSync(path).size, created_at: now.toISOString(), chain_head: chainHead };
}
