/**
 * The DNS server keeps no old projection state alive. Every write makes a new state that shares
 * all but the changed paths with the last; a reference to an old one keeps its diverging tries and
 * maps alive, more of them with every write. The answer cache's state and the zone lookup's Map
 * (src/dns/zones.ts) held the state of the last general-path question for as long as no other
 * came: with writes and no queries, the paths each write copied, up to a second copy of a big zone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { ask, fixtureLedger, fixtureServer } from './helpers.ts';
import { findZone } from '../../src/dns/zones.ts';
import { waitFor } from '../helpers/wait.ts';
import { collector } from '../helpers/gc.ts';

test('after writes, the state of the last general-path question is not kept alive (answer cache, zone lookup)', async () => {
  const gc = collector();
  const s = await fixtureServer();
  try {
    await s.server.indexed();
    const zone = 'dns.test.';
    // A DS question is never the index's: the general path, its answer cache and the zone lookup.
    const r = await ask(s.port, { name: zone, type: 43 });
    assert.equal(r.rcode, 'NOERROR');
    const asked = new WeakRef(s.ledger.state);
    const askedZones = new WeakRef(s.ledger.state.zones);
    for (let i = 0; i < 3; i++) s.ledger.execute({ kind: 'changeRecords', zone, ops: [{ op: 'create', name: `old${i}.${zone}`, type: 'A', value: `192.0.2.${i + 10}` }] }, { actor: 'test' });
    // The serving index moves on by itself (once a second with no query).
    await waitFor(() => s.server.indexCurrent(), { what: 'the index current after the writes', timeoutMs: 5_000 });
    // A WeakRef's target lives to the end of the job that made or read it: collect on later turns.
    for (let i = 0; i < 3 && asked.deref() !== undefined; i++) {
      await turn();
      gc();
    }
    assert.equal(asked.deref(), undefined, 'the state the question was answered from is collected');
    assert.equal(askedZones.deref(), undefined, 'and its zones map');
    // The answers are still right (the cache cleared for the new state).
    const again = await ask(s.port, { name: `old2.${zone}`, type: 1 });
    assert.equal(again.answer.length, 1);
    assert.match(again.answer[0], /192\.0\.2\.12$/);
  } finally {
    await s.close();
  }
});

test('the zone lookup keeps no zones map alive that no state holds any more', async () => {
  const gc = collector();
  const f = fixtureLedger();
  try {
    assert.equal(findZone(f.ledger.state, 'www.dns.test.')?.name, 'dns.test.');
    const looked = new WeakRef(f.ledger.state.zones);
    f.ledger.execute({ kind: 'changeRecords', zone: 'dns.test.', ops: [{ op: 'create', name: 'lookup.dns.test.', type: 'A', value: '192.0.2.1' }] }, { actor: 'test' });
    for (let i = 0; i < 3 && looked.deref() !== undefined; i++) {
      await turn();
      gc();
    }
    assert.equal(looked.deref(), undefined, 'the zones map looked up last is collected once the state moved on');
    assert.equal(findZone(f.ledger.state, 'lookup.dns.test.')?.name, 'dns.test.', 'and lookups go on in the new one');
  } finally {
    f.cleanup();
  }
});
