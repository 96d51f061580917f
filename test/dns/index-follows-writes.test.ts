/**
 * The serving index follows writes with no queries coming in (src/dns/server.ts INDEX_FOLLOW_MS):
 * an hour of writes at 20/s with no queries piled 72,000 names into one diff that SIGTERM applied
 * (7.4 s), over the diff budget, so no image was written. Now each second takes what was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureServer } from './helpers.ts';
import { waitFor } from '../helpers/wait.ts';

test('the serving index takes writes within a second when no query asks for them', async () => {
  const s = await fixtureServer();
  try {
    await s.server.indexed();
    await waitFor(() => s.server.indexCurrent(), { what: 'the index current after its build', timeoutMs: 10_000 });
    const zone = [...s.ledger.state.zones.keys()][0];
    for (let i = 0; i < 5; i++) s.ledger.execute({ kind: 'changeRecords', zone, ops: [{ op: 'create', name: `follow${i}.${zone}`, type: 'A', value: `192.0.2.${i + 10}` }] }, { actor: 'test' });
    assert.equal(s.server.indexCurrent(), false, 'no query yet: the writes wait');
    const t0 = performance.now();
    await waitFor(() => s.server.indexCurrent(), { what: 'the writes taken by the index, no query asked', timeoutMs: 5_000 });
    assert.ok(performance.now() - t0 < 2_500, 'within about a second');
  } finally {
    await s.close();
  }
});
