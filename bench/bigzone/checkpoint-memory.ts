/**
 * What a background checkpoint of a big zone leaves resident: opens a database, then serializes its
 * state as a background checkpoint does (serializeStateSliced, with event-loop pauses), N times,
 * printing after each (and after a full GC) where the process's RSS is: glibc's brk heap (the main
 * malloc arena, which keeps its holes), its thread arenas, other anonymous mappings (V8's heap, big
 * buffers malloc maps on their own) and files.
 *
 *   node --expose-gc --import tsx bench/bigzone/checkpoint-memory.ts DB [--rounds N]
 *
 * Nothing is written to DB (the blobs are dropped); it is still opened read-write, so use a copy.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Ledger } from '../../src/ledger.ts';
import { serializeStateSliced } from '../../src/projections/checkpoint.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: checkpoint-memory.ts DB [--rounds N]');
const ri = process.argv.indexOf('--rounds');
const rounds = ri > 0 ? Number(process.argv[ri + 1]) : 2;

function where(): string {
  const kb: Record<string, number> = { brk: 0, 'thread arenas': 0, 'other anonymous': 0, files: 0 };
  let kind = 'other anonymous';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const start = parseInt(head[1], 16);
      kind = head[2] === '[heap]' ? 'brk' : head[2].startsWith('/') ? 'files' : head[2] === '' && start % (64 * 2 ** 20) === 0 ? 'thread arenas' : 'other anonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kb[kind] += Number(rss[1]);
  }
  return `rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (${Object.entries(kb).map(([k, v]) => `${k} ${(v / 1024).toFixed(0)}`).join(', ')})`;
}
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});

console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const ledger = Ledger.open({ path, create: false });
gc();
console.log(`opened: ${where()}`);
for (let i = 0; i < rounds; i++) {
  // In a function of its own, so nothing keeps the blob once it returns.
  await (async (): Promise<void> => {
    const t0 = performance.now();
    const cpu = process.cpuUsage();
    const blob = await serializeStateSliced(ledger.state, 'h', () => new Promise((res) => setImmediate(res)));
    const c = process.cpuUsage(cpu);
    console.log(`checkpoint ${i + 1}: ${blob.length} bytes, ${(performance.now() - t0).toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU (main thread and pool); ${where()}`);
  })();
  gc();
  console.log(`  after a full GC: ${where()}`);
}
ledger.close();
console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
