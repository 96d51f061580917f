/**
 * The keyed chain (`[database] chain_key_file`): an HMAC-SHA256, with a key the database does not
 * contain, over the (seq, hash) of the last event of every batch, stored in `chain_macs` in the same
 * transaction as the batch. Each event's hash covers every event before it, so one MAC per batch
 * authenticates the whole log up to there: someone who can write the database file but not read the
 * key can neither rewrite history (every later MAC stops verifying) nor append events that verify.
 *
 * A log that had no MACs when the key was first used is "adopted" at its head then (logged), so
 * enabling the key on an existing deployment covers the history it has from that moment on.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { McnsError } from '../errors.ts';
import { ChainError } from './hash.ts';

/** Shortest key accepted: 32 bytes, the HMAC-SHA256 block's half (RFC 2104 recommends at least the output length). */
export const MIN_CHAIN_KEY_BYTES = 32;

/**
 * Read a chain key file: its bytes (surrounding whitespace of a text file trimmed, so `openssl rand
 * -base64 48 > key` works), at least 32 of them. Errors name `field`.
 */
export function readChainKey(path: string, field = 'database.chain_key_file'): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new McnsError('invalid', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, field);
  }
  const text = raw.toString('latin1');
  const key = Buffer.from(text.trim(), 'latin1');
  if (key.length < MIN_CHAIN_KEY_BYTES) {
    throw new McnsError('invalid', `${path} holds ${key.length} bytes; a chain key needs at least ${MIN_CHAIN_KEY_BYTES} (make one with: openssl rand -base64 48 > ${path})`, field);
  }
  return key;
}

/** The MAC of the chain at (seq, hash): HMAC-SHA256 with a label, so the key is never used for anything else by mistake. */
export function chainMac(key: Buffer, seq: number, hash: string): string {
  return createHmac('sha256', key).update(`mcns chain mac v1\n${seq}:${hash}`).digest('hex');
}

/** What checking the MACs found. */
export type ChainMacCheck =
  | { ok: true; macs: number; newest: number; adopted?: number }
  | { ok: false; seq: number; problem: string };

interface MacRow {
  seq: number;
  mac: string;
  hash: string | null;
}

function hasMacTable(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chain_macs'").get() !== undefined;
}

/**
 * Check the MACs of the log with `key`: every MAC with seq > `fromSeq` (and the newest one at or
 * before it, the anchor) must verify against the event's stored hash, and the newest event must be
 * covered (no event appended without the key after the last MAC). `fromSeq` 0 checks every MAC
 * (mcns verify); start-up passes the checkpoint's seq, like the hash check of the tail it replays.
 */
export function checkChainMacs(db: Database.Database, key: Buffer, fromSeq = 0): ChainMacCheck {
  const last = (db.prepare('SELECT max(seq) AS seq FROM events').get() as { seq: number | null }).seq ?? 0;
  if (!hasMacTable(db)) return last === 0 ? { ok: true, macs: 0, newest: 0 } : { ok: false, seq: last, problem: 'the log has no chain_macs table: it was never keyed, or the table was removed' };
  const anchor = (db.prepare('SELECT max(seq) AS seq FROM chain_macs WHERE seq <= ?').get(fromSeq) as { seq: number | null }).seq ?? 0;
  let macs = 0;
  let newest = 0;
  const rows = db.prepare('SELECT m.seq AS seq, m.mac AS mac, e.hash AS hash FROM chain_macs m LEFT JOIN events e ON e.seq = m.seq WHERE m.seq >= ? ORDER BY m.seq').iterate(anchor);
  for (const row of rows as IterableIterator<MacRow>) {
    if (row.hash === null) return { ok: false, seq: row.seq, problem: `a chain MAC covers seq ${row.seq}, which is not in the log: events were removed` };
    if (chainMac(key, row.seq, row.hash) !== row.mac) {
      return { ok: false, seq: row.seq, problem: `the chain MAC at seq ${row.seq} does not verify: the log was rewritten at or before seq ${row.seq}, or this is not the key it was written with` };
    }
    macs++;
    newest = row.seq;
  }
  const total = (db.prepare('SELECT count(*) AS n FROM chain_macs').get() as { n: number }).n;
  if (total === 0) {
    return last === 0 ? { ok: true, macs: 0, newest: 0 } : { ok: false, seq: last, problem: 'no event carries a chain MAC: the log was never written with the key, or its MACs were removed' };
  }
  if (newest === 0) newest = (db.prepare('SELECT max(seq) AS seq FROM chain_macs').get() as { seq: number }).seq;
  if (newest < last) {
    return { ok: false, seq: newest + 1, problem: `events ${newest + 1}..${last} carry no chain MAC: they were appended without the key (an offline write without --chain-key-file, or a forgery)` };
  }
  return { ok: true, macs, newest };
}

/**
 * Start using `key` on the log in `db`: check the MACs from `fromSeq` on (see checkChainMacs), or
 * adopt a log that has none by MACing its head. Returns what was found; the caller refuses to serve
 * when it is not ok.
 */
export function adoptOrCheckChainMacs(db: Database.Database, key: Buffer, fromSeq: number): ChainMacCheck {
  const any = hasMacTable(db) && db.prepare('SELECT 1 FROM chain_macs LIMIT 1').get() !== undefined;
  if (any) return checkChainMacs(db, key, fromSeq);
  const head = db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  if (!head) return { ok: true, macs: 0, newest: 0 };
  db.prepare('INSERT INTO chain_macs (seq, mac) VALUES (?, ?)').run(head.seq, chainMac(key, head.seq, head.hash));
  return { ok: true, macs: 1, newest: head.seq, adopted: head.seq };
}

/** The few logger methods keyChainFromFile uses (pino's). */
interface ChainLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Start-up with `[database] chain_key_file`: read the key, check the MACs of the tail being served
 * (from the checkpoint's seq on) or adopt an unkeyed log, and key every later append. A failed check
 * is logged as an error and thrown as a ChainError: the server does not serve a log it cannot vouch for.
 */
export function keyChainFromFile(log: { useChainKey(key: Buffer, fromSeq?: number): ChainMacCheck }, path: string, fromSeq: number, logger: ChainLogger): void {
  const key = readChainKey(path);
  const check = log.useChainKey(key, fromSeq);
  if (!check.ok) {
    logger.error({ seq: check.seq, problem: check.problem, chain_key_file: path }, 'keyed chain check failed: refusing to start');
    throw new ChainError(check.seq, `keyed chain: ${check.problem}`);
  }
  if (check.adopted !== undefined) {
    logger.warn(
      { seq: check.adopted, chain_key_file: path },
      'keyed chain started: the log had no chain MACs, its head is MACed now and every batch from here on (if this log was keyed before, its MACs were removed: check it against a recorded chain head)',
    );
  } else {
    logger.info({ macs: check.macs, newest: check.newest, from: fromSeq }, 'keyed chain verified');
  }
}
