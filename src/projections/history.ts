/**
 * History views over the log: every version of every record, with actor, time, sequence and batch,
 * read straight from the events table (the log is the audit trail; nothing is kept twice).
 *
 * An entry answers "what changed" on its own: the value before and after (read from the record's
 * previous event, or the zone's earlier SOA events), the point a restore went back to, and the way
 * the change came in as far as the log tells it (its batch's marker: restore or import).
 */
import type Database from 'better-sqlite3';
import { findBatch, rowToEvent, type EventRow, type WriteSurface } from '../events/log.ts';
import type { EventBody, SoaParams } from '../events/types.ts';

/** A record's state as a history entry shows it (a delete's old side has no ttl in older events). */
export interface RecordSide {
  name: string;
  type: string;
  value: string;
  ttl?: number;
}

/** One side (before or after) of a change: a record, or the changed SOA parameters of a zone. */
export type ChangeSide = RecordSide | Partial<SoaParams>;

/**
 * How a change came in. Every batch records the surface it was written through (rest, grpc,
 * update, cli, system: batch_surfaces beside the log); `restore` and `import` batches also carry a
 * marker event, which names them (an import from a file, `mcns zone import --db` or the dev seed, is
 * `offline`). Batches written before surfaces were recorded are `api` when no marker says more.
 */
export type Surface = WriteSurface | 'api' | 'import' | 'offline' | 'restore';

/** One entry of a history: who did what, when, in which batch, and the value before and after. */
export interface HistoryEntry {
  seq: number;
  time: string;
  actor: string;
  zone: string;
  batchId: string;
  event: EventBody['type'];
  payload: EventBody['payload'];
  surface: Surface;
  /** The value before: the updated or deleted record, or the SOA fields a zone update changed. */
  old?: ChangeSide;
  /** The value after: the created or updated record, or the SOA fields a zone update set. */
  new?: ChangeSide;
  /** For every entry of a restore batch: the point the zone was restored to. */
  restoredTo?: { seq: number; at?: string };
}

/** Filters of a zone history; `cursor` is the seq the next page starts after (or before, newest first). */
export interface HistoryFilter {
  name?: string;
  type?: string;
  actor?: string;
  since?: number;
  until?: number;
  batchId?: string;
  recordId?: string;
  cursor?: number;
  limit?: number;
  /** `asc` (default): oldest first; `desc`: newest first. */
  order?: 'asc' | 'desc';
}

/** A page of history and the cursor of the next page (absent on the last page). */
export interface HistoryPage {
  entries: HistoryEntry[];
  nextCursor?: number;
  /** With nextCursor: how many entries match after this page ("N older entries, use --cursor"). */
  remaining?: number;
}

interface BatchInfo {
  surface: Surface;
  restoredTo?: { seq: number; at?: string };
}

/** Reads the context an entry needs (its batch's marker, the previous state) with cached statements. */
class EntryReader {
  private readonly batches = new Map<string, BatchInfo>();
  private readonly previousRecord;
  private readonly soaBefore;
  private readonly markers;
  private readonly recorded;

  constructor(private readonly db: Database.Database) {
    // Both use existing indexes: (zone, record_id) ordered by seq, and the zone-level rows.
    this.previousRecord = db.prepare('SELECT * FROM events WHERE zone = ? AND record_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1');
    this.soaBefore = db.prepare("SELECT * FROM events WHERE zone = ? AND record_id IS NULL AND seq < ? AND type IN ('ZoneCreated', 'ZoneUpdated', 'ZoneDeleted') ORDER BY seq");
    this.markers = db.prepare("SELECT * FROM events WHERE zone = ? AND record_id IS NULL AND seq >= ? AND seq <= ? AND type IN ('ZoneRestored', 'ZoneImported')");
    this.recorded = db.prepare('SELECT surface FROM batch_surfaces WHERE batch_id = ?').pluck();
  }

  private batch(zone: string, batchId: string): BatchInfo {
    let info = this.batches.get(batchId);
    if (info) return info;
    const recorded = this.recorded.get(batchId) as WriteSurface | undefined;
    info = { surface: recorded ?? 'api' };
    const range = findBatch(this.db, batchId);
    if (range) {
      for (const row of this.markers.all(zone, range.first, range.last) as EventRow[]) {
        const body = rowToEvent(row).body;
        if (body.type === 'ZoneRestored') info = { surface: 'restore', restoredTo: { seq: body.payload.at_seq, ...(body.payload.at ? { at: body.payload.at } : {}) } };
        if (body.type === 'ZoneImported') info = { surface: recorded === 'cli' || (body.payload.source !== undefined && body.payload.source !== 'api') ? 'offline' : 'import' };
      }
    }
    this.batches.set(batchId, info);
    return info;
  }

