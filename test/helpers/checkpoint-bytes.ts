/**
 * The checkpoint a bulk fold writes against the one the event-by-event fold writes. Until its
 * apex's children map is first read, a bulk-folded zone is written from its node drafts
 * (src/projections/node-drafts.ts), the apex's children in the order they were added; once built,
 * in the map's hash order, as every other state. So: the blob written from the drafts must load
 * into a state that writes the event-by-event fold's bytes, and the bulk state itself, built, must
 * write them too.
 */
import assert from 'node:assert/strict';
import { deserializeState, serializeState } from '../../src/projections/checkpoint.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { unbuiltDrafts } from '../../src/projections/node-drafts.ts';
import type { LedgerState } from '../../src/projections/state.ts';

/** Whether some zone of `state` would be written from node drafts (its apex's children not made yet). */
export function hasDrafts(state: LedgerState): boolean {
  return [...state.zones.values()].some((z) => unbuiltDrafts(z.tree.children) !== undefined);
}

/** Call before anything reads `bulk`'s tries (the first read builds them). */
export function assertSameCheckpoint(bulk: LedgerState, single: LedgerState): void {
  const expected = serializeState(single, 'h');
  if (hasDrafts(bulk)) {
    const loaded = deserializeState(serializeState(bulk, 'h'))!;
    assert.equal(stateDigest(loaded), stateDigest(single), 'the blob written from the drafts loads into the same state');
    assert.ok(serializeState(loaded, 'h').equals(expected), 'the blob written from the drafts, loaded, writes the same bytes');
    assert.ok(hasDrafts(bulk), 'writing it made no trie nodes');
    // (The digest reads every trie, which makes the nodes from their drafts.)
    assert.equal(stateDigest(bulk), stateDigest(single));
    assert.ok(!hasDrafts(bulk));
  }
  assert.ok(serializeState(bulk, 'h').equals(expected), 'checkpoint bytes');
}
