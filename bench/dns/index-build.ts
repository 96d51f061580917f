/**
 * PROFILING ONLY (in-process): how long the serving index takes to build for a zone file, and how
 * many bytes its typed arrays hold, built twice (the second build runs on a warm JIT, as a rebuild
 * after an import does). The real server's start-up (checkpoint load + this) is in bench/dns/run.ts.
 * Usage: node --max-semi-space-size=64 --import tsx bench/dns/index-build.ts ZONEFILE [rounds=2]
 */
import { performance } from 'node:perf_hooks';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { stateFromZoneFile } from './profile-server.ts';

const t0 = performance.now();
const state = stateFromZoneFile(process.argv[2]);
const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
console.log(`state in ${(performance.now() - t0).toFixed(0)} ms, heap ${mib(process.memoryUsage().heapUsed)} MiB`);
for (let round = 0; round < Number(process.argv[3] ?? 2); round++) {
  // Large slices: the build alone, with few of the event-loop turns the server yields between slices.
  const index = new ServingIndex({ rebuildSlice: 100_000 });
  const t1 = performance.now();
  index.sync(state);
  await index.whenBuilt();
  if (!index.isCurrent(state)) throw new Error(`index not built: ${String(index.failure)}`);
  const built = performance.now() - t1;
  while (index.filling) await new Promise((r) => setImmediate(r));
  const filled = performance.now() - t1;
  console.log(`index: ${index.size} names answering (A, AAAA, NODATA, NXDOMAIN) after ${built.toFixed(0)} ms, every type after ${filled.toFixed(0)} ms; typed arrays ${mib(index.bytes)} MiB, heap ${mib(process.memoryUsage().heapUsed)} MiB`);
}
