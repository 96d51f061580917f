/**
 * Big zones (issue 17), measured with the real server: `node --import tsx bench/bigzone/run.ts`.
 *
 * On the anchors' realistic zone (`/work/shared/bench/gen-zone.py 1000000`: 1,571,039 records of A,
 * AAAA, TXT, MX and CNAME), kept with its databases under bench/out/bigzone (gitignored) and reused:
 *   1. `bin/mcns zone import` offline into a fresh database (skipped when import.db exists, unless --fresh-import);
 *   2. the first start from that database (the import leaves it checkpointed): time to "ledger opened",
 *      to the listeners bound, to "serving index built" (A/AAAA/NODATA/NXDOMAIN) and to "complete"
 *      (every type: the second pass), the server's CPU seconds at each, RSS at the first and 2 s after
 *      the last, the rcode of a query sent the moment the listeners are bound (never REFUSED for
 *      a zone that exists), and the delay of a TXT asked once the index is built (the general path's,
 *      which waits for a big zone's read). The server is pinned to one core (taskset; `--no-pin` to not);
 *   3. `--writes N` record creates through REST at `--rate` per second (the "hour of writes", scaled),
 *      then RSS again;
 *   4. SIGTERM to exit;
 *   5. `--restarts K` restarts from the checkpoint, each timed to the serving index, with RSS and SIGTERM time;
 *   6. Knot loading the same file (time to its first answer, RSS).
 * The server gets the environment of deploy/systemd/mcns.service (`--bare-env`: none of its own).
 * Medians of the repeated figures are reported with the load average. `--write-results` puts the table in
 * bench/RESULTS.md under "Big zones". `--names N` for a smaller zone (another directory). `--cpu-prof DIR`:
 * a V8 CPU profile of each server start, written into DIR when it exits.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, Agent } from 'node:https';
import { startMcIasFake } from '../../test/helpers/mcias-fake.ts';
import { makeTestTls } from '../../test/helpers/tls.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { writeServerConfig } from '../../test/helpers/server-config.ts';
import { httpsText, sampleOrZero } from '../../test/helpers/scrape.ts';
import { ask, buildQuery, flatten, udpExchange } from '../../test/dns/helpers.ts';
import { describeEnvironment, unitEnvironment } from '../unit-env.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MCNS = join(ROOT, 'bin', 'mcns');
const ZONE = 'bench.test';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const NAMES = Number(arg('names', '1000000'));
const WRITES = Number(arg('writes', '20000'));
const RATE = Number(arg('rate', '200'));
const RESTARTS = Number(arg('restarts', '3'));
/** The core the server is pinned to (`--no-pin`: not pinned; also when taskset is missing or there is one core). */
const PIN = ((): string | undefined => {
  if (flag('no-pin') || cpus().length < 2) return undefined;
  try {
    execFileSync('which', ['taskset'], { stdio: 'ignore' });
    return '1';
  } catch {
    return undefined;
  }
})();
/** The server's environment: the shipped systemd unit's (bench/unit-env.ts), or none of its own with `--bare-env`. */
const UNIT_ENV: Record<string, string> = flag('bare-env') ? {} : unitEnvironment(ROOT);
/** `--cpu-prof DIR`: each server start writes a V8 CPU profile into DIR at exit (node --cpu-prof). */
const CPU_PROF = ((): string | undefined => {
  if (!flag('cpu-prof')) return undefined;
  const dir = arg('cpu-prof', '');
  if (dir === '' || dir.startsWith('--')) throw new Error('--cpu-prof needs a directory: --cpu-prof DIR');
  return dir;
})();
const DIR = join(ROOT, 'bench', 'out', NAMES === 1_000_000 ? 'bigzone' : `bigzone-${NAMES}`);
const ZONE_FILE = join(DIR, 'bench.test.zone');
const IMPORT_DB = join(DIR, 'import.db');
const loads: number[] = [];
const sampleLoad = (): void => {
  loads.push(loadavg()[0]);
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** CPU seconds (user + system, all threads) the process has used so far: the measure a loaded machine keeps. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function rssMiB(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Where a process's resident memory is, from /proc/PID/smaps: the brk heap (glibc's main malloc
 * arena), anonymous mappings that belong to glibc's thread arenas (inside a 64 MiB-aligned
 * reservation: the thread pool's zlib and crypto buffers), the other anonymous mappings (V8's heap
 * pages, large objects and big ArrayBuffer stores, which malloc maps on their own), and files (code).
 */
