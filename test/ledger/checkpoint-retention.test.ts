/**
 * Checkpoint retention: point-in-time reads start from the newest checkpoint at or before their
 * point, so the kept checkpoints must cover the whole log, thinned with age, so that no point of a
 * long log replays more than a bounded number of events (keeping only the newest 3 made every point
 * older than them replay from seq 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECKPOINT_RETENTION, checkpointsToKeep } from '../../src/projections/checkpoint.ts';
import { testLedger } from '../helpers/ledger.ts';

/** The most events a read of any point in [1, head] replays from the newest kept checkpoint at or before it. */
function worstReplay(kept: number[], head: number): { worst: number; at: number } {
  const sorted = [0, ...kept].sort((a, b) => a - b);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < sorted.length; i++) {
    const next = i + 1 < sorted.length ? sorted[i + 1] : head + 1;
    const gap = next - 1 - sorted[i];
    if (gap > worst) [worst, at] = [gap, next - 1];
  }
  return { worst, at };
}

test('a 1,000,000-event log checkpointed every 1,000 events keeps a few dozen checkpoints, no point replays more than maxGap', () => {
  let kept: number[] = [];
  const head = 1_000_000;
  for (let seq = 1000; seq <= head; seq += 1000) kept = [...checkpointsToKeep([...kept, seq])];
  assert.ok(kept.length <= 45, `${kept.length} checkpoints kept`);
  const { worst } = worstReplay(kept, head);
  assert.ok(worst <= CHECKPOINT_RETENTION.maxGap, `worst replay ${worst} events`);
  // Recent points replay little: the newest checkpoints are dense.
  const recent = kept.filter((s) => s > head - 10_000);
  assert.ok(recent.length >= CHECKPOINT_RETENTION.recent);
});

test('the ledger thins its checkpoints: every point replays at most max(interval, age / density) events', () => {
  const every = 10;
  const t = testLedger({ checkpointEvery: every });
  try {
    t.ledger.execute({ kind: 'createZone', zone: 'keep.test', soa: { primary_ns: 'ns.keep.test', admin_email: 'h@keep.test' } }, { actor: 'test' });
    for (let i = 0; i < 1500; i++) {
      t.ledger.execute({ kind: 'changeRecords', zone: 'keep.test', ops: [{ op: 'create', name: `h${i}.keep.test.`, type: 'A', value: '192.0.2.1' }] }, { actor: 'test' });
    }
    const head = t.ledger.state.seq;
    const kept = t.ledger.db.prepare('SELECT seq FROM checkpoints ORDER BY seq').pluck().all() as number[];
    const newest = kept[kept.length - 1];
    assert.ok(head - newest <= 2 * every, 'the newest checkpoint is recent');
    assert.ok(kept.length < 60, `thinned: ${kept.length} of ${Math.floor(head / every)} checkpoints kept`);
    // For every point: the events a read replays from its checkpoint stay within the allowance for its age.
    const sorted = [0, ...kept];
    for (let p = 1; p <= head; p++) {
      let base = 0;
      for (const s of sorted) if (s <= p) base = s;
      const allowance = Math.max(2 * every, Math.min(CHECKPOINT_RETENTION.maxGap, (newest - p) / CHECKPOINT_RETENTION.density));
      assert.ok(p - base <= allowance, `point ${p} replays ${p - base} events from checkpoint ${base} (allowed ${allowance}; kept ${kept.join(',')})`);
    }
  } finally {
    t.cleanup();
  }
});
