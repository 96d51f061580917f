/**
 * The SQLite schema of the ledger: one append-only `events` table guarded by triggers, a
 * `checkpoints` table for compacted projections, `chain_macs` for the keyed chain, and `meta` for
 * the schema version.
 */
import Database from 'better-sqlite3';
import { McnsError } from '../errors.ts';

/** Schema version written to `meta`; opening a newer database with an older build is refused. */
export const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq       INTEGER PRIMARY KEY,
  ts        INTEGER NOT NULL,
  actor     TEXT    NOT NULL,
  zone      TEXT    NOT NULL,
  type      TEXT    NOT NULL,
  version   INTEGER NOT NULL,
  payload   TEXT    NOT NULL,
  batch_id  TEXT    NOT NULL,
  record_id TEXT,
  name      TEXT,
  rtype     TEXT,
  hash      TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_zone_seq ON events(zone, seq);
CREATE INDEX IF NOT EXISTS events_record ON events(zone, record_id) WHERE record_id IS NOT NULL;
-- Zone-level events (zone created/updated/deleted, serial bumps, markers: the rows without a
-- record id), one or two per batch: IXFR finds a zone's serial steps without reading its records.
CREATE INDEX IF NOT EXISTS events_zone_meta ON events(zone, seq) WHERE record_id IS NULL;
-- Indexes of earlier builds. Every index is one more page in every commit's fsync, so the log keeps
-- only these three: a batch is found from its id's first seq (batches are contiguous), and a time
-- by binary search (timestamps never decrease along seq).
DROP INDEX IF EXISTS events_batch;
DROP INDEX IF EXISTS events_ts;
DROP INDEX IF EXISTS events_serials;
DROP INDEX IF EXISTS events_zone_level;
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE refused'); END;
-- The keyed chain ([database] chain_key_file, src/events/chain-key.ts): an HMAC of (seq, hash) of
-- the last event of every batch, with a key that is not in this database. Append-only like the log.
CREATE TABLE IF NOT EXISTS chain_macs (
  seq INTEGER PRIMARY KEY,
  mac TEXT    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS chain_macs_no_update BEFORE UPDATE ON chain_macs
  BEGIN SELECT RAISE(ABORT, 'chain MACs are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS chain_macs_no_delete BEFORE DELETE ON chain_macs
  BEGIN SELECT RAISE(ABORT, 'chain MACs are append-only: DELETE refused'); END;
-- Which surface each batch came through (REST, gRPC, DNS UPDATE, the offline CLI, ...), for the
-- history. Descriptive, like a log line: not covered by the hash chain (the events are), so it is
-- kept beside the log instead of in it. Append-only like the log.
CREATE TABLE IF NOT EXISTS batch_surfaces (
  batch_id TEXT PRIMARY KEY,
  surface  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS batch_surfaces_no_update BEFORE UPDATE ON batch_surfaces
  BEGIN SELECT RAISE(ABORT, 'batch surfaces are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS batch_surfaces_no_delete BEFORE DELETE ON batch_surfaces
  BEGIN SELECT RAISE(ABORT, 'batch surfaces are append-only: DELETE refused'); END;
CREATE TABLE IF NOT EXISTS checkpoints (
  seq        INTEGER PRIMARY KEY,
  head_hash  TEXT    NOT NULL,
  format     INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  data       BLOB    NOT NULL
);
`;

/** Open (creating if absent) a ledger database with the durability settings the ledger relies on. */
export function openDatabase(path: string, opts: { readonly?: boolean; create?: boolean } = {}): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.create === false });
  } catch (err) {
    throw new McnsError('unavailable', `cannot open database ${path}: ${(err as Error).message}`);
  }
  try {
    db.pragma('busy_timeout = 5000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      // FULL: a batch acknowledged to a client survives power loss, not just a process crash.
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    if (!opts.readonly) db.exec(DDL);
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    if (!row && !opts.readonly) {
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    } else if (row && Number(row.value) > SCHEMA_VERSION) {
      throw new McnsError('unavailable', `database ${path} has schema version ${row.value}; this build knows ${SCHEMA_VERSION}`);
    }
  } catch (err) {
    db.close();
    if (err instanceof McnsError) throw err;
    throw new McnsError(
      'unavailable',
      `database ${path} cannot be used (${(err as Error).message}); check it with sqlite3 ${path} "PRAGMA integrity_check;" ` +
        'and, if it is corrupt, restore the newest snapshot (RUNBOOK: Restore from Snapshot)',
    );
  }
  return db;
}
