/**
 * What a big zone's process holds, in one process, as the server builds it: `Ledger.open` of a
 * database, then the serving index to completion (both passes), then optionally `--writes N` record
 * creates through the ledger (the index synced after each, as the server does), with, after each
 * phase and a full GC, the heap (used, by space), external and array-buffer memory and RSS.
 * `--snapshot DIR` also writes a heap snapshot after each phase (large: use a smaller zone).
 *
 *   node --expose-gc --import tsx bench/bigzone/memory.ts DB [--writes N] [--snapshot DIR]
 *
 * DB is opened read-write (a ledger always is): run it on a copy, never on a benchmark's database.
 */
import v8 from 'node:v8';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { Ledger } from '../../src/ledger.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: memory.ts DB [--writes N] [--snapshot DIR]');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const writes = Number(arg('writes') ?? '0');
const snapshotDir = arg('snapshot');
const mib = (n: number): string => (n / 2 ** 20).toFixed(0);

function report(phase: string): void {
  const before = process.memoryUsage().rss;
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const spaces = v8
    .getHeapSpaceStatistics()
    .filter((s) => s.space_used_size > 2 ** 20)
    .map((s) => `${s.space_name.replace('_space', '')} ${mib(s.space_used_size)}/${mib(s.physical_space_size)}`)
    .join(', ');
  console.log(
    `${phase}: rss ${mib(before)} MiB before GC, ${mib(m.rss)} after; heap ${mib(m.heapUsed)}/${mib(m.heapTotal)} MiB (${spaces}); external ${mib(m.external)} MiB, arrayBuffers ${mib(m.arrayBuffers)} MiB`,
  );
  if (snapshotDir) console.log(`  snapshot ${v8.writeHeapSnapshot(join(snapshotDir, `${phase.replace(/\W+/g, '-')}.heapsnapshot`))}`);
}

console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const ledger = Ledger.open({ path, create: false });
report('opened');
const index = new ServingIndex({ rebuildSlice: 1_000_000 });
index.sync(ledger.state);
await index.whenBuilt();
report('index built');
while (index.filling) await new Promise((res) => setImmediate(res));
console.log(`  index typed arrays ${mib(index.bytes)} MiB, ${index.size} names`);
report('index complete');

if (writes > 0) {
  const zone = [...ledger.state.zones.keys()].find((z) => z !== '.') as string;
  for (let i = 0; i < writes; i++) {
    const value = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    ledger.execute({ kind: 'changeRecords', zone, ops: [{ op: 'create', name: `m17-${i}.${zone}`, type: 'A', ttl: 300, value }] }, { actor: 'bench' });
    index.sync(ledger.state);
    if (i % 500 === 499) await new Promise((res) => setImmediate(res));
  }
  while (index.filling) await new Promise((res) => setImmediate(res));
  console.log(`  index typed arrays ${mib(index.bytes)} MiB, ${index.size} names`);
  report(`after ${writes} writes`);
}
console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
index.close();
ledger.close();
