/**
 * A relative record name that reads as a name in another zone this server serves ("www.other.test"
 * given to zone newco.test) is most likely a forgotten trailing dot: refused with the hint on REST,
 * in change batches and on gRPC, unless the caller sets `relative`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { seedZone, startHarness, type Harness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
  await seedZone(h, 'newco.test');
  await seedZone(h, 'other.test');
});
after(() => h.close());

const add = (body: Record<string, unknown>) => h.rest('POST', '/v1/zones/newco.test/records', { token: h.tokens.alice, body: { type: 'A', value: '192.0.2.1', ...body } });

test('www.other.test given to newco.test is refused with the trailing-dot hint; relative: true means www.other.test.newco.test.', async () => {
  const r = await add({ name: 'www.other.test' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error, /^name: .*looks like a name in zone other\.test .*write "www\.other\.test\." .*"relative": true/);
  const ok = await add({ name: 'www.other.test', relative: true });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.record.fqdn, 'www.other.test.newco.test.');
});

test('names that read as nothing else are taken as before', async () => {
  for (const [name, fqdn] of [['www', 'www.newco.test.'], ['a.b', 'a.b.newco.test.'], ['@', 'newco.test.'], ['mail.newco.test', 'mail.newco.test.'], ['x.unserved.test', 'x.unserved.test.newco.test.']]) {
    const r = await add({ name });
    assert.equal(r.status, 201, `${name}: ${r.text}`);
    assert.equal(r.body.record.fqdn, fqdn);
  }
  // Absolute, in the other zone: still "not inside zone", as before.
  const abs = await add({ name: 'www.other.test.' });
  assert.equal(abs.status, 400);
  assert.match(abs.body.error, /not inside zone newco\.test/);
});

test('change batches and gRPC refuse it too, and take the same flag', async () => {
  const batch = await h.rest('POST', '/v1/zones/newco.test/changes', { token: h.tokens.alice, body: [{ op: 'create', name: 'ok1', type: 'A', value: '192.0.2.2' }, { op: 'create', name: 'api.other.test', type: 'A', value: '192.0.2.3' }] });
  assert.equal(batch.status, 400);
  assert.match(batch.body.error, /^changes\.1\.name: .*other\.test/);
  const batchOk = await h.rest('POST', '/v1/zones/newco.test/changes', { token: h.tokens.alice, body: [{ op: 'create', name: 'api.other.test', type: 'A', value: '192.0.2.3', relative: true }] });
  assert.equal(batchOk.status, 200, batchOk.text);
  const g = await h.grpc('RecordService', 'CreateRecord', { zone: 'newco.test', name: 'g.other.test', type: 'A', value: '192.0.2.4' }, { token: h.tokens.alice });
  assert.equal(g.code, 3, 'INVALID_ARGUMENT');
  assert.match(g.details ?? '', /trailing|other\.test\./);
  const gOk = await h.grpc('RecordService', 'CreateRecord', { zone: 'newco.test', name: 'g.other.test', type: 'A', value: '192.0.2.4', relative: true }, { token: h.tokens.alice });
  assert.equal(gOk.code, 0, gOk.details);
  assert.equal(gOk.body.record.fqdn, 'g.other.test.newco.test.');
});
