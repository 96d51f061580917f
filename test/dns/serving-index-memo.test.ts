/**
 * The serving index encodes every TXT, MX and CNAME answer of a zone once, into bytes it keeps, and
 * leaves no parsed copy of those records behind (src/dns/encode-once.ts): on the
 * realistic 1M-name zone such memos were ~40 MiB of heap for answers the index gives itself. The
 * general path still memoizes what it is asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerQuery } from '../../src/dns/answer.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { isMemoized } from '../../src/dns/record-data.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage, isNameCached } from '../../src/dns/wire.ts';
import { allRecords } from '../../src/projections/trie.ts';
import type { RecordOp } from '../../src/projections/decide.ts';
import { testLedger } from '../helpers/ledger.ts';

test('building the serving index (both passes, and a write diffed in) memoizes no parsed rdata and caches no encoded name; the general path still does both', async () => {
  const t = testLedger();
  try {
    const zone = 'memo.test';
    t.ledger.execute({ kind: 'createZone', zone, soa: { primary_ns: `ns.${zone}.`, admin_email: `h.${zone}.` } }, { actor: 't' });
    const ops: RecordOp[] = [{ op: 'create', name: `ns.${zone}`, type: 'A', value: '192.0.2.53' }];
    for (let i = 0; i < 40; i++) {
      const name = `h${i}.${zone}`;
      if (i % 4 === 0) ops.push({ op: 'create', name, type: 'CNAME', value: `h${i + 1}.${zone}.` });
      else {
        ops.push({ op: 'create', name, type: 'A', value: `192.0.2.${i + 1}` });
        ops.push({ op: 'create', name, type: 'TXT', value: `"text ${i}"` });
        ops.push({ op: 'create', name, type: 'MX', value: `10 h${(i + 1) % 40}.${zone}.` });
      }
    }
    t.ledger.execute({ kind: 'changeRecords', zone, ops }, { actor: 't' });
    // A rebuild in slices (rebuildSlice 1: both passes), then a write the index diffs in.
    const index = new ServingIndex({ rebuildSlice: 1, diffBudget: 1_000_000 });
    index.sync(t.ledger.state);
    await index.whenBuilt();
    while (index.filling) await new Promise((res) => setImmediate(res));
    t.ledger.execute({ kind: 'changeRecords', zone, ops: [{ op: 'create', name: `late.${zone}`, type: 'TXT', value: '"late"' }] }, { actor: 't' });
    assert.equal(index.sync(t.ledger.state), 'diffed');
    const state = t.ledger.state;
    // (The zone's SOA is memoized by its NODATA template, one per zone: not one of the index's answers.)
    const records = [...allRecords(state.zones.get(`${zone}.`)!.tree)].filter((r) => r.type !== 'A' && r.type !== 'AAAA' && r.type !== 'SOA');
    assert.ok(records.filter((r) => r.type === 'TXT').length >= 30 && records.some((r) => r.type === 'CNAME'));
    assert.deepEqual(records.filter((r) => isMemoized(r)).map((r) => `${r.name} ${r.type}`), [], 'no record memoized by the build');
    // Nor the names it encoded in the encoder's name cache (a million one-shot entries on a big zone,
    // each promoted to the old generation before the cache was cleared).
    const names = [...new Set(records.flatMap((r) => [r.name, ...(r.type === 'MX' || r.type === 'CNAME' ? [r.value.split(' ').pop()!] : [])]))];
    // (The apex is, by the zone's NODATA template, as its SOA above.)
    assert.deepEqual(names.filter((n) => n !== `${zone}.` && isNameCached(n)), [], 'no name cached by the build');
    // The general path (a query the index declines, or any other caller) still memoizes.
    const raw = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([2, 0x68, 0x31, 4, ...Buffer.from('memo'), 4, ...Buffer.from('test'), 0, 0, 16, 0, 1])]);
    const answered = answerQuery(state, readQuery(raw) as ParsedQuery);
    const txt = records.find((r) => r.name === `h1.${zone}.` && r.type === 'TXT')!;
    assert.equal(isMemoized(txt), true);
    // ... and its encoder caches the names it writes.
    encodeMessage(answered.message);
    assert.equal(isNameCached(`h1.${zone}.`), true);
    index.close();
  } finally {
    t.cleanup();
  }
});
