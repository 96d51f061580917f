/**
 * What runs beside DNS after a start whose serving index came from the image: the records-by-id
 * maps' build in slices, paced by `pacedPause` (src/server.ts): a slice every 20 ms while queries
 * come in, back to back when none do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pacedPause } from '../../src/server.ts';

/** Which settles first: the pause, or a timer of `ms` started with it. */
async function firstOf(pause: () => Promise<void>, ms: number): Promise<string[]> {
  const order: string[] = [];
  await Promise.all([pause().then(() => order.push('pause')), new Promise<void>((r) => setTimeout(() => (order.push('timer'), r()), ms))]);
  return order;
}

test('pacedPause: the next turn of the event loop while no query came in, busyMs once one did', async () => {
  let queries = 0;
  const pause = pacedPause(() => queries, 20);
  assert.deepEqual(await firstOf(pause, 5), ['pause', 'timer'], 'idle: no wait');
  queries += 3;
  assert.deepEqual(await firstOf(pause, 5), ['timer', 'pause'], 'queries since the last pause: it waits busyMs');
  assert.deepEqual(await firstOf(pause, 5), ['pause', 'timer'], 'none since: no wait again');
  queries++;
  const t0 = performance.now();
  await pause();
  assert.ok(performance.now() - t0 >= 19, 'about busyMs');
});
