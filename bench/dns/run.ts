/**
 * The DNS benchmark: dnsperf against the real MCNS server (`bin/mcns server --config`, as the
 * README starts it, zones loaded with `bin/mcns zone import`), Knot and NSD serving the same zone
 * files, in one run, each server pinned to core 1 and dnsperf to core 0 (taskset). Results are
 * reported as ratios to Knot, and written to the "DNS" section of bench/RESULTS.md.
 *
 * Data: bench/dns/gen-zone.py (a verbatim copy of the anchors' generator, shared/bench/gen-zone.py):
 * a realistic zone (A, some with two addresses, AAAA, TXT, MX, CNAME) and a realistic query mix
 * (70% existing A/AAAA, 10% CNAME, 10% NODATA, 10% NXDOMAIN).
 *
 * Runs:
 *  - main: 10k and 1M zones, the generator's query file (200,000 queries, looped), UDP and TCP.
 *  - paired: MCNS on the 10k and the 1M zone, both up, dnsperf alternating (1M-vs-10k ratio).
 *  - cache (1M zone): what the answer cache does, measured against first-sight rates (each
 *    question asked once, so the cache neither stores nor hits: its admission needs a second
 *    sight). Realistic mix: every distinct question once; a uniform loop over 100,000 distinct
 *    questions; a Zipf-like mix (s = 1) over all of them. The same three for questions only MCNS's
 *    general path answers (CNAME owners, TXT, MX), where every answer goes through the cache.
 *
 * Readiness: MCNS is measured once it logs "DNS serving index built" or "serving index restored from image" (the log level is debug so
 * the line is printed for a small zone too) and answers the zone's SOA; Knot and NSD once they
 * answer it. Then 3 s to settle.
 *
 * Usage: bash bench/dns/run.sh [--seconds 10] [--skip-1m] [--large N] [--no-write]
 *   (= node --import tsx bench/dns/run.ts ...). Data and databases are kept under bench/out/dns
 *   and reused while the generator's parameters and the zone file are unchanged.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/helpers/ports.ts';
import { writeServerConfig } from '../../test/helpers/server-config.ts';

const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1] || 10) || 10;
const SKIP_1M = args.includes('--skip-1m');
const WRITE = !args.includes('--no-write');
/** Names of the large zone (default 1,000,000; a smaller one tries the whole run quickly). */
const LARGE = Number(args[args.indexOf('--large') + 1] || 1_000_000) || 1_000_000;
const LARGE_LABEL = LARGE % 1_000_000 === 0 ? `${LARGE / 1_000_000}M` : `${LARGE / 1000}k`;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const OUT = path.join(ROOT, 'bench', 'out', 'dns');
const GEN = path.join(ROOT, 'bench', 'dns', 'gen-zone.py');
const MCNS = path.join(ROOT, 'bin', 'mcns');
const SERVER_CORE = os.cpus().length > 1 ? '1' : '0';
const CLIENT_CORE = '0';
const ZONE = 'bench.test';
/** Queries of the main query file (the generator's default). */
const MAIN_QUERIES = 200_000;
/** Queries drawn for the cache runs' pool of distinct questions (1M zone). */
const POOL_QUERIES = 1_500_000;
/** Distinct questions of the uniform loops. */
const LOOP_DISTINCT = 100_000;
/** Queries of the Zipf-like files. */
const ZIPF_QUERIES = 1_000_000;
const ZIPF_S = 1.0;

/** One dnsperf result. */
export interface Perf {
  qps: number;
  latencyMs: number;
  sent: number;
  lost: number;
}

/** One row of the results table. */
interface Row {
  zone: string;
  server: string;
  /** What was asked: "mix" (the generator's file), or a cache run's name. */
  run: string;
  transport: string;
  perf?: Perf;
  note?: string;
}

/** A dnsperf job: a query file, looped for the run's seconds or (once) each query sent once. */
export interface Job {
  run: string;
  file: string;
  transport: 'udp' | 'tcp';
  once?: boolean;
}

