/**
 * Point-in-time reads against DNS latency (issue 10). The real server (`bin/mcns server --config`, a
 * child process) on a 1,000,000-event log; a steady UDP query load measured by its own process
 * (bench/pit/dns-probe.ts: p50/p99 per query); first alone, then while 8 REST clients of a read-only
 * user (`bob`, role user) read `GET /v1/zones/{zone}?at=SEQ` at random points in a loop.
 *
 * The log: one zone, 100-change batches (creates, value updates, deletes) around 20,000 live
 * records, written through Ledger.execute with checkpoint_every = 1000 (the default), one second
 * of clock per batch. Built once into bench/out/pit/ and reused (--rebuild to build again).
 *
 *   node --import tsx bench/pit/run.ts [--events 1000000] [--seconds 30] [--rate 1000] [--clients 8] [--repeat 3] [--rebuild] [--write-results]
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventLog } from '../../src/events/log.ts';
import { openDatabase } from '../../src/events/schema.ts';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../../src/projections/checkpoint.ts';
import { EMPTY_STATE, evolveAll } from '../../src/projections/state.ts';
import { Ledger } from '../../src/ledger.ts';
import type { RecordOp } from '../../src/projections/decide.ts';
import { startMcIasFake } from '../../test/helpers/mcias-fake.ts';
import { writeServerConfig } from '../../test/helpers/server-config.ts';
import { makeTestTls } from '../../test/helpers/tls.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const EVENTS = opt('events', 1_000_000);
const SECONDS = opt('seconds', 30);
const RATE = opt('rate', 1000);
const CLIENTS = opt('clients', 8);
/** Measurements (alone, then with readers) on the same server; the results give each and the medians. */
const REPEAT = opt('repeat', 1);
const ZONE = 'pit.test';
const PROBE_NAME = `ns.${ZONE}.`;

/** Build the log: ~20,000 live records churned in 100-change batches until the log holds `events`. */
function buildLog(path: string, events: number): void {
  rmSync(path, { force: true });
  let clock = Date.UTC(2026, 0, 1);
  const ledger = Ledger.open({ path, checkpointEvery: 1000, clock: () => clock });
  const started = performance.now();
  try {
    ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns.${ZONE}`, admin_email: `hostmaster@${ZONE}` } }, { actor: 'bench' });
    ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: PROBE_NAME, type: 'A', value: '192.0.2.53' }] }, { actor: 'bench' });
    const live: string[] = [];
    let n = 0;
    let seed = 1;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const ip = (): string => `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
    while (ledger.state.seq < events) {
      const ops: RecordOp[] = [];
      const touched = new Set<string>();
      for (let k = 0; k < 100; k++) {
        const r = random();
        // Grow to ~20,000 live records, then hold there: as many creates as deletes.
        if (live.length < 20_000 ? r < 0.8 : r < 0.3) {
          ops.push({ op: 'create', name: `h${n++}.${ZONE}.`, type: 'A', value: ip() });
          continue;
        }
        if (live.length === 0) continue;
        const i = Math.floor(random() * live.length);
        const id = live[i];
        if (touched.has(id)) continue;
        touched.add(id);
        if (r < 0.7) ops.push({ op: 'update', id, value: ip() });
        else {
          ops.push({ op: 'delete', id });
          live[i] = live[live.length - 1];
          live.pop();
        }
      }
      clock += 1000;
      const w = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops }, { actor: 'bench' });
      for (const e of w.events) if (e.body.type === 'RecordCreated') live.push(e.body.payload.id);
      if (ledger.state.seq % 100_000 < 110) process.stderr.write(`  log: ${ledger.state.seq} events, ${live.length} live records, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
    ledger.checkpoint();
  } finally {
    ledger.close();
  }
}

/**
 * Checkpoints of a cached log written by a build with another checkpoint format are skipped by this
 * one (start-up and every `?at=` read would replay from seq 0), which would measure nothing useful.
 * Rewrite them as this build would have written them: the events stay as they are, and the states
 * are folded again and checkpointed every 1000 events, thinned by the ledger's retention as they go.
 */
function refreshCheckpoints(path: string): void {
  const db = openDatabase(path, { readonly: false, create: false });
  try {
    const stale = db.prepare('SELECT count(*) FROM checkpoints WHERE format != ?').pluck().get(CHECKPOINT_FORMAT) as number;
    if (stale === 0) return;
    process.stderr.write(`  ${stale} checkpoints of another format: writing them again in format ${CHECKPOINT_FORMAT}…\n`);
    const started = performance.now();
    const log = new EventLog(db);
    const head = log.head().seq;
    const hashAt = db.prepare('SELECT hash FROM events WHERE seq = ?').pluck();
    // One transaction: an interrupted rewrite leaves the old checkpoints, and the next run starts over.
    db.transaction(() => {
      db.prepare('DELETE FROM checkpoints').run();
      let state = EMPTY_STATE;
      while (state.seq < head) {
        state = evolveAll(state, [...log.iterate(state.seq, Math.min(state.seq + 1000, head))]);
        saveCheckpoint(db, state, hashAt.get(state.seq) as string);
      }
    })();
    process.stderr.write(`  done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  } finally {
    db.close();
  }
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface ProbeResult {
  sent: number;
  answered: number;
  lost: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

function probe(port: number, seconds: number): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench/pit/dns-probe.ts'), String(port), PROBE_NAME, String(seconds), String(RATE)], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ProbeResult) : reject(new Error(`dns-probe exited ${code}`))));
  });
}

