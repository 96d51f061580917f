/**
 * Import speed (issue 17): `node --import tsx bench/import/run.ts`.
 *
 * Targets: the offline import of the anchors' realistic 1,000,000-name zone (1,571,039 records,
 * `/work/shared/bench/gen-zone.py 1000000`) under 30 s, and an API import of a 100,000-record file
 * under 5 s. Files are generated once under bench/out/import (gitignored) and reused:
 *   - 1m.zone: gen-zone.py 1000000;
 *   - 100krec.zone: the first 100,000 records of gen-zone.py 64000 (about 100,500 records: nearly
 *     every CNAME and MX target is in the file).
 * Steps:
 *   1. `bin/mcns zone import bench.test 1m.zone --db <fresh>`: wall time, and the child's CPU time
 *      (user + sys of all its threads, through `/usr/bin/time` when present, else getrusage); with
 *      MCNS_IMPORT_STATS=1 the command also reports each main-thread phase (wall and that thread's
 *      CPU), the CPU of the bulk append worker thread (the longer of the two since the checkpoint is
 *      written from node drafts: the main thread's "wait for the worker to commit") and which GC ran
 *      (a big file is imported by a process with --single-threaded-gc on up to two cores; set
 *      MCNS_IMPORT_GC=single|parallel in this script's environment to choose);
 *   2. a real `bin/mcns server --config` on a fresh database (TLS, the MCIAS fake, max_body 64MiB),
 *      then `POST /v1/zones/bench.test/import` of 100krec.zone as admin: the request's wall time, the
 *      server's CPU time over the request (from /proc/PID/stat), and the record counts it returned.
 * `--skip-offline` / `--skip-api` run one half; `--offline-file PATH` imports another file offline;
 * `--one-thread` makes the offline import append on its main thread (the path before the bulk append worker).
 * Every figure is printed with the load average (2 shared cores: wall times are noisy; CPU less so).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:https';
import { startMcIasFake } from '../../test/helpers/mcias-fake.ts';
import { makeTestTls } from '../../test/helpers/tls.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MCNS = join(ROOT, 'bin', 'mcns');
const DIR = join(ROOT, 'bench', 'out', 'import');
const GEN = '/work/shared/bench/gen-zone.py';
const ZONE = 'bench.test';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** Extra node flags for the server (e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile it). */
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

function recordCount(file: string): number {
  let n = 0;
  for (const l of readFileSync(file, 'utf8').split('\n')) if (l && !l.startsWith('$') && !l.startsWith(';')) n++;
  return n;
}

/** The two input files, generated when absent. */
function files(): { big: string; api: string } {
  mkdirSync(DIR, { recursive: true });
  const big = arg('offline-file') ?? join(DIR, '1m.zone');
  if (!existsSync(big)) {
    console.log(`generating ${big} (1,000,000 names)`);
    execFileSync('python3', [GEN, '1000000', big, join(DIR, '1m.q')], { stdio: 'inherit' });
  }
  const api = join(DIR, '100krec.zone');
  if (!existsSync(api)) {
    const tmp = join(DIR, '64k.zone');
    execFileSync('python3', [GEN, '64000', tmp, join(DIR, '64k.q')], { stdio: 'inherit' });
    const lines = readFileSync(tmp, 'utf8').split('\n');
    const out: string[] = [];
    let records = 0;
    for (const l of lines) {
      if (!l) continue;
      if (!l.startsWith('$')) {
        if (records === 100_000) break;
        records++;
      }
      out.push(l);
    }
    writeFileSync(api, out.join('\n') + '\n');
    rmSync(tmp);
  }
  return { big, api };
}

