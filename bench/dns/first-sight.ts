/**
 * PROFILING ONLY (in-process, no sockets): CPU time per first-sight question (each asked once, so
 * the answer cache neither stores nor hits), by kind of question, through the stages the listener
 * runs for a UDP query (readQuery, the serving index, the answer cache, answerQuery + encodeMessage).
 * Separates the answering cost of each kind from dgram's and the machine's noise; the ratios to A
 * are what issue 11's "every type at >= 80% of the A rate" asks of the answer path. The real
 * server's rates are bench/dns/run.ts's and ab.ts's.
 *
 * Zone: a bench.test zone file from gen-zone.py, plus a wildcard (*.wild, A), a delegation (sub, NS
 * with glue) and SRV/HTTPS/CAA records at some names, so every kind has questions.
 * Usage: node --single-threaded-gc --max-semi-space-size=64 --import tsx bench/dns/first-sight.ts ZONEFILE [perKind=20000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { answerQuery } from '../../src/dns/answer.ts';
import { AnswerCache } from '../../src/dns/cache.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { readQuery } from '../../src/dns/query.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { stateFromZoneFile } from './profile-server.ts';

const zoneFile = process.argv[2];
const PER_KIND = Number(process.argv[3] ?? 20_000);
const text = fs.readFileSync(zoneFile, 'utf8');
const owners = new Map<string, Set<string>>();
for (const m of text.matchAll(/^(h\d+\.bench\.test\.) \d+ IN (\w+) /gm)) {
  let s = owners.get(m[1]);
  if (!s) owners.set(m[1], (s = new Set()));
  s.add(m[2]);
}
const names = [...owners.keys()];
// Extra data: SRV, HTTPS and CAA at every 7th plain name, a wildcard and a delegation.
const extra: string[] = ['*.wild.bench.test. 3600 IN A 192.0.2.80', 'sub.bench.test. 3600 IN NS ns1.sub.bench.test.', 'sub.bench.test. 3600 IN NS ns2.sub.bench.test.', 'ns1.sub.bench.test. 3600 IN A 192.0.2.53', 'ns2.sub.bench.test. 3600 IN A 192.0.2.54'];
const plain = names.filter((n) => !owners.get(n)?.has('CNAME'));
for (let i = 0; i < plain.length; i += 7) {
  const target = plain[(i * 31 + 7) % plain.length];
  extra.push(`${plain[i]} 3600 IN SRV 10 5 443 ${target}`, `${plain[i]} 3600 IN HTTPS 1 ${target} alpn=h2`, `${plain[i]} 3600 IN CAA 0 issue "ca.example"`);
}
const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-first-')), 'zone');
fs.writeFileSync(tmp, text + extra.join('\n') + '\n');
const t0 = performance.now();
const state = stateFromZoneFile(tmp);
console.log(`state: ${names.length} names in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const index = new ServingIndex({ rebuildSlice: 100_000 });
const t1 = performance.now();
index.sync(state);
await index.whenBuilt();
const built = performance.now() - t1;
while (index.filling) await new Promise((r) => setImmediate(r));
console.log(`serving index: answering after ${built.toFixed(0)} ms, every type after ${(performance.now() - t1).toFixed(0)} ms`);

/** A wire query as dnsperf sends it (RD, EDNS 4096). */
function wire(name: string, qtype: number, id: number): Buffer {
  const labels = name.slice(0, -1).split('.');
  const parts: Buffer[] = [Buffer.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]), Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

const has = (n: string, t: string) => owners.get(n)?.has(t) === true;
const srvNames = plain.filter((_, i) => i % 7 === 0);
const kinds: Record<string, Array<[string, number]>> = {
  A: names.filter((n) => has(n, 'A')).map((n) => [n, 1]),
  AAAA: names.filter((n) => has(n, 'AAAA')).map((n) => [n, 28]),
  MX: names.filter((n) => has(n, 'MX')).map((n) => [n, 15]),
  TXT: names.filter((n) => has(n, 'TXT')).map((n) => [n, 16]),
  SRV: srvNames.map((n) => [n, 33]),
  HTTPS: srvNames.map((n) => [n, 65]),
  CAA: srvNames.map((n) => [n, 257]),
  'CNAME chain (A)': names.filter((n) => has(n, 'CNAME')).map((n) => [n, 1]),
  'wildcard (A)': names.map((_, i) => [`w${i}.wild.bench.test.`, 1]),
  'referral (A)': names.map((_, i) => [`h${i}.sub.bench.test.`, 1]),
  NODATA: names.filter((n) => !has(n, 'TXT') && !has(n, 'CNAME')).map((n) => [n, 16]),
  NXDOMAIN: names.map((_, i) => [`nx${i}.bench.test.`, 1]),
};
/** Answers `raw` as the listener does; true when the serving index answered. */
function handle(raw: Buffer, cache: AnswerCache): boolean {
  const q = readQuery(raw);
  if (q.kind !== 'query') throw new Error('bad query');
  const limit = maxResponseSize(q, false);
  if (index.answer(state, q, raw, limit)) return true;
  if (!cache.get(raw, q.questionEnd, q.opcode, 1, limit, false)) cache.put(raw, encodeMessage(answerQuery(state, q).message, limit).bytes, 0);
  return false;
}

// A warm-up round on other questions of every kind (the JIT), then the measured round, each
// question asked once, kinds interleaved in blocks so the machine's drift spreads over all of them.
const BLOCKS = 20;
const rows: Array<{ kind: string; us: number; fromIndex: number }> = [];
const sets = Object.entries(kinds).map(([kind, qs]) => ({
  kind,
  warm: qs.slice(-Math.min(PER_KIND, qs.length >> 1)).map(([n, t], i) => wire(n, t, i & 0xffff)),
  measured: qs.slice(0, Math.min(PER_KIND, qs.length >> 1)).map(([n, t], i) => wire(n, t, i & 0xffff)),
  blocks: [] as number[],
  fromIndex: 0,
}));
const warmCache = new AnswerCache(100_000);
for (const s of sets) for (const raw of s.warm) handle(raw, warmCache);
const cache = new AnswerCache(100_000);
// Every kind in BLOCKS blocks spread over the whole run (a kind with few questions has small blocks),
// so a disturbed stretch of the run (a major GC, another process) touches every kind alike.
for (let b = 0; b < BLOCKS; b++) {
  for (const s of sets) {
    const size = Math.ceil(s.measured.length / BLOCKS);
    const block = s.measured.slice(b * size, (b + 1) * size);
    if (block.length === 0) continue;
    // CPU time (wall time on a shared machine counts other processes' turns); run with
    // --single-threaded-gc so that the GC's work is the main thread's too.
    const cpu = process.cpuUsage();
    for (const raw of block) if (handle(raw, cache)) s.fromIndex++;
    const used = process.cpuUsage(cpu);
    s.blocks.push((used.user + used.system) / block.length);
  }
}
// The median block: a block during which another process held the core counts as one block, not as its time.
const medianOf = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1];
for (const s of sets) rows.push({ kind: s.kind, us: medianOf(s.blocks), fromIndex: s.fromIndex / s.measured.length });
const a = rows.find((r) => r.kind === 'A')?.us ?? NaN;
console.log(`kind\tus/query (median of ${BLOCKS} blocks)\tA rate ratio\tfrom the index`);
for (const r of rows) console.log(`${r.kind}\t${r.us.toFixed(2)}\t${(a / r.us).toFixed(2)}\t${(100 * r.fromIndex).toFixed(0)}%`);
