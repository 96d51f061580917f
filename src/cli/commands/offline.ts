/**
 * Offline commands that work on a database file: zone import/export, replay, verify (history: history.ts).
 * They open the ledger directly (no server needed); the server may be running (SQLite WAL).
 */
import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { Ledger, parseLogPoint } from '../../ledger.ts';
import { readImport, exportZone } from '../../projections/zone-files.ts';
import { readZoneText } from '../../zonefile/reader.ts';
import { zoneName } from '../../projections/decide.ts';
import { verifyLedger } from '../../projections/verify-ledger.ts';
import { checkChainHead, formatChainHead, parseChainHead, type ChainHead } from '../../events/chain-head.ts';
import { readChainKey } from '../../events/chain-key.ts';
import { replayTrace, replayState } from '../../projections/replay.ts';
import { openDatabase } from '../../events/schema.ts';
import { McnsError } from '../../errors.ts';
import { progress, progressDone, UsageError } from '../output.ts';
import { Progress } from '../terminal.ts';
import { outputFormatOf, wantsApi } from './client.ts';
import { displayZone, exportHeader, importCounts, importSummary } from '../../api/views.ts';
import { PhaseTimer, type BulkStats } from '../../events/bulk-append.ts';
import { gcMode, rerunWithSingleThreadedGc, wantsSingleThreadedGc } from '../single-threaded-gc.ts';

/** A zone file of this many characters (~50,000 records) likely makes a batch for the bulk append worker. */
const BULK_IMPORT_BYTES = 2_000_000;

/** The size of a file, or 0 when it cannot be read (readZoneText then says why). */
function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function needDb(opts: { db?: string }, extra = ''): string {
  if (!opts.db) throw new UsageError(`--db PATH is required${extra}`);
  return opts.db;
}

/** `mcns zone import|export` on a database file. */
export function registerZoneOffline(zone: Command, onlineImport: (zone: string, file: string, opts: Record<string, string>) => Promise<void>, onlineExport: (zone: string, opts: Record<string, string>) => Promise<void>): void {
  zone
    .command('import')
    .description('make ZONE equal to an RFC 1035 zone file (creates it, or writes only the differences)')
    .argument('<zone>', 'zone name, e.g. example.com')
    .argument('<file>', 'zone file path ("-" for stdin)')
    .option('--db <path>', 'work offline on this database file (created if absent)')
    .option('--addr <url>', 'go through the REST API at this URL (default $MCNS_ADDR when --db is not given)')
    .option('--ca-cert <path>', 'CA certificate for --addr (default $MCNS_CA_CERT)')
    .option('--token <token>', 'API token for --addr (default $MCNS_TOKEN)')
    .option('--actor <name>', 'actor recorded on the events (offline only)', 'import')
    .option('--chain-key-file <path>', 'key of a keyed chain ([database] chain_key_file; offline only, default $MCNS_CHAIN_KEY_FILE)')
    .action(async (zoneArg: string, file: string, opts: Record<string, string>) => {
      if (wantsApi(opts)) return onlineImport(zoneArg, file, opts);
      const db = needDb(opts, ' (or --addr URL, or MCNS_ADDR)');
      // A file big enough for the bulk append worker is imported by a process that collects its
      // garbage on the main thread (single-threaded-gc.ts); standard input cannot be read twice.
      if (file !== '-' && !process.env.MCNS_IMPORT_ONE_THREAD && wantsSingleThreadedGc() && fileBytes(file) >= BULK_IMPORT_BYTES) {
        process.exitCode = await rerunWithSingleThreadedGc();
        return;
      }
      const text = readZoneText(file === '-' ? 0 : file);
      const ledger = Ledger.open({ path: db });
      try {
        keyOfflineWriter(ledger, opts.chainKeyFile ?? process.env.MCNS_CHAIN_KEY_FILE);
        progress(`importing ${zoneArg}…`);
        // A large file's batch is appended by a worker thread (Ledger.executeInBulk), started now
        // so that it loads while the file is parsed.
        // (MCNS_IMPORT_ONE_THREAD=1: the single-threaded append instead, for bench/import/run.ts --one-thread.)
        const oneThread = Boolean(process.env.MCNS_IMPORT_ONE_THREAD);
        if (text.length >= BULK_IMPORT_BYTES && !oneThread) ledger.prepareBulkAppend();
        const timer = new PhaseTimer();
        // $INCLUDE is resolved relative to the file (to the current directory for stdin).
        const { command, warnings } = readImport(zoneArg, text, { source: file, path: file === '-' ? 'stdin' : file });
        timer.lap('parse');
        // MCNS_IMPORT_STATS=1: where the time went, phase by phase (bench/import/run.ts prints it).
        const onStats = process.env.MCNS_IMPORT_STATS ? (s: BulkStats) => process.stderr.write(`mcns: import stats ${JSON.stringify({ ...s, gc: gcMode(), phases: [...timer.phases, ...s.phases] })}\n`) : undefined;
        const res = oneThread ? ledger.execute(command, { actor: opts.actor, surface: 'cli' }) : await ledger.executeInBulk(command, { actor: opts.actor, surface: 'cli', onStats });
        progressDone();
        for (const w of warnings) process.stderr.write(`mcns: warning: ${w}\n`);
        // The same summary as an import through the API.
        const serial = ledger.state.zones.get(zoneName(zoneArg))?.serial ?? res.serial;
        process.stdout.write(importSummary(zoneArg, { ...importCounts(res.events), first_seq: res.firstSeq, last_seq: res.lastSeq, serial }) + '\n');
      } finally {
        ledger.close();
      }
    });
  zone
    .command('export')
    .description('print ZONE as an RFC 1035 zone file')
    .argument('<zone>', 'zone name')
    .option('--at <point>', 'the zone as it was at a sequence number or RFC 3339 time')
    .option('--db <path>', 'read this database file')
    .option('--addr <url>', 'go through the REST API at this URL (default $MCNS_ADDR when --db is not given)')
    .option('--ca-cert <path>', 'CA certificate for --addr (default $MCNS_CA_CERT)')
    .option('--token <token>', 'API token for --addr (default $MCNS_TOKEN)')
    .action(async (zoneArg: string, opts: Record<string, string>) => {
      if (wantsApi(opts)) return onlineExport(zoneArg, opts);
      const ledger = Ledger.open({ path: needDb(opts, ' (or --addr URL, or MCNS_ADDR)'), create: false });
      try {
        const state = opts.at ? ledger.stateAt(parseLogPoint(opts.at, '--at')) : ledger.state;
        const z = state.zones.get(zoneName(zoneArg));
        if (!z) throw new McnsError('not_found', `zone ${zoneName(zoneArg)} does not exist${opts.at ? ` at ${opts.at}` : ''}`);
        process.stdout.write(exportZone(z, exportHeader(displayZone(z.name), z.serial, state.seq, opts.at ? `at=${opts.at}` : undefined)));
      } finally {
        ledger.close();
      }
    });
}

