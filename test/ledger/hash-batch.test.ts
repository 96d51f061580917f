/**
 * The batch hasher the append path uses must give exactly eventHash's hash for every event: the
 * chain written by one is verified by the other (start-up replay, mcns verify).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchEventHasher, eventHash, GENESIS_HASH } from '../../src/events/hash.ts';

test('batchEventHasher equals eventHash over varied columns (unicode, quotes, zones and types changing mid-batch)', () => {
  const actors = ['import', 'alice', 'ünï "quoted" \\ back\nslash', ''];
  const zones = ['example.com.', 'b\\"q.example.', 'x.test.'];
  const types = ['RecordCreated', 'RecordUpdated', 'SerialBumped', 'ZoneImported'];
  const payloads = ['{}', '{"id":"0123456789abcdef","name":"h1.x.test.","type":"TXT","value":"\\"a b\\" \\\\; é","ttl":3600}', '{"serial":2026120200}'];
  for (const actor of actors) {
    const ts = 1_700_000_000_123;
    const batchId = `17-${actor.length}abc"`;
    const hasher = batchEventHasher(ts, actor, batchId);
    let a = GENESIS_HASH;
    let b = GENESIS_HASH;
    for (let i = 0; i < 40; i++) {
      const seq = 17 + i;
      const zone = zones[i % zones.length];
      const type = types[(i >> 1) % types.length];
      const version = 1 + (i % 3);
      const payload = payloads[i % payloads.length];
      a = eventHash(a, { seq, ts, actor, zone, type, version, payload, batch_id: batchId });
      b = hasher(b, seq, zone, type, version, payload);
      assert.equal(b, a, `event ${i} (actor ${JSON.stringify(actor)})`);
    }
  }
});

test('batchEventHasher falls back to eventHash for a previous hash that is not hex (a tampered head) and for unsafe numbers', () => {
  const hasher = batchEventHasher(5, 'a', '1-x');
  for (const prev of ['not "hex"', 'ABCDEF']) {
    assert.equal(hasher(prev, 1, 'z.', 'T', 1, '{}'), eventHash(prev, { seq: 1, ts: 5, actor: 'a', zone: 'z.', type: 'T', version: 1, payload: '{}', batch_id: '1-x' }));
  }
  assert.equal(hasher(GENESIS_HASH, 2 ** 60, 'z.', 'T', 1, '{}'), eventHash(GENESIS_HASH, { seq: 2 ** 60, ts: 5, actor: 'a', zone: 'z.', type: 'T', version: 1, payload: '{}', batch_id: '1-x' }));
});
