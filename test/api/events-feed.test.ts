/**
 * GET /v1/feed: the event log as server-sent events, with the API's authorization (bearer header,
 * read level), a hello naming the caller and what it may do, one `change` per batch of the zone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import { seedZone, startHarness, type Harness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
  await seedZone(h, 'feed.test');
  await seedZone(h, 'other.test');
});
after(() => h.close());

interface Sse {
  event: string;
  id?: string;
  data: any;
}

/** Open the feed; `next()` resolves the next message, `close()` ends it. */
function openFeed(path: string, token?: string): Promise<{ status: number; type?: string; body?: string; next(): Promise<Sse>; close(): void }> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined = undefined;
    req = request({ host: '127.0.0.1', port: h.restPort, path, ca: h.tls.ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      const queue: Sse[] = [];
      const waiters: Array<(m: Sse) => void> = [];
      let buf = '';
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const m: Sse = { event: 'message', data: undefined };
          let seen = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [k, ...v] = line.split(': ');
            if (k === 'event') m.event = v.join(': ');
            if (k === 'id') m.id = v.join(': ');
            if (k === 'data') m.data = JSON.parse(v.join(': '));
            seen = true;
          }
          if (!seen) continue;
          const w = waiters.shift();
          if (w) w(m);
          else queue.push(m);
        }
      });
      const out = {
        status: res.statusCode ?? 0,
        type: res.headers['content-type'],
        next: () => new Promise<Sse>((r) => (queue.length ? r(queue.shift() as Sse) : waiters.push(r))),
        close: () => req?.destroy(),
        get body() {
          return text;
        },
      };
      if ((res.statusCode ?? 0) >= 400) res.on('end', () => resolve(out));
      else resolve(out);
    });
    req.on('error', reject);
    req.end();
  });
}

test('no token is 401 and a guest is 403, as JSON errors before any stream', async () => {
  const none = await openFeed('/v1/feed');
  assert.equal(none.status, 401);
  assert.match(none.body ?? '', /bearer/);
  const guest = await openFeed('/v1/feed', h.tokens.gus);
  assert.equal(guest.status, 403);
  const bad = await openFeed('/v1/feed?after=abc', h.tokens.bob);
  assert.equal(bad.status, 400);
  assert.match(bad.body ?? '', /after/);
});

test('hello names the caller and what it may do (user: nothing; system account: its own records; admin: all)', async () => {
  const cases: Array<[string, unknown]> = [
    ['bob', { zone_admin: false, records: 'none' }],
    ['mcq', { zone_admin: false, records: 'own' }],
    ['mcp-agent', { zone_admin: false, records: 'all' }],
    ['alice', { zone_admin: true, records: 'all' }],
  ];
  for (const [who, may] of cases) {
    const f = await openFeed('/v1/feed', h.tokens[who]);
    assert.equal(f.status, 200);
    assert.match(f.type ?? '', /^text\/event-stream/);
    const hello = await f.next();
    assert.equal(hello.event, 'hello');
    assert.equal(hello.data.username, who);
    assert.deepEqual(hello.data.may, may);
    assert.equal(hello.data.seq, h.ledger.state.seq);
    f.close();
  }
});

test('a change made through the API reaches a user watching the zone, and other zones stay out', async () => {
  const f = await openFeed('/v1/feed?zone=feed.test', h.tokens.bob);
  assert.equal((await f.next()).event, 'hello');
  const o = await h.rest('POST', '/v1/zones/other.test/records', { token: h.tokens.alice, body: { name: 'x', type: 'TXT', value: '"other"' } });
  assert.equal(o.status, 201, o.text);
  const r = await h.rest('POST', '/v1/zones/feed.test/records', { token: h.tokens.alice, body: { name: 'live', type: 'A', value: '192.0.2.9' } });
  assert.equal(r.status, 201, r.text);
  const m = await f.next();
  assert.equal(m.event, 'change');
  assert.equal(m.id, String(r.body.batch.last_seq));
  assert.ok(m.data.events.every((e: any) => e.zone === 'feed.test'), JSON.stringify(m.data));
  const created = m.data.events.find((e: any) => e.event === 'RecordCreated');
  assert.equal(created.actor, 'alice');
  assert.equal(created.payload.value, '192.0.2.9');
  f.close();
});

test('after= replays what the caller missed', async () => {
  const before = h.ledger.state.seq;
  const r = await h.rest('POST', '/v1/zones/feed.test/records', { token: h.tokens.alice, body: { name: 'missed', type: 'A', value: '192.0.2.10' } });
  assert.equal(r.status, 201, r.text);
  const f = await openFeed(`/v1/feed?zone=feed.test&after=${before}`, h.tokens.bob);
  assert.equal((await f.next()).event, 'hello');
  const m = await f.next();
  assert.equal(m.event, 'change');
  assert.ok(m.data.events.some((e: any) => e.payload.value === '192.0.2.10'));
  f.close();
});
