/** Run `bin/mcns` as a real process (the way an operator does) and collect its output and exit code. */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root and the launcher. */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MCNS = join(REPO, 'bin', 'mcns');

/** What a finished command left behind. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for a CLI run: extra environment (merged over a clean copy of ours), cwd, stdin, timeout. */
export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Tests must not pick up a developer's MCNS_ or PORT_ settings, nor node:test's own variables.
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('MCNS_') && !k.startsWith('PORT_') && !k.startsWith('NODE_TEST')) env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Run `mcns ARGS` to completion. */
export function mcns(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MCNS, ...args], { cwd: opts.cwd ?? REPO, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running `mcns` process (the server) whose output is collected as it comes. */
export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stderr JSON log line whose msg matches, or rejects when the process exits first. */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Waits for a spawned server's "mcns serving" line; its DNS and REST ports. */
export async function servingPorts(server: Spawned, timeoutMs = 120_000): Promise<{ dnsPort: number; restPort: number }> {
  const line = (await server.waitForLog('mcns serving', timeoutMs)) as { dns: string[]; rest: string };
  return { dnsPort: Number(line.dns[0].split(':').pop()), restPort: Number(line.rest.split(':').pop()) };
}

/** Start `mcns ARGS` in the background. */
export function spawnMcns(args: string[], opts: RunOptions = {}): Spawned {
  const child = spawn(process.execPath, [MCNS, ...args], { cwd: opts.cwd ?? REPO, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    waiters.forEach((w) => w());
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    waiters.forEach((w) => w());
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const logs = (): Array<Record<string, unknown>> =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog(msg, timeoutMs = 60_000) {
      const match = (m: unknown): boolean => typeof m === 'string' && (typeof msg === 'string' ? m === msg : msg.test(m));
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = logs().find((l) => match(l.msg));
          if (hit) {
            resolve(hit);
            return true;
          }
          return false;
        };
        if (check()) return;
        const timer = setTimeout(() => reject(new Error(`timed out waiting for log "${String(msg)}"; stderr:\n${err}`)), timeoutMs);
        waiters.push(() => {
          if (check()) clearTimeout(timer);
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          if (!check()) reject(new Error(`mcns exited (code ${code}, signal ${signal}) before logging "${String(msg)}"; stderr:\n${err}\nstdout:\n${out}`));
        });
      });
    },
  };
}
