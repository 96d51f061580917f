/**
 * DNSSEC figures for issue 12, on the generator's realistic zone (100,000 names by default):
 *
 * 1. Signing: CPU time of SignedZone.build on the zone's RRsets (one core, in-process; the DO
 *    fast-answer table, built after signing in slices on a server, is timed on its own), beside the
 *    time Knot takes from start to answering the zone's DNSKEY when it signs the same file.
 * 2. Re-signing one change: ledger write + ZoneSigners.update (what happens between a write's 2xx
 *    and its signed answer), p50/p99 over N single-record writes, in-process.
 * 3. Serving: `bin/mcns server --config` on the signed zone, first-sight queries (each existing
 *    name asked once for A) with and without DO, beside Knot signing the same zone; the issue's
 *    target is DO >= 70% of the rate without DO.
 *
 *   node --import tsx bench/dnssec/run.ts [--names 100000] [--changes 1000] [--seconds 10] [--parts sign,change,serve] [--write-results]
 *
 * The change latency through the REST API and the DO rate with server CPU per query are
 * bench/dnssec/serve.ts's.
 *
 * Data is kept under bench/out/dnssec. The machine should be quiet (no other benchmark or test).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Ledger } from '../../src/ledger.ts';
import { KeyStore } from '../../src/dnssec/keystore.ts';
import { ANSWERS_PER_SLICE, ZoneSigners } from '../../src/dnssec/signer.ts';
import { SignedZone } from '../../src/dnssec/signed-zone.ts';
import { DERIVED_TYPES } from '../../src/dnssec/signed-zone.ts';
import { zoneRRsets } from '../../src/dnssec/zone-content.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { dnsperf, logLine, MCNS_INDEX_READY, median, pinned, stop, waitAnswers, type Job } from '../dns/run.ts';
import { writeServerConfig } from '../../test/helpers/server-config.ts';

const { values } = parseArgs({
  options: {
    names: { type: 'string', default: '100000' },
    changes: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    'write-results': { type: 'boolean', default: false },
    /** Which parts to run: sign (1), change (2), serve (3, Knot and MCNS). */
    parts: { type: 'string', default: 'sign,change,serve' },
  },
});
const PARTS = new Set(values.parts.split(','));
const NAMES = Number(values.names);
const CHANGES = Number(values.changes);
const SECONDS = Number(values.seconds);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const OUT = path.join(ROOT, 'bench', 'out', 'dnssec', `${NAMES}`);
const MCNS = path.join(ROOT, 'bin', 'mcns');
const ZONE = 'bench.test';
fs.mkdirSync(OUT, { recursive: true });

const zoneFile = path.join(OUT, 'bench.test.zone');
const queryFile = path.join(OUT, 'queries.txt');
if (!fs.existsSync(zoneFile)) execFileSync('python3', [path.join(ROOT, 'bench', 'dns', 'gen-zone.py'), String(NAMES), zoneFile, queryFile, '1000'], { stdio: 'inherit' });

// First-sight questions: every owner of an A record, once, in file order.
const owners = [...new Set([...fs.readFileSync(zoneFile, 'utf8').matchAll(/^(\S+) \d+ IN A /gm)].map((m) => m[1]))];
const firstSight = path.join(OUT, 'first-sight-a.txt');
fs.writeFileSync(firstSight, owners.map((n) => `${n} A`).join('\n') + '\n');

// A signed database, made once with the CLI as an operator would.
const db = path.join(OUT, 'mcns.db');
if (!fs.existsSync(db)) {
  execFileSync(MCNS, ['zone', 'import', ZONE, zoneFile, '--db', db], { stdio: 'inherit' });
  execFileSync(MCNS, ['zone', 'dnssec', 'enable', ZONE, '--db', db, '--algorithm', 'ecdsap256sha256', '--denial', 'nsec'], { stdio: 'inherit' });
}

