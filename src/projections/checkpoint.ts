/**
 * Checkpoints: the compacted projection at sequence N, stored in the ledger database, so start-up
 * loads it and replays only the tail. A checkpoint is used only when its format is this build's, the
 * event at its seq still has the hash it was taken at, and its digest (SHA-256 over that hash and
 * the checkpoint's bytes) still matches; otherwise an older checkpoint, or a full replay, is used.
 */
import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import type { SoaParams } from '../events/types.ts';
import { RR_TYPES, type RRType } from '../records/types.ts';
import { buildTrie, type RecordState } from './trie.ts';
import { PMap } from './pmap.ts';
import { labelCount, labelsBelow, soaValue, type LedgerState, type ZoneHead, type ZoneState } from './state.ts';
import { setApexRRset } from './trie.ts';

/** Bump when the serialized layout or the meaning of the state changes: old checkpoints are then ignored. */
export const CHECKPOINT_FORMAT = 4;

/** Bytes of the digest that starts every stored checkpoint (format 4 on). */
const DIGEST_BYTES = 32;

/**
 * The digest of a checkpoint's contents bound to the log: SHA-256 over a tag, the hash of the event
 * at the checkpoint's seq, and the serialized state. Editing one byte of the contents (say, inflating
 * a block, changing an address, deflating it again) or moving the checkpoint onto another log changes
 * it. It is not keyed: it catches edits and corruption, not a forger who recomputes it; the logged
 * chain head and digest at each checkpoint are what an operator compares against (RUNBOOK).
 */
