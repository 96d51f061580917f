/**
 * Record ids of a write (ledger.ts recordIdSequence): 16 lowercase hex characters, random, and
 * ascending within one write, so a large import inserts its ids into the log's (zone, record_id)
 * index in order instead of at random places.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Ledger, randomRecordId, recordIdSequence } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { tempDir } from '../helpers/ledger.ts';

test('a sequence of record ids is 16 hex characters each, strictly ascending, and starts somewhere random', () => {
  const next = recordIdSequence();
  const ids = Array.from({ length: 5000 }, next);
  for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
  for (let i = 1; i < ids.length; i++) {
    // Ascending except where the 64-bit space wraps (at most once, and only from near its top).
    if (ids[i] <= ids[i - 1]) assert.ok(ids[i - 1] >= 'ffffffff', `${ids[i - 1]} then ${ids[i]}`);
  }
  assert.equal(new Set(ids).size, ids.length);
  const starts = new Set(Array.from({ length: 20 }, () => recordIdSequence()()));
  assert.equal(starts.size, 20);
  assert.match(randomRecordId(), /^[0-9a-f]{16}$/);
});

test('an import through a ledger without an injected id generator gets ascending ids, a fresh start per write', () => {
  const { dir, cleanup } = tempDir();
  const ledger = Ledger.open({ path: join(dir, 'm.db') });
  try {
    const lines = ['$TTL 300', '@ SOA ns.example.com. h.example.com. 1 3600 600 86400 300'];
    for (let i = 0; i < 300; i++) lines.push(`h${i} A 192.0.2.${i % 250}`);
    ledger.execute(importCommand('example.com', lines.join('\n') + '\n'), { actor: 't' });
    const ids = ledger.db.prepare('SELECT record_id FROM events WHERE record_id IS NOT NULL ORDER BY seq').pluck().all() as string[];
    assert.equal(ids.length, 300);
    const ascending = ids.every((id, i) => i === 0 || id > ids[i - 1]);
    // A wrap of the 64-bit space inside 300 ids is possible in theory (one start in 2^44 or so); then the rest ascends.
    assert.ok(ascending || ids[0] >= 'fffffff', ids.slice(0, 5).join(' '));
    ledger.execute({ kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'create', name: 'x.example.com', type: 'A', value: '192.0.2.1' }] }, { actor: 't' });
    const next = ledger.db.prepare('SELECT record_id FROM events WHERE record_id IS NOT NULL ORDER BY seq DESC LIMIT 1').pluck().get() as string;
    assert.ok(!ids.includes(next));
  } finally {
    ledger.close();
    cleanup();
  }
});