const lines: string[] = [];
const say = (s: string): void => {
  console.log(s);
  lines.push(s);
};
say(`load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// 1. Signing CPU time.
if (PARTS.has('sign') || PARTS.has('change')) {
  // On a copy: the change runs write records the serving runs should not see.
  const work = path.join(OUT, 'work.db');
  fs.copyFileSync(db, work);
  const ledger = Ledger.open({ path: work, create: false });
  const zone = ledger.state.zones.get(`${ZONE}.`)!;
  const signers = new ZoneSigners({ keys: new KeyStore(ledger.db), clock: () => Math.floor(Date.now() / 1000) });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  signers.update(ledger.state);
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  // The DO fast-answer table: encoded after signing, in slices on the server (ZoneSigners.answersInSlices), here at once.
  const a0 = process.cpuUsage();
  const answersPending = !(signers.get(`${ZONE}.`) as SignedZone).answersComplete;
  signers.finishAnswers();
  const answersCpu = process.cpuUsage(a0);
  const signed = signers.get(`${ZONE}.`) as SignedZone;
  let sigs = 0;
  for (const rs of signed.records()) if (rs.type === 46) sigs += rs.rdatas.length;
  const content = [...zoneRRsets(zone)].filter((rs) => !DERIVED_TYPES.has(rs.type)).length;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  say(`signing ${NAMES} names (${content} RRsets, ${sigs} signatures, ECDSA P-256, NSEC): ${(ms / 1000).toFixed(2)} s wall, ${cpuS.toFixed(2)} s CPU of the process (${((cpuS * 1e6) / sigs).toFixed(1)} us per signature, all in; target < 10 s)`);
  say(`  then the DO fast-answer table of its owners (after signing, in slices of ${ANSWERS_PER_SLICE} owners on a server${answersPending ? '' : '; none were pending'}): ${((answersCpu.user + answersCpu.system) / 1e6).toFixed(2)} s CPU`);

  // 2. One change: write + re-sign.
  const times: number[] = [];
  for (let i = 0; i < (PARTS.has('change') ? CHANGES : 0); i++) {
    const t = performance.now();
    ledger.execute({ kind: 'changeRecords', zone: `${ZONE}.`, ops: [{ op: 'create', name: `bench-change-${Date.now()}-${i}.${ZONE}.`, type: 'A', value: `198.51.100.${i % 250}` }] }, { actor: 'bench' });
    signers.update(ledger.state);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  if (times.length > 0) say(`one change written and re-signed, ${CHANGES} changes: p50 ${times[Math.floor(CHANGES / 2)].toFixed(2)} ms, p99 ${times[Math.floor(CHANGES * 0.99)].toFixed(2)} ms (target p99 < 10 ms)`);
  ledger.close();
}

// Knot signing the same file.
async function knot(): Promise<{ port: number; stopIt: () => Promise<void>; readySeconds: number }> {
  const dir = path.join(OUT, 'knot');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'keys'), { recursive: true });
  const port = await freePort(true);
  const conf = path.join(dir, 'knot.conf');
  fs.writeFileSync(conf, `server:\n  listen: 127.0.0.1@${port}\n  rundir: ${dir}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\ndatabase:\n  storage: ${dir}\nlog:\n  - target: stderr\n    any: error\nkeystore:\n  - id: k\n    config: ${dir}/keys\npolicy:\n  - id: p\n    keystore: k\n    algorithm: ecdsap256sha256\n    single-type-signing: off\n    nsec3: off\ntemplate:\n  - id: default\n    semantic-checks: off\n    zonefile-sync: -1\n    journal-content: none\nzone:\n  - domain: ${ZONE}\n    file: ${zoneFile}\n    dnssec-signing: on\n    dnssec-policy: p\n`);
  const t0 = performance.now();
  const proc = pinned('knotd', ['-c', conf]);
  proc.stdout?.resume();
  proc.stderr?.resume();
  await waitAnswers(port, 900_000);
  return { port, stopIt: () => stop(proc), readySeconds: (performance.now() - t0) / 1000 };
}

async function mcns(): Promise<{ port: number; stopIt: () => Promise<void>; readySeconds: number }> {
  const dir = path.join(OUT, 'server');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort(true);
  const t0 = performance.now();
  const proc = pinned(MCNS, ['server', '--config', writeServerConfig(dir, { db, dnsListen: `127.0.0.1:${port}`, tail: ['[log]', 'level = "debug"'] })], ROOT);
  await logLine(proc, MCNS_INDEX_READY, 900_000);
  await waitAnswers(port, 900_000);
  proc.stdout?.resume();
  proc.stderr?.resume();
  return { port, stopIt: () => stop(proc), readySeconds: (performance.now() - t0) / 1000 };
}

// 3. Serving, DO against no DO, MCNS and Knot; three alternating rounds each.
for (const [name, start] of PARTS.has('serve') ? ([['knot', knot], ['mcns', mcns]] as const) : []) {
  const s = await start();
  say(`${name}: start to answering the signed zone ${s.readySeconds.toFixed(1)} s`);
  await new Promise((r) => setTimeout(r, 3000));
  const plain: number[] = [];
  const withDo: number[] = [];
  for (let round = 0; round < 3; round++) {
    const job: Job = { run: 'first-sight', file: firstSight, transport: 'udp', once: true };
    plain.push(dnsperf(s.port, job, SECONDS).qps);
    withDo.push(dnsperfDo(s.port, firstSight, SECONDS));
  }
  say(`${name}: first-sight A, median of 3: ${median(plain).toFixed(0)} q/s without DO, ${median(withDo).toFixed(0)} q/s with DO (${(median(withDo) / median(plain)).toFixed(2)} of it; target >= 0.70)`);
  await s.stopIt();
}

/** dnsperf with the DO bit (-D), each query once. */
function dnsperfDo(port: number, file: string, seconds: number): number {
  const out = execFileSync('taskset', ['-c', '0', 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', '4', '-q', '64', '-n', '1', '-D'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return Number((/Queries per second:\s+([\d.]+)/.exec(out) ?? [])[1] ?? NaN);
}

say(`load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (values['write-results']) {
  const file = path.join(ROOT, 'bench', 'RESULTS.md');
  const text = fs.readFileSync(file, 'utf8');
  const section = `## DNSSEC\n\n\`node --import tsx bench/dnssec/run.ts --names ${NAMES}\` (${new Date().toISOString().slice(0, 16)}Z):\n\n${lines.map((l) => `- ${l}`).join('\n')}\n`;
  const re = /## DNSSEC\n[\s\S]*?(?=\n## |$)/;
  fs.writeFileSync(file, re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`);
}