interface RunResult {
  alone: ProbeResult;
  loaded: ProbeResult;
  reads: { n: number; failures: number; perSec: number; p50ms: number; p99ms: number; maxms: number };
  /** Load average (1, 5, 15 min) before the DNS-alone probe and at the end of the loaded one. */
  loadBefore: number[];
  loadAfter: number[];
}

interface BenchResult {
  /** When the measurement ended (ISO 8601). */
  measuredAt?: string;
  events: number;
  checkpoints: number;
  runs: RunResult[];
  cpus: number;
}

function loadNow(): number[] {
  return loadavg().map((x) => Math.round(x * 10) / 10);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const outDir = join(REPO, 'bench/out/pit');
  mkdirSync(outDir, { recursive: true });
  const cached = join(outDir, `log-${EVENTS}.db`);
  if (!existsSync(cached) || args.includes('--rebuild')) {
    process.stderr.write(`building a ${EVENTS}-event log in ${cached}…\n`);
    const t0 = performance.now();
    buildLog(cached, EVENTS);
    process.stderr.write(`  built in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  refreshCheckpoints(cached);
  const dir = mkdtempSync(join(tmpdir(), 'mcns-bench-pit-'));
  copyFileSync(cached, join(dir, 'mcns.db'));
  const { head, checkpoints } = (() => {
    const db = openDatabase(join(dir, 'mcns.db'), { readonly: true, create: false });
    try {
      return { head: db.prepare('SELECT max(seq) FROM events').pluck().get() as number, checkpoints: db.prepare('SELECT seq FROM checkpoints ORDER BY seq').pluck().all() as number[] };
    } finally {
      db.close();
    }
  })();
  const tls = makeTestTls();
  const mcias = await startMcIasFake();
  const ports = { dns: 20000 + Math.floor(Math.random() * 20000) };
  const cfg = writeServerConfig(dir, {
    tls,
    dnsListen: `127.0.0.1:${ports.dns}`,
    mcias: [`server_url = "${mcias.url}"`, `ca_cert = "${mcias.tls.caPath}"`, 'service_name = "mcns"'],
    tail: ['[log]', 'level = "info"'],
  });
  const server = spawn(process.execPath, [join(REPO, 'bin/mcns'), 'server', '--config', cfg], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let up = false;
  const serving = new Promise<{ rest: string }>((resolve, reject) => {
    server.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-100_000); // the request log keeps coming: keep its tail only
      if (up) return;
      for (const line of stderr.split('\n')) {
        if (!line.includes('"mcns serving"')) continue;
        up = true;
        resolve(JSON.parse(line) as { rest: string });
      }
    });
    server.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr.slice(-2000)}`)));
  });
  const t0 = performance.now();
  const { rest } = await serving;
  const startSeconds = (performance.now() - t0) / 1000;
  const restPort = Number(rest.split(':').pop());
  const token = mcias.tokenFor('bob');
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS, ca: tls.ca });
  const readAt = (seq: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request({ host: '127.0.0.1', port: restPort, path: `/v1/zones/${ZONE}?at=${seq}`, agent, servername: 'localhost', headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`GET ?at=${seq}: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });

  try {
    process.stderr.write(`server up in ${startSeconds.toFixed(1)} s\n`);
    const runs: RunResult[] = [];
    for (let rep = 1; rep <= REPEAT; rep++) {
      const loadBefore = loadNow();
      process.stderr.write(`run ${rep}/${REPEAT} (load ${loadBefore.join(', ')}): DNS alone for ${SECONDS} s at ${RATE} q/s…\n`);
      const alone = await probe(ports.dns, SECONDS);
      process.stderr.write(`  ${JSON.stringify(alone)}\n  DNS with ${CLIENTS} clients reading ?at= in a loop…\n`);
      let running = true;
      const reads: number[] = [];
      let failures = 0;
      const loops = Array.from({ length: CLIENTS }, async () => {
        while (running) {
          try {
            reads.push(await readAt(1 + Math.floor(Math.random() * (head - 1))));
          } catch {
            failures++;
          }
        }
      });
      const loaded = await probe(ports.dns, SECONDS);
      const loadAfter = loadNow();
      running = false;
      await Promise.all(loops);
      const r = reads.sort((a, b) => a - b);
      const run: RunResult = {
        alone,
        loaded,
        reads: { n: r.length, failures, perSec: Math.round((r.length / SECONDS) * 100) / 100, p50ms: Math.round(pct(r, 50)), p99ms: Math.round(pct(r, 99)), maxms: Math.round(r[r.length - 1] ?? NaN) },
        loadBefore,
        loadAfter,
      };
      process.stderr.write(`  ${JSON.stringify(loaded)}\n  reads ${JSON.stringify(run.reads)}\n`);
      runs.push(run);
    }
    const result: BenchResult = { measuredAt: new Date().toISOString(), events: head, checkpoints: checkpoints.length, runs, cpus: cpus().length };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    if (args.includes('--write-results')) writeResults(result);
  } finally {
    agent.destroy();
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
    await mcias.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(tls.dir, { recursive: true, force: true });
    rmSync(mcias.tls.dir, { recursive: true, force: true });
  }
}

function writeResults(r: BenchResult): void {
  const file = join(REPO, 'bench/RESULTS.md');
  const title = '## Point-in-time reads vs DNS latency';
  const cmd = `node --import tsx bench/pit/run.ts --events ${EVENTS} --seconds ${SECONDS} --rate ${RATE} --clients ${CLIENTS}${r.runs.length > 1 ? ` --repeat ${r.runs.length}` : ''} --write-results`;
  const row = (label: string, p: ProbeResult, load: number[]): string => `| ${label} | ${load.join(', ')} | ${p.sent} | ${p.lost} | ${p.p50} | ${p.p99} | ${p.p999} | ${p.max} |`;
  const rows: string[] = [];
  r.runs.forEach((run, i) => {
    rows.push(row(`${i + 1}: alone`, run.alone, run.loadBefore), row(`${i + 1}: with ${CLIENTS} ?at= readers`, run.loaded, run.loadAfter));
  });
  const med = (pick: (x: RunResult) => number): number => median(r.runs.map(pick));
  const ok = med((x) => x.loaded.p99) < 2;
  const section = [
    title,
    '',
    `${(r.measuredAt ?? new Date().toISOString()).slice(0, 16).replace('T', ' ')} UTC, \`${cmd}\`. The real server (\`bin/mcns server --config\`) on a ${r.events.toLocaleString('en')}-event log`,
    `(one zone, ~20,000 live records churned in 100-change batches, checkpoint_every = 1000; ${r.checkpoints} checkpoints kept by the thinned retention).`,
    `DNS: ${RATE} UDP queries/s for ${SECONDS} s from a separate process (bench/pit/dns-probe.ts), latency per query in ms.`,
    `Then the same while ${CLIENTS} REST clients of a read-only user read \`GET /v1/zones/pit.test?at=SEQ\` at random points in a loop,`,
    `answered by the point-in-time process (nice 19, SCHED_IDLE, --single-threaded-gc). ${r.runs.length} run(s) on one server.`,
    `Machine: ${r.cpus} cores shared with other agents; the load average (1, 5, 15 min) is given per row (before the run, and at the end of the loaded probe).`,
    '',
    '| run | load average | sent | lost | p50 | p99 | p99.9 | max |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Medians over the runs: DNS p99 alone ${med((x) => x.alone.p99)} ms, with ${CLIENTS} readers ${med((x) => x.loaded.p99)} ms (p50 ${med((x) => x.loaded.p50)} ms, p99.9 ${med((x) => x.loaded.p999)} ms).`,
    `?at= reads per run: ${r.runs.map((x) => `${x.reads.n} (${x.reads.failures} failed, p50 ${x.reads.p50ms} ms, p99 ${x.reads.p99ms} ms)`).join('; ')}.`,
    '',
    `**Target (issue 10): DNS p99 under 2 ms with ${CLIENTS} readers: ${ok ? 'met' : 'not met'}** (median ${med((x) => x.loaded.p99)} ms).`,
    '',
  ].join('\n');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = text.indexOf(title);
  if (at >= 0) {
    const next = text.indexOf('\n## ', at + title.length);
    text = text.slice(0, at) + section + (next >= 0 ? text.slice(next + 1) : '');
  } else text = text.trimEnd() + '\n\n' + section;
  writeFileSync(file, text);
}

// `--write-results-from FILE`: write bench/RESULTS.md from the JSON a run printed (a run made without --write-results).
const from = args.indexOf('--write-results-from');
if (from >= 0) writeResults(JSON.parse(readFileSync(args[from + 1], 'utf8')) as BenchResult);
else await main();
