/**
 * How fast this machine is right now, for reading wall-clock figures taken at different times on a
 * shared VM (its speed drifts by tens of percent over hours): allocation (3M small objects: memory
 * and GC, what a checkpoint load and an import do most), SHA-256 of 300 MiB (native code), and a
 * 3e8-step integer loop (the JIT alone). Run it before a benchmark and quote it beside the figures.
 *
 *   node --import tsx bench/calibrate.ts
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';

const t0 = performance.now();
const objects: Array<{ a: number; b: string }> = [];
for (let i = 0; i < 3e6; i++) objects.push({ a: i, b: `x${i}` });
const t1 = performance.now();
const hash = createHash('sha256');
const block = Buffer.alloc(1 << 20, 7);
for (let i = 0; i < 300; i++) hash.update(block);
hash.digest();
/** The loop, in a function called twice and timed the second time (optimized by then, not on stack replacement). */
function loop(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + i * 7) | 0;
  return s;
}
loop(1e6);
loop(1e6);
const t2 = performance.now();
const s = loop(3e8);
const t3 = performance.now();
const ms = (a: number, b: number): string => (b - a).toFixed(0);
console.log(`alloc ${ms(t0, t1)} ms, sha256 ${ms(t1, t2)} ms, loop ${ms(t2, t3)} ms (${objects.length} objects, ${s & 1}); load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
