/**
 * Issue 11's "speed for every type": first-sight questions (each asked once in the server's life, so
 * MCNS's answer cache neither stores nor hits) of every kind, against the real server
 * (`bin/mcns server --config`), Knot and NSD on the same zone, all three up at once (each pinned to
 * the server core as run.ts pins them) and dnsperf (-n 1, on the client core) alternating between
 * them block by block. Printed per kind: each server's queries/s (median of the blocks), MCNS's
 * rate as a share of its own A rate in the same run (the target: >= 0.80 for MX, TXT, SRV, HTTPS,
 * a CNAME chain, a wildcard and a referral), and MCNS x Knot, x NSD.
 *
 * Zone: the generator's zone (bench/dns/gen-zone.py: A, AAAA, TXT, MX, CNAME; 1,000,000 names by
 * default) with more appended, as first-sight.ts adds them: SRV and HTTPS at every 19th non-CNAME
 * name (the target another name of the zone, whose addresses are additional data), a wildcard
 * (*.wild, A) and a delegation (sub, two NS with glue). Knot and NSD load that file; MCNS a copy of
 * run.ts's database of the generator's zone with the file imported over it (`mcns zone import`
 * writes only the differences). All of it is kept under bench/out/dns/LABEL-every and reused.
 *
 * Kinds (questions drawn from the zone, in a fixed shuffled order): A, AAAA, MX, TXT, SRV, HTTPS, CNAME
 * chain (A at a CNAME owner: the CNAME and the target's A, or, for the 11% of the generator's
 * targets without an A, the CNAME and NODATA), wildcard (A below *.wild), referral (A below sub),
 * NODATA (TXT at a name without one), NXDOMAIN. Each kind gets a warm-up block (not counted: the
 * JIT), then `--blocks` blocks of `--block` questions, kinds interleaved so the machine's drift
 * touches all of them alike.
 *
 * Usage: node --import tsx bench/dns/every-type.ts [--names 1000000] [--blocks 8] [--block 5000] [--servers knot,nsd,mcns]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dnsperf, median, mcnsDatabase, startServer, stop, zoneData, type Running } from './run.ts';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const NAMES = Number(arg('--names', '1000000'));
const BLOCKS = Number(arg('--blocks', '8'));
const BLOCK = Number(arg('--block', '5000'));
const SERVERS = arg('--servers', 'knot,nsd,mcns').split(',');
const LABEL = NAMES % 1_000_000 === 0 ? `${NAMES / 1_000_000}M` : `${NAMES / 1000}k`;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const ZONE = 'bench.test.';
/** SRV and HTTPS at every EXTRA_EVERY-th name that is not a CNAME owner. */
const EXTRA_EVERY = 19;

