/**
 * Durability: a process killed with SIGKILL in the middle of a write loop restarts with every batch
 * it acknowledged present, no partial batch, and a valid chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/ledger.ts';
import { verifyLedger } from '../../src/projections/verify-ledger.ts';
import { tempDir } from '../helpers/ledger.ts';

const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

function runAndKill(db: string, afterAcks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, db], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acks: string[] = [];
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      acks.push(...lines);
      if (acks.length >= afterAcks) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited without being killed (${signal})`));
      else resolve(acks);
    });
  });
}

test('SIGKILL in a write loop loses no acknowledged batch and leaves no partial one', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = join(dir, 'crash.db');
    const acked: string[] = [];
    for (const n of [150, 97, 233]) acked.push(...(await runAndKill(db, n)));
    const ledger = Ledger.open({ path: db });
    try {
      assert.deepEqual(verifyLedger(ledger.db), { ok: true, events: ledger.state.seq });
      const batches = new Map<string, number>();
      for (const row of ledger.db.prepare('SELECT batch_id, count(*) AS n FROM events GROUP BY batch_id').all() as Array<{ batch_id: string; n: number }>) {
        batches.set(row.batch_id, row.n);
      }
      for (const line of acked) {
        const [batchId] = line.split(' ');
        assert.equal(batches.get(batchId), 3, `acknowledged batch ${batchId} is missing or partial`);
      }
      // Every batch in the log is whole (2 records + serial; the zone creation has 3 events too).
      for (const [id, n] of batches) assert.equal(n, 3, `batch ${id} has ${n} events`);
      const z = ledger.zone('crash.test.')!;
      assert.ok(z.records.size >= 2 * acked.length);
    } finally {
      ledger.close();
    }
  } finally {
    cleanup();
  }
});