/** Offline import into a fresh database: wall and CPU seconds, and the command's summary line. */
function offline(file: string): void {
  const db = join(DIR, 'offline.db');
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  const records = recordCount(file);
  console.log(`\n== offline${flag('one-thread') ? ' (single-threaded append: MCNS_IMPORT_ONE_THREAD=1)' : ''}: mcns zone import ${ZONE} ${file} --db ${db} (${records.toLocaleString('en')} records; load ${load()})`);
  const hasTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  // MCNS_IMPORT_STATS: the command prints its phases (wall and main-thread CPU) and the bulk append worker's CPU.
  const env = { ...process.env, MCNS_IMPORT_STATS: '1', ...(flag('one-thread') ? { MCNS_IMPORT_ONE_THREAD: '1' } : {}) };
  const res = hasTime
    ? spawnSync('/usr/bin/time', ['-f', 'TIME %U %S %M', process.execPath, MCNS, 'zone', 'import', ZONE, file, '--db', db], { cwd: ROOT, encoding: 'utf8', env })
    : spawnSync(process.execPath, [MCNS, 'zone', 'import', ZONE, file, '--db', db], { cwd: ROOT, encoding: 'utf8', env });
  const wall = (performance.now() - t0) / 1000;
  if (res.status !== 0) throw new Error(`offline import failed (${res.status}): ${res.stderr}`);
  const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(res.stderr);
  const cpu = m ? `${(Number(m[1]) + Number(m[2])).toFixed(1)} s CPU (user ${m[1]} s, sys ${m[2]} s), max RSS ${(Number(m[3]) / 1024).toFixed(0)} MiB` : 'CPU n/a (no /usr/bin/time)';
  console.log(res.stdout.trim());
  const stats = /mcns: import stats (\{.*\})/.exec(res.stderr);
  if (stats) {
    const st = JSON.parse(stats[1]) as { phases: Array<{ phase: string; wallMs: number; cpuMs: number }>; workerCpuMs: number; workerCommitMs: number; workerIdleMs: number; rowsSentWhileDeciding?: number; rows?: number; gc?: string };
    if (st.gc) console.log(`  garbage collection: ${st.gc}`);
    for (const p of st.phases) console.log(`  main thread: ${p.phase.padEnd(32)} ${(p.wallMs / 1000).toFixed(2).padStart(6)} s wall ${(p.cpuMs / 1000).toFixed(2).padStart(6)} s CPU`);
    const mainCpu = st.phases.reduce((a, p) => a + p.cpuMs, 0) / 1000;
    console.log(`  main thread CPU from parse to exit of the write: ${mainCpu.toFixed(1)} s; bulk append worker thread CPU: ${(st.workerCpuMs / 1000).toFixed(1)} s, its COMMIT ${(st.workerCommitMs / 1000).toFixed(2)} s wall, idle before it ${(st.workerIdleMs / 1000).toFixed(2)} s (about 0: still writing rows when the main thread was done)`);
    if (st.rows !== undefined) console.log(`  rows sent to the worker while the batch was decided: ${st.rowsSentWhileDeciding} of ${st.rows}`);
  }
  console.log(`OFFLINE ${records} records: ${wall.toFixed(1)} s wall, ${cpu}; target < 30 s; load after ${load()}`);
}

/** CPU seconds (user + sys) a process has used so far. */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const tick = 100; // USER_HZ on Linux
  return (Number(fields[11]) + Number(fields[12])) / tick;
}

function waitForLog(proc: ChildProcess, msg: RegExp): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: string): void => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!l.startsWith('{')) continue;
        try {
          const line = JSON.parse(l) as Record<string, unknown>;
          if (typeof line.msg === 'string' && msg.test(line.msg)) {
            proc.stderr!.off('data', onData);
            resolve(line);
            return;
          }
        } catch {
          // not JSON
        }
      }
    };
    proc.stderr!.setEncoding('utf8').on('data', onData);
    proc.once('exit', (code) => reject(new Error(`server exited (${code}) before logging ${msg}`)));
  });
}

async function api(file: string): Promise<void> {
  const records = recordCount(file);
  const body = readFileSync(file);
  const work = join(DIR, 'api');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const mcias = await startMcIasFake();
  const tls = makeTestTls();
  const cfg = join(work, 'mcns.toml');
  writeFileSync(
    cfg,
    [
      '[server]',
      'listen_addr = "127.0.0.1:0"',
      'grpc_addr = "127.0.0.1:0"',
      `tls_cert = "${tls.certPath}"`,
      `tls_key = "${tls.keyPath}"`,
      'max_body = "64MiB"',
      '[database]',
      `path = "${join(work, 'mcns.db')}"`,
      '[dns]',
      'listen_addr = "127.0.0.1:0"',
      '[mcias]',
      `server_url = "${mcias.url}"`,
      `ca_cert = "${mcias.tls.caPath}"`,
      '',
    ].join('\n'),
  );
  const proc = spawn(process.execPath, [...nodeArgs, MCNS, 'server', '--config', cfg], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const serving = await waitForLog(proc, /^mcns serving$/);
    const port = Number(String((serving as { rest: string }).rest).split(':').pop());
    const token = mcias.tokenFor('alice');
    console.log(`\n== API: POST /v1/zones/${ZONE}/import of ${file} (${records.toLocaleString('en')} records, ${(body.length / 1048576).toFixed(1)} MiB) to bin/mcns server; load ${load()}`);
    const cpu0 = cpuOf(proc.pid!);
    const t0 = performance.now();
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: `/v1/zones/${ZONE}/import`, method: 'POST', ca: tls.ca, servername: 'localhost', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'content-length': body.length } },
        (r) => {
          let text = '';
          r.setEncoding('utf8').on('data', (d: string) => (text += d));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuOf(proc.pid!) - cpu0;
    if (res.status < 200 || res.status > 299) throw new Error(`import answered ${res.status}: ${res.text.slice(0, 500)}`);
    const out = JSON.parse(res.text) as { created: number; updated: number; deleted: number; warnings: string[] };
    console.log(`API ${records} records: HTTP ${res.status} in ${wall.toFixed(2)} s wall, server CPU ${cpu.toFixed(2)} s; created ${out.created}, updated ${out.updated}, deleted ${out.deleted}, ${out.warnings.length} warnings; target < 5 s; load after ${load()}`);
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    await mcias.close();
  }
}

const { big, api: apiFile } = files();
if (!flag('skip-offline')) offline(big);
if (!flag('skip-api')) await api(apiFile);
