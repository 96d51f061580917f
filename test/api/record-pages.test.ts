/**
 * Record listings page: `limit` and `cursor` on REST and gRPC, `next_cursor` in the answer while
 * more follow. Pages together are exactly the whole listing, in the same order, and a write between
 * two pages neither repeats nor skips a record it did not touch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
const Z = 'pages.test';
const N = 2500;
before(async () => {
  h = await startHarness();
  const lines = [`$ORIGIN ${Z}.`, `@ 300 SOA ns.${Z}. h.${Z}. 1 3600 600 86400 300`, `@ 300 NS ns.${Z}.`];
  for (let i = 0; i < N; i++) lines.push(`h${i} 300 A 10.1.${i >> 8}.${i & 255}`);
  const r = await h.rest('POST', `/v1/zones/${Z}/import`, { token: h.tokens.alice, text: lines.join('\n') + '\n' });
  assert.equal(r.status, 200, r.text);
});
after(() => h.close());

const ids = (rs: Array<{ id: string }>): string[] => rs.map((r) => r.id);

async function walk(q: string, limit: number): Promise<{ records: any[]; pages: number }> {
  const records: any[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const r = await h.rest('GET', `/v1/zones/${Z}/records?limit=${limit}${q}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: h.tokens.bob });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.records.length <= limit);
    records.push(...r.body.records);
    cursor = r.body.next_cursor;
    pages++;
  } while (cursor !== undefined);
  return { records, pages };
}

test('REST: pages of `limit` records joined are the whole listing, in order; the last page has no next_cursor', async () => {
  const whole = await h.rest('GET', `/v1/zones/${Z}/records`, { token: h.tokens.bob });
  assert.equal(whole.status, 200);
  assert.equal(whole.body.next_cursor, undefined, 'no limit: everything, as before');
  assert.equal(whole.body.records.length, N + 1);
  const { records, pages } = await walk('', 1000);
  assert.equal(pages, 3);
  assert.deepEqual(ids(records), ids(whole.body.records));
  const exact = await h.rest('GET', `/v1/zones/${Z}/records?limit=${N + 1}`, { token: h.tokens.bob });
  assert.equal(exact.body.next_cursor, undefined, 'a page that holds the rest exactly says nothing follows');
});

test('filters and ?at= page the same way', async () => {
  const typed = await walk('&type=NS', 1);
  assert.equal(typed.records.length, 1);
  const at = h.ledger.state.seq;
  const { records } = await walk(`&at=${at}`, 700);
  assert.equal(records.length, N + 1);
});

test('a write between two pages neither repeats nor skips the records it did not touch', async () => {
  const first = await h.rest('GET', `/v1/zones/${Z}/records?limit=10`, { token: h.tokens.bob });
  const last = first.body.records[9];
  // Delete the very record the cursor points after, and one on the next page.
  const next = await h.rest('GET', `/v1/zones/${Z}/records?limit=10&cursor=${encodeURIComponent(first.body.next_cursor)}`, { token: h.tokens.bob });
  for (const id of [last.id, next.body.records[0].id]) assert.equal((await h.rest('DELETE', `/v1/zones/${Z}/records/${id}`, { token: h.tokens.alice })).status, 200);
  const after = await h.rest('GET', `/v1/zones/${Z}/records?limit=10&cursor=${encodeURIComponent(first.body.next_cursor)}`, { token: h.tokens.bob });
  assert.equal(after.status, 200, after.text);
  assert.deepEqual(ids(after.body.records), ids(next.body.records).slice(1).concat(after.body.records[9].id));
});

test('bad paging input is a 400 naming the parameter', async () => {
  for (const [q, field] of [['limit=0', 'limit'], ['limit=10001', 'limit'], ['limit=x', 'limit'], ['cursor=bm9wZQ', 'cursor'], ['cursor=%25%25', 'cursor']]) {
    const r = await h.rest('GET', `/v1/zones/${Z}/records?${q}`, { token: h.tokens.bob });
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.match(r.body.error, new RegExp(field), q);
  }
});

test('gRPC ListRecords takes limit and cursor and answers next_cursor, like REST', async () => {
  const rest = await walk('', 900);
  const got: any[] = [];
  let cursor: string | undefined;
  do {
    const r = await h.grpc('RecordService', 'ListRecords', { zone: Z, limit: 900, ...(cursor ? { cursor } : {}) }, { token: h.tokens.bob });
    assert.equal(r.code, 0, r.details);
    got.push(...r.body.records);
    cursor = r.body.next_cursor || undefined;
  } while (cursor !== undefined);
  assert.deepEqual(ids(got), ids(rest.records));
});
