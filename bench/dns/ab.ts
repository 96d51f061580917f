/**
 * Paired comparison of DNS servers on the same query files: every server is started (each pinned
 * to the server core as bench/dns/run.ts pins them, all up at once, only the one being queried
 * busy), then dnsperf alternates between them for `--rounds` rounds, and the medians are printed
 * with their ratios to the first server. For questions like "is HEAD faster than commit X", "what
 * does the real server lose against Knot on this query file", "how does the 1M zone compare with
 * the 10k zone", on a shared machine whose load drifts between runs minutes apart.
 *
 * Servers (in order; the first is the reference of the ratios):
 *   knot:ZONEFILE          Knot on a bench.test zone file
 *   nsd:ZONEFILE           NSD on it
 *   mcns:DB                the real server (bin/mcns server --config) on an imported database
 *   mcns@CHECKOUT:DB       the same, from another checkout (a git worktree of an older commit)
 *   profile[@CHECKOUT]:ZONEFILE  the listener alone (bench/dns/profile-server.ts, profiling only: no SQLite, metrics, logger)
 * Query files after `--`; `once:FILE` sends each query once (dnsperf -n 1) instead of looping. With
 * --per-server there is one file per server (server i is asked file i: two zones, each its own mix).
 * Usage: node --import tsx bench/dns/ab.ts [--rounds 3] [--secs 5] [--transport udp|tcp] [--per-server] SERVER... -- [once:]QUERYFILE...
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/helpers/ports.ts';
import { writeServerConfig } from '../../test/helpers/server-config.ts';
import { dnsperf, logLine, MCNS_INDEX_READY, median, pinned, rssMiB, startServer, stop, waitAnswers, type Running } from './run.ts';
import { flagTaker, optionTaker } from '../args.ts';

const argv = process.argv.slice(2);
const opt = optionTaker(argv);
const ROUNDS = Number(opt('--rounds', '3'));
const SECS = Number(opt('--secs', '5'));
const TRANSPORT = opt('--transport', 'udp') as 'udp' | 'tcp';
const PER_SERVER = flagTaker(argv)('--per-server');
const sep = argv.indexOf('--');
if (sep < 1 || sep === argv.length - 1) {
  console.error('usage: ab.ts [--rounds N] [--secs S] [--transport udp|tcp] SERVER... -- [once:]QUERYFILE...');
  process.exit(2);
}
const specs = argv.slice(0, sep);
const files = argv.slice(sep + 1);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-ab-'));

/** Starts the real server from `checkout` on `db`; resolves once its serving index is built and it answers. */
async function startMcns(checkout: string, db: string, tag: string): Promise<Running> {
  const port = await freePort(true);
  const dir = path.join(work, tag);
  fs.mkdirSync(dir, { recursive: true });
  const cfg = writeServerConfig(dir, { db, dnsListen: `127.0.0.1:${port}`, tail: ['[log]', 'level = "debug"'] });
  const t0 = performance.now();
  const proc = pinned(path.join(checkout, 'bin', 'mcns'), ['server', '--config', cfg], checkout);
  const built = logLine(proc, MCNS_INDEX_READY, 900_000);
  // The index's log lines (built: answering; complete: every type answered), with their times.
  const t = performance.now();
  for (const stream of [proc.stdout, proc.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (/serving index|ledger opened|checkpoint/i.test(line)) console.log(`${tag} +${((performance.now() - t) / 1000).toFixed(1)} s: ${line.slice(0, 240)}`);
      }
    });
  }
  await built;
  await waitAnswers(port, 900_000);
  const startSeconds = (performance.now() - t0) / 1000;
  return { proc, port, startSeconds, rss: rssMiB(proc.pid) };
}

/** Starts bench/dns/profile-server.ts on a zone file (the listener alone, for finding what the real server adds). */
async function startProfile(checkout: string, zoneFile: string): Promise<Running> {
  const port = await freePort(true);
  const t0 = performance.now();
  // Before 2026-12-02 the script was bench/dns/mcns-server.ts.
  const script = ['profile-server.ts', 'mcns-server.ts'].map((f) => path.join(checkout, 'bench', 'dns', f)).find((f) => fs.existsSync(f)) as string;
  const proc = pinned(process.execPath, ['--import', 'tsx', script, zoneFile, String(port)], checkout);
  const ready = logLine(proc, /^ready \d+/m, 900_000);
  proc.stdout?.resume();
  proc.stderr?.resume();
  await ready;
  await waitAnswers(port, 60_000);
  return { proc, port, startSeconds: (performance.now() - t0) / 1000, rss: rssMiB(proc.pid) };
}

const running: Array<{ label: string; r: Running }> = [];
try {
  for (const [i, spec] of specs.entries()) {
    const m = /^(knot|nsd|mcns|profile)(?:@([^:]+))?:(.+)$/.exec(spec);
    if (!m) throw new Error(`bad server ${spec}`);
    const [, kind, checkout, file] = m;
    const label = `${i}:${spec}`;
    const r = kind === 'profile' ? await startProfile(path.resolve(checkout ?? '.'), path.resolve(file)) : kind === 'mcns' ? await startMcns(path.resolve(checkout ?? '.'), path.resolve(file), `s${i}`) : await startServer(kind, work, path.resolve(file), undefined, `s${i}`);
    console.log(`${label}: ready in ${r.startSeconds.toFixed(1)} s, RSS ${r.rss.toFixed(0)} MiB`);
    running.push({ label, r });
  }
  await new Promise((r) => setTimeout(r, 3000));
  const results = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const f of PER_SERVER ? ['paired'] : files) {
      for (const [i, { label, r }] of running.entries()) {
        const spec = PER_SERVER ? files[i] : f;
        const once = spec.startsWith('once:');
        const file = once ? spec.slice(5) : spec;
        const p = dnsperf(r.port, { run: f, file, transport: TRANSPORT, once }, SECS);
        const key = `${f}\t${label}`;
        results.set(key, [...(results.get(key) ?? []), p.qps]);
        console.log(`round ${round} ${path.basename(file)} ${label}: ${Math.round(p.qps)} q/s, ${p.latencyMs.toFixed(3)} ms, lost ${p.lost}`);
      }
    }
  }
  console.log(`\nmedians of ${ROUNDS} rounds of ${SECS} s, ${TRANSPORT}, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}:`);
  for (const f of PER_SERVER ? ['paired'] : files) {
    const ref = median(results.get(`${f}\t${running[0].label}`) ?? [NaN]);
    for (const { label } of running) {
      const xs = results.get(`${f}\t${label}`) ?? [];
      const med = median(xs);
      console.log(`${path.basename(f)}\t${label}\t${Math.round(med)} q/s\t${(med / ref).toFixed(2)} x first\t(${xs.map((x) => Math.round(x / 100) / 10).join(', ')}k)`);
    }
  }
} finally {
  for (const { r } of running) await stop(r.proc);
  fs.rmSync(work, { recursive: true, force: true });
}
