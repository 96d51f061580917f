/**
 * One JSON naming style in every output: snake_case keys in every REST answer (each route of the
 * table, errors included), in the live feed's messages, and in the CLI's JSON (replay --trace -o
 * json, which said "batch" where everything else says "batch_id").
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { join } from 'node:path';
import { mcns } from '../cli/run.ts';
import { seedZone, startHarness, type Harness } from './harness.ts';

const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Every key of a JSON value that is not snake_case, with its path. */
function offenders(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => offenders(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [...(SNAKE.test(k) ? [] : [`${path}.${k}`]), ...offenders(v, `${path}.${k}`)]);
}

let h: Harness;
const Z = 'naming.test';
before(async () => {
  h = await startHarness();
  await seedZone(h, Z);
});
after(() => h.close());

test('every REST answer, success or error, has snake_case keys', async () => {
  const alice = { token: h.tokens.alice };
  const c = await h.rest('POST', `/v1/zones/${Z}/records`, { ...alice, body: { name: 'www', type: 'A', value: '192.0.2.1' } });
  const id = c.body.record.id;
  const calls: Array<[string, string, Record<string, unknown>?]> = [
    ['GET', '/v1/health'],
    ['GET', '/v1/zones'],
    ['GET', `/v1/zones/${Z}`],
    ['PUT', `/v1/zones/${Z}`, { body: { refresh: 7200 } }],
    ['GET', `/v1/zones/${Z}/records?limit=1`],
    ['GET', `/v1/zones/${Z}/records/${id}`],
    ['PUT', `/v1/zones/${Z}/records/${id}`, { body: { value: '192.0.2.2' } }],
    ['POST', `/v1/zones/${Z}/changes`, { body: [{ op: 'create', name: 'mail', type: 'A', value: '192.0.2.3' }] }],
    ['GET', `/v1/zones/${Z}/history?limit=2&order=desc`],
    ['GET', `/v1/zones/${Z}/records/${id}/history`],
    ['POST', `/v1/zones/${Z}/import`, { text: `$ORIGIN ${Z}.\n@ 300 SOA ns1.${Z}. h.${Z}. 1 3600 600 86400 300\n@ 300 NS ns1.${Z}.\nwww 300 A 192.0.2.9\n` }],
    ['POST', `/v1/zones/${Z}/restore`, { body: { at: 3 } }],
    ['GET', '/v1/events?limit=5'],
    ['POST', '/v1/snapshots'],
    ['DELETE', `/v1/zones/${Z}/records/${id}`],
    ['GET', '/v1/zones/nope.test'],
    ['POST', `/v1/zones/${Z}/records`, { body: { name: 'x', type: 'A', value: 'not-an-address' } }],
    ['DELETE', `/v1/zones/${Z}`],
  ];
  for (const [method, path, extra] of calls) {
    const r = await h.rest(method, path, { ...alice, ...(extra ?? {}) });
    assert.ok(r.body !== undefined, `${method} ${path} answered JSON: ${r.status} ${r.text.slice(0, 200)}`);
    assert.deepEqual(offenders(r.body), [], `${method} ${path}`);
  }
});

test('the live feed: hello and change messages have snake_case keys', async () => {
  const messages: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.restPort, path: `/v1/feed?zone=${Z}-feed`, ca: h.tls.ca, headers: { authorization: `Bearer ${h.tokens.alice}` } }, (res) => {
      assert.equal(res.statusCode, 200);
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          messages.push(JSON.parse(data.slice(6)));
          if (messages.length === 1) void seedZone(h, `${Z}-feed`);
          if (messages.length === 2) {
            req.destroy();
            resolve();
          }
        }
      });
    });
    req.on('error', (err) => (messages.length >= 2 ? resolve() : reject(err)));
    req.end();
  });
  assert.equal(messages.length, 2);
  assert.deepEqual(offenders(messages), []);
  assert.ok('batch_id' in (messages[1] as { events: Array<Record<string, unknown>> }).events[0]);
});

test('mcns replay --trace -o json says batch_id like every other output', async () => {
  const r = await mcns(['replay', '--db', join(h.dir, 'mcns.db'), '--trace', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.length > 3);
  assert.ok(lines.every((l) => typeof l.batch_id === 'string' && !('batch' in l)));
  assert.deepEqual(offenders(lines.map(({ payload: _p, ...rest }) => rest)), []);
});
