/**
 * Checkpoints keep every type: a ledger holding one record of each type (RFC 3597 ones included)
 * is checkpointed and opened again from the checkpoint, and every record comes back with the same
 * value, which still reads as the same RData.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../src/ledger.ts';
import { deserializeState, serializeState } from '../../src/projections/checkpoint.ts';
import type { LedgerState } from '../../src/projections/state.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { parseRData } from '../../src/records/rdata.ts';
import { testLedger } from '../helpers/ledger.ts';
import { EVERY_TYPE, everyTypeZone } from './every-type.ts';

const ZONE = 'every.test.';

function recordsOf(state: LedgerState): string[] {
  const zone = state.zones.get(ZONE);
  assert.ok(zone, 'the zone is there');
  return [...zone.records.values()].map((r) => `${r.id} ${r.name} ${r.ttl} ${r.type} ${r.value}`).sort();
}

test('a checkpoint holds every type: serialize, deserialize, same records and values', () => {
  const env = testLedger();
  try {
    env.ledger.execute(importCommand(ZONE, everyTypeZone(ZONE)), { actor: 'test' });
    const before = recordsOf(env.ledger.state);
    for (const [owner, type] of EVERY_TYPE) assert.ok(before.some((r) => r.includes(` ${owner}.${ZONE} 300 ${type} `)), `${owner} ${type} stored`);
    const back = deserializeState(serializeState(env.ledger.state, 'head'));
    assert.ok(back, 'the blob reads back');
    assert.deepEqual(recordsOf(back), before);
    for (const r of back.zones.get(ZONE)!.records.values()) {
      const d = parseRData(r.type, r.value);
      assert.equal(d.type, r.type);
    }
  } finally {
    env.cleanup();
  }
});

test('a ledger reopened from its checkpoint serves every type as before', () => {
  const env = testLedger();
  try {
    env.ledger.execute(importCommand(ZONE, everyTypeZone(ZONE)), { actor: 'test' });
    const before = recordsOf(env.ledger.state);
    env.ledger.checkpoint();
    env.ledger.close();
    const reopened = Ledger.open({ path: env.path });
    try {
      assert.ok(reopened.startup.checkpointSeq !== undefined && reopened.startup.checkpointSeq > 0, 'started from the checkpoint');
      assert.deepEqual(recordsOf(reopened.state), before);
      const unknown = [...reopened.state.zones.get(ZONE)!.records.values()].find((r) => r.type === 'TYPE65400');
      assert.equal(unknown?.value, '\\# 4 0A000001');
    } finally {
      reopened.close();
    }
  } finally {
    env.cleanup();
  }
});
