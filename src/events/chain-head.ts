/**
 * The chain head: the sequence number and hash of the newest event. Every event's hash covers all
 * the events before it, so a head recorded somewhere the database's writer cannot reach (a log
 * line shipped off the host, a ticket, a monitoring system) pins the whole history up to it: a log
 * rewritten at or before that seq, even with every hash recomputed, no longer holds that head.
 *
 * Written as "SEQ:HASH" (`mcns status`, the snapshot API and the checkpoint log line print it;
 * `mcns verify --head SEQ:HASH` checks it).
 */
import type Database from 'better-sqlite3';
import { McnsError } from '../errors.ts';
import { GENESIS_HASH } from './hash.ts';

/** The newest event of a log: its seq and hash (0 and the genesis hash for an empty log). */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** The chain head of the log in `db` (one indexed read; the checkpoint job logs it with each checkpoint). */
export function readChainHead(db: Database.Database): ChainHead {
  const row = db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as ChainHead | undefined;
  return row ? { seq: row.seq, hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
}

/** "SEQ:HASH", the form operators record and pass to `mcns verify --head`. */
export function formatChainHead(head: ChainHead): string {
  return `${head.seq}:${head.hash}`;
}

/** Parse "SEQ:HASH" (HASH: 64 hex digits); a clear error naming `field` otherwise. */
export function parseChainHead(text: string, field = 'head'): ChainHead {
  const m = /^\s*(\d+):([0-9a-fA-F]{64})\s*$/.exec(text);
  if (!m) throw new McnsError('invalid', `must be SEQ:HASH (a sequence number, a colon, 64 hex digits), got "${text}"`, field);
  return { seq: Number(m[1]), hash: m[2].toLowerCase() };
}

/** Whether the log still holds `head` unchanged, or what became of it. */
export type HeadCheck = { ok: true } | { ok: false; problem: string };

/**
 * Check that the event at `head.seq` still has `head.hash`. Together with a valid chain from the
 * genesis (verifyChain) this proves events 1..seq are the ones the head was taken from.
 */
export function checkChainHead(db: Database.Database, head: ChainHead): HeadCheck {
  if (head.seq === 0) return { ok: true };
  const row = db.prepare('SELECT hash FROM events WHERE seq = ?').get(head.seq) as { hash: string } | undefined;
  if (!row) {
    const last = readChainHead(db).seq;
    return { ok: false, problem: `the log ends at seq ${last}, before the recorded head ${head.seq}: events were removed (or this is another database)` };
  }
  if (row.hash !== head.hash) {
    return {
      ok: false,
      problem: `event ${head.seq} has hash ${row.hash}, not the recorded head's ${head.hash}: the log was rewritten at or before seq ${head.seq}`,
    };
  }
  return { ok: true };
}
