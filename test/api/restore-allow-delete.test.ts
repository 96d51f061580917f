/**
 * Restoring a zone to a point before it existed deletes it, so it is refused (409 / ALREADY_EXISTS,
 * naming the problem) unless the request says `allow_delete: true`, on REST and gRPC alike; a
 * restore that changes nothing writes nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const create = async (name: string): Promise<number> => {
  const r = await h.rest('POST', '/v1/zones', { token: h.tokens.alice, body: { name, primary_ns: `ns.${name}`, admin_email: `hostmaster.${name}` } });
  assert.equal(r.status, 201, r.text);
  return r.body.batch.last_seq as number;
};

test('REST: restore to before the zone existed needs allow_delete; a second one writes nothing', async () => {
  const before = await create('first.test');
  await create('late.test');
  const refused = await h.rest('POST', '/v1/zones/late.test/restore', { token: h.tokens.alice, body: { at: before } });
  assert.equal(refused.status, 409, refused.text);
  assert.match(refused.body.error, /zone late\.test did not exist at \d+ .*would delete it; send "allow_delete": true/);
  assert.equal((await h.rest('GET', '/v1/zones/late.test', { token: h.tokens.alice })).status, 200, 'still there');
  const done = await h.rest('POST', '/v1/zones/late.test/restore', { token: h.tokens.alice, body: { at: before, allow_delete: true } });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.body.zone, null);
  assert.ok(done.body.batch.first_seq > 0);
  const again = await h.rest('POST', '/v1/zones/late.test/restore', { token: h.tokens.alice, body: { at: before, allow_delete: true } });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.batch.first_seq, undefined, 'nothing written');
});

test('REST: a restore to the current state writes nothing', async () => {
  const seq = await create('same.test');
  const r = await h.rest('POST', '/v1/zones/same.test/restore', { token: h.tokens.alice, body: { at: seq } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.batch.first_seq, undefined);
  assert.equal(r.body.restored_to_seq, seq);
});

test('gRPC: RestoreZone refuses the same way and takes allow_delete', async () => {
  const before = await create('g-first.test');
  await create('g-late.test');
  const refused = await h.grpc('ZoneService', 'RestoreZone', { zone: 'g-late.test', at: String(before) }, { token: h.tokens.alice });
  assert.equal(refused.code, 6, JSON.stringify(refused));
  const done = await h.grpc('ZoneService', 'RestoreZone', { zone: 'g-late.test', at: String(before), allow_delete: true }, { token: h.tokens.alice });
  assert.equal(done.code, 0, JSON.stringify(done));
});