export function checkpointDigest(headHash: string, body: Uint8Array): Buffer {
  return createHash('sha256').update(`mcns-checkpoint-v${CHECKPOINT_FORMAT}\n${headHash}\n`, 'utf8').update(body).digest();
}

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
 * Encode a state as a blob: the 32-byte digest ({@link checkpointDigest}, bound to `headHash`, the
 * hash of the event at the state's seq), then the body: a 4-byte header length, a JSON header, then the records as lines
 * (`id TAB name TAB type TAB ttl TAB value`, zone after zone) in separately deflated blocks. Lines
 * rather than one JSON document, and blocks rather than one stream, so that loading a million
 * records builds no intermediate object tree and never holds the whole text in memory. Names and
 * canonical values never hold a tab or a newline: they escape control bytes as \DDD.
 */
export function serializeState(state: LedgerState, headHash: string): Buffer {
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
  const body = Buffer.concat([len, head, ...blocks]);
  return Buffer.concat([checkpointDigest(headHash, body), body]);
}

/** Whether a stored blob's digest matches its body and the log's hash at its seq. */
export function checkpointIntact(blob: Buffer, headHash: string): boolean {
  if (blob.length < DIGEST_BYTES) return false;
  return checkpointDigest(headHash, blob.subarray(DIGEST_BYTES)).equals(blob.subarray(0, DIGEST_BYTES));
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

/**
 * Decode a blob written by {@link serializeState}; undefined when it is of another format. It does
 * not check the digest: {@link loadCheckpoint} does, before calling it.
 */
export function deserializeState(stored: Buffer): LedgerState | undefined {
  if (stored.length < DIGEST_BYTES + 4) return undefined;
  const blob = stored.subarray(DIGEST_BYTES);
  const headLen = blob.readUInt32BE(0);
  let header: Header;
  try {
    header = JSON.parse(blob.toString('utf8', 4, 4 + headLen)) as Header;
  } catch {
    return undefined; // not this format (an older build's checkpoint)
  }
  if (header.format !== CHECKPOINT_FORMAT) return undefined;
  const records = recordsOf(blob, 4 + headLen, header.blocks);
  const zones = PMap.empty<ZoneState>().withMutations((zm) => {
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
  const heads = PMap.from<ZoneHead>(header.heads.map(([z, seq, serial, deleted]) => [z, { seq, serial, deleted }] as const));
  return { seq: header.seq, zones, heads };
}

/**
 * Which checkpoints are kept. Start-up needs only the newest, but point-in-time reads (`?at=`,
 * restores) start from the newest checkpoint at or before their point, so the kept set is thinned
 * rather than cut: the newest `recent` always, and older ones only where dropping one would leave a
 * gap wider than `min(maxGap, age / density)` events (age: how far the gap's newer end is behind
 * the newest checkpoint). Gaps therefore grow with age: about `density` checkpoints per doubling of
 * age, plus one per `maxGap` events of old log, and no point replays more than
 * `max(checkpoint interval, maxGap)` events from its checkpoint.
 */
export interface CheckpointRetention {
  recent: number;
  density: number;
  maxGap: number;
}

/** The retention the ledger uses (a 1,000,000-event log checkpointed every 1,000 events keeps 41, no gap over 64,000). */
export const CHECKPOINT_RETENTION: CheckpointRetention = { recent: 3, density: 4, maxGap: 100_000 };

/**
 * The seqs to keep of `seqs` (any order). Walks from the newest down and drops a checkpoint only when
 * the gap it would leave (from the kept one above it to the next one below it, or to seq 0) stays
 * within the allowance; a gap that was allowed stays allowed as the log grows (allowances only widen).
 */
export function checkpointsToKeep(seqs: readonly number[], policy: CheckpointRetention = CHECKPOINT_RETENTION): Set<number> {
  const desc = [...new Set(seqs)].sort((a, b) => b - a);
  const keep = new Set<number>();
  if (desc.length === 0) return keep;
  const newest = desc[0];
  let above = newest;
  for (let i = 0; i < desc.length; i++) {
    const seq = desc[i];
    const below = i + 1 < desc.length ? desc[i + 1] : 0;
    const allowance = Math.min(policy.maxGap, (newest - above) / policy.density);
    if (i < policy.recent || above - below > allowance) {
      keep.add(seq);
      above = seq;
    }
  }
  return keep;
}

/** What was written: the checkpoint's seq, the log's hash there (the chain head it was taken at), its digest. */
export interface CheckpointWritten {
  seq: number;
  hash: string;
  digest: string;
}

/** Store a checkpoint of `state`, whose newest event has hash `headHash`, and thin the older ones. */
export function saveCheckpoint(db: Database.Database, state: LedgerState, headHash: string): CheckpointWritten {
  const blob = serializeState(state, headHash);
  db.transaction(() => {
    db.prepare('INSERT OR REPLACE INTO checkpoints (seq, head_hash, format, created_at, data) VALUES (?, ?, ?, ?, ?)').run(
      state.seq,
      headHash,
      CHECKPOINT_FORMAT,
      Date.now(),
      blob,
    );
    const seqs = db.prepare('SELECT seq FROM checkpoints').pluck().all() as number[];
    const keep = checkpointsToKeep(seqs);
    const drop = db.prepare('DELETE FROM checkpoints WHERE seq = ?');
    for (const seq of seqs) if (!keep.has(seq)) drop.run(seq);
  })();
  return { seq: state.seq, hash: headHash, digest: blob.subarray(0, DIGEST_BYTES).toString('hex') };
}

/** Why the newest checkpoint was or was not used, for logs and `mcns verify`. */
export interface CheckpointLoad {
  state?: LedgerState;
  seq?: number;
  /** Every checkpoint passed over and why (an older format is routine). */
  skipped?: string;
  /**
   * Checkpoints refused because they do not match the log (hash at their seq) or their own digest:
   * edited or corrupted. Operators must hear of these (the server logs them as errors).
   */
  rejected?: string[];
}

/** How many checkpoints at or below a point are tried before falling back to a full replay. */
const CANDIDATES = 5;

/**
 * The newest usable checkpoint at or below `maxSeq`: of this build's format, taken at an event whose
 * hash still matches (so a checkpoint never outlives a log it was not taken from), and whose digest
 * matches its contents (so an edited checkpoint is never served).
 */
export function loadCheckpoint(db: Database.Database, maxSeq = Number.MAX_SAFE_INTEGER): CheckpointLoad {
  const rows = db
    .prepare('SELECT seq, head_hash, format FROM checkpoints WHERE seq <= ? ORDER BY seq DESC LIMIT ?')
    .all(maxSeq, CANDIDATES) as Array<{ seq: number; head_hash: string; format: number }>;
  const reasons: string[] = [];
  const rejected: string[] = [];
  const reject = (why: string): void => {
    reasons.push(why);
    rejected.push(why);
  };
  const done = (out: CheckpointLoad): CheckpointLoad => ({
    ...out,
    skipped: reasons.join('; ') || undefined,
    rejected: rejected.length > 0 ? rejected : undefined,
  });
  for (const row of rows) {
    if (row.format !== CHECKPOINT_FORMAT) {
      reasons.push(`checkpoint at ${row.seq} has format ${row.format}, this build reads ${CHECKPOINT_FORMAT}`);
      continue;
    }
    const ev = db.prepare('SELECT hash FROM events WHERE seq = ?').get(row.seq) as { hash: string } | undefined;
    if (ev?.hash !== row.head_hash) {
      reject(`checkpoint at ${row.seq} does not match the log's hash there`);
      continue;
    }
    const blob = (db.prepare('SELECT data FROM checkpoints WHERE seq = ?').get(row.seq) as { data: Buffer }).data;
    if (!checkpointIntact(blob, ev.hash)) {
      reject(`checkpoint at ${row.seq} does not match its digest (its contents were changed after it was written)`);
      continue;
    }
    try {
      const state = deserializeState(blob);
      if (state && state.seq === row.seq) return done({ state, seq: row.seq });
      reject(`checkpoint at ${row.seq} is unreadable`);
    } catch (err) {
      reject(`checkpoint at ${row.seq} is unreadable: ${(err as Error).message}`);
    }
  }
  return done({});
}

/** Seq of the newest kept checkpoint at or below `maxSeq` (not checked: {@link loadCheckpoint} checks). */
export function checkpointSeqAtOrBefore(db: Database.Database, maxSeq: number): number | undefined {
  const row = db.prepare('SELECT max(seq) AS seq FROM checkpoints WHERE seq <= ? AND format = ?').get(maxSeq, CHECKPOINT_FORMAT) as { seq: number | null };
  return row.seq ?? undefined;
}