  /** The record as it was just before `seq`, or undefined when it did not exist then. */
  private recordBefore(zone: string, id: string, seq: number): RecordSide | undefined {
    const row = this.previousRecord.get(zone, id, seq) as EventRow | undefined;
    if (!row) return undefined;
    const body = rowToEvent(row).body;
    if (body.type !== 'RecordCreated' && body.type !== 'RecordUpdated') return undefined;
    const { name, type, value, ttl } = body.payload;
    return { name, type, value, ttl };
  }

  /** The SOA parameters in force just before `seq` (folded over the zone's few SOA events). */
  private soaAt(zone: string, seq: number): Partial<SoaParams> {
    let soa: Partial<SoaParams> = {};
    for (const row of this.soaBefore.all(zone, seq) as EventRow[]) {
      const body = rowToEvent(row).body;
      if (body.type === 'ZoneCreated') soa = { ...body.payload };
      else if (body.type === 'ZoneUpdated') soa = { ...soa, ...body.payload };
      else if (body.type === 'ZoneDeleted') soa = {};
    }
    return soa;
  }

  entry(row: EventRow): HistoryEntry {
    const e = rowToEvent(row);
    const b = this.batch(e.zone, e.batchId);
    const out: HistoryEntry = {
      seq: e.seq,
      time: new Date(e.ts).toISOString(),
      actor: e.actor,
      zone: e.zone,
      batchId: e.batchId,
      event: e.body.type,
      payload: e.body.payload,
      surface: b.surface,
      ...(b.restoredTo ? { restoredTo: b.restoredTo } : {}),
    };
    const body = e.body;
    if (body.type === 'RecordCreated' || body.type === 'RecordUpdated') {
      const { name, type, value, ttl } = body.payload;
      out.new = { name, type, value, ttl };
      if (body.type === 'RecordUpdated') out.old = this.recordBefore(e.zone, body.payload.id, e.seq);
    } else if (body.type === 'RecordDeleted') {
      out.old = this.recordBefore(e.zone, body.payload.id, e.seq) ?? { name: body.payload.name, type: body.payload.type, value: '' };
    } else if (body.type === 'ZoneUpdated') {
      const before = this.soaAt(e.zone, e.seq);
      const keys = Object.keys(body.payload) as Array<keyof SoaParams>;
      out.old = Object.fromEntries(keys.map((k) => [k, before[k]]));
      out.new = { ...body.payload };
    } else if (body.type === 'ZoneCreated') {
      out.new = { ...body.payload };
    }
    return out;
  }
}

/** History of a zone (it outlives the zone), filtered and paged; oldest first unless `order: 'desc'`. */
export function zoneHistory(db: Database.Database, zone: string, f: HistoryFilter = {}): HistoryPage {
  const desc = f.order === 'desc';
  const where = ['zone = ?'];
  const args: Array<string | number> = [zone];
  if (f.cursor !== undefined || !desc) {
    where.push(desc ? 'seq < ?' : 'seq > ?');
    args.push(f.cursor ?? 0);
  }
  const filters: Array<[string, string | number | undefined]> = [
    ['name = ?', f.name],
    ['rtype = ?', f.type?.toUpperCase()],
    ['actor = ?', f.actor],
    ['ts >= ?', f.since],
    ['ts <= ?', f.until],
    ['record_id = ?', f.recordId],
  ];
  if (f.batchId !== undefined) {
    // A batch is a contiguous run of seqs (findBatch): a range on the primary key.
    const range = findBatch(db, f.batchId);
    if (!range) return { entries: [] };
    where.push('seq >= ?', 'seq <= ?');
    args.push(range.first, range.last);
  }
  for (const [clause, value] of filters) {
    if (value === undefined) continue;
    where.push(clause);
    args.push(value);
  }
  const limit = Math.max(1, Math.min(f.limit ?? 100, 10000));
  const rows = db
    .prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT ?`)
    .all(...args, limit + 1) as EventRow[];
  const reader = new EntryReader(db);
  const page = rows.slice(0, limit).map((r) => reader.entry(r));
  if (rows.length <= limit) return { entries: page };
  const nextCursor = page[page.length - 1].seq;
  // The cursor condition is the first of `where` unless a newest-first walk started without one.
  const rest = [...where, desc ? 'seq < ?' : 'seq > ?'];
  const remaining = (db.prepare(`SELECT count(*) FROM events WHERE ${rest.join(' AND ')}`).pluck().get(...args, nextCursor) as number);
  return { entries: page, nextCursor, remaining };
}

/** Every version of one record: its create, updates and delete (and re-creations by a restore). */
export function recordHistory(db: Database.Database, zone: string, recordId: string): HistoryEntry[] {
  const reader = new EntryReader(db);
  return (db.prepare('SELECT * FROM events WHERE zone = ? AND record_id = ? ORDER BY seq').all(zone, recordId) as EventRow[]).map((r) => reader.entry(r));
}