export function have(cmd: string): boolean {
  try {
    execFileSync('which', [cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SOA query of the bench zone (every server answers it once the zone is loaded). */
const SOA_QUERY = Buffer.concat([Buffer.from('abcd00000001000000000000', 'hex'), Buffer.from('\x05bench\x04test\x00\x00\x06\x00\x01', 'latin1')]);

/** Resolves once the server answers the zone's SOA over UDP (or rejects after `ms`). */
export async function waitAnswers(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      const t = setTimeout(() => {
        s.close();
        resolve(false);
      }, 500);
      s.on('message', (m) => {
        clearTimeout(t);
        s.close();
        resolve((m[3] & 0xf) === 0 && m.readUInt16BE(6) === 1);
      });
      s.send(SOA_QUERY, port, '127.0.0.1');
    });
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`server on ${port} not answering after ${ms} ms`);
}

export function pinned(cmd: string, argv: string[], cwd?: string, env?: Record<string, string>): ChildProcess {
  return spawn('taskset', ['-c', SERVER_CORE, cmd, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], cwd, env: env && { ...process.env, ...env } });
}

/** Resolves when the process prints a line matching `re` on stdout or stderr (rejects after `ms`, or when it exits). */
export function logLine(p: ChildProcess, re: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = (err?: Error) => {
      clearTimeout(t);
      p.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const t = setTimeout(() => done(new Error(`no log line ${re} after ${ms} ms`)), ms);
    const onExit = (code: number | null) => done(new Error(`exited (${code}) before logging ${re}: ${seen.slice(-2000)}`));
    p.once('exit', onExit);
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-100_000);
      if (re.test(seen)) done();
    };
    p.stdout?.on('data', onData);
    p.stderr?.on('data', onData);
  });
}

/** SIGTERM, then SIGKILL after `graceMs` (MCNS writes its checkpoint on the way out; a kill would cost the next start a full replay). */
export async function stop(p: ChildProcess, graceMs = 300_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}

/** Resident memory of a process, MiB (Linux /proc), or NaN. */
export function rssMiB(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export function dnsperf(port: number, job: Job, seconds = SECONDS): Perf {
  const argv = ['-c', CLIENT_CORE, 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', job.file, '-l', String(seconds), '-c', job.transport === 'tcp' ? '16' : '4', '-q', '64', '-m', job.transport];
  if (job.once) argv.push('-n', '1');
  const out = execFileSync('taskset', argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const num = (re: RegExp) => Number((re.exec(out) ?? [])[1] ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    latencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
  };
}

// ---------------------------------------------------------------------------------------------
// Data: zone and query files (generated once and reused), the cache runs' derived files, and the
// MCNS database (imported once per zone file).

const sha = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);

/** Runs `make` unless `stampFile` holds `stamp` (the inputs are unchanged); then records it. */
function cached(stampFile: string, stamp: string, make: () => void): void {
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) return;
  make();
  fs.writeFileSync(stampFile, stamp);
}

/**
 * dnsperf over UDP for `seconds` seconds, from the client core, with the rate of every second
 * (-S 1) and the whole run's. dnsperf now and then reports its first interval as ~0 q/s (printed
 * "0.000037") although the run's totals show the server answered throughout: the same number of
 * queries completed as in runs whose first second was normal, none lost, the slowest answer 12-20 ms
 * (the 1M server restarted alone, 8 runs, nineteenth session). Such a first second is not a
 * measurement: it is NaN here, and `misreported` says so.
 */
export async function dnsperfPerSecond(port: number, file: string, seconds: number, extra: readonly string[] = []): Promise<{ seconds: number[]; qps: number; misreported: boolean }> {
  const argv = ['-c', CLIENT_CORE, 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-S', '1', '-c', '4', '-q', '64', '-m', 'udp', ...extra];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('taskset', argv, { maxBuffer: 16 * 1024 * 1024 }, (err, out) => (err ? reject(err) : resolve(out)));
  });
  const perSecond = [...stdout.matchAll(/^\d+\.\d+: ([\d.]+)$/gm)].map((m) => Number(m[1]));
  const qps = Number((/Queries per second:\s+([\d.]+)/.exec(stdout) ?? [])[1] ?? NaN);
  const lost = Number((/Queries lost:\s+(\d+)/.exec(stdout) ?? [])[1] ?? NaN);
  const rest = median(perSecond.slice(1));
  // Answered all along: nothing lost, and the whole run's rate is that of the later seconds.
  const misreported = perSecond.length > 1 && perSecond[0] < 1 && lost === 0 && qps > 0.9 * rest * ((seconds - 1) / seconds);
  if (misreported) perSecond[0] = NaN;
  return { seconds: perSecond, qps, misreported };
}

