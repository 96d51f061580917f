/**
 * `mcns snapshot --config PATH`: a consistent copy of the live database (fresh checkpoint, then
 * VACUUM INTO <backup_dir>/mcns-YYYYMMDD-HHMMSS.db), safe while the server runs (SQLite WAL), then
 * the retention of [database] snapshot_retention applied. Prints the snapshot's path (and its chain
 * head, `chain head SEQ:HASH`, on stderr).
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { Ledger } from '../../ledger.ts';
import { createSnapshot } from '../../api/snapshot.ts';
import { formatChainHead } from '../../events/chain-head.ts';
import { progress, progressDone, UsageError } from '../output.ts';
import { apiJson, clientOptions, wantsApi, withApiOptions } from './client.ts';

/** Snapshot file names, the only files retention ever deletes. */
export const SNAPSHOT_RE = /^mcns-\d{8}-\d{6}(-\d+)?\.db$/;

/** Delete all but the newest `keep` snapshots in `dir` (0 keeps everything); returns the deleted paths. */
export function applyRetention(dir: string, keep: number): string[] {
  if (keep <= 0) return [];
  // Newest first: by the UTC time in the name, then by the "-N" suffix a second snapshot within the
  // same second gets (plain string order would put "…-1.db" before "….db", '-' < '.').
  const order = (f: string): [string, number] => {
    const m = /^mcns-(\d{8}-\d{6})(?:-(\d+))?\.db$/.exec(f)!;
    return [m[1], m[2] === undefined ? 0 : Number(m[2])];
  };
  const snaps = readdirSync(dir)
    .filter((f) => SNAPSHOT_RE.test(f))
    .map((f) => ({ path: join(dir, f), key: order(f) }))
    .sort((a, b) => (a.key[0] === b.key[0] ? b.key[1] - a.key[1] : a.key[0] < b.key[0] ? 1 : -1));
  const doomed = snaps.slice(keep).map((s) => s.path);
  for (const p of doomed) unlinkSync(p);
  return doomed;
}

/** Register `mcns snapshot`. */
export function registerSnapshot(program: Command): void {
  withApiOptions(program.command('snapshot'), { output: false })
    .description('write a consistent snapshot of the database to the backup directory and print its path (--config: on this host; --addr: by the server, POST /v1/snapshots)')
    .option('--config <path>', 'mcns.toml of the server')
    .option('--keep <n>', 'override [database] snapshot_retention (0 keeps every snapshot; --config only)')
    .action(async (opts: { config?: string; keep?: string; addr?: string; caCert?: string; token?: string }) => {
      if (opts.keep !== undefined && !/^\d+$/.test(opts.keep)) throw new UsageError(`--keep must be a whole number, got "${opts.keep}"`);
      if (!opts.config) {
        if (!wantsApi({ addr: opts.addr })) throw new UsageError('snapshot needs --config PATH (on the server host) or --addr URL (or MCNS_ADDR: through the API)');
        if (opts.keep !== undefined) throw new UsageError('--keep works with --config only (through the API the server applies its own snapshot_retention)');
        progress('the server is writing the snapshot (checkpoint, VACUUM INTO)…');
        const snap = await apiJson<{ path: string; chain_head?: { seq: number; hash: string } }>({ ...clientOptions(opts), timeoutMs: 15 * 60_000 }, 'POST', '/v1/snapshots').finally(progressDone);
        // (The server answers once the copy is written: minutes for a large database, not the default 30 s.)
        process.stdout.write(`${snap.path}\n`);
        if (snap.chain_head) process.stderr.write(`chain head ${formatChainHead(snap.chain_head)}\n`);
        return;
      }
      const config = loadConfig({ path: opts.config });
      const keep = opts.keep === undefined ? config.database.snapshot_retention : Number(opts.keep);
      progress(`opening ${config.database.path}…`);
      const ledger = Ledger.open({ path: config.database.path, create: false });
      try {
        progress('checkpoint and VACUUM INTO…');
        const { path, chain_head: head } = createSnapshot(ledger, config.database.backup_dir);
        progressDone();
        const removed = applyRetention(config.database.backup_dir, keep);
        process.stdout.write(`${path}\n`);
        // On stderr, so scripts that take the path from stdout keep working: record it off the host (mcns verify --head).
        process.stderr.write(`chain head ${formatChainHead(head)}\n`);
        for (const r of removed) process.stderr.write(`removed old snapshot ${r} (retention ${keep})\n`);
      } finally {
        progressDone();
        ledger.close();
      }
    });
}
