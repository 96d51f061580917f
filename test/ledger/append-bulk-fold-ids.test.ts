/**
 * The bulk fold of an import's record creations (state.ts foldCreateRun) checks ids for repeats
 * without a set while they ascend (as the ledger draws them): a run of ascending ids, one that
 * repeats an id after an ascending start, and one whose ids stop ascending without a repeat all
 * fold to the state the event-by-event fold gives (same checkpoint bytes, same records).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_STATE, evolve, evolveAll, type Applicable, type LedgerState } from '../../src/projections/state.ts';
import { assertSameCheckpoint } from '../helpers/checkpoint-bytes.ts';
import type { EventBody } from '../../src/events/types.ts';

const ZONE = 'example.org.';
const soa = { primary_ns: 'ns1.example.org.', admin_email: 'h.example.org.', ttl: 300, refresh: 1, retry: 1, expire: 1, minimum: 1 };

function run(ids: string[]): Applicable[] {
  const bodies: EventBody[] = [{ type: 'ZoneCreated', payload: soa }];
  ids.forEach((id, i) => bodies.push({ type: 'RecordCreated', payload: { id, name: `h${i >> 1}.${ZONE}`, type: 'A', value: `10.0.${(i >> 8) & 255}.${i & 255}`, ttl: 300 } }));
  return bodies.map((body, i) => ({ seq: i + 1, zone: ZONE, body }));
}

function assertSame(list: Applicable[]): void {
  const bulk = evolveAll(EMPTY_STATE, list);
  let single: LedgerState = EMPTY_STATE;
  for (const e of list) single = evolve(single, e);
  assertSameCheckpoint(bulk, single);
  assert.deepEqual([...bulk.zones.get(ZONE)!.records.entries()], [...single.zones.get(ZONE)!.records.entries()]);
}

const hex = (i: number): string => (0x1000 + i * 3).toString(16).padStart(16, '0');

test('ascending ids, a repeat after an ascending start, ids that stop ascending: the bulk fold equals the one-by-one fold', () => {
  const ascending = Array.from({ length: 2000 }, (_, i) => hex(i));
  assertSame(run(ascending));
  // The 1,500th repeats the 10th: the later creation replaces the earlier one, as evolve does.
  assertSame(run(ascending.map((id, i) => (i === 1500 ? hex(10) : id))));
  // A repeat of the id just before (equal, not above it).
  assertSame(run(ascending.map((id, i) => (i === 1200 ? hex(1199) : id))));
  // Ids that stop ascending but never repeat, and a repeat after that.
  const zigzag = ascending.map((id, i) => (i >= 1000 ? hex(5000 - i) : id));
  assertSame(run(zigzag));
  assertSame(run(zigzag.map((id, i) => (i === 1900 ? zigzag[1950] : id))));
});
