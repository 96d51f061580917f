/**
 * CPU time per UDP answer of DNS servers on the same query file: user and system microseconds the
 * server process spends per answer (from /proc/PID/stat, the process and all its threads) while
 * dnsperf sends queries at a fixed rate it can keep up with (-Q), so every server does the same work
 * whatever else the machine runs. On a shared machine a rate in queries/s measures the machine's
 * load as much as the server (see bench/RESULTS.md, "DNS, 2026-12-02 evening"); CPU time per answer
 * measures what the server itself costs. Servers are started as ab.ts starts them (pinned to the
 * server core, all up at once) and measured in alternating rounds; medians are printed.
 *
 * Servers: knot:ZONEFILE, nsd:ZONEFILE, mcns:DB, mcns@CHECKOUT:DB (another checkout, e.g. a git
 * worktree of an older commit). `--cpu-prof DIR` runs MCNS under `node --cpu-prof` (a profile per
 * server process written to DIR when it exits).
 * Usage: node --import tsx bench/dns/cpu-per-answer.ts [--rounds 5] [--secs 5] [--rate 20000] [--cpu-prof DIR] SERVER... -- QUERYFILE
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/helpers/ports.ts';
import { writeServerConfig } from '../../test/helpers/server-config.ts';
import { logLine, MCNS_INDEX_READY, median, pinned, rssMiB, startServer, stop, waitAnswers, type Running } from './run.ts';
import { optionTaker } from '../args.ts';

const argv = process.argv.slice(2);
const opt = optionTaker(argv);
const ROUNDS = Number(opt('--rounds', '5'));
const SECS = Number(opt('--secs', '5'));
const RATE = Number(opt('--rate', '20000'));
const CPU_PROF = opt('--cpu-prof', '');
const sep = argv.indexOf('--');
if (sep < 1 || sep !== argv.length - 2) {
  console.error('usage: cpu-per-answer.ts [--rounds N] [--secs S] [--rate QPS] [--cpu-prof DIR] SERVER... -- QUERYFILE');
  process.exit(2);
}
const specs = argv.slice(0, sep);
const queryFile = path.resolve(argv[sep + 1]);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-cpu-'));
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User and system CPU seconds of a process so far (utime, stime of /proc/PID/stat: all its threads). */
function cpuOf(pid: number): { user: number; sys: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / TICK, sys: Number(f[12]) / TICK };
}

async function startMcns(checkout: string, db: string, tag: string): Promise<Running> {
  const port = await freePort(true);
  const dir = path.join(work, tag);
  fs.mkdirSync(dir, { recursive: true });
  const cfg = writeServerConfig(dir, { db, dnsListen: `127.0.0.1:${port}`, tail: ['[log]', 'level = "debug"'] });
  const t0 = performance.now();
  const node = CPU_PROF ? [process.execPath, ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF)}`, path.join(checkout, 'bin', 'mcns')]] as const : [path.join(checkout, 'bin', 'mcns'), []] as const;
  const proc = pinned(node[0], [...node[1], 'server', '--config', cfg], checkout);
  const built = logLine(proc, new RegExp(`serving index complete|${MCNS_INDEX_READY.source}`), 900_000);
  proc.stdout?.resume();
  proc.stderr?.resume();
  await built;
  await waitAnswers(port, 900_000);
  return { proc, port, startSeconds: (performance.now() - t0) / 1000, rss: rssMiB(proc.pid) };
}

const running: Array<{ label: string; r: Running }> = [];
try {
  for (const [i, spec] of specs.entries()) {
    const m = /^(knot|nsd|mcns)(?:@([^:]+))?:(.+)$/.exec(spec);
    if (!m) throw new Error(`bad server ${spec}`);
    const [, kind, checkout, file] = m;
    const label = `${i}:${spec}`;
    const r = kind === 'mcns' ? await startMcns(path.resolve(checkout ?? '.'), path.resolve(file), `s${i}`) : await startServer(kind, work, path.resolve(file), undefined, `s${i}`);
    console.log(`${label}: ready in ${r.startSeconds.toFixed(1)} s, RSS ${r.rss.toFixed(0)} MiB`);
    running.push({ label, r });
  }
  // Settle (a large zone's second pass, the heap's sweeping after the build).
  await new Promise((r) => setTimeout(r, 5000));
  const per = new Map<string, { user: number[]; sys: number[]; total: number[] }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const { label, r } of running) {
      const pid = r.proc.pid as number;
      const before = cpuOf(pid);
      const out = execFileSync('taskset', ['-c', '0', 'dnsperf', '-s', '127.0.0.1', '-p', String(r.port), '-d', queryFile, '-l', String(SECS), '-c', '4', '-q', '64', '-Q', String(RATE), '-m', 'udp'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const after = cpuOf(pid);
      const answered = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const lost = Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const user = ((after.user - before.user) / answered) * 1e6;
      const sys = ((after.sys - before.sys) / answered) * 1e6;
      const p = per.get(label) ?? { user: [], sys: [], total: [] };
      p.user.push(user);
      p.sys.push(sys);
      p.total.push(user + sys);
      per.set(label, p);
      console.log(`round ${round} ${label}: ${answered} answers (lost ${lost}), user ${user.toFixed(2)} us, sys ${sys.toFixed(2)} us per answer`);
    }
  }
  console.log(`\nCPU per UDP answer at ${RATE} q/s offered, medians of ${ROUNDS} rounds of ${SECS} s (${path.basename(queryFile)}), load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}:`);
  const ref = median(per.get(running[0].label)?.total ?? [NaN]);
  for (const { label } of running) {
    const p = per.get(label);
    if (!p) continue;
    const total = median(p.total);
    console.log(`${label}\tuser ${median(p.user).toFixed(2)} us\tsys ${median(p.sys).toFixed(2)} us\ttotal ${total.toFixed(2)} us\t${(total / ref).toFixed(2)} x first\t(totals ${p.total.map((x) => x.toFixed(1)).join(', ')})`);
  }
} finally {
  for (const { r } of running) await stop(r.proc);
  fs.rmSync(work, { recursive: true, force: true });
}
