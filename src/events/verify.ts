/**
 * Chain verification: recompute every event's hash from its stored bytes and check the derived
 * columns, so a byte changed behind the triggers' back (or a row inserted out of order) is found
 * and named.
 */
import type Database from 'better-sqlite3';
import { eventHash, GENESIS_HASH } from './hash.ts';
import type { EventRow } from './log.ts';
import { rowToEvent } from './log.ts';

/** The outcome of a chain check: ok, or the first broken event and why. */
export type ChainCheck = { ok: true; events: number; headHash: string } | { ok: false; seq: number; reason: string };

/** Walk the whole log in order and check the hash chain and every payload against its schema. */
export function verifyChain(db: Database.Database, onProgress?: (seq: number) => void): ChainCheck {
  let prev = GENESIS_HASH;
  let expected = 1;
  let n = 0;
  for (const row of db.prepare('SELECT * FROM events ORDER BY seq').iterate() as IterableIterator<EventRow>) {
    if (row.seq !== expected) return { ok: false, seq: row.seq, reason: `sequence gap: expected ${expected}, found ${row.seq}` };
    const h = eventHash(prev, row);
    if (h !== row.hash) return { ok: false, seq: row.seq, reason: `hash mismatch: the event's stored bytes were changed (chain broken at seq ${row.seq})` };
    try {
      const e = rowToEvent(row);
      const p = e.body.payload as Record<string, unknown>;
      if ((row.record_id ?? undefined) !== (typeof p.id === 'string' ? p.id : undefined)) {
        return { ok: false, seq: row.seq, reason: 'record_id column does not match the payload' };
      }
    } catch (err) {
      return { ok: false, seq: row.seq, reason: (err as Error).message };
    }
    prev = row.hash;
    expected += 1;
    n += 1;
    if (onProgress && n % 100000 === 0) onProgress(row.seq);
  }
  return { ok: true, events: n, headHash: prev };
}
