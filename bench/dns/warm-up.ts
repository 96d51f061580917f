/**
 * What the DNS warm-up ([dns] warm_up at its default, src/dns/warm-up.ts) buys in a fresh process's
 * first second of serving, and what it costs later. The real server (bin/mcns server --config,
 * pinned to the server core, with the shipped unit's environment) on a realistic zone, restarted
 * from its serving-index image each round, dnsperf (-S 1, on the client core) started the moment it
 * logs that its DNS listeners are bound.
 *
 *   node --import tsx bench/dns/warm-up.ts [--rounds 3] [--secs 6] [--side-by-side | --trace] [--edns] [DB QUERIES]
 *
 * Default: each round starts the server twice, with the warm-up and without it ("0s"), one after
 * the other, and prints every second's rate and the first second over the median of the later ones
 * (the process against itself a moment later: the machine's drift between processes drops out).
 *
 * --side-by-side: both servers run at once on the server core, each queried by its own dnsperf in
 * the same seconds, and each second's rate with the warm-up is divided by the one without: the
 * steady cost of the warm-up (V8's code made a little more general by its questions), under the very
 * same machine conditions. (Their first seconds are not compared this way: the server without it
 * spends the first second optimizing on the shared core, which slows the other one too.)
 *
 * --edns: dnsperf sends EDNS (-e), as resolvers do; the default query file's mix sends none.
 *
 * --trace: the server with the warm-up only, run with V8's --trace-opt and --trace-deopt; each round
 * prints what V8 threw away (deopts) and compiled after the bind, while dnsperf asks. That is what
 * the warm-up is for: a path it never took costs a deopt and ~30 ms of compiling in the first second
 * (bench/RESULTS.md, twenty-first session). Attribution is by when a line arrives: V8's stdout is
 * line-buffered (stdbuf), the server's log (on stderr, or on stdout when configured so) says when the
 * listeners are bound, and the first clients ask some ms after that.
 *
 * DB QUERIES default to what bench/dns/run.ts made for the 10k zone (bench/out/dns/10k); the zone
 * must be over 4,000 names (a smaller one's index completes without the log line waited for). The
 * database is copied to a temporary directory first (a server writes into its own).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/helpers/ports.ts';
import { writeServerConfig } from '../../test/helpers/server-config.ts';
import { dnsperfPerSecond, logLine, median, pinned, stop, type Running } from './run.ts';
import { flagTaker, optionTaker } from '../args.ts';
import { describeEnvironment, unitEnvironment } from '../unit-env.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const argv = process.argv.slice(2);
const opt = optionTaker(argv);
const ROUNDS = Number(opt('--rounds', '3'));
const SECS = Number(opt('--secs', '6'));
const flag = flagTaker(argv);
const SIDE_BY_SIDE = flag('--side-by-side');
const EDNS = flag('--edns');
const TRACE = flag('--trace');
if (TRACE && SIDE_BY_SIDE) throw new Error('--trace and --side-by-side: one or the other');
const OUT = path.join(ROOT, 'bench', 'out', 'dns');
const [srcDb, queries] = argv.length === 2 ? argv : [`${OUT}/10k/mcns/mcns.db`, `${OUT}/10k/queries.txt`];
for (const f of [srcDb, queries]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run bench/dns/run.ts first (it generates and imports the zones)`);
const ENV = unitEnvironment(ROOT);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-warm-up-'));

/** A copy of the database and a config for it, with `warmUp` as [dns] warm_up (undefined: the default). */
async function serverFiles(tag: string, warmUp: string | undefined): Promise<{ cfg: string; port: number }> {
  const dir = path.join(work, tag);
  fs.mkdirSync(dir, { recursive: true });
  const db = path.join(dir, 'mcns.db');
  for (const suffix of ['', '-wal']) if (fs.existsSync(srcDb + suffix)) fs.copyFileSync(srcDb + suffix, db + suffix);
  const port = await freePort(true);
  return { cfg: writeServerConfig(dir, { db, dnsListen: `127.0.0.1:${port}`, dns: warmUp === undefined ? [] : [`warm_up = "${warmUp}"`] }), port };
}

/** What V8 did after the bind, from --trace-opt and --trace-deopt (`--trace`). */
interface AfterBind {
  /** V8's lines (stdout) that arrived after the listeners were bound. */
  lines: string[];
}

/**
 * Starts a server; resolves once it logged `ready`, with what its warm-up did (its log line), if it
 * ran, and (`trace`) V8's optimization trace after that line, filled in as it runs.
 */
async function start(files: { cfg: string; port: number }, ready = /DNS listening/, trace = false): Promise<Running & { warmUp?: string; afterBind: AfterBind }> {
  const t0 = performance.now();
  const bin = path.join(ROOT, 'bin', 'mcns');
  const argv = ['server', '--config', files.cfg];
  const proc = trace ? pinned('stdbuf', ['-oL', process.execPath, '--trace-opt', '--trace-deopt', bin, ...argv], ROOT, ENV) : pinned(bin, argv, ROOT, ENV);
  let warmUp: string | undefined;
  let bound = false;
  const afterBind: AfterBind = { lines: [] };
  let partial = '';
  // The log line of the warm-up, on whichever stream the server logs to.
  const seeWarmUp = (text: string): void => {
    const m = /"questions":(\d+),"sent":(\d+),"answered":(\d+),"ms":(\d+),"msg":"DNS warmed up"/.exec(text);
    if (m) warmUp = `warm-up: ${m[2]} questions asked in ${m[4]} ms`;
  };
  proc.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    seeWarmUp(text);
    if (/DNS listening/.test(text)) bound = true;
  });
  proc.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    seeWarmUp(text);
    if (!trace) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (/DNS listening/.test(line)) bound = true;
      else if (bound && (line.startsWith('[bailout (') || line.startsWith('[completed compiling'))) afterBind.lines.push(line);
    }
  });
  await logLine(proc, ready, 600_000);
  return { proc, port: files.port, startSeconds: (performance.now() - t0) / 1000, rss: 0, warmUp, afterBind };
}

