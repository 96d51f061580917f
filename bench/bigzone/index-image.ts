/**
 * The serving-index image (src/dns/index-image.ts) against building the index, in CPU time, on a
 * copy of a large database:
 *
 *   cp bench/out/dns/1M/mcns/mcns.db /tmp/x/mcns.db && node --import tsx bench/bigzone/index-image.ts /tmp/x/mcns.db
 *
 * Three fresh processes, one after the other (about a minute on the 1M zone):
 *  1. build: open the ledger, build the serving index (both passes, flat out: no queries), write the
 *     image to DB.index; prints the CPU of each pass and of the write, the image's bytes, RSS;
 *  2. restore as the server does: read the image before opening the ledger, then bind it to the
 *     state (installIndexImage); prints the CPU of each step and RSS once restored;
 *  3. restore after opening the ledger (what the server did first): the ~110 MB of arrays allocated
 *     on a large heap start a full mark-compact, which step 2 avoids.
 * Never run it on a database a server is using (it opens it read-write, like the server).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/ledger.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { indexImagePath, installIndexImage, loadIndexImage, restoreIndexImage, writeIndexImage } from '../../src/dns/index-image.ts';

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
const rssMiB = (): string => (process.memoryUsage().rss / 2 ** 20).toFixed(0);

async function build(db: string): Promise<void> {
  let c = process.cpuUsage();
  const ledger = Ledger.open({ path: db });
  console.log(`build: ledger open ${cpuMs(c).toFixed(0)} ms CPU (seq ${ledger.state.seq})`);
  const state = ledger.state;
  c = process.cpuUsage();
  const index = new ServingIndex();
  index.sync(state);
  await index.whenBuilt();
  const first = cpuMs(c);
  while (index.filling) await new Promise((r) => setImmediate(r));
  console.log(`build: first pass ${first.toFixed(0)} ms CPU, both passes ${cpuMs(c).toFixed(0)} ms CPU, RSS ${rssMiB()} MiB`);
  c = process.cpuUsage();
  const w = performance.now();
  const out = writeIndexImage(indexImagePath(db), index, state, ledger.log.hashAt(state.seq));
  console.log(`build: image written ${JSON.stringify(out)}: ${cpuMs(c).toFixed(0)} ms CPU, ${(performance.now() - w).toFixed(0)} ms wall`);
  ledger.close();
}

function restore(db: string, early: boolean): void {
  let c = process.cpuUsage();
  const loaded = early ? loadIndexImage(indexImagePath(db)) : undefined;
  if (loaded) console.log(`restore: image read before the ledger ${cpuMs(c).toFixed(0)} ms CPU (${'table' in loaded ? 'ok' : loaded.reason})`);
  c = process.cpuUsage();
  const ledger = Ledger.open({ path: db });
  console.log(`restore: ledger open ${cpuMs(c).toFixed(0)} ms CPU`);
  const state = ledger.state;
  const hash = ledger.log.hashAt(state.seq);
  c = process.cpuUsage();
  const index = new ServingIndex();
  const r = loaded ? ('table' in loaded ? installIndexImage(loaded, index, state, hash) : loaded) : restoreIndexImage(indexImagePath(db), index, state, hash);
  console.log(`restore (${early ? 'read before the ledger' : 'read after the ledger'}): ${cpuMs(c).toFixed(0)} ms CPU after the ledger opened, ${JSON.stringify(r)}, RSS ${rssMiB()} MiB`);
  ledger.close();
}

const [db, phase] = process.argv.slice(2);
if (!db) throw new Error('usage: bench/bigzone/index-image.ts COPY.db');
if (phase === '--build') await build(db);
else if (phase === '--restore-early') restore(db, true);
else if (phase === '--restore-late') restore(db, false);
else {
  const self = fileURLToPath(import.meta.url);
  for (const p of ['--build', '--restore-early', '--restore-late']) execFileSync(process.execPath, ['--import', 'tsx', self, db, p], { stdio: 'inherit' });
}
