/**
 * Checkpoints: the compacted projection at sequence N, stored in the ledger database, so start-up
 * loads it and replays only the tail. A checkpoint is used only when its format is this build's and
 * the event at its seq still has the hash it was taken at; otherwise start-up replays everything.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import { Map as IMap } from 'immutable';
import type { SoaParams } from '../events/types.ts';
import { RR_TYPES, type RRType } from '../records/types.ts';
import { buildTrie, type RecordState } from './trie.ts';
import { PMap } from './pmap.ts';
import { labelCount, labelsBelow, soaValue, type LedgerState, type ZoneHead, type ZoneState } from './state.ts';
import { setApexRRset } from './trie.ts';

/** Bump when the serialized layout or the meaning of the state changes: old checkpoints are then ignored. */
export const CHECKPOINT_FORMAT = 3;

interface ZoneHeader {
  name: string;
  soa: SoaParams;
  serial: number;
  version: number;
  /** How many record lines follow for this zone. */
  count: number;
}

interface Header {
  format: number;
  seq: number;
  heads: Array<[string, number, number, boolean]>;
  zones: ZoneHeader[];
  /** Compressed byte length of each block of record lines, in order. */
  blocks: number[];
}

/** Records per compressed block: loading inflates one block (~2 MB) at a time, never the whole file. */
const BLOCK_RECORDS = 20000;

/**
 * Encode a state as a blob: a 4-byte header length, a JSON header, then the records as lines
 * (`id TAB name TAB type TAB ttl TAB value`, zone after zone) in separately deflated blocks. Lines
 * rather than one JSON document, and blocks rather than one stream, so that loading a million
 * records builds no intermediate object tree and never holds the whole text in memory. Names and
 * canonical values never hold a tab or a newline: they escape control bytes as \DDD.
 */
export function serializeState(state: LedgerState): Buffer {
  const zones = [...state.zones.values()];
  const blocks: Buffer[] = [];
  let lines: string[] = [];
  const flush = (): void => {
    if (lines.length === 0) return;
    lines.push('');
    blocks.push(deflateSync(Buffer.from(lines.join('\n'), 'latin1'), { level: 1 }));
    lines = [];
  };
  for (const z of zones) {
    for (const r of z.records.values()) {
      lines.push(`${r.id}\t${r.name}\t${r.type}\t${r.ttl}\t${r.value}`);
      if (lines.length >= BLOCK_RECORDS) flush();
    }
  }
  flush();
  const header: Header = {
    format: CHECKPOINT_FORMAT,
    seq: state.seq,
    heads: [...state.heads.entries()].map(([z, h]) => [z, h.seq, h.serial, h.deleted]),
    zones: zones.map((z) => ({ name: z.name, soa: z.soa, serial: z.serial, version: z.version, count: z.records.size })),
    blocks: blocks.map((b) => b.length),
  };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([len, head, ...blocks]);
}

const TYPES = new Map<string, RRType>(RR_TYPES.map((t) => [t, t]));

/** Every record of the blob's blocks, in order, one block inflated at a time. */
function* recordsOf(blob: Buffer, offset: number, blocks: number[]): Generator<RecordState> {
  for (const size of blocks) {
    const buf = inflateSync(blob.subarray(offset, offset + size));
    offset += size;
    let pos = 0;
    // Fields are read straight from the buffer: each string is a fresh copy (a slice of one big
    // string would keep all of it alive), and the type is interned, not allocated per record.
    const field = (sep: number): string => {
      const end = buf.indexOf(sep, pos);
      if (end < 0) throw new Error(`checkpoint block truncated at byte ${pos}`);
      const s = buf.toString('latin1', pos, end);
      pos = end + 1;
      return s;
    };
    while (pos < buf.length) {
      const id = field(9);
      const name = field(9);
      const typeText = field(9);
      const type = TYPES.get(typeText);
      if (!type) throw new Error(`checkpoint: unknown record type ${typeText}`);
      const ttl = Number(field(9));
      yield { id, name, type, ttl, value: field(10) };
    }
  }
}

/** Decode a blob written by {@link serializeState}; undefined when it is of another format. */
export function deserializeState(blob: Buffer): LedgerState | undefined {
  if (blob.length < 4) return undefined;
  const headLen = blob.readUInt32BE(0);
  let header: Header;
  try {
    header = JSON.parse(blob.toString('utf8', 4, 4 + headLen)) as Header;
  } catch {
    return undefined; // not this format (an older build's checkpoint)
  }
  if (header.format !== CHECKPOINT_FORMAT) return undefined;
  const records = recordsOf(blob, 4 + headLen, header.blocks);
  const zones = IMap<string, ZoneState>().withMutations((zm) => {
    for (const z of header.zones) {
      const apexLabels = labelCount(z.name);
      const recordMap = PMap.empty<RecordState>().asMutable();
      const zoneRecords = function* (): Generator<RecordState> {
        for (let i = 0; i < z.count; i++) {
          const next = records.next();
          if (next.done) throw new Error(`checkpoint: zone ${z.name} has fewer records than its header says`);
          recordMap.set(next.value.id, next.value);
          yield next.value;
        }
      };
      let tree = buildTrie(z.name, zoneRecords(), (n) => labelsBelow(n, apexLabels));
      tree = setApexRRset(tree, {
        type: 'SOA',
        records: [{ id: 'soa', name: z.name, type: 'SOA', ttl: z.soa.ttl, value: soaValue(z.soa, z.serial) }],
      });
      zm.set(z.name, { name: z.name, apexLabels, soa: z.soa, serial: z.serial, version: z.version, records: recordMap.asImmutable(), tree });
    }
  });
  const heads = IMap<string, ZoneHead>(header.heads.map(([z, seq, serial, deleted]) => [z, { seq, serial, deleted }]));
  return { seq: header.seq, zones, heads };
}

/** How many checkpoints are kept (older ones only cost space: start-up uses the newest valid one). */
export const CHECKPOINTS_KEPT = 3;

/** Store a checkpoint of `state`, whose newest event has hash `headHash`, and drop the oldest. */
export function saveCheckpoint(db: Database.Database, state: LedgerState, headHash: string): void {
  const blob = serializeState(state);
  db.transaction(() => {
    db.prepare('INSERT OR REPLACE INTO checkpoints (seq, head_hash, format, created_at, data) VALUES (?, ?, ?, ?, ?)').run(
      state.seq,
      headHash,
      CHECKPOINT_FORMAT,
      Date.now(),
      blob,
    );
    db.prepare('DELETE FROM checkpoints WHERE seq NOT IN (SELECT seq FROM checkpoints ORDER BY seq DESC LIMIT ?)').run(CHECKPOINTS_KEPT);
  })();
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