/** What V8 threw away (deopts) and compiled (with the ms each took) after the bind. */
function afterBindSummary(a: AfterBind): { deopts: string[]; compiled: string[]; compileMs: number } {
  const deopts: string[] = [];
  const compiled: string[] = [];
  let compileMs = 0;
  for (const line of a.lines) {
    const d = /^\[bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing 0x[0-9a-f]+ <JSFunction ([^ >(]*)/.exec(line);
    if (d) deopts.push(`${d[3] || '(anonymous)'} (${d[2]})`);
    const c = /^\[completed compiling 0x[0-9a-f]+ <JSFunction ([^ >(]*).* - took ([\d.]+), ([\d.]+), ([\d.]+) ms\]/.exec(line);
    if (c) {
      const ms = Number(c[2]) + Number(c[3]) + Number(c[4]);
      compileMs += ms;
      compiled.push(`${c[1] || '(anonymous)'} ${ms.toFixed(1)}`);
    }
  }
  return { deopts, compiled, compileMs };
}

/** dnsperf for SECS seconds: the rate of every second (a first second dnsperf misreported: NaN, shown as "?"). */
async function perSecond(port: number): Promise<number[]> {
  return (await dnsperfPerSecond(port, queries, SECS, EDNS ? ['-e'] : [])).seconds;
}

const fmt = (xs: number[]): string => xs.map((x) => (Number.isNaN(x) ? '?' : (x / 1000).toFixed(1))).join(' ');
const running: Running[] = [];
try {
  const warm = await serverFiles('warm', undefined);
  const cold = await serverFiles('cold', '0s');
  // First starts write the serving-index images the rounds restart from (an index is written once
  // complete: the zone must be one whose index has a second pass, over 4,000 names, as the 10k one).
  for (const f of [warm, cold]) {
    const s = await start(f, /DNS serving index complete/);
    await stop(s.proc);
  }
  console.log(`${path.basename(srcDb)} from ${path.dirname(srcDb)}, ${queries}${EDNS ? ' (EDNS)' : ''}; servers with ${describeEnvironment(ENV)}`);
  const summary: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (SIDE_BY_SIDE) {
      const [w, c] = await Promise.all([start(warm), start(cold)]);
      running.push(w, c);
      const [ws, cs] = await Promise.all([perSecond(w.port), perSecond(c.port)]);
      await Promise.all([stop(w.proc), stop(c.proc)]);
      running.length = 0;
      const later = ws.slice(1).map((x, k) => x / cs[k + 1]);
      summary.push(median(later).toFixed(3));
      console.log(`round ${round} (${w.warmUp ?? 'no warm-up ran'}): with ${fmt(ws)}k | without ${fmt(cs)}k | later seconds with/without ${later.map((x) => x.toFixed(2)).join(' ')} (median ${median(later).toFixed(3)})`);
    } else if (TRACE) {
      const s = await start(warm, /DNS listening/, true);
      running.push(s);
      const secs = await perSecond(s.port);
      await stop(s.proc);
      running.length = 0;
      const share = secs[0] / median(secs.slice(1));
      const v8 = afterBindSummary(s.afterBind);
      summary.push(`${v8.deopts.length} deopt(s), ${v8.compiled.length} compiled in ${v8.compileMs.toFixed(1)} ms`);
      console.log(`round ${round} (${s.warmUp ?? 'no warm-up ran'}): per second ${fmt(secs)}k, first / later ${Number.isNaN(share) ? '?' : share.toFixed(2)}`);
      console.log(`  after the bind, deopts: ${v8.deopts.join(', ') || 'none'}`);
      console.log(`  after the bind, compiled (ms): ${v8.compiled.join(', ') || 'nothing'}`);
    } else {
      for (const [name, files] of [['with', warm], ['without', cold]] as const) {
        const s = await start(files);
        running.push(s);
        const secs = await perSecond(s.port);
        await stop(s.proc);
        running.length = 0;
        const share = secs[0] / median(secs.slice(1));
        summary.push(`${name} ${Number.isNaN(share) ? '?' : share.toFixed(2)}`);
        console.log(`round ${round}, ${name} the warm-up (${s.warmUp ?? 'none ran'}): per second ${fmt(secs)}k; first second / later median ${Number.isNaN(share) ? '? (dnsperf misreported it)' : share.toFixed(2)}`);
      }
    }
  }
  const what = SIDE_BY_SIDE ? 'steady rate with / without the warm-up, per round' : TRACE ? 'V8 after the bind, per round' : 'first second / the same process later, per run';
  console.log(`\n${what}: ${summary.join(TRACE ? '; ' : ', ')}; load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  for (const s of running) await stop(s.proc);
  fs.rmSync(work, { recursive: true, force: true });
}