/** Deterministic shuffle (LCG). */
function shuffle<T>(xs: T[], seed = 777): T[] {
  let s = seed;
  for (let i = xs.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

const base = zoneData(LABEL, NAMES);
const dir = path.join(ROOT, 'bench', 'out', 'dns', `${LABEL}-every`);
fs.mkdirSync(dir, { recursive: true });
const zoneFile = path.join(dir, 'bench.test.zone');

// The owners of the generator's zone and their types.
const owners = new Map<string, Set<string>>();
const text = fs.readFileSync(base.zoneFile, 'utf8');
for (const m of text.matchAll(/^(h\d+\.bench\.test\.) \d+ IN (\w+) /gm)) {
  let s = owners.get(m[1]);
  if (!s) owners.set(m[1], (s = new Set()));
  s.add(m[2]);
}
const names = [...owners.keys()];
const plain = names.filter((n) => !owners.get(n)?.has('CNAME'));
const extraNames = plain.filter((_, i) => i % EXTRA_EVERY === 0);
const baseStat = fs.statSync(base.zoneFile);
const stamp = `1 ${baseStat.size} ${baseStat.mtimeMs} ${EXTRA_EVERY}`;
const stampFile = path.join(dir, 'zone.stamp');
if (!fs.existsSync(stampFile) || fs.readFileSync(stampFile, 'utf8') !== stamp || !fs.existsSync(zoneFile)) {
  console.log(`writing ${zoneFile} (the ${LABEL} zone with SRV, HTTPS, a wildcard and a delegation)…`);
  const extra = [
    `*.wild.${ZONE} 3600 IN A 192.0.2.80`,
    `sub.${ZONE} 3600 IN NS ns1.sub.${ZONE}`,
    `sub.${ZONE} 3600 IN NS ns2.sub.${ZONE}`,
    `ns1.sub.${ZONE} 3600 IN A 192.0.2.53`,
    `ns2.sub.${ZONE} 3600 IN A 192.0.2.54`,
  ];
  for (const [i, n] of extraNames.entries()) {
    const target = plain[(i * 7919 + 13) % plain.length];
    extra.push(`${n} 3600 IN SRV 10 5 443 ${target}`, `${n} 3600 IN HTTPS 1 ${target} alpn=h2`);
  }
  fs.writeFileSync(zoneFile, text + extra.join('\n') + '\n');
  fs.writeFileSync(stampFile, stamp);
}

// MCNS's database: a copy of run.ts's, with the extended file imported over it (the differences only).
if (SERVERS.includes('mcns')) {
  const baseDb = mcnsDatabase(base.dir, base.zoneFile).db;
  const dbDir = path.join(dir, 'mcns');
  const db = path.join(dbDir, 'mcns.db');
  const zst = fs.statSync(zoneFile);
  const dbStamp = path.join(dir, 'mcns.stamp');
  if (!fs.existsSync(dbStamp) || fs.readFileSync(dbStamp, 'utf8') !== `${zst.size} ${zst.mtimeMs}`) {
    fs.rmSync(dbDir, { recursive: true, force: true });
    fs.mkdirSync(dbDir, { recursive: true });
    fs.copyFileSync(baseDb, db);
    console.log(`mcns zone import bench.test ${zoneFile} --db ${db} (over a copy of ${baseDb})`);
    const t0 = performance.now();
    execFileSync(path.join(ROOT, 'bin', 'mcns'), ['zone', 'import', 'bench.test', zoneFile, '--db', db], { stdio: 'inherit' });
    console.log(`imported in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    fs.writeFileSync(dbStamp, `${zst.size} ${zst.mtimeMs}`);
  }
}

// The questions of each kind.
const has = (n: string, t: string): boolean => owners.get(n)?.has(t) === true;
const numbered = (f: (i: number) => string): string[] => Array.from({ length: (BLOCKS + 1) * BLOCK }, (_, i) => f(i));
const kinds: Record<string, string[]> = {
  A: names.filter((n) => has(n, 'A')).map((n) => `${n} A`),
  AAAA: names.filter((n) => has(n, 'AAAA')).map((n) => `${n} AAAA`),
  MX: names.filter((n) => has(n, 'MX')).map((n) => `${n} MX`),
  TXT: names.filter((n) => has(n, 'TXT')).map((n) => `${n} TXT`),
  SRV: extraNames.map((n) => `${n} SRV`),
  HTTPS: extraNames.map((n) => `${n} HTTPS`),
  'CNAME chain': names.filter((n) => has(n, 'CNAME')).map((n) => `${n} A`),
  wildcard: numbered((i) => `w${i}.wild.${ZONE} A`),
  referral: numbered((i) => `h${i}.sub.${ZONE} A`),
  NODATA: names.filter((n) => !has(n, 'TXT') && !has(n, 'CNAME')).map((n) => `${n} TXT`),
  NXDOMAIN: numbered((i) => `nx${i}.${ZONE} A`),
};
const qdir = path.join(dir, 'queries');
fs.rmSync(qdir, { recursive: true, force: true });
fs.mkdirSync(qdir, { recursive: true });
/** Per kind: the warm-up file, then the measured blocks' files. */
const files = new Map<string, string[]>();
for (const [kind, qs] of Object.entries(kinds)) {
  const all = shuffle(qs.slice());
  const per = Math.min(BLOCK, Math.floor(all.length / (BLOCKS + 1)));
  if (per < 100) throw new Error(`${kind}: only ${all.length} questions in the zone`);
  const slug = kind.replace(/\W+/g, '-');
  const list: string[] = [];
  for (let b = 0; b <= BLOCKS; b++) {
    const f = path.join(qdir, `${slug}-${b}.txt`);
    fs.writeFileSync(f, all.slice(b * per, (b + 1) * per).join('\n') + '\n');
    list.push(f);
  }
  files.set(kind, list);
}

const running: Array<{ name: string; r: Running }> = [];
try {
  for (const name of SERVERS) {
    const db = name === 'mcns' ? path.join(dir, 'mcns', 'mcns.db') : undefined;
    // MCNS: once its serving index's second pass is done, every type is the index's (no queries
    // arrive meanwhile, so it runs flat out).
    const r = await startServer(name, dir, zoneFile, db, `${name}-every`, /serving index complete/);
    running.push({ name, r });
  }
  const rates = new Map<string, number[]>();
  for (let b = 0; b <= BLOCKS; b++) {
    for (const [kind, list] of files) {
      for (const { name, r } of running) {
        const p = dnsperf(r.port, { run: kind, file: list[b], transport: 'udp', once: true });
        // Block 0 warms every server up (not counted).
        if (b > 0) rates.set(`${kind}\t${name}`, [...(rates.get(`${kind}\t${name}`) ?? []), p.qps]);
        if (p.lost > 0) console.warn(`${kind} block ${b} ${name}: ${p.lost} lost`);
      }
    }
    console.log(`block ${b} done, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  }
  const med = (kind: string, server: string): number => median(rates.get(`${kind}\t${server}`) ?? [NaN]);
  const mA = med('A', 'mcns');
  console.log(`\nFirst sight, ${LABEL} zone, UDP, medians of ${BLOCKS} blocks of up to ${BLOCK} questions each asked once; load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`| kind | ${running.map((s) => `${s.name} q/s`).join(' | ')} | MCNS / MCNS A | MCNS x Knot | MCNS x NSD | MCNS per block, k q/s |`);
  console.log(`|---|${running.map(() => '---:').join('|')}|---:|---:|---:|---|`);
  for (const kind of files.keys()) {
    const m = med(kind, 'mcns');
    const ratio = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
    const blocks = (rates.get(`${kind}\tmcns`) ?? []).map((x) => (x / 1000).toFixed(1)).join(', ');
    console.log(`| ${kind} | ${running.map((s) => Math.round(med(kind, s.name))).join(' | ')} | ${ratio(m / mA)} | ${ratio(m / med(kind, 'knot'))} | ${ratio(m / med(kind, 'nsd'))} | ${blocks} |`);
  }
} finally {
  for (const { r } of running) await stop(r.proc);
}
