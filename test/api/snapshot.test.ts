/**
 * createSnapshot (shared by POST /v1/snapshots and `mcns snapshot`): a checkpoint, then VACUUM INTO
 * <backupDir>/mcns-YYYYMMDD-HHMMSS.db; a second snapshot in the same second gets a suffix; the copy
 * opens at the same state from its checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createSnapshot, defaultBackupDir } from '../../src/api/snapshot.ts';
import { Ledger } from '../../src/ledger.ts';

test('snapshots are named by UTC time, never overwrite, and open at the same state', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-snap-'));
  const ledger = Ledger.open({ path: join(dir, 'mcns.db') });
  try {
    ledger.execute({ kind: 'createZone', zone: 'example.com', soa: { primary_ns: 'ns1.example.com', admin_email: 'hostmaster@example.com' } }, { actor: 'test' });
    const backups = defaultBackupDir(join(dir, 'mcns.db'));
    assert.equal(backups, join(dir, 'backups'));
    const at = new Date('2026-03-04T05:06:07Z');
    const a = createSnapshot(ledger, backups, at);
    const b = createSnapshot(ledger, backups, at);
    assert.equal(basename(a.path), 'mcns-20260304-050607.db');
    assert.equal(basename(b.path), 'mcns-20260304-050607-1.db');
    assert.equal(a.seq, ledger.state.seq);
    assert.ok(a.bytes > 0);
    const copy = Ledger.open({ path: a.path, create: false });
    try {
      assert.equal(copy.state.seq, ledger.state.seq);
      assert.equal(copy.startup.checkpointSeq, ledger.state.seq);
      assert.equal(copy.startup.replayed, 0);
      assert.deepEqual(copy.zone('example.com.')?.soa, ledger.zone('example.com.')?.soa);
    } finally {
      copy.close();
    }
  } finally {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