function rssWhere(pid: number | undefined): string {
  if (!pid) return '';
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return '';
  }
  const kb = { brk: 0, arenas: 0, anon: 0, file: 0 };
  let kind: keyof typeof kb = 'anon';
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[3];
      const start = parseInt(head[1], 16);
      // Thread arenas are reserved 64 MiB-aligned (HEAP_MAX_SIZE): their first mapping starts on the boundary.
      kind = path === '[heap]' ? 'brk' : path.startsWith('/') ? 'file' : path === '' && start % (64 * 2 ** 20) === 0 ? 'arenas' : 'anon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kb[kind] += Number(rss[1]);
  }
  const mib = (k: number): string => (k / 1024).toFixed(0);
  return `brk ${mib(kb.brk)}, malloc thread arenas ${mib(kb.arenas)}, other anonymous ${mib(kb.anon)}, files ${mib(kb.file)} MiB`;
}

/**
 * What V8 holds in a server, from its own /metrics (prom-client's default Node.js metrics): the heap's
 * used and total bytes, old space's used bytes (the long-lived objects: the ledger's and the index's
 * JS objects), and external memory (ArrayBuffer stores: the index's typed arrays, Buffers). Beside
 * rssWhere's split it says whether resident memory is live objects, heap kept after a GC, or neither
 * (malloc's own).
 */
async function heapWhere(restPort: number): Promise<string> {
  const text = await httpsText(restPort, '/metrics').catch((e: unknown) => `error ${String(e)}`);
  const mib = (line: RegExp): string => (sampleOrZero(text, line) / 2 ** 20).toFixed(0);
  return `V8 heap used ${mib(/^nodejs_heap_size_used_bytes /)} of ${mib(/^nodejs_heap_size_total_bytes /)} MiB (old space used ${mib(/^nodejs_heap_space_size_used_bytes\{space="old"\} /)}), external ${mib(/^nodejs_external_memory_bytes /)} MiB`;
}

