/**
 * PROFILING ONLY (in-process, not a benchmark of the server users run; that is bench/dns/run.ts).
 * The DNS hot path without sockets: the same questions dnsperf sends (every name of an N-name zone,
 * shuffled, one A query each, with EDNS as dnsperf sends it), answered in a loop by the handler
 * stages the listener runs (readQuery, the serving index, the answer cache, answerQuery +
 * encodeMessage).
 * Separates answering cost from dgram cost and machine noise; run it under --cpu-prof or --trace-gc.
 * Usage: [QTYPE=28] [NX=1] node --import tsx bench/dns/hotpath.ts ZONEFILE [rounds=2] [cacheSize=100000]
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { answerQuery } from '../../src/dns/answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { AnswerCache } from '../../src/dns/cache.ts';
import { readQuery } from '../../src/dns/query.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { stateFromZoneFile } from './profile-server.ts';

/** Wire queries (id 0, RD, EDNS 4096 like dnsperf) for the `hN` names of a bench zone file, shuffled. */
export function benchQueries(zoneFile: string, qtype = 1): Buffer[] {
  const out: Buffer[] = [];
  for (const line of fs.readFileSync(zoneFile, 'utf8').split('\n')) {
    const m = /^(h\d+)\s/.exec(line);
    if (!m) continue;
    // NX=1 asks for names that do not exist (NXDOMAIN: the general path).
    const labels = [process.env.NX ? `nx${m[1]}` : m[1], 'bench', 'test'];
    const name = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
    const opt = Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    out.push(Buffer.concat([Buffer.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]), name, Buffer.from([0, qtype, 0, 1]), opt]));
  }
  let s = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  const rounds = Number(process.argv[3] ?? 2);
  const cache = new AnswerCache(Number(process.argv[4] ?? 100_000));
  const state = stateFromZoneFile(file);
  // QTYPE=28 asks AAAA, which the bench names lack: NODATA from the general path.
  const queries = benchQueries(file, Number(process.env.QTYPE ?? 1));
  const index = new ServingIndex();
  const built = performance.now();
  index.sync(state);
  while (!index.isCurrent(state)) await new Promise((r) => setImmediate(r));
  console.log(`serving index: ${index.size} entries built in ${(performance.now() - built).toFixed(0)} ms`);
  let bytes = 0;
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    for (const raw of queries) {
      const q = readQuery(raw);
      if (q.kind !== 'query') throw new Error('bad query');
      const limit = maxResponseSize(q, false);
      const indexed = index.answer(state, q, raw, limit);
      if (indexed) {
        bytes += indexed.length;
        continue;
      }
      let out = cache.get(raw, q.questionEnd, q.opcode, 1, limit, false);
      if (!out) {
        out = encodeMessage(answerQuery(state, q).message, limit).bytes;
        cache.put(raw, out, 0);
      }
      bytes += out.length;
    }
    const ms = performance.now() - t0;
    console.log(`round ${round}: ${queries.length} queries in ${ms.toFixed(0)} ms = ${Math.round(queries.length / (ms / 1000))} q/s (${(ms * 1000 / queries.length).toFixed(2)} us each), cache ${cache.size}`);
  }
  console.log(`bytes ${bytes}`);
}