/** bench/out/dns/LABEL/{bench.test.zone, queries.txt}: the generator's zone and its default query file. */
export function zoneData(label: string, n: number): { dir: string; zoneFile: string; queryFile: string } {
  const dir = path.join(OUT, label);
  fs.mkdirSync(dir, { recursive: true });
  const zoneFile = path.join(dir, 'bench.test.zone');
  const queryFile = path.join(dir, 'queries.txt');
  const shared = path.join(ROOT, '..', 'shared', 'bench', 'gen-zone.py');
  if (fs.existsSync(shared) && sha(fs.readFileSync(shared)) !== sha(fs.readFileSync(GEN))) {
    console.warn(`warning: ${GEN} differs from the anchors' ${shared}`);
  }
  cached(path.join(dir, 'data.stamp'), `${n} ${MAIN_QUERIES} ${sha(fs.readFileSync(GEN))}`, () => {
    console.log(`generating the ${label} zone and queries…`);
    execFileSync('python3', [GEN, String(n), zoneFile, queryFile, String(MAIN_QUERIES)], { stdio: 'inherit' });
  });
  return { dir, zoneFile, queryFile };
}

/** Deterministic shuffle (LCG), so every run asks the same questions in the same order. */
function shuffle<T>(xs: T[], seed = 12345): T[] {
  let s = seed;
  for (let i = xs.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** `n` draws from `pool` with P(rank k) proportional to 1/k^s (rank 1 = pool[0]). */
function zipf(pool: string[], n: number, s: number): string[] {
  const cdf = new Float64Array(pool.length);
  let sum = 0;
  for (let k = 0; k < pool.length; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
  let seed = 4242;
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const u = (seed / 2 ** 32) * sum;
    let lo = 0;
    let hi = pool.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = pool[lo];
  }
  return out;
}

const writeLines = (file: string, lines: string[]) => fs.writeFileSync(file, lines.join('\n') + '\n');

/** The cache runs' query files, derived from the 1M zone (see the header). */
function cacheData(dir: string, zoneFile: string, mainQueryFile: string): Record<string, string> {
  const f = (name: string) => path.join(dir, name);
  const files = {
    mixOnce: f('cache-mix-once.txt'),
    mixLoop: f('cache-mix-loop100k.txt'),
    mixZipf: f('cache-mix-zipf.txt'),
    gpOnce: f('cache-general-once.txt'),
    gpLoop: f('cache-general-loop100k.txt'),
    gpZipf: f('cache-general-zipf.txt'),
  };
  const zoneStat = fs.statSync(zoneFile);
  cached(f('cache.stamp'), `2 ${zoneStat.size} ${zoneStat.mtimeMs} ${POOL_QUERIES} ${LOOP_DISTINCT} ${ZIPF_QUERIES} ${ZIPF_S} ${sha(fs.readFileSync(GEN))}`, () => {
    console.log('generating the cache runs’ query files…');
    // The same generator and seed with more queries: the zone it writes is the same file (its
    // records are drawn before the queries), so only the queries are kept.
    const pool = f('pool-queries.txt');
    const scratchZone = f('pool-zone.scratch');
    const n = Number(/^h(\d+)\./m.exec(execFileSync('tail', ['-n', '1', zoneFile], { encoding: 'utf8' }))?.[1] ?? NaN) + 1;
    execFileSync('python3', [GEN, String(n), scratchZone, pool, String(POOL_QUERIES)], { stdio: 'inherit' });
    if (sha(fs.readFileSync(scratchZone)) !== sha(fs.readFileSync(zoneFile))) throw new Error('the generator did not reproduce the zone; cannot derive the cache queries');
    fs.rmSync(scratchZone);
    // Distinct questions, in the order first drawn (a random order over the zone), leaving out
    // those of the main query file: the server has seen them by the time the cache runs start,
    // and the first-sight runs must be first sights.
    const asked = new Set(fs.readFileSync(mainQueryFile, 'utf8').split('\n'));
    const mix = [...new Set(fs.readFileSync(pool, 'utf8').split('\n'))].filter((q) => q && !asked.has(q));
    fs.rmSync(pool);
    writeLines(files.mixOnce, mix);
    writeLines(files.mixLoop, mix.slice(0, LOOP_DISTINCT));
    writeLines(files.mixZipf, zipf(mix, ZIPF_QUERIES, ZIPF_S));
    // Questions MCNS answers by its general path (answerQuery + encodeMessage, then the cache):
    // A at CNAME owners (the CNAME and its target's A), and the names' TXT and MX.
    const general: string[] = [];
    for (const line of fs.readFileSync(zoneFile, 'utf8').split('\n')) {
      const m = /^(h\d+\.bench\.test\.) \d+ IN (CNAME|TXT|MX) /.exec(line);
      if (m) general.push(`${m[1]} ${m[2] === 'CNAME' ? 'A' : m[2]}`);
    }
    const gp = shuffle([...new Set(general)].filter((q) => !asked.has(q)));
    writeLines(files.gpOnce, gp);
    writeLines(files.gpLoop, gp.slice(0, LOOP_DISTINCT));
    writeLines(files.gpZipf, zipf(gp, ZIPF_QUERIES, ZIPF_S));
  });
  return files;
}

/** Imports the zone file into LABEL's MCNS database with `mcns zone import` (once per zone file). */
export function mcnsDatabase(dir: string, zoneFile: string): { db: string; importSeconds?: number } {
  const dbDir = path.join(dir, 'mcns');
  const db = path.join(dbDir, 'mcns.db');
  const st = fs.statSync(zoneFile);
  let importSeconds: number | undefined;
  cached(path.join(dir, 'mcns.stamp'), `${st.size} ${st.mtimeMs}`, () => {
    fs.rmSync(dbDir, { recursive: true, force: true });
    fs.mkdirSync(dbDir, { recursive: true });
    console.log(`mcns zone import ${ZONE} ${zoneFile} --db ${db}`);
    const t0 = performance.now();
    execFileSync(MCNS, ['zone', 'import', ZONE, zoneFile, '--db', db], { stdio: 'inherit' });
    importSeconds = (performance.now() - t0) / 1000;
  });
  return { db, importSeconds };
}

// ---------------------------------------------------------------------------------------------
// Servers.

/** A started server: its process, port, and what its start-up cost. */
export interface Running {
  proc: ChildProcess;
  port: number;
  /** Seconds from spawn to ready. */
  startSeconds: number;
  /** RSS once ready, MiB. */
  rss: number;
}

/** A minimal mcns.toml: DNS on `port`, REST and gRPC on free loopback ports, throwaway TLS, an MCIAS that need not be reachable (DNS does not use it). */
function mcnsConfig(dir: string, db: string, port: number): string {
  // The serving-index line is logged at debug when the build takes under 100 ms (a small zone).
  return writeServerConfig(dir, { db, dnsListen: `127.0.0.1:${port}`, tail: ['[log]', 'level = "debug"'] });
}

const LOAD_MS = 900_000;

/**
 * Starts server `name` (mcns, knot, nsd) on `zoneFile` in `dir`/`tag` (default: its name) and waits
 * until it is ready: MCNS once it logs `mcnsReady` (default: the serving index's first pass, when it
 * answers; /serving index complete/ waits for its second pass too, which a zone under 4,000 names skips).
 */
/**
 * MCNS's serving index is up (its fast path answers): built (the first pass) or restored from the
 * image the last exit saved (src/dns/index-image.ts), which logs no build.
 */
export const MCNS_INDEX_READY = /DNS serving index built|serving index restored from image/;

export async function startServer(name: string, dir: string, zoneFile: string, db?: string, tag = name, mcnsReady = MCNS_INDEX_READY): Promise<Running> {
  const port = await freePort(true);
  const sdir = path.join(dir, tag);
  fs.mkdirSync(sdir, { recursive: true });
  const t0 = performance.now();
  let proc: ChildProcess;
  let ready: Promise<void> = Promise.resolve();
  if (name === 'mcns') {
    if (!db) throw new Error('mcns needs its database');
    proc = pinned(MCNS, ['server', '--config', mcnsConfig(sdir, db, port)], ROOT);
    ready = logLine(proc, mcnsReady, LOAD_MS);
  } else if (name === 'knot') {
    const conf = path.join(sdir, 'knot.conf');
    fs.mkdirSync(path.join(sdir, 'knotdb'), { recursive: true });
    fs.writeFileSync(
      conf,
      `server:\n  listen: 127.0.0.1@${port}\n  rundir: ${sdir}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n  udp-max-payload: 1232\ndatabase:\n  storage: ${sdir}/knotdb\nlog:\n  - target: stderr\n    any: error\ntemplate:\n  - id: default\n    semantic-checks: off\n    zonefile-sync: -1\n    journal-content: none\nzone:\n  - domain: ${ZONE}\n    file: ${zoneFile}\n`,
    );
    proc = pinned('knotd', ['-c', conf]);
  } else if (name === 'nsd') {
    const conf = path.join(sdir, 'nsd.conf');
    // Response rate limiting off, as in Knot's and MCNS's defaults: Debian's NSD limits 200
    // responses/s per /24 by default, which dropped most of dnsperf's queries (lost queries, stalls).
    fs.writeFileSync(
      conf,
      `server:\n  ip-address: 127.0.0.1\n  port: ${port}\n  server-count: 1\n  username: ""\n  chroot: ""\n  zonesdir: "${sdir}"\n  database: ""\n  zonelistfile: "${sdir}/zone.list"\n  xfrdfile: "${sdir}/xfrd.state"\n  pidfile: "${sdir}/nsd.pid"\n  xfrdir: "${sdir}"\n  verbosity: 0\n  hide-version: yes\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\nremote-control:\n  control-enable: no\nzone:\n  name: ${ZONE}\n  zonefile: ${zoneFile}\n`,
    );
    proc = pinned('nsd', ['-d', '-c', conf]);
  } else throw new Error(`unknown server ${name}`);
  // Keep the pipes drained (a full pipe would block the server's logging).
  proc.stdout?.resume();
  proc.stderr?.resume();
  try {
    await ready;
    await waitAnswers(port, LOAD_MS);
  } catch (err) {
    await stop(proc);
    throw err;
  }
  const startSeconds = (performance.now() - t0) / 1000;
  const rss = rssMiB(proc.pid);
  console.log(`${name} ready on ${port} after ${startSeconds.toFixed(1)} s, RSS ${rss.toFixed(0)} MiB`);
  // Let every server settle after loading (MCNS's heap is still being swept after building a
  // large zone): the runs measure steady state, not the tail of start-up.
  await sleep(3000);
  return { proc, port, startSeconds, rss };
}

// ---------------------------------------------------------------------------------------------
// Runs.

const SERVERS = [
  { name: 'knot', needs: 'knotd' },
  { name: 'nsd', needs: 'nsd' },
  { name: 'mcns', needs: 'node' },
];

/** Start-up figures per zone and server. */
const starts: Array<{ zone: string; server: string; seconds: number; rss: number }> = [];

/** Runs `jobs` against every server of `servers` on one zone, one server at a time; `during` runs extra work while MCNS is up. */
async function runZone(label: string, zoneFile: string, db: string, servers: string[], jobs: Job[], rows: Row[], during?: (mcns: Running) => Promise<void>): Promise<void> {
  const dir = path.join(OUT, label);
  for (const s of SERVERS.filter((x) => servers.includes(x.name))) {
    if (!have(s.needs)) {
      rows.push({ zone: label, server: s.name, run: '-', transport: '-', note: `${s.needs} not installed` });
      continue;
    }
    let running: Running;
    try {
      running = await startServer(s.name, dir, zoneFile, s.name === 'mcns' ? db : undefined);
    } catch (err) {
      rows.push({ zone: label, server: s.name, run: '-', transport: '-', note: (err as Error).message.slice(0, 200) });
      continue;
    }
    starts.push({ zone: label, server: s.name, seconds: running.startSeconds, rss: running.rss });
    try {
      for (const job of jobs) {
        const perf = dnsperf(running.port, job);
        rows.push({ zone: label, server: s.name, run: job.run, transport: job.transport, perf });
        console.log(label, s.name, job.run, job.transport, perf);
      }
      if (s.name === 'mcns' && during) await during(running);
    } catch (err) {
      rows.push({ zone: label, server: s.name, run: '-', transport: '-', note: (err as Error).message.slice(0, 200) });
    } finally {
      await stop(running.proc);
    }
  }
}

/** Result of the paired run: MCNS on the 10k and the 1M zone, measured alternately. */
interface Paired {
  transport: string;
  small: number[];
  large: number[];
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The 1M-vs-10k ratio compares two rates of one server, so it is measured paired: both MCNS
 * processes run at once (pinned to the same core, only the one being queried busy) and dnsperf
 * alternates between them, ROUNDS times per transport; the medians are compared. Runs measured
 * minutes apart also carry the drift of a shared machine (10-20% here).
 */
async function pairedRounds(large: Running, small: { dir: string; zoneFile: string; db: string; queryFile: string }, largeQueries: string): Promise<Paired[]> {
  const ROUNDS = 5;
  const SECS = 5;
  const s = await startServer('mcns', small.dir, small.zoneFile, small.db, 'mcns-paired');
  try {
    const out: Paired[] = [];
    for (const transport of ['udp', 'tcp'] as const) {
      const pair: Paired = { transport, small: [], large: [] };
      for (let i = 0; i < ROUNDS; i++) {
        pair.small.push(dnsperf(s.port, { run: 'mix', file: small.queryFile, transport }, SECS).qps);
        pair.large.push(dnsperf(large.port, { run: 'mix', file: largeQueries, transport }, SECS).qps);
      }
      console.log('paired', pair);
      out.push(pair);
    }
    return out;
  } finally {
    await stop(s.proc);
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

function table(rows: Row[]): string {
  const knot = new Map<string, Perf>();
  for (const r of rows) if (r.server === 'knot' && r.perf) knot.set(`${r.zone}/${r.run}/${r.transport}`, r.perf);
  let out = '| zone | queries | server | transport | queries/s | x Knot | avg latency ms | latency x Knot | sent | lost |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|\n';
  for (const r of rows) {
    if (!r.perf) {
      out += `| ${r.zone} | ${r.run} | ${r.server} | ${r.transport} | - | - | - | - | - | ${r.note ?? ''} |\n`;
      continue;
    }
    const k = knot.get(`${r.zone}/${r.run}/${r.transport}`);
    const ratio = k ? (r.perf.qps / k.qps).toFixed(2) : '-';
    const lat = k ? (r.perf.latencyMs / k.latencyMs).toFixed(2) : '-';
    out += `| ${r.zone} | ${r.run} | ${r.server} | ${r.transport} | ${Math.round(r.perf.qps)} | ${ratio} | ${r.perf.latencyMs.toFixed(3)} | ${lat} | ${r.perf.sent} | ${r.perf.lost} |\n`;
  }
  return out;
}

/** What each run's name means, for the report. */
const RUN_NOTES: Record<string, string> = {
  mix: "the generator's 200,000-query file, looped",
  'mix once': 'every distinct question of a 1,500,000-query draw, each asked once (first sight: the cache neither stores nor hits)',
  'mix loop 100k': 'the first 100,000 of those distinct questions, looped (uniform)',
  'mix zipf': `1,000,000 queries drawn Zipf-like (s = ${ZIPF_S}) over those distinct questions`,
  'general once': 'questions only the general path answers (A at CNAME owners, TXT, MX), each once',
  'general loop 100k': '100,000 of those, looped (uniform)',
  'general zipf': `1,000,000 queries drawn Zipf-like (s = ${ZIPF_S}) over them`,
};

function section(rows: Row[], paired: Paired[], imports: Record<string, number | undefined>): string {
  const get = (zone: string, server: string, run: string, transport = 'udp') => rows.find((r) => r.zone === zone && r.server === server && r.run === run && r.transport === transport)?.perf;
  const lines: string[] = [];
  for (const transport of ['udp', 'tcp']) {
    for (const zone of ['10k', LARGE_LABEL]) {
      const m = get(zone, 'mcns', 'mix', transport);
      const k = get(zone, 'knot', 'mix', transport);
      const n = get(zone, 'nsd', 'mix', transport);
      if (m && k) lines.push(`- ${zone} ${transport}, realistic mix: MCNS ${Math.round(m.qps)} q/s = ${(m.qps / k.qps).toFixed(2)} x Knot${n ? `, ${(m.qps / n.qps).toFixed(2)} x NSD` : ''}.`);
    }
    const pr = paired.find((x) => x.transport === transport);
    if (pr) {
      const ratio = median(pr.large) / median(pr.small);
      const runs = (xs: number[]) => xs.map((x) => Math.round(x / 1000)).join(', ');
      lines.push(
        `- ${LARGE_LABEL} vs 10k ${transport}: MCNS keeps ${(ratio * 100).toFixed(0)}% of its 10k rate, paired medians of ${pr.small.length} alternating 5 s runs ` +
          `(10k: ${runs(pr.small)}; ${LARGE_LABEL}: ${runs(pr.large)} thousand q/s).`,
      );
    }
  }
  for (const [kind, what] of [
    ['mix', 'realistic mix'],
    ['general', 'general-path questions'],
  ]) {
    const once = get(LARGE_LABEL, 'mcns', `${kind} once`);
    const loop = get(LARGE_LABEL, 'mcns', `${kind} loop 100k`);
    const z = get(LARGE_LABEL, 'mcns', `${kind} zipf`);
    if (once && loop) lines.push(`- answer cache, ${what}, uniform loop over 100,000 distinct questions: ${Math.round(loop.qps)} q/s = ${(loop.qps / once.qps).toFixed(2)} x the first-sight rate (${Math.round(once.qps)} q/s).`);
    if (once && z) lines.push(`- answer cache, ${what}, Zipf-like mix (s = ${ZIPF_S}): ${Math.round(z.qps)} q/s = ${(z.qps / once.qps).toFixed(2)} x the first-sight rate.`);
  }
  for (const s of starts) lines.push(`- start-up, ${s.zone} zone, ${s.server}: ${s.seconds.toFixed(1)} s to ready${s.server.startsWith('mcns') ? ' (serving index built, answering)' : ' (answering)'}, RSS ${s.rss.toFixed(0)} MiB.`);
  for (const [zone, secs] of Object.entries(imports)) if (secs !== undefined) lines.push(`- \`mcns zone import\` of the ${zone} zone file: ${secs.toFixed(1)} s.`);
  const used = [...new Set(rows.map((r) => r.run))].filter((r) => RUN_NOTES[r]);
  return (
    `## DNS\n\nRun ${new Date().toISOString()} by \`bash bench/dns/run.sh${args.length ? ' ' + args.join(' ') : ''}\` on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}: ` +
    `the real server (\`bin/mcns server --config\`, zone loaded by \`mcns zone import\`), Knot and NSD on the same zone files from bench/dns/gen-zone.py, ` +
    `each server pinned to core ${SERVER_CORE}, dnsperf to core ${CLIENT_CORE}, ${SECONDS} s per run (once-runs: until each query was sent), up to 64 queries outstanding. ` +
    `"x Knot" is the ratio of queries/s to Knot's on the same zone, queries and transport; "latency x Knot" the ratio of average latencies.\n\n` +
    `Queries:\n${used.map((r) => `- ${r}: ${RUN_NOTES[r]}`).join('\n')}\n\n${lines.join('\n')}\n\n${table(rows)}\n`
  );
}

function writeResults(text: string): void {
  const file = path.join(ROOT, 'bench', 'RESULTS.md');
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  // Only the "## DNS" section is replaced (the history sections after it are "## DNS history…").
  const re = /## DNS\n[\s\S]*?(?=\n## |$)/;
  const history = existing.indexOf('## DNS history');
  const next = re.test(existing)
    ? existing.replace(re, text.trimEnd() + '\n')
    : history >= 0
      ? `${existing.slice(0, history)}${text.trimEnd()}\n\n${existing.slice(history)}`
      : `${existing.trimEnd()}\n\n${text}`;
  fs.writeFileSync(file, next);
}

// ---------------------------------------------------------------------------------------------

/** The whole benchmark (the helpers above are also used by bench/dns/ab.ts). */
async function main(): Promise<void> {
  for (const tool of ['dnsperf', 'taskset', 'python3', 'openssl']) if (!have(tool)) throw new Error(`missing ${tool}`);
  const rows: Row[] = [];
  const imports: Record<string, number | undefined> = {};
  const mainJobs = (file: string): Job[] => [
    { run: 'mix', file, transport: 'udp' },
    { run: 'mix', file, transport: 'tcp' },
  ];

  const small = zoneData('10k', 10_000);
  const smallDb = mcnsDatabase(small.dir, small.zoneFile);
  imports['10k'] = smallDb.importSeconds;
  await runZone('10k', small.zoneFile, smallDb.db, ['knot', 'nsd', 'mcns'], mainJobs(small.queryFile), rows);

  let paired: Paired[] = [];
  if (!SKIP_1M) {
    const large = zoneData(LARGE_LABEL, LARGE);
    const largeDb = mcnsDatabase(large.dir, large.zoneFile);
    imports[LARGE_LABEL] = largeDb.importSeconds;
    const c = cacheData(large.dir, large.zoneFile, large.queryFile);
    const cacheJobs: Job[] = [
      { run: 'mix once', file: c.mixOnce, transport: 'udp', once: true },
      { run: 'mix loop 100k', file: c.mixLoop, transport: 'udp' },
      { run: 'mix zipf', file: c.mixZipf, transport: 'udp' },
      { run: 'general once', file: c.gpOnce, transport: 'udp', once: true },
      { run: 'general loop 100k', file: c.gpLoop, transport: 'udp' },
      { run: 'general zipf', file: c.gpZipf, transport: 'udp' },
    ];
    await runZone(LARGE_LABEL, large.zoneFile, largeDb.db, ['knot'], [...mainJobs(large.queryFile), ...cacheJobs], rows);
    await runZone(LARGE_LABEL, large.zoneFile, largeDb.db, ['nsd'], mainJobs(large.queryFile), rows);
    await runZone(LARGE_LABEL, large.zoneFile, largeDb.db, ['mcns'], [...mainJobs(large.queryFile), ...cacheJobs], rows, async (mcns) => {
      paired = await pairedRounds(mcns, { ...small, db: smallDb.db }, large.queryFile);
    });
  }
  const text = section(rows, paired, imports);
  console.log(text);
  if (WRITE) writeResults(text);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
