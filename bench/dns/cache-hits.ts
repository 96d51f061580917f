/**
 * PROFILING ONLY (in-process, no sockets; the benchmark is bench/dns/run.ts): what the answer cache
 * does for a dnsperf query file. The file's questions are replayed, looped up to `total` queries
 * (as dnsperf loops a file), through the stages the listener runs (readQuery, the serving index,
 * the answer cache, answerQuery + encodeMessage), and the split is printed: answered by the index,
 * cache hits, general-path answers, entries stored and evicted, and the wall and CPU time per query. Run with a
 * cache size of 0 to see the same stream without a cache.
 * Usage: node --import tsx bench/dns/cache-hits.ts ZONEFILE QUERYFILE [total=600000] [cacheSize=100000]
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

const TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 };

/** Wire queries (RD, no EDNS: dnsperf's default) for the lines "name TYPE" of a dnsperf file. */
export function readQueryFile(file: string): Buffer[] {
  const out: Buffer[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [name, type] = line.trim().split(/\s+/);
    if (!name) continue;
    const qtype = TYPES[type?.toUpperCase() ?? 'A'];
    if (qtype === undefined) throw new Error(`${file}: unknown type in "${line}"`);
    const labels = name.replace(/\.$/, '').split('.');
    const wire = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
    out.push(Buffer.concat([Buffer.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), wire, Buffer.from([qtype >> 8, qtype & 0xff, 0, 1])]));
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [zoneFile, queryFile] = process.argv.slice(2);
  const total = Number(process.argv[4] ?? 600_000);
  const cacheSize = Number(process.argv[5] ?? 100_000);
  const state = stateFromZoneFile(zoneFile);
  const queries = readQueryFile(queryFile);
  const index = new ServingIndex();
  index.sync(state);
  while (!index.isCurrent(state)) await new Promise((r) => setImmediate(r));
  const cache = new AnswerCache(cacheSize);
  let indexed = 0;
  let hits = 0;
  let general = 0;
  const t0 = performance.now();
  // CPU time too: on a shared machine wall time mostly measures the neighbours.
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < total; i++) {
    const raw = queries[i % queries.length];
    const q = readQuery(raw);
    if (q.kind !== 'query') throw new Error('bad query');
    const limit = maxResponseSize(q, false);
    if (index.answer(state, q, raw, limit) !== undefined) {
      indexed++;
      continue;
    }
    if (cache.get(raw, q.questionEnd, q.opcode, 0, limit, false) !== undefined) {
      hits++;
      continue;
    }
    general++;
    const a = answerQuery(state, q, { tcp: false });
    const bytes = encodeMessage(a.message, limit).bytes;
    cache.put(raw, bytes, a.message.flags & 0xf);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const pct = (n: number) => `${((n / total) * 100).toFixed(1)}%`;
  console.log(
    JSON.stringify({
      queryFile,
      lines: queries.length,
      distinct: new Set(queries.map((b) => b.toString('latin1'))).size,
      total,
      cacheSize,
      indexed: pct(indexed),
      cacheHits: pct(hits),
      generalPath: pct(general),
      hitRateOfCacheLookups: hits + general > 0 ? `${((hits / (hits + general)) * 100).toFixed(1)}%` : '-',
      stored: cache.size,
      evictions: cache.evictions,
      secondChances: cache.moves,
      usPerQuery: Number(((ms * 1000) / total).toFixed(3)),
      cpuUsPerQuery: Number(((cpu.user + cpu.system) / total).toFixed(3)),
    }),
  );
}
