/**
 * `mcns snapshot --config PATH`: a consistent copy of the live database (fresh checkpoint, then
 * VACUUM INTO <backup_dir>/mcns-YYYYMMDD-HHMMSS.db), safe while the server runs (SQLite WAL), then
 * the retention of [database] snapshot_retention applied. Prints the snapshot's path.
 */
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { Ledger } from '../../ledger.ts';
import { createSnapshot } from '../../api/snapshot.ts';
import { progress, progressDone, UsageError } from '../output.ts';

/** Snapshot file names, the only files retention ever deletes. */
export const SNAPSHOT_RE = /^mcns-\d{8}-\d{6}(-\d+)?\.db$/;

/** Delete all but the newest `keep` snapshots in `dir` (0 keeps everything); returns the deleted paths. */
export function applyRetention(dir: string, keep: number): string[] {
  if (keep <= 0) return [];
  const snaps = readdirSync(dir)
    .filter((f) => SNAPSHOT_RE.test(f))
    .map((f) => ({ path: join(dir, f), name: f, mtime: statSync(join(dir, f)).mtimeMs }))
    // The name carries the UTC time to the second; mtime breaks ties within one second.
    .sort((a, b) => (a.name === b.name ? b.mtime - a.mtime : a.name < b.name ? 1 : -1));
  const doomed = snaps.slice(keep).map((s) => s.path);
  for (const p of doomed) unlinkSync(p);
  return doomed;
}

/** Register `mcns snapshot`. */
export function registerSnapshot(program: Command): void {
  program
    .command('snapshot')
    .description('write a consistent snapshot of the database to the backup directory and print its path')
    .requiredOption('--config <path>', 'mcns.toml of the server')
    .option('--keep <n>', 'override [database] snapshot_retention (0 keeps every snapshot)')
    .action((opts: { config: string; keep?: string }) => {
      if (opts.keep !== undefined && !/^\d+$/.test(opts.keep)) throw new UsageError(`--keep must be a whole number, got "${opts.keep}"`);
      const config = loadConfig({ path: opts.config });
      const keep = opts.keep === undefined ? config.database.snapshot_retention : Number(opts.keep);
      progress(`opening ${config.database.path}…`);
      const ledger = Ledger.open({ path: config.database.path, create: false });
      try {
        progress('checkpoint and VACUUM INTO…');
        const { path } = createSnapshot(ledger, config.database.backup_dir);
        progressDone();
        const removed = applyRetention(config.database.backup_dir, keep);
        process.stdout.write(`${path}\n`);
        for (const r of removed) process.stderr.write(`removed old snapshot ${r} (retention ${keep})\n`);
      } finally {
        progressDone();
        ledger.close();
      }
    });
}
