/**
 * Rollover timing: driving nextTransitions with a test clock walks each rollover through its steps
 * in order, at the times RFC 7583 gives, and stops when it is done. (That resolvers keep
 * validating through each step is for the end-to-end test with Unbound to show.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ROLLOVER_TIMINGS as T, inCds, inDnskeySet, nextTransitions, rolloverStart, signs, type KeyStatus } from '../../src/dnssec/lifecycle.ts';
import type { KeyRole } from '../../src/dnssec/zone-keys.ts';

function run(keys: KeyStatus[], start: number): Array<{ at: number; moves: string[] }> {
  const steps: Array<{ at: number; moves: string[] }> = [];
  for (let guard = 0; guard < 10; guard++) {
    const due = nextTransitions(keys, T);
    if (due.length === 0) break;
    assert.ok(due[0].at >= start, 'a transition is never in the past of the rollover start');
    for (const d of due) {
      const k = keys.find((x) => x.tag === d.tag) as KeyStatus;
      k.state = d.state;
      k.ds = d.ds;
      k.since = d.at;
    }
    steps.push({ at: due[0].at - start, moves: due.map((d) => `${d.tag}:${d.state}${d.ds ? '+ds' : ''}`) });
    // Once the old key is removed the rollover is over.
    for (const k of keys) if (k.replaces !== undefined && keys.find((x) => x.tag === k.replaces)?.state === 'removed') delete k.replaces;
  }
  return steps;
}

function begin(role: KeyRole, now: number): KeyStatus[] {
  const old: KeyStatus = { tag: 1, role, state: 'active', since: 0, ds: role !== 'zsk' };
  const s = rolloverStart(role);
  return [old, { tag: 2, role, state: s.state, since: now, ds: s.ds, replaces: 1 }];
}

test('ZSK pre-publication: published, then active with the old retired after DNSKEY TTL + delay, then old removed after max TTL + delay', () => {
  const now = 1_000_000;
  const steps = run(begin('zsk', now), now);
  assert.deepEqual(steps, [
    { at: T.dnskeyTtl + T.propagationDelay, moves: ['2:active', '1:retired'] },
    { at: T.dnskeyTtl + T.propagationDelay + T.maxZoneTtl + T.propagationDelay, moves: ['1:removed'] },
  ]);
});

test('KSK double-DS: DS signalled first, the DNSKEY swap after the parent and DS TTL, old removed after the DNSKEY TTL', () => {
  const now = 1_000_000;
  const keys = begin('ksk', now);
  assert.deepEqual(keys.filter(inCds).map((k) => k.tag), [1, 2], 'CDS lists old and new while the new DS is registered');
  assert.deepEqual(keys.filter(inDnskeySet).map((k) => k.tag), [1], 'the new KSK is not published before its DS');
  const swap = T.parentRegistrationDelay + T.parentDsTtl + T.propagationDelay;
  assert.deepEqual(run(keys, now), [
    { at: swap, moves: ['2:active+ds', '1:retired'] },
    { at: swap + T.dnskeyTtl + T.propagationDelay, moves: ['1:removed'] },
  ]);
  assert.deepEqual(keys.filter(inCds).map((k) => k.tag), [2]);
  assert.deepEqual(keys.filter(signs).map((k) => k.tag), [2]);
});

test('CSK: published with its DS signalled, active after the longer of the two waits, old removed after max TTL', () => {
  const now = 1_000_000;
  const wait = Math.max(T.dnskeyTtl + T.propagationDelay, T.parentRegistrationDelay + T.parentDsTtl + T.propagationDelay);
  assert.deepEqual(run(begin('csk', now), now), [
    { at: wait, moves: ['2:active+ds', '1:retired'] },
    { at: wait + T.maxZoneTtl + T.propagationDelay, moves: ['1:removed'] },
  ]);
});

test('no rollover running: nothing is due', () => {
  assert.deepEqual(nextTransitions([{ tag: 1, role: 'csk', state: 'active', since: 0, ds: true }], T), []);
});
