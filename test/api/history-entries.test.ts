/**
 * History entries say what changed on their own: old and new values side by side, the SOA fields a
 * zone update changed, the point a restore went back to, the surface as the log records it, and the
 * page order and actor filter the web console's timeline uses (newest first, paged by cursor).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { seedZone, startHarness, type Harness } from './harness.ts';

let h: Harness;
const Z = 'hist.test';
before(async () => {
  h = await startHarness();
  await seedZone(h, Z);
});
after(() => h.close());

const hist = async (q = ''): Promise<any[]> => {
  const r = await h.rest('GET', `/v1/zones/${Z}/history${q}`, { token: h.tokens.bob });
  assert.equal(r.status, 200, r.text);
  return r.body.entries;
};

test('an update carries the old and the new value; a delete carries the removed value; actor and surface as recorded', async () => {
  const c = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name: 'www', type: 'A', value: '192.0.2.1', ttl: 300 } });
  assert.equal(c.status, 201, c.text);
  const id = c.body.record.id;
  const u = await h.rest('PUT', `/v1/zones/${Z}/records/${id}`, { token: h.tokens['mcp-agent'], body: { value: '192.0.2.2' } });
  assert.equal(u.status, 200, u.text);
  const d = await h.rest('DELETE', `/v1/zones/${Z}/records/${id}`, { token: h.tokens.alice });
  assert.equal(d.status, 200, d.text);
  const entries = (await hist(`?name=www`)).filter((e) => e.event.startsWith('Record'));
  assert.deepEqual(entries.map((e) => [e.event, e.actor, e.surface]), [
    ['RecordCreated', 'alice', 'rest'],
    ['RecordUpdated', 'mcp-agent', 'rest'],
    ['RecordDeleted', 'alice', 'rest'],
  ]);
  assert.equal(entries[0].old, undefined);
  assert.deepEqual(entries[0].new, { name: `www.${Z}.`, type: 'A', value: '192.0.2.1', ttl: 300 });
  assert.deepEqual(entries[1].old, { name: `www.${Z}.`, type: 'A', value: '192.0.2.1', ttl: 300 });
  assert.deepEqual(entries[1].new, { name: `www.${Z}.`, type: 'A', value: '192.0.2.2', ttl: 300 });
  assert.deepEqual(entries[2].old, { name: `www.${Z}.`, type: 'A', value: '192.0.2.2', ttl: 300 });
  assert.equal(entries[2].new, undefined);
});

test('a zone update shows the SOA fields it changed, before and after', async () => {
  const r = await h.rest('PUT', `/v1/zones/${Z}`, { token: h.tokens.alice, body: { refresh: 1234 } });
  assert.equal(r.status, 200, r.text);
  const e = (await hist('?order=desc&limit=5')).find((x) => x.event === 'ZoneUpdated');
  assert.ok(e);
  assert.deepEqual(e.new, { refresh: 1234 });
  assert.equal(typeof e.old.refresh, 'number');
  assert.notEqual(e.old.refresh, 1234);
});

test('every entry of a restore batch names the restored point and the surface "restore"', async () => {
  const point = h.ledger.state.seq;
  const c = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name: 'tmp', type: 'TXT', value: '"x"' } });
  assert.equal(c.status, 201, c.text);
  const r = await h.rest('POST', `/v1/zones/${Z}/restore`, { token: h.tokens.alice, body: { at: point } });
  assert.equal(r.status, 200, r.text);
  const batch = r.body.batch.batch_id;
  const entries = (await hist('?order=desc&limit=10')).filter((e) => e.batch_id === batch);
  assert.ok(entries.length >= 2, JSON.stringify(entries));
  for (const e of entries) {
    assert.equal(e.surface, 'restore');
    assert.deepEqual(e.restored_to, { seq: point });
  }
  const del = entries.find((e) => e.event === 'RecordDeleted');
  assert.equal(del.old.value, '"x"');
});

test('newest first, paged by cursor without gaps or repeats, and filtered by actor', async () => {
  const all = await hist('?limit=1000');
  const seen: number[] = [];
  let cursor: number | undefined;
  for (;;) {
    const r = await h.rest('GET', `/v1/zones/${Z}/history?order=desc&limit=3${cursor !== undefined ? `&cursor=${cursor}` : ''}`, { token: h.tokens.bob });
    assert.equal(r.status, 200, r.text);
    seen.push(...r.body.entries.map((e: any) => e.seq));
    if (r.body.next_cursor === undefined) break;
    cursor = r.body.next_cursor;
  }
  assert.deepEqual(seen, all.map((e) => e.seq).reverse());
  const byAgent = await hist('?actor=mcp-agent');
  assert.ok(byAgent.length > 0);
  assert.ok(byAgent.every((e) => e.actor === 'mcp-agent'));
  const bad = await h.rest('GET', `/v1/zones/${Z}/history?order=sideways`, { token: h.tokens.bob });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /order/);
});

test('the surface is recorded per batch: REST, gRPC, the offline CLI; batches from before surfaces were recorded read as "api"', async () => {
  const viaGrpc = await h.grpc('RecordService', 'CreateRecord', { zone: Z, name: 'g', type: 'A', value: '192.0.2.7' }, { token: h.tokens.alice });
  assert.equal(viaGrpc.code, 0, viaGrpc.details);
  const viaRest = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name: 'r', type: 'A', value: '192.0.2.8' } });
  assert.equal(viaRest.status, 201, viaRest.text);
  // The offline CLI writes with surface 'cli'; a write with no surface stands for a batch of an older build.
  h.ledger.execute({ kind: 'changeRecords', zone: Z, ops: [{ op: 'create', name: `c.${Z}`, type: 'A', value: '192.0.2.9' }] }, { actor: 'root', surface: 'cli' });
  h.ledger.execute({ kind: 'changeRecords', zone: Z, ops: [{ op: 'create', name: `o.${Z}`, type: 'A', value: '192.0.2.10' }] }, { actor: 'old-build' });
  const created = (await hist('?order=desc&limit=20')).filter((e) => e.event === 'RecordCreated');
  const surfaceOf = (name: string): string => created.find((e) => e.new?.name === `${name}.${Z}.`)?.surface;
  assert.equal(surfaceOf('g'), 'grpc');
  assert.equal(surfaceOf('r'), 'rest');
  assert.equal(surfaceOf('c'), 'cli');
  assert.equal(surfaceOf('o'), 'api');
});

test('gRPC HistoryEntry carries old, new, surface and restored_to like the REST entry; a cut page says how many remain', async () => {
  const c = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name: 'twin', type: 'A', value: '192.0.2.31', ttl: 300 } });
  assert.equal(c.status, 201, c.text);
  const u = await h.grpc('RecordService', 'UpdateRecord', { zone: Z, id: c.body.record.id, value: '192.0.2.32' }, { token: h.tokens.alice });
  assert.equal(u.code, 0, u.details);
  const viaRest = (await hist('?name=twin')).filter((e) => e.event.startsWith('Record'));
  const viaGrpc = await h.grpc('ZoneService', 'ZoneHistory', { zone: Z, name: 'twin' }, { token: h.tokens.bob });
  assert.equal(viaGrpc.code, 0, viaGrpc.details);
  const entries = viaGrpc.body.entries.filter((e: any) => e.event.startsWith('Record'));
  assert.deepEqual(entries.map((e: any) => [e.event, e.surface]), [['RecordCreated', 'rest'], ['RecordUpdated', 'grpc']]);
  assert.deepEqual(entries[1].old, { name: `twin.${Z}.`, type: 'A', value: '192.0.2.31', ttl: 300 });
  assert.deepEqual(entries[1].new, { name: `twin.${Z}.`, type: 'A', value: '192.0.2.32', ttl: 300 });
  assert.equal(entries[0].old ?? null, null, 'a create has no old side');
  for (const [i, e] of entries.entries()) {
    assert.deepEqual({ old: e.old ?? undefined, new: e.new, surface: e.surface }, { old: viaRest[i].old, new: viaRest[i].new, surface: viaRest[i].surface }, 'the same as REST');
  }

  // A restore: every entry of its batch names the point, on gRPC too.
  const point = h.ledger.state.seq;
  await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name: 'gone', type: 'A', value: '192.0.2.33' } });
  const r = await h.grpc('ZoneService', 'RestoreZone', { zone: Z, at: String(point) }, { token: h.tokens.alice });
  assert.equal(r.code, 0, r.details);
  const page = await h.grpc('ZoneService', 'ZoneHistory', { zone: Z, order: 'desc', limit: 2 }, { token: h.tokens.bob });
  assert.equal(page.code, 0, page.details);
  assert.ok(page.body.entries.every((e: any) => e.surface === 'restore' && Number(e.restored_to.seq) === point), JSON.stringify(page.body.entries));
  const total = (await hist('?limit=10000')).length;
  assert.equal(Number(page.body.remaining), total - 2, 'remaining counts the entries after the page');
  const rest = await h.rest('GET', `/v1/zones/${Z}/history?order=desc&limit=2`, { token: h.tokens.bob });
  assert.equal(rest.body.remaining, total - 2);
  assert.equal(rest.body.next_cursor, Number(page.body.next_cursor));
});
