/**
 * Start-up with the serving-index image: startDns binds it to the state the ledger opened at and
 * diffs writes made before DNS started; and what runs beside DNS afterwards, the records-by-id maps'
 * build in slices, paced by `pacedPause` (src/server.ts): back to back when no query comes in; while
 * queries do, a slice every `busyMs` while they leave the loop mostly idle and none while they keep it
 * busy, or one a turn once a caller waits (`wanted`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loopMeter, pacedPause } from '../../src/server.ts';
import { loadIndexImage, restoreIndexImage, writeIndexImage } from '../../src/dns/index-image.ts';
import { startDns } from '../../src/dns/server.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { testLedger } from '../helpers/ledger.ts';
import { ask } from './helpers.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A pause started now: whether it has ended yet, and its end. */
function startPause(pause: () => Promise<void>): { ended: () => boolean; done: Promise<void> } {
  let ended = false;
  const done = pause().then(() => {
    ended = true;
  });
  return { ended: () => ended, done };
}

/** Which settles first: the pause, or a timer of `ms` started with it. */
async function firstOf(pause: () => Promise<void>, ms: number): Promise<string[]> {
  const order: string[] = [];
  await Promise.all([pause().then(() => order.push('pause')), new Promise<void>((r) => setTimeout(() => (order.push('timer'), r()), ms))]);
  return order;
}

test('pacedPause: the next turn of the event loop while no query came in, busyMs once one did (the loop mostly idle)', async () => {
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

test('pacedPause: once wanted, the next turn while queries come in; else it waits while they keep the loop busy', async () => {
  let queries = 0;
  let wanted = true;
  // The event loop's utilization in each window, as the test sets it.
  let utilization = 1;
  const pause = pacedPause(() => queries, 10, () => wanted, () => () => utilization);
  queries++;
  assert.deepEqual(await firstOf(pause, 5), ['pause', 'timer'], 'wanted: no wait, busy as it is');
  wanted = false;
  // Queries keep coming and keep the loop busy: every window of 10 ms sees more, so the pause waits.
  let ticker = setInterval(() => queries++, 2);
  try {
    queries++;
    const waiting = startPause(pause);
    await sleep(80);
    assert.equal(waiting.ended(), false, 'not wanted: it waits while queries keep the loop busy');
    // Light load: queries still come, but the loop is mostly idle: the next window ends it.
    utilization = 0.1;
    const t0 = performance.now();
    await waiting.done;
    assert.ok(performance.now() - t0 < 60, 'a window with the loop mostly idle ends it');
    // Busy again; the queries stop: the first check without a query ends it.
    utilization = 1;
    queries++;
    const quiet = startPause(pause);
    await sleep(30);
    assert.equal(quiet.ended(), false);
    clearInterval(ticker);
    await quiet.done;
    // A caller starts waiting for the work: that ends a pause already waiting, at its next check.
    ticker = setInterval(() => queries++, 2);
    queries++;
    const waiter = startPause(pause);
    await sleep(30);
    assert.equal(waiter.ended(), false);
    wanted = true;
    await waiter.done;
  } finally {
    clearInterval(ticker);
  }
});

test('loopMeter: the share of a window the event loop was busy', async () => {
  const idle = loopMeter();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(idle() < 0.5, `waiting on a timer: ${idle()}`);
  const busy = loopMeter();
  const t0 = performance.now();
  while (performance.now() - t0 < 50);
  assert.ok(busy() > 0.5, `spinning: ${busy()}`);
});

test('startDns: an image bound to the state the ledger opened at is restored, then diffed to writes made before DNS started', async () => {
  const t = testLedger();
  try {
    const { ledger } = t;
    ledger.execute({ kind: 'createZone', zone: 'boot.test', soa: { primary_ns: 'ns1.boot.test', admin_email: 'hostmaster@boot.test' } }, { actor: 'test' });
    ledger.execute({ kind: 'changeRecords', zone: 'boot.test', ops: [{ op: 'create', name: 'www.boot.test', type: 'A', value: '192.0.2.1' }] }, { actor: 'test' });
    const opened = ledger.state;
    const built = new ServingIndex();
    built.sync(opened);
    const path = join(t.dir, 'mcns.db.index');
    assert.ok(writeIndexImage(path, built, opened, ledger.log.hashAt(opened.seq)).written);
    // A write after the ledger opened and before DNS starts (seeding, the catalog, a DNSSEC step).
    ledger.execute({ kind: 'changeRecords', zone: 'boot.test', ops: [{ op: 'create', name: 'late.boot.test', type: 'A', value: '192.0.2.2' }] }, { actor: 'test' });
    const hashAt = (seq: number): string | undefined => ledger.log.hashAt(seq);
    const dns = await startDns({ ledger, listen: ['127.0.0.1:0'], indexImage: { path, hashAt, loaded: loadIndexImage(path), opened } });
    try {
      assert.equal(dns.indexImage?.restored, true, 'bound to the opened state, not the one served');
      const port = dns.addresses[0].udp.port;
      const late = await ask(port, { name: 'late.boot.test.', type: 1 });
      assert.deepEqual(late.answer, ['late.boot.test. 300 IN A 192.0.2.2']);
      const missing = await ask(port, { name: 'none.boot.test.', type: 1 });
      assert.equal(missing.rcode, 'NXDOMAIN');
    } finally {
      await dns.close();
    }
    // The served state is not the restored one: exit writes the image anew (not "kept").
    const out = dns.saveIndexImage();
    assert.equal(out?.written, true);
    const again = new ServingIndex();
    assert.equal(restoreIndexImage(path, again, ledger.state, ledger.log.hashAt(ledger.state.seq)).restored, true);
  } finally {
    t.cleanup();
  }
});
