/**
 * Start-up CPU time on a big zone, in one process, as the server runs it: `Ledger.open` of a
 * database (checkpoint load + tail replay), then the serving index built to completion (both
 * passes, in large slices, as on an idle server), each phase's user+system CPU, wall time and GC
 * time, then the heap (after a full GC) and RSS. CPU time is what this machine can measure while
 * other work shares its cores; wall time on a quiet machine is about the same for one thread.
 *
 *   node --expose-gc --import tsx bench/bigzone/startup-cpu.ts DB [--rounds N] [--v8 --some-flag=N]
 *
 * DB is opened read-write (a ledger always is): run it on a copy, never on a benchmark's database.
 */
import v8 from 'node:v8';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { Ledger } from '../../src/ledger.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: startup-cpu.ts DB [--rounds N]');
const ri = process.argv.indexOf('--rounds');
const rounds = ri > 0 ? Number(process.argv[ri + 1]) : 1;
// `--v8 FLAG`: a V8 flag set at run time, as bin/mcns sets its own (only flags V8 reads as it goes take effect).
const vi = process.argv.indexOf('--v8');
if (vi > 0) v8.setFlagsFromString(process.argv[vi + 1]);
const rss = (): string => `rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`;

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

interface Mark {
  cpu: NodeJS.CpuUsage;
  wall: number;
  gc: number;
}
const mark = (): Mark => ({ cpu: process.cpuUsage(), wall: performance.now(), gc: gcMs });
const since = (m: Mark): string => {
  const c = process.cpuUsage(m.cpu);
  return `cpu ${((c.user + c.system) / 1000).toFixed(0)} ms (user ${(c.user / 1000).toFixed(0)}), wall ${(performance.now() - m.wall).toFixed(0)} ms, gc ${(gcMs - m.gc).toFixed(0)} ms`;
};
const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
const memory = (): string => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return `heap ${mib(m.heapUsed)} MiB, external ${mib(m.external)} MiB, rss ${mib(m.rss)} MiB`;
};

console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const m0 = mark();
const ledger = Ledger.open({ path, create: false });
console.log(`Ledger.open: ${since(m0)}; replayed ${ledger.startup.replayed}; ${JSON.stringify(ledger.startup.phases)}`);
console.log(`  after open: ${memory()}`);
for (let r = 0; r < rounds; r++) {
  const index = new ServingIndex({ rebuildSlice: 1_000_000 });
  const m1 = mark();
  index.sync(ledger.state);
  await index.whenBuilt();
  if (!index.isCurrent(ledger.state)) throw new Error(`index not built: ${String((index as unknown as { failure?: unknown }).failure)}`);
  console.log(`index first pass: ${since(m1)}; ${index.size} names`);
  const m2 = mark();
  while (index.filling) await new Promise((res) => setImmediate(res));
  console.log(`index second pass: ${since(m2)}; typed arrays ${mib(index.bytes)} MiB`);
  console.log(`  index total: ${since(m1)}; before a forced GC: ${rss()}`);
  console.log(`  after index: ${memory()}`);
  if (r + 1 < rounds) index.close();
}
console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
ledger.close();