/**
 * An offline writer on a keyed log must MAC its batches like the server, or the server would refuse
 * the log at its next start: with the key, check and use it; without it, refuse before writing.
 */
export function keyOfflineWriter(ledger: Ledger, keyFile: string | undefined): void {
  if (keyFile) {
    const check = ledger.log.useChainKey(readChainKey(keyFile, '--chain-key-file'), ledger.startup.checkpointSeq ?? 0);
    if (!check.ok) throw new McnsError('internal', `keyed chain: ${check.problem}`);
    return;
  }
  const keyed = ledger.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chain_macs'").get() !== undefined && ledger.db.prepare('SELECT 1 FROM chain_macs LIMIT 1').get() !== undefined;
  if (keyed) throw new UsageError('this log has a keyed chain: pass --chain-key-file PATH (the server\'s [database] chain_key_file), or the server will refuse the unkeyed batch');
}

/** commander collector for repeated `--head SEQ:HASH` options (a malformed one is a usage error). */
function collectHead(text: string, heads: ChainHead[]): ChainHead[] {
  try {
    return [...heads, parseChainHead(text, '--head')];
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `mcns replay`, `mcns history`, `mcns verify`. */
export function registerLedgerTools(program: Command, verifyConfigDb: (configPath: string) => { path: string; chain_key_file?: string }): void {
  program
    .command('replay')
    .description('rebuild state from the log: the zones at --until, or --trace every event and its change')
    .requiredOption('--db <path>', 'database file')
    .option('--until <point>', 'stop at this sequence number or RFC 3339 time')
    .option('--zone <zone>', 'only this zone')
    .option('--trace', 'print each event and the change it made')
    .option('-o, --output <format>', 'zone (zone-file lines) or json', 'zone')
    // The old spelling of -o, still accepted so existing scripts keep working.
    .addOption(new Option('--format <format>', 'same as --output').hideHelp())
    .action((options: { db: string; until?: string; zone?: string; trace?: boolean; output: string; format?: string }) => {
      const opts = { ...options, format: outputFormatOf(options.format ?? options.output, ['zone', 'json'] as const) };
      const db = openDatabase(opts.db, { create: false });
      try {
        const until = opts.until ? parseLogPoint(opts.until, '--until') : undefined;
        const zone = opts.zone ? zoneName(opts.zone, '--zone') : undefined;
        const write = (s: string): boolean => process.stdout.write(s);
        if (opts.trace) replayTrace(db, { until, zone, format: opts.format, write, progress });
        else replayState(db, { until, zone, format: opts.format, write, progress });
        progressDone();
      } finally {
        db.close();
      }
    });
  program
    .command('verify')
    .description('check the hash chain, the newest checkpoint against a full replay, and SQLite integrity')
    .option('--db <path>', 'database file')
    .option('--config <path>', 'use the database of this config file')
    .option('--head <seq:hash>', 'also prove the log still holds this recorded chain head (from mcns status, a snapshot or the checkpoint log line)', collectHead, [])
    .option('--chain-key-file <path>', "check the keyed chain's MACs with this key (with --config: [database] chain_key_file)")
    .action((opts: { db?: string; config?: string; head: ChainHead[]; chainKeyFile?: string }) => {
      const fromConfig = opts.config && !opts.db ? verifyConfigDb(opts.config) : undefined;
      const path = opts.db ?? fromConfig?.path;
      if (!path) throw new UsageError('--db PATH or --config PATH is required');
      const keyFile = opts.chainKeyFile ?? fromConfig?.chain_key_file;
      const chainKey = keyFile ? readChainKey(keyFile, opts.chainKeyFile ? '--chain-key-file' : 'database.chain_key_file') : undefined;
      const db = openDatabase(path, { create: false });
      const bar = new Progress('verify', 'events');
      try {
        const newest = (db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? 0;
        bar.update(0, newest);
        const res = verifyLedger(db, (seq) => bar.update(seq, newest), { chainKey });
        bar.stop();
        if (!res.ok) throw new McnsError('internal', res.problem);
        for (const head of opts.head) {
          const h = checkChainHead(db, head);
          if (!h.ok) throw new McnsError('internal', `chain head ${formatChainHead(head)}: ${h.problem}`);
        }
        process.stdout.write('ok\n');
      } finally {
        bar.stop();
        db.close();
      }
    });
}
