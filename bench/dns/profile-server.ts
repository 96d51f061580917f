/**
 * PROFILING ONLY, not a benchmark of MCNS: MCNS's DNS listener alone, without SQLite, metrics,
 * logger, transfers or UPDATE hooks: a lighter server than users run. The zone file is folded into
 * a LedgerState the same way checkpoint loading does (buildTrie), then startDns serves it, so the
 * listener's own cost can be profiled in isolation (node --cpu-prof, --trace-gc). The benchmark
 * (bench/dns/run.ts) measures the real server, `bin/mcns server --config`.
 * Prints "ready PORT" once the serving index is built. MCNS_ANSWER_CACHE=N sets the answer cache
 * size (0: no cache), for comparing the cache's effect in isolation.
 * Usage: node --import tsx bench/dns/profile-server.ts ZONEFILE PORT
 */
import fs from 'node:fs';
import { PMap } from '../../src/projections/pmap.ts';
import { startDns } from '../../src/dns/server.ts';
import { EMPTY_STATE, labelsBelow, soaValue, type LedgerState, type ZoneState } from '../../src/projections/state.ts';
import { buildTrie, setApexRRset, type RecordState } from '../../src/projections/trie.ts';
import { parseZoneFile } from '../../src/zonefile/reader.ts';
import { BENCH_ZONE } from './zone.ts';

/** A projection holding one zone read from a file (no SQLite: the listener is what is measured). */
export function stateFromZoneFile(file: string, origin = BENCH_ZONE): LedgerState {
  const parsed = parseZoneFile(fs.readFileSync(file, 'utf8'), { origin });
  let soa: ZoneState['soa'] | undefined;
  const records: RecordState[] = [];
  let id = 0;
  for (const r of parsed.records) {
    if (r.soa) {
      const d = r.soa;
      soa = { primary_ns: d.mname, admin_email: d.rname, ttl: r.ttl, refresh: d.refresh, retry: d.retry, expire: d.expire, minimum: d.minimum };
    } else records.push({ id: String(id++), name: r.name, type: r.type, ttl: r.ttl, value: r.value });
  }
  if (!soa) throw new Error('zone file has no SOA');
  const apexLabels = origin.split('.').length - 1;
  const serial = 1;
  let tree = buildTrie(origin, records, (name) => labelsBelow(name, apexLabels));
  tree = setApexRRset(tree, { type: 'SOA', records: [{ id: 'soa', name: origin, type: 'SOA', ttl: soa.ttl, value: soaValue(soa, serial) }] });
  const zone: ZoneState = { name: origin, apexLabels, soa, serial, version: 1, records: PMap.from(records.map((r): [string, typeof r] => [r.id, r])), tree };
  return { ...EMPTY_STATE, seq: 1, zones: PMap.from([[origin, zone] as const]) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const state = stateFromZoneFile(process.argv[2]);
  const port = Number(process.argv[3] ?? 0);
  const server = await startDns({ ledger: { state }, listen: [`127.0.0.1:${port}`], answerCacheSize: process.env.MCNS_ANSWER_CACHE ? Number(process.env.MCNS_ANSWER_CACHE) : undefined });
  // Steady state, as Knot and NSD are measured after loading: the serving index is complete.
  await server.indexed();
  console.log(`ready ${server.addresses[0].udp.port}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
