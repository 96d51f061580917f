/**
 * The `mcns` command: parses the command line and maps outcomes to exit codes
 * (0 success, 1 failure, 2 usage error), with one-line errors on stderr (stack traces with --debug).
 */
import { Command, CommanderError } from 'commander';
import { registerLedgerTools, registerZoneOffline } from './commands/offline.ts';
import { UsageError } from './output.ts';
import { colorsFor, setQuiet } from './terminal.ts';
import { registerServer } from './commands/server.ts';
import { registerStatus } from './commands/status.ts';
import { registerSnapshot } from './commands/snapshot.ts';
import { registerSecondaryConfig } from './commands/secondary-config.ts';
import { registerRecord, onlineZoneExport, onlineZoneImport } from './commands/record.ts';
import { registerHistory } from './commands/history.ts';
import { registerEvents, registerZoneApi } from './commands/zone.ts';
import { registerGrpc } from './commands/grpc.ts';
import { registerDnssec } from './commands/dnssec.ts';
import { loadConfig } from '../config.ts';
import { readFileSync } from 'node:fs';

/** The package version (`mcns --version`). */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const debug = process.argv.includes('--debug');

/** The one error prefix, in red on a terminal. */
function prefix(): string {
  return colorsFor(process.stderr).red('mcns: ');
}

/** Build the command tree (exported so tests can drive it in-process). */
export function buildProgram(): Command {
  const program = new Command('mcns')
    .description('MCNS: an authoritative DNS server built as an event-sourced zone ledger')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--debug', 'print stack traces on errors')
    .option('-q, --quiet', 'no progress on stderr (it is only ever drawn on a terminal)')
    .exitOverride()
    // One error prefix: commander's own "error: ..." becomes "mcns: ..." like ours.
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(s.replace(/^error: /, prefix())) });
  // --quiet is global: `mcns --quiet zone import …` and `mcns zone import … --quiet` both work.
  program.hook('preAction', (_top, action) => setQuiet(Boolean(action.optsWithGlobals().quiet)));
  const zone = program.command('zone').description('zones: list, create, update, delete, restore, history; zone files in and out');
  registerZoneApi(zone);
  registerZoneOffline(zone, onlineZoneImport, onlineZoneExport);
  registerHistory(program, zone);
  registerDnssec(zone);
  registerEvents(program);
  registerLedgerTools(program, (configPath) => loadConfig({ path: configPath }).database);
  registerServer(program);
  registerStatus(program);
  registerSnapshot(program);
  registerRecord(program);
  registerSecondaryConfig(program);
  registerGrpc(program);
  return program;
}

async function main(): Promise<void> {
  // `mcns replay … | head` closes our stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; any other commander error is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`${prefix()}${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${prefix()}${debug && err instanceof Error ? err.stack : message}\n`);
    process.exitCode = 1;
  }
}

await main();
