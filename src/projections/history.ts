/**
 * History views over the log: every version of every record, with actor, time, sequence and batch,
 * read straight from the events table (the log is the audit trail; nothing is kept twice).
 */
import type Database from 'better-sqlite3';
import { findBatch, rowToEvent, type EventRow } from '../events/log.ts';
import type { EventBody } from '../events/types.ts';

/** One entry of a history: who did what, when, in which batch. */
export interface HistoryEntry {
  seq: number;
  time: string;
  actor: string;
  zone: string;
  batchId: string;
  event: EventBody['type'];
  payload: EventBody['payload'];
}

/** Filters of a zone history; `cursor` is the seq after which the next page starts. */
export interface HistoryFilter {
  name?: string;
  type?: string;
  since?: number;
  until?: number;
  batchId?: string;
  recordId?: string;
  cursor?: number;
  limit?: number;
}

/** A page of history and the cursor of the next page (absent on the last page). */
export interface HistoryPage {
  entries: HistoryEntry[];
  nextCursor?: number;
}

function toEntry(row: EventRow): HistoryEntry {
  const e = rowToEvent(row);
  return {
    seq: e.seq,
    time: new Date(e.ts).toISOString(),
    actor: e.actor,
    zone: e.zone,
    batchId: e.batchId,
    event: e.body.type,
    payload: e.body.payload,
  };
}

/** History of a zone (it outlives the zone), oldest first, filtered and paged. */
export function zoneHistory(db: Database.Database, zone: string, f: HistoryFilter = {}): HistoryPage {
  const where = ['zone = ?', 'seq > ?'];
  const args: Array<string | number> = [zone, f.cursor ?? 0];
  const filters: Array<[string, string | number | undefined]> = [
    ['name = ?', f.name],
    ['rtype = ?', f.type?.toUpperCase()],
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
    .prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`)
    .all(...args, limit + 1) as EventRow[];
  const page = rows.slice(0, limit).map(toEntry);
  return { entries: page, nextCursor: rows.length > limit ? page[page.length - 1].seq : undefined };
}

/** Every version of one record: its create, updates and delete (and re-creations by a restore). */
export function recordHistory(db: Database.Database, zone: string, recordId: string): HistoryEntry[] {
  return (db.prepare('SELECT * FROM events WHERE zone = ? AND record_id = ? ORDER BY seq').all(zone, recordId) as EventRow[]).map(toEntry);
}
