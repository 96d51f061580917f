/**
 * Benchmark data: an N-name zone file (bench.test.) and a dnsperf query file over its names, shared
 * by MCNS, Knot, NSD and the floor server so all of them answer exactly the same questions.
 * Usage: node --import tsx bench/dns/zone.ts N OUTDIR
 */
import fs from 'node:fs';
import path from 'node:path';

/** The zone the benchmarks serve. */
export const BENCH_ZONE = 'bench.test.';

/** The owner label of the i-th name. */
export function hostLabel(i: number): string {
  return `h${i}`;
}

/** The A record address of the i-th name (10.x.y.z, unique for up to 16.7M names). */
export function hostAddress(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/**
 * Writes bench.test.zone, queries.txt (every name once, shuffled, type A), queries-aaaa.txt (the
 * same names asking AAAA, which they do not have: NODATA), queries-nx.txt (A for as many names that
 * do not exist: NXDOMAIN) and queries-any.txt (the names asking ANY: one RRset per RFC 8482). MCNS
 * answers the first three from its serving index and ANY by its general path (answerQuery +
 * encodeMessage).
 */
export function writeBenchData(n: number, dir: string): { zoneFile: string; queryFile: string; aaaaQueryFile: string; nxQueryFile: string; anyQueryFile: string } {
  fs.mkdirSync(dir, { recursive: true });
  const zoneFile = path.join(dir, 'bench.test.zone');
  const queryFile = path.join(dir, 'queries.txt');
  const head = `$ORIGIN ${BENCH_ZONE}\n$TTL 3600\n@ SOA ns1.bench.test. hostmaster.bench.test. 1 7200 900 1209600 600\n@ NS ns1\nns1 A 192.0.2.1\n`;
  const lines: string[] = [head];
  for (let i = 0; i < n; i++) lines.push(`${hostLabel(i)} A ${hostAddress(i)}\n`);
  fs.writeFileSync(zoneFile, lines.join(''));
  // Shuffled (deterministic LCG) so consecutive queries hit different names.
  const order = Array.from({ length: n }, (_, i) => i);
  let s = 12345;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  fs.writeFileSync(queryFile, order.map((i) => `${hostLabel(i)}.${BENCH_ZONE} A\n`).join(''));
  const aaaaQueryFile = path.join(dir, 'queries-aaaa.txt');
  fs.writeFileSync(aaaaQueryFile, order.map((i) => `${hostLabel(i)}.${BENCH_ZONE} AAAA\n`).join(''));
  const nxQueryFile = path.join(dir, 'queries-nx.txt');
  fs.writeFileSync(nxQueryFile, order.map((i) => `nx${i}.${BENCH_ZONE} A\n`).join(''));
  const anyQueryFile = path.join(dir, 'queries-any.txt');
  fs.writeFileSync(anyQueryFile, order.map((i) => `${hostLabel(i)}.${BENCH_ZONE} ANY\n`).join(''));
  return { zoneFile, queryFile, aaaaQueryFile, nxQueryFile, anyQueryFile };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 10000);
  const out = process.argv[3] ?? 'bench/out/dns';
  console.log(JSON.stringify(writeBenchData(n, out)));
}
