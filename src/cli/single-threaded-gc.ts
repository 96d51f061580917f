/**
 * A big offline import runs in a process whose V8 garbage collector works on the main thread only
 * (`node --single-threaded-gc`): the command starts itself again with the flag and passes on its
 * exit code.
 *
 * Why: such an import keeps two threads busy, the main thread (parse, decide, fold, checkpoint)
 * and the bulk append worker (SQLite inserts, the hash chain), and since the checkpoint is written
 * from node drafts the worker is the one the import waits for. V8's parallel scavenges and
 * concurrent marking add helper threads on top; on two cores they take their CPU from the worker,
 * while the main thread waits for them. With the flag the main thread does its own collection in
 * the time it would have waited anyway: the 1M-name import took a median 21.9 s against 23.0 s with
 * the parallel GC, in alternated runs (bench/RESULTS.md, nineteenth session). V8 reads the flag only at start-up: set at run time
 * (v8.setFlagsFromString), it aborts the process in the next major collection.
 *
 * Only on machines of up to two cores, where the helpers have no core of their own (untested with
 * more). MCNS_IMPORT_GC=single or =parallel decides instead (bench/import/run.ts compares them).
 */
import { spawn } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';
import { UsageError } from './output.ts';

const FLAG = '--single-threaded-gc';

/** Which garbage collection this process runs (the import's stats line says it). */
export function gcMode(execArgv: readonly string[] = process.execArgv): 'single-threaded' | 'parallel' {
  return execArgv.includes(FLAG) ? 'single-threaded' : 'parallel';
}

/**
 * Whether a big import should start itself again with the flag: not when this process has it
 * already, nor, unless MCNS_IMPORT_GC=single asks for it, when it runs under the inspector (a second
 * process would try to open the inspector's port again, and the import to debug would not be this one).
 */
export function wantsSingleThreadedGc(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): boolean {
  if (gcMode(execArgv) === 'single-threaded') return false;
  const choice = env.MCNS_IMPORT_GC;
  if (choice === 'single') return true;
  if (choice === 'parallel') return false;
  if (choice !== undefined && choice !== '') throw new UsageError(`MCNS_IMPORT_GC must be "single" or "parallel", not "${choice}"`);
  if (execArgv.some((a) => a.startsWith('--inspect'))) return false;
  return availableParallelism() <= 2;
}

/**
 * Runs this command again in a process with the flag (same node options, arguments, environment,
 * standard streams) and resolves with its exit code. SIGINT, SIGTERM and SIGHUP sent to this
 * process are passed on; the child's own death by a signal is reported as 128 + its number.
 */
export function rerunWithSingleThreadedGc(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, FLAG, ...process.argv.slice(1)], { stdio: 'inherit' });
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      for (const s of signals) process.off(s, forward);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
