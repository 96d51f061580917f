/**
 * `mcns replay`: rebuild the state from the log (to a point), or trace each event with the change it
 * made, as zone-file lines or JSON. Debugging by replaying the past, with the same `evolve`.
 */
import type Database from 'better-sqlite3';
import { EventLog } from '../events/log.ts';
import type { LogPoint } from '../ledger.ts';
import { EMPTY_STATE, evolve, evolveAll, type LedgerState, type ZoneState } from './state.ts';
import { exportZone } from './zone-files.ts';
import type { RecordState } from './trie.ts';

/** Where replay output goes, and what part of the log to replay. */
export interface ReplayOptions {
  until?: LogPoint;
  zone?: string;
  format: 'zone' | 'json';
  write: (text: string) => void;
  progress?: (message: string) => void;
}

function rrLine(r: RecordState): string {
  return `${r.name} ${r.ttl} IN ${r.type} ${r.value}`;
}

function zoneJson(z: ZoneState): unknown {
  return {
    name: z.name,
    serial: z.serial,
    soa: z.soa,
    records: [...z.records.values()].sort((a, b) => (a.name === b.name ? (a.type < b.type ? -1 : 1) : a.name < b.name ? -1 : 1)),
  };
}

function replayTo(db: Database.Database, opts: ReplayOptions, onEvent?: (before: LedgerState, after: LedgerState, e: Parameters<typeof evolve>[1] & { ts: number; actor: string; batchId: string }) => void): LedgerState {
  const log = new EventLog(db);
  const until = opts.until ? log.seqAt(opts.until) : Number.MAX_SAFE_INTEGER;
  let state = EMPTY_STATE;
  if (!onEvent) {
    // No per-event view needed: fold pages with evolveAll, the transient path start-up uses.
    for (;;) {
      const page = log.read(state.seq, 50000).filter((e) => e.seq <= until);
      if (page.length === 0) return state;
      state = evolveAll(state, page);
      opts.progress?.(`replayed ${state.seq} events…`);
    }
  }
  let n = 0;
  for (const e of log.iterate(0, until)) {
    const next = evolve(state, e);
    if (onEvent && (!opts.zone || e.zone === opts.zone)) onEvent(state, next, e);
    state = next;
    if (++n % 50000 === 0) opts.progress?.(`replayed ${n} events…`);
  }
  return state;
}

/** Print the zones as they were at `until` (all zones, or one). */
export function replayState(db: Database.Database, opts: ReplayOptions): void {
  const state = replayTo(db, opts);
  const zones = [...state.zones.values()].filter((z) => !opts.zone || z.name === opts.zone).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (opts.format === 'json') {
    opts.write(JSON.stringify({ seq: state.seq, zones: zones.map(zoneJson) }, null, 2) + '\n');
    return;
  }
  opts.write(zones.map((z) => exportZone(z, `${z.name} serial ${z.serial}, log seq ${state.seq}`)).join('\n'));
}

/** Print every event up to `until` with the records it removed and added. */
export function replayTrace(db: Database.Database, opts: ReplayOptions): void {
  replayTo(db, opts, (before, after, e) => {
    const z0 = before.zones.get(e.zone);
    const z1 = after.zones.get(e.zone);
    const removed: RecordState[] = [];
    const added: RecordState[] = [];
    const p = e.body.payload as { id?: string };
    if (p.id) {
      const r0 = z0?.records.get(p.id);
      const r1 = z1?.records.get(p.id);
      if (r0 && r0 !== r1) removed.push(r0);
      if (r1 && r0 !== r1) added.push(r1);
    } else if (e.body.type === 'ZoneDeleted' && z0) {
      removed.push(...z0.records.values());
    }
    const soa0 = z0?.tree.rrsets.get('SOA')?.records[0];
    const soa1 = z1?.tree.rrsets.get('SOA')?.records[0];
    if (soa0?.value !== soa1?.value) {
      if (soa0) removed.push(soa0);
      if (soa1) added.push(soa1);
    }
    const time = new Date(e.ts).toISOString();
    if (opts.format === 'json') {
      opts.write(JSON.stringify({ seq: e.seq, time, actor: e.actor, zone: e.zone, batch_id: e.batchId, event: e.body.type, payload: e.body.payload, removed: removed.map(rrLine), added: added.map(rrLine) }) + '\n');
      return;
    }
    opts.write(`; seq ${e.seq} ${time} actor=${e.actor} zone=${e.zone} batch=${e.batchId} ${e.body.type}\n`);
    for (const r of removed) opts.write(`- ${rrLine(r)}\n`);
    for (const r of added) opts.write(`+ ${rrLine(r)}\n`);
  });
}
