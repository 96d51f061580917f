/**
 * The projection's own cost on a big zone, in one process and without the rest of the ledger: the
 * newest checkpoint of DB decoded (deserializeState) `--rounds` times, each round's CPU time
 * (user+system) and GC time, then the heap one decoded state holds (after a full GC, less the heap
 * before), per record: as a load leaves it (records-by-id and large children maps unbuilt), with
 * its children maps built, and with its records-by-id maps built too.
 *
 *   node --expose-gc --import tsx bench/bigzone/checkpoint-load.ts DB [--rounds N] [--verify]
 *
 * `--verify` also serializes the decoded state again and checks the bytes are the stored
 * checkpoint's, digest included (a layout change must not change what a checkpoint holds).
 *
 * DB is only read (opened read-only).
 */
import Database from 'better-sqlite3';
import { PerformanceObserver } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { deserializeState, serializeState, takeUnbuilt } from '../../src/projections/checkpoint.ts';
import type { LedgerState } from '../../src/projections/state.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: checkpoint-load.ts DB [--rounds N]');
const ri = process.argv.indexOf('--rounds');
const rounds = ri > 0 ? Number(process.argv[ri + 1]) : 3;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

const db = new Database(path, { readonly: true });
const row = db.prepare('SELECT seq, head_hash, data FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number; head_hash: string; data: Buffer } | undefined;
db.close();
if (!row) throw new Error(`${path} has no checkpoint`);
const blob = row.data;
const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; checkpoint at ${row.seq}, ${mib(blob.length)} MiB`);
/** The decoded state, dropped before the next round's baseline. */
const held: { state?: LedgerState } = {};
for (let r = 0; r < rounds; r++) {
  delete held.state;
  const base = heap();
  await new Promise((res) => setTimeout(res, 50));
  const cpu = process.cpuUsage();
  const gc0 = gcMs;
  const state = deserializeState(blob);
  held.state = state;
  const c = process.cpuUsage(cpu);
  // GC entries reach the observer on a later turn of the event loop.
  await new Promise((res) => setTimeout(res, 50));
  const gcRound = gcMs - gc0;
  if (!state) throw new Error('checkpoint of another format');
  let records = 0;
  for (const z of state.zones.values()) records += z.records.size;
  // Measured on the first round only: a decoded state is not always collected before the next.
  const loaded = r === 0 ? heap() - base : 0;
  // The big zones' nodes below the apex, which the load defers (DEFER_CHILDREN): read at once here.
  const left = takeUnbuilt(state);
  const cpu2 = process.cpuUsage();
  const gc1 = gcMs;
  for (const z of left.deferred) z.finish();
  const c2 = process.cpuUsage(cpu2);
  await new Promise((res) => setTimeout(res, 50));
  console.log(
    `round ${r + 1}: deserializeState cpu ${((c.user + c.system) / 1000).toFixed(0)} ms (gc ${gcRound.toFixed(0)} ms), then the ${left.deferred.length} deferred zone(s) read: cpu ${((c2.user + c2.system) / 1000).toFixed(0)} ms (gc ${(gcMs - gc1).toFixed(0)} ms); ${records} records`,
  );
  if (r === 0) {
    console.log(`  heap held ${mib(loaded)} MiB = ${(loaded / records).toFixed(1)} B/record (as a load leaves it: big zones below the apex, records-by-id and large children maps unread or unbuilt)`);
    const read = heap() - base;
    console.log(`  deferred zones read: ${mib(read)} MiB = ${(read / records).toFixed(1)} B/record`);
    for (const m of [...left.children, ...left.deferred.flatMap((z) => z.unbuilt)]) m.get('');
    const trie = heap() - base;
    console.log(`  trie built (children maps): ${mib(trie)} MiB = ${(trie / records).toFixed(1)} B/record`);
    for (const z of state.zones.values()) z.records.get('');
    const built = heap() - base;
    console.log(`  records-by-id maps built too: ${mib(built)} MiB = ${(built / records).toFixed(1)} B/record`);
  }
}
if (process.argv.includes('--verify') && held.state) {
  const cpu = process.cpuUsage();
  const again = serializeState(held.state, row.head_hash);
  const c = process.cpuUsage(cpu);
  console.log(`serializeState cpu ${((c.user + c.system) / 1000).toFixed(0)} ms`);
  if (!again.equals(blob)) throw new Error(`re-serialized checkpoint differs from the stored one (${again.length} vs ${blob.length} bytes)`);
  console.log(`verify: the decoded state serializes to the stored checkpoint, byte for byte (${blob.length} bytes)`);
}
console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