/** Resolves with the first JSON log line on `proc`'s stderr whose msg matches, and the ms since `t0`. */
function logWatcher(proc: ChildProcess, t0: number, seen: Array<{ line: Record<string, unknown>; ms: number }>): (msg: RegExp, timeoutMs?: number) => Promise<{ line: Record<string, unknown>; ms: number }> {
  const waiters: Array<() => void> = [];
  let buf = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!l.startsWith('{')) continue;
      try {
        seen.push({ line: JSON.parse(l) as Record<string, unknown>, ms: performance.now() - t0 });
      } catch {
        // not JSON
      }
    }
    waiters.splice(0).forEach((w) => w());
  });
  return (msg, timeoutMs = 1_800_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${msg}`)), timeoutMs);
      const check = (): void => {
        const hit = seen.find((s) => typeof s.line.msg === 'string' && msg.test(s.line.msg));
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      proc.on('exit', () => reject(new Error(`server exited before logging ${msg}`)));
      check();
    });
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

interface Start {
  ledgerMs: number;
  boundMs: number;
  indexMs: number;
  /** The second pass done: every type answered from the index (undefined when the zone needed none). */
  completeMs?: number;
  /** CPU seconds of the server process at "ledger opened", at "serving index built" and at "complete". */
  cpu: { ledger: number; index: number; complete?: number };
  rss: number;
  /** RSS once the index is complete (every type), after a 2 s settle. */
  rssComplete?: number;
  /** The highest RSS seen, sampled every 100 ms from the spawn to then: a transient peak (a copy, garbage before a major GC) that the points above miss. */
  rssPeak: number;
  firstRcode: string;
  /** Milliseconds from asking the first question (a CNAME owner, at the bind) to its answer. */
  firstAnswerMs: number;
  /** The TXT asked once the index is built (the general path's question): rcode, answers, milliseconds to them. */
  txtRcode: string;
  txtAnswers: number;
  txtAnswerMs: number;
  phases: Record<string, unknown>;
}

interface Server {
  proc: ChildProcess;
  /** Every JSON log line the server wrote, with the ms since it was spawned. */
  log: Array<{ line: Record<string, unknown>; ms: number }>;
  rest: number;
  dnsPort: number;
  start: Start;
}

async function startMcns(cfg: string, dnsPort: number): Promise<Server> {
  const t0 = performance.now();
  // Pinned to one core (as bench/dns pins servers): the issue's targets are wall time on one core,
  // where V8's GC helper threads share the core with the main thread instead of running beside it.
  const argv = [process.execPath, ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []), MCNS, 'server', '--config', cfg];
  const opts = { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] as ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...UNIT_ENV } };
  const proc = PIN ? spawn('taskset', ['-c', PIN, ...argv], opts) : spawn(argv[0], argv.slice(1), opts);
  const log: Server['log'] = [];
  const wait = logWatcher(proc, t0, log);
  const sampler = rssPeakSampler(proc.pid);
  const ledger = await wait(/^ledger opened$/);
  const cpuLedger = cpuSeconds(proc.pid);
  const serving = await wait(/^mcns serving$/);
  // The listeners are bound: ask at once. h1 is a CNAME owner: before the zone is read (a start
  // without the image) the index answers its A from its target's entry. Once the index is built, a
  // TXT the zone holds, which the general path answers until the second pass: in a big zone not yet
  // read it waits for the read (src/dns/zone-read.ts). Each asked with a resolver's patience, its
  // delay reported.
  const askedAt = performance.now();
  const first = flatten(await udpExchange(dnsPort, buildQuery({ name: `h1.${ZONE}.`, type: 1 }), 30_000));
  const firstAnswerMs = performance.now() - askedAt;
  const index = await wait(/^start-up done: serving index built$/);
  const cpuIndex = cpuSeconds(proc.pid);
  const rss = rssMiB(proc.pid);
  // (After the RSS: the TXT's wait has the zone read at once.)
  const txtAskedAt = performance.now();
  const txt = flatten(await udpExchange(dnsPort, buildQuery({ name: TXT_OWNER, type: 16 }), 30_000));
  const txtAnswerMs = performance.now() - txtAskedAt;
  // The second pass (other types, CNAME chains) is logged at info level only when it took 100 ms or more.
  let complete: { ms: number } | undefined;
  try {
    // Restored from the serving-index image saved at the last exit: complete from the start.
    complete = await wait(/^DNS serving index complete|^serving index restored from image$/, 600_000);
  } catch {
    complete = undefined;
  }
  const cpuComplete = complete ? cpuSeconds(proc.pid) : undefined;
  if (complete) await new Promise((r) => setTimeout(r, 2000));
  const rssComplete = complete ? rssMiB(proc.pid) : undefined;
  const rssPeak = sampler.stop();
  const rest = Number(String((serving.line as { rest: string }).rest).split(':').pop());
  if (complete) console.log(`  RSS once complete ${rssComplete?.toFixed(0)} MiB (peak until then ${rssPeak.toFixed(0)} MiB): ${rssWhere(proc.pid)}; ${await heapWhere(rest)}`);
  return {
    proc,
    log,
    rest,
    dnsPort,
    start: { ledgerMs: ledger.ms, boundMs: serving.ms, indexMs: index.ms, completeMs: complete?.ms, cpu: { ledger: cpuLedger, index: cpuIndex, complete: cpuComplete }, rss, rssComplete, rssPeak, firstRcode: first.rcode, firstAnswerMs, txtRcode: txt.rcode, txtAnswers: txt.answer.length, txtAnswerMs, phases: pick(index.line, ['checkpointLoadMs', 'tailReplayMs', 'indexImageMs', 'indexBuildMs', 'replayed']) },
  };
}

async function sigterm(s: Server): Promise<number> {
  const t0 = performance.now();
  const from = s.log.length;
  const exited = new Promise<void>((res) => s.proc.on('exit', () => res()));
  s.proc.kill('SIGTERM');
  await exited;
  const ms = performance.now() - t0;
  // What the shutdown did and when (ms after the signal): where a slow exit spends its time.
  const t0Log = s.log[from]?.ms ?? 0;
  const detail = (l: { line: Record<string, unknown> }): string => ['ms', 'bytes', 'action', 'background', 'seq', 'tail', 'checkpointSeq', 'reason'].filter((k) => l.line[k] !== undefined).map((k) => `${k} ${String(l.line[k])}`).join(', ');
  console.log(`SIGTERM to exit ${(ms / 1000).toFixed(2)} s: ${s.log.slice(from).map((l) => `+${Math.round(l.ms - t0Log)} ms ${String(l.line.msg)} (${detail(l)})`).join('; ')}`);
  return ms;
}

function post(port: number, token: string, ca: Buffer, agent: Agent, path: string, body: unknown): Promise<number> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, ca, servername: 'localhost', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * The highest RSS of process `pid`, sampled every 100 ms until `stop` (which returns it): a transient
 * peak (a copy, garbage before a major GC) lasts well under a second. Unref'd, so one left running
 * when a wait fails does not keep the benchmark alive; a gone process is reported by what waits on it.
 */
function rssPeakSampler(pid: number | undefined): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // The process is gone.
    }
  }, 100);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** `n` record creates at `rate` per second, one at a time (paced), through REST; returns the seconds taken and non-2xx count. */
async function writes(s: Server, token: () => string, ca: Buffer, n: number, rate: number): Promise<{ seconds: number; failed: number; rss: number[]; peak: number }> {
  const rss: number[] = [];
  // And the highest RSS, every 100 ms: a background checkpoint's peak lasts well under a second.
  const sampler = rssPeakSampler(s.proc.pid);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const t0 = performance.now();
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const status = await post(s.rest, token(), ca, agent, `/v1/zones/${ZONE}/records`, { name: `w${i}-${Date.now() % 100000}`, type: 'A', value: `198.51.${(i >> 8) & 255}.${i & 255}` });
    if (status < 200 || status > 299) failed++;
    if (i % 1000 === 0) sampleLoad();
    // RSS about once a second while the writes go on (background checkpoints come and go).
    if (i % rate === 0) rss.push(rssMiB(s.proc.pid));
  }
  agent.destroy();
  return { seconds: (performance.now() - t0) / 1000, failed, rss, peak: sampler.stop() };
}

async function knot(): Promise<{ ms: number; rss: number } | undefined> {
  try {
    execFileSync('which', ['knotd'], { stdio: 'ignore' });
  } catch {
    console.log('knotd not installed: no comparison row');
    return undefined;
  }
  const dir = join(DIR, 'knot');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'knotdb'), { recursive: true });
  const port = await freePort(true);
  const conf = join(dir, 'knot.conf');
  writeFileSync(
    conf,
    `server:\n  listen: 127.0.0.1@${port}\n  rundir: ${dir}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\ndatabase:\n  storage: ${dir}/knotdb\nlog:\n  - target: stderr\n    any: error\ntemplate:\n  - id: default\n    semantic-checks: off\n    zonefile-sync: -1\n    journal-content: none\nzone:\n  - domain: ${ZONE}\n    file: ${ZONE_FILE}\n`,
  );
  const t0 = performance.now();
  const proc = PIN ? spawn('taskset', ['-c', PIN, 'knotd', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('knotd', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.resume();
  try {
    for (;;) {
      try {
        const a = await ask(port, { name: `h1.${ZONE}.`, type: 1 });
        if (a.rcode === 'NOERROR') break;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = performance.now() - t0;
    return { ms, rss: rssMiB(proc.pid) };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
}

/** The owner of the zone file's first TXT record (within its first MiB), asked after the bind. */
let TXT_OWNER = '';
function firstTxtOwner(): string {
  const fd = openSync(ZONE_FILE, 'r');
  try {
    const head = Buffer.alloc(1 << 20);
    const text = head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString('latin1');
    const m = /^(\S+)\s+\d+\s+IN\s+TXT\s/m.exec(text);
    if (!m) throw new Error(`no TXT record in the first MiB of ${ZONE_FILE}`);
    return m[1];
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  sampleLoad();
  if (!existsSync(ZONE_FILE)) {
    console.log(`generating ${ZONE_FILE} (${NAMES} names)`);
    execFileSync('python3', ['/work/shared/bench/gen-zone.py', String(NAMES), ZONE_FILE, join(DIR, 'queries.txt')], { stdio: 'inherit' });
  }
  TXT_OWNER = firstTxtOwner();
  const records = readFileSync(ZONE_FILE, 'utf8').split('\n').filter((l) => l && !l.startsWith(';') && !l.startsWith('$')).length;
  let importSeconds: number | undefined;
  const importNote = join(DIR, 'import.json');
  if (flag('fresh-import') || !existsSync(IMPORT_DB)) {
    for (const f of [IMPORT_DB, `${IMPORT_DB}-wal`, `${IMPORT_DB}-shm`]) rmSync(f, { force: true });
    console.log(`mcns zone import ${ZONE} ${ZONE_FILE} --db ${IMPORT_DB}`);
    const t0 = performance.now();
    execFileSync(process.execPath, [MCNS, 'zone', 'import', ZONE, ZONE_FILE, '--db', IMPORT_DB], { stdio: 'inherit', cwd: ROOT });
    importSeconds = (performance.now() - t0) / 1000;
    writeFileSync(importNote, JSON.stringify({ importSeconds, load: loadavg()[0], at: new Date().toISOString() }));
    sampleLoad();
  } else if (existsSync(importNote)) {
    importSeconds = (JSON.parse(readFileSync(importNote, 'utf8')) as { importSeconds: number }).importSeconds;
    console.log(`reusing ${IMPORT_DB} (imported in ${importSeconds.toFixed(1)} s earlier; --fresh-import to redo)`);
  }
  const work = join(DIR, 'work.db');
  // The serving-index image too (a cache beside the database): the first start builds the index.
  for (const f of [work, `${work}-wal`, `${work}-shm`, `${work}.index`]) rmSync(f, { force: true });
  copyFileSync(IMPORT_DB, work);

  const mcias = await startMcIasFake();
  const tls = makeTestTls();
  const dnsPort = await freePort(true);
  const cfgDir = join(DIR, 'server');
  mkdirSync(cfgDir, { recursive: true });
  const cfg = writeServerConfig(cfgDir, {
    db: work,
    dnsListen: `127.0.0.1:${dnsPort}`,
    tls,
    mcias: [`server_url = "${mcias.url}"`, `ca_cert = "${mcias.tls.caPath}"`],
  });
  // A token of the MCIAS fake lives an hour: a real hour of writes takes a new one every 30 minutes
  // (with one token the last ~28 s of a 3,600 s run were refused, 401).
  let token = mcias.tokenFor('mcp-agent');
  let tokenAt = Date.now();
  const freshToken = (): string => {
    if (Date.now() - tokenAt > 30 * 60_000) {
      token = mcias.tokenFor('mcp-agent');
      tokenAt = Date.now();
    }
    return token;
  };

  console.log('first start (from the import)…');
  const first = await startMcns(cfg, dnsPort);
  console.log(JSON.stringify(first.start));
  sampleLoad();
  const w = await writes(first, freshToken, tls.ca, WRITES, RATE);
  await new Promise((r) => setTimeout(r, 3000));
  const rssAfterWrites = rssMiB(first.proc.pid);
  console.log(`${WRITES} writes in ${w.seconds.toFixed(1)} s (${w.failed} failed), RSS ${rssAfterWrites.toFixed(0)} MiB (${rssWhere(first.proc.pid)}; ${await heapWhere(first.rest)})`);
  const late = w.rss.slice(Math.floor(w.rss.length / 2));
  console.log(`  RSS during the writes, once a second: max ${Math.max(...w.rss).toFixed(0)} MiB, second half median ${median(late).toFixed(0)} / max ${Math.max(...late).toFixed(0)} MiB; highest every 100 ms ${w.peak.toFixed(0)} MiB`);
  for (const l of first.log.filter((x) => /checkpoint/i.test(String(x.line.msg)))) console.log(`  at ${(l.ms / 1000).toFixed(1)} s: ${JSON.stringify(l.line)}`);
  const stops = [await sigterm(first)];
  const restarts: Start[] = [];
  for (let i = 0; i < RESTARTS; i++) {
    const s = await startMcns(cfg, dnsPort);
    console.log(`restart ${i + 1}: ${JSON.stringify(s.start)}`);
    restarts.push(s.start);
    sampleLoad();
    stops.push(await sigterm(s));
  }
  await mcias.close();
  const k = flag('skip-knot') ? undefined : await knot();
  sampleLoad();

  const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const rows = [
    ['offline `mcns zone import`', importSeconds !== undefined ? `${importSeconds.toFixed(1)} s` : 'n/a', '(loads the file directly)'],
    ['first start after the import (its checkpoint): to "ledger opened" / listeners bound / serving index built', `${sec(first.start.ledgerMs)} / ${sec(first.start.boundMs)} / ${sec(first.start.indexMs)}, RSS ${first.start.rss.toFixed(0)} MiB`, k ? `${sec(k.ms)} to answer, RSS ${k.rss.toFixed(0)} MiB` : '-'],
    ['first answer (a CNAME owner\'s A), asked the moment the listeners bound', `${first.start.firstRcode} after ${sec(first.start.firstAnswerMs)}`, '-'],
    ['then, once the index is built, a TXT the zone holds (the general path until the second pass)', `${first.start.txtRcode} with ${first.start.txtAnswers} answer(s) after ${sec(first.start.txtAnswerMs)}`, '-'],
    [`RSS after ${WRITES} REST writes at ${RATE}/s (${w.seconds.toFixed(0)} s)`, `${rssAfterWrites.toFixed(0)} MiB`, '-'],
    [`SIGTERM to exit (median of ${stops.length})`, `${sec(median(stops))} (${stops.map((s) => (s / 1000).toFixed(1)).join(', ')})`, '-'],
    [
      `restart from the checkpoint to "serving index built" (median of ${restarts.length})`,
      `${sec(median(restarts.map((r) => r.indexMs)))} (${restarts.map((r) => (r.indexMs / 1000).toFixed(1)).join(', ')}); to "ledger opened" ${sec(median(restarts.map((r) => r.ledgerMs)))}`,
      k ? `${sec(k.ms)} to answer` : '-',
    ],
    ['RSS after restart (median)', `${median(restarts.map((r) => r.rss)).toFixed(0)} MiB`, k ? `${k.rss.toFixed(0)} MiB` : '-'],
    ['highest RSS from spawn to complete (sampled every 100 ms): first start / restarts', `${first.start.rssPeak.toFixed(0)} / ${restarts.map((r) => r.rssPeak.toFixed(0)).join(', ')} MiB`, '-'],
    [
      'restart: to the index complete (every type, second pass done), and RSS then (medians)',
      `${sec(median(restarts.map((r) => r.completeMs ?? NaN)))}, RSS ${median(restarts.map((r) => r.rssComplete ?? NaN)).toFixed(0)} MiB`,
      '-',
    ],
    [
      'restart: server CPU seconds (user + system) at "ledger opened" / index built / index complete (medians)',
      ['ledger', 'index', 'complete'].map((k) => median(restarts.map((r) => (r.cpu as Record<string, number | undefined>)[k] ?? NaN)).toFixed(1)).join(' / '),
      '-',
    ],
    ['start-up phases of the last restart (ms)', JSON.stringify(restarts[restarts.length - 1]?.phases ?? {}).replace(/"/g, ''), '-'],
  ];
  const table = `| step | MCNS | Knot on the same file |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`;
  const head =
    `Run ${new Date().toISOString()} by \`node --import tsx bench/bigzone/run.ts --writes ${WRITES} --rate ${RATE} --restarts ${RESTARTS}${flag('bare-env') ? ' --bare-env' : ''}\` ` +
    `${PIN ? `(server pinned to core ${PIN}) ` : '(server not pinned) '}with ${describeEnvironment(UNIT_ENV)} on ${NAMES.toLocaleString('en')} names (${records.toLocaleString('en')} records, /work/shared/bench/gen-zone.py), the real server (\`bin/mcns server --config\`), ` +
    `Node ${process.version}. Load average during the run: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} (2 cores shared with other agents: timings are noisy).\n\n`;
  console.log(`\n${head}${table}`);
  if (flag('write-results')) {
    const path = join(ROOT, 'bench', 'RESULTS.md');
    const text = readFileSync(path, 'utf8');
    const block = `<!-- Bigzone:start -->\n## Big zones\n\n${head}${table}<!-- Bigzone:end -->`;
    const re = /<!-- Bigzone:start -->[\s\S]*<!-- Bigzone:end -->/;
    writeFileSync(path, re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`);
    console.log('written to bench/RESULTS.md');
  }
}

await main();
