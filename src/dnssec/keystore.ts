/**
 * Private keys of signed zones, in a table of the ledger database beside the log and never in it:
 * events carry only the public half (the DNSKEY), so the log, history, API, exports and metrics can
 * be shown to anyone who may read zones. Being in the same database file, the keys are in every
 * snapshot (VACUUM INTO copies every table), so a restored snapshot signs with the same keys; that
 * is also why the database file and its snapshots must be readable by the service account only
 * (RUNBOOK "DNSSEC keys").
 *
 * Rows are written once and never changed (triggers refuse UPDATE), like the log; a key the
 * lifecycle has removed keeps its row, because restoring an earlier point may bring it back.
 */
import type Database from 'better-sqlite3';
import type { AlgorithmName } from './algorithms.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dnssec_private_keys (
  zone       TEXT    NOT NULL,
  tag        INTEGER NOT NULL,
  algorithm  TEXT    NOT NULL,
  -- SHA-256 of the DNSKEY RDATA, so a key is found by its public half and two keys with one tag never mix.
  dnskey_sha256 BLOB NOT NULL,
  pkcs8      BLOB    NOT NULL,
  created_at TEXT    NOT NULL,
  PRIMARY KEY (zone, dnskey_sha256)
);
CREATE TRIGGER IF NOT EXISTS dnssec_private_keys_no_update BEFORE UPDATE ON dnssec_private_keys
BEGIN SELECT RAISE(ABORT, 'dnssec_private_keys rows are immutable'); END;
`;

export interface StoredKey {
  zone: string;
  tag: number;
  algorithm: AlgorithmName;
  dnskeySha256: Buffer;
  pkcs8: Buffer;
  createdAt: string;
}

export class KeyStore {
  private readonly insert: Database.Statement;
  private readonly byDnskey: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.insert = db.prepare('INSERT INTO dnssec_private_keys (zone, tag, algorithm, dnskey_sha256, pkcs8, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.byDnskey = db.prepare('SELECT zone, tag, algorithm, dnskey_sha256 AS dnskeySha256, pkcs8, created_at AS createdAt FROM dnssec_private_keys WHERE zone = ? AND dnskey_sha256 = ?');
  }

  /** Store a new key. Storing the same key twice is a no-op; the table refuses changes to a stored key. */
  put(key: StoredKey): void {
    const existing = this.get(key.zone, key.dnskeySha256);
    if (existing) {
      if (!existing.pkcs8.equals(key.pkcs8)) throw new Error(`a different private key is already stored for this DNSKEY of ${key.zone}`);
      return;
    }
    this.insert.run(key.zone, key.tag, key.algorithm, key.dnskeySha256, key.pkcs8, key.createdAt);
  }

  /** The private key whose DNSKEY RDATA hashes to `dnskeySha256`, or undefined. */
  get(zone: string, dnskeySha256: Uint8Array): StoredKey | undefined {
    return this.byDnskey.get(zone, Buffer.from(dnskeySha256)) as StoredKey | undefined;
  }

  /** How many private keys are stored (for the start-up check of the database file's mode). */
  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM dnssec_private_keys').get() as { n: number }).n;
  }
}
