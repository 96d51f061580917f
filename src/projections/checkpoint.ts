/**
 * Checkpoints: the compacted projection at sequence N, stored in the ledger database, so start-up
 * loads it and replays only the tail. A checkpoint is used only when its format is this build's and
 * the event at its seq still has the hash it was taken at; otherwise start-up replays everything.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import { Map as IMap } from 'immutable';
import type { SoaParams } from '../events/types.ts';
import type { RRType } from '../records/types.ts';
import { buildTrie, type RecordState } from './trie.ts';
import { PMap } from './pmap.ts';
import { labelCount, labelsBelow, soaValue, type LedgerState, type ZoneHead, type ZoneState } from './state.ts';
import { setApexRRset } from './trie.ts';

/** Bump when the serialized layout or the meaning of the state changes: old checkpoints are then ignored. */
export const CHECKPOINT_FORMAT = 1;

interface SerializedZone {
  name: string;
  soa: SoaParams;
  serial: number;
  version: number;
  records: Array<[string, string, RRType, number, string]>;
}

interface Serialized {
  format: number;
  seq: number;
  heads: Array<[string, number, number, boolean]>;
  zones: SerializedZone[];
}

/** Encode a state as a compressed blob. */
export function serializeState(state: LedgerState): Buffer {
  const data: Serialized = {
    format: CHECKPOINT_FORMAT,
    seq: state.seq,
    heads: [...state.heads.entries()].map(([z, h]) => [z, h.seq, h.serial, h.deleted]),
    zones: [...state.zones.values()].map((z) => ({
      name: z.name,
      soa: z.soa,
      serial: z.serial,
      version: z.version,
      records: [...z.records.values()].map((r) => [r.id, r.name, r.type, r.ttl, r.value]),
    })),
  };
  return deflateSync(JSON.stringify(data), { level: 1 });
}

/** Decode a blob written by {@link serializeState}; undefined when it is of another format. */
export function deserializeState(blob: Buffer): LedgerState | undefined {
  const data = JSON.parse(inflateSync(blob).toString('utf8')) as Serialized;
  if (data.format !== CHECKPOINT_FORMAT) return undefined;
  const zones = IMap<string, ZoneState>().withMutations((zm) => {
    for (const z of data.zones) {
      const apexLabels = labelCount(z.name);
      const records: RecordState[] = z.records.map(([id, name, type, ttl, value]) => ({ id, name, type, ttl, value }));
      const recordMap = PMap.empty<RecordState>().withMutations((m) => {
        for (const r of records) m.set(r.id, r);
      });
      let tree = buildTrie(z.name, records, (n) => labelsBelow(n, apexLabels));
      tree = setApexRRset(tree, {
        type: 'SOA',
        records: [{ id: 'soa', name: z.name, type: 'SOA', ttl: z.soa.ttl, value: soaValue(z.soa, z.serial) }],
      });
      zm.set(z.name, { name: z.name, apexLabels, soa: z.soa, serial: z.serial, version: z.version, records: recordMap, tree });
    }
  });
  const heads = IMap<string, ZoneHead>(data.heads.map(([z, seq, serial, deleted]) => [z, { seq, serial, deleted }]));
  return { seq: data.seq, zones, heads };
}

/** Store a checkpoint of `state`, whose newest event has hash `headHash`. */
export function saveCheckpoint(db: Database.Database, state: LedgerState, headHash: string): void {
  db.prepare('INSERT OR REPLACE INTO checkpoints (seq, head_hash, format, created_at, data) VALUES (?, ?, ?, ?, ?)').run(
    state.seq,
    headHash,
    CHECKPOINT_FORMAT,
    Date.now(),
    serializeState(state),
  );
}

/** Why the newest checkpoint was or was not used, for logs and `mcns verify`. */
export interface CheckpointLoad {
  state?: LedgerState;
  seq?: number;
  skipped?: string;
}

/**
 * The newest usable checkpoint at or below `maxSeq`: of this build's format, and taken at an event
 * whose hash still matches (so a checkpoint never outlives a log it was not taken from).
 */
export function loadCheckpoint(db: Database.Database, maxSeq = Number.MAX_SAFE_INTEGER): CheckpointLoad {
  const rows = db
    .prepare('SELECT seq, head_hash, format FROM checkpoints WHERE seq <= ? ORDER BY seq DESC LIMIT 5')
    .all(maxSeq) as Array<{ seq: number; head_hash: string; format: number }>;
  const reasons: string[] = [];
  for (const row of rows) {
    if (row.format !== CHECKPOINT_FORMAT) {
      reasons.push(`checkpoint at ${row.seq} has format ${row.format}, this build reads ${CHECKPOINT_FORMAT}`);
      continue;
    }
    const ev = db.prepare('SELECT hash FROM events WHERE seq = ?').get(row.seq) as { hash: string } | undefined;
    if (row.seq > 0 && ev?.hash !== row.head_hash) {
      reasons.push(`checkpoint at ${row.seq} does not match the log's hash there`);
      continue;
    }
    const blob = (db.prepare('SELECT data FROM checkpoints WHERE seq = ?').get(row.seq) as { data: Buffer }).data;
    try {
      const state = deserializeState(blob);
      if (state && state.seq === row.seq) return { state, seq: row.seq, skipped: reasons.join('; ') || undefined };
      reasons.push(`checkpoint at ${row.seq} is unreadable`);
    } catch (err) {
      reasons.push(`checkpoint at ${row.seq} is unreadable: ${(err as Error).message}`);
    }
  }
  return { skipped: reasons.join('; ') || undefined };
}
