/**
 * REST-specific behaviour: TLS 1.3 only, body limit (413), malformed and unknown input, If-Match
 * forms, change batches (ids, seqs, one serial, atomic, history by batch), history paging, zone file
 * import/export, snapshots, the OpenAPI document, /metrics, and one log line per request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Ledger } from '../../src/ledger.ts';
import { ROUTES } from '../../src/api/routes.ts';
import { handshake, seedZone, startHarness, type Harness } from './harness.ts';
import { Validator } from '@seriousme/openapi-schema-validator';

const Z = 'example.com';

describe('REST surface', () => {
  let h: Harness;
  const lines: Array<Record<string, unknown>> = [];
  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    h = await startHarness({ bodyLimit: 64 * 1024, logger: pino({ level: 'info' }, sink) });
    await seedZone(h, Z);
  });
  after(async () => h.close());
  const alice = (): { token: string } => ({ token: h.tokens.alice });

  test('TLS 1.3 only: a TLS 1.2 client is refused', async () => {
    assert.equal(await handshake(h.restPort, h.tls.ca, 'TLSv1.3'), 'TLSv1.3');
    assert.match(await handshake(h.restPort, h.tls.ca, 'TLSv1.2'), /^error/);
  });

  test('health is public and says ok', async () => {
    const r = await h.rest('GET', '/v1/health');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
  });

  test('a body over the limit is 413 with a JSON error', async () => {
    const r = await h.rest('POST', `/v1/zones/${Z}/import`, { ...alice(), text: `; ${'x'.repeat(70 * 1024)}\n` });
    assert.equal(r.status, 413);
    assert.equal(typeof r.body.error, 'string');
    assert.equal(h.ledger.zone(`${Z}.`)?.records.size, 1);
  });

  test('malformed JSON is 400 with a JSON error; unknown fields are refused by name (body and query)', async () => {
    const bad = await h.rest('POST', `/v1/zones/${Z}/records`, { ...alice(), text: '{"name": ', contentType: 'application/json' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^body: not valid JSON/);
    const empty = await h.rest('POST', `/v1/zones/${Z}/records`, { ...alice(), text: '', contentType: 'application/json' });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error, /^name: /);
    const extra = await h.rest('POST', `/v1/zones/${Z}/records`, { ...alice(), body: { name: 'x', type: 'A', value: '192.0.2.1', colour: 'red' } });
    assert.equal(extra.status, 400);
    assert.equal(extra.body.error, 'colour: unknown field');
    const q = await h.rest('GET', `/v1/zones/${Z}/records?nmae=www`, alice());
    assert.equal(q.status, 400);
    assert.equal(q.body.error, 'nmae: unknown field');
  });

  test('an unknown route is a JSON 404', async () => {
    const r = await h.rest('GET', '/v1/nothing', alice());
    assert.equal(r.status, 404);
    assert.match(r.body.error, /no route/);
  });

  test('If-Match: the current serial passes (plain or quoted), a stale one is 412, garbage is 400', async () => {
    const serial = h.ledger.zone(`${Z}.`)!.serial;
    const ok = await h.rest('POST', `/v1/zones/${Z}/records`, { ...alice(), headers: { 'if-match': String(serial) }, body: { name: 'im1', type: 'A', value: '192.0.2.1' } });
    assert.equal(ok.status, 201, ok.text);
    const quoted = await h.rest('POST', `/v1/zones/${Z}/records`, { ...alice(), headers: { 'if-match': `"${ok.body.batch.serial}"` }, body: { name: 'im2', type: 'A', value: '192.0.2.1' } });
    assert.equal(quoted.status, 201, quoted.text);
    const stale = await h.rest('POST', `/v1/zones/${Z}/records`, { ...alice(), headers: { 'if-match': String(serial) }, body: { name: 'im3', type: 'A', value: '192.0.2.1' } });
    assert.equal(stale.status, 412);
    const junk = await h.rest('POST', `/v1/zones/${Z}/records`, { ...alice(), headers: { 'if-match': 'abc' }, body: { name: 'im4', type: 'A', value: '192.0.2.1' } });
    assert.equal(junk.status, 400);
    assert.match(junk.body.error, /^If-Match: /);
  });

  test('a change batch is atomic, bumps the serial once and is found in history by its batch id', async () => {
    const serial = h.ledger.zone(`${Z}.`)!.serial;
    const seq = h.ledger.state.seq;
    const failed = await h.rest('POST', `/v1/zones/${Z}/changes`, { ...alice(), body: [{ op: 'create', name: 'b1', type: 'A', value: '192.0.2.1' }, { op: 'create', name: 'b1', type: 'CNAME', value: 'x.example.net.' }] });
    assert.equal(failed.status, 409);
    assert.equal(h.ledger.state.seq, seq, 'nothing written');
    const r = await h.rest('POST', `/v1/zones/${Z}/changes`, {
      ...alice(),
      body: [{ op: 'create', name: 'b1', type: 'A', value: '192.0.2.1' }, { op: 'create', name: 'b2', type: 'MX', value: '10 mail' }, { op: 'create', name: '@', type: 'TXT', value: '"v=spf1 -all"' }],
    });
    assert.equal(r.status, 200, r.text);
    const b = r.body.batch;
    assert.match(b.batch_id, /^\d+-[0-9a-f]{8}$/, 'batch ids are <first seq>-<random>');
    assert.equal(b.first_seq, seq + 1);
    assert.equal(b.last_seq, seq + 4); // three creates and one serial bump
    assert.ok(b.serial > serial);
    assert.deepEqual(r.body.records.map((x: { fqdn: string; value: string }) => `${x.fqdn} ${x.value}`).sort(), ['b1.example.com. 192.0.2.1', 'b2.example.com. 10 mail.example.com.', 'example.com. "v=spf1 -all"']);
    const hist = await h.rest('GET', `/v1/zones/${Z}/history?batch=${b.batch_id}`, alice());
    assert.deepEqual(hist.body.entries.map((e: { event: string }) => e.event), ['RecordCreated', 'RecordCreated', 'RecordCreated', 'SerialBumped']);
    assert.ok(hist.body.entries.every((e: { actor: string; batch_id: string }) => e.actor === 'alice' && e.batch_id === b.batch_id));
  });

  test('history pages with a cursor and filters by name, type and time', async () => {
    const all: number[] = [];
    let cursor: number | undefined;
    for (let page = 0; page < 100; page++) {
      const r = await h.rest('GET', `/v1/zones/${Z}/history?limit=3${cursor !== undefined ? `&cursor=${cursor}` : ''}`, alice());
      assert.equal(r.status, 200, r.text);
      all.push(...r.body.entries.map((e: { seq: number }) => e.seq));
      cursor = r.body.next_cursor;
      if (cursor === undefined) break;
    }
    const whole = await h.rest('GET', `/v1/zones/${Z}/history?limit=1000`, alice());
    assert.deepEqual(all, whole.body.entries.map((e: { seq: number }) => e.seq));
    const byName = await h.rest('GET', `/v1/zones/${Z}/history?name=b1&type=A`, alice());
    assert.deepEqual(byName.body.entries.map((e: { payload: { name: string } }) => e.payload.name), ['b1.example.com.']);
    const future = await h.rest('GET', `/v1/zones/${Z}/history?since=2999-01-01T00:00:00Z`, alice());
    assert.deepEqual(future.body.entries, []);
    const past = await h.rest('GET', `/v1/zones/${Z}/history?until=2000-01-01T00:00:00Z`, alice());
    assert.deepEqual(past.body.entries, []);
  });

  test('import: line-numbered errors are 400 and nothing is imported', async () => {
    const text = '$ORIGIN imp.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 192.0.2.53\nwww IN A 192.0.2.300\n';
    const seq = h.ledger.state.seq;
    const r = await h.rest('POST', '/v1/zones/imp.test/import', { ...alice(), text });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^zone file: .*line 6/);
    assert.equal(h.ledger.state.seq, seq);
    assert.equal((await h.rest('GET', '/v1/zones/imp.test', alice())).status, 404);
  });

  test('import creates a zone, then writes only the differences; export round-trips (text/dns accepted)', async () => {
    const v1 = '$ORIGIN imp.test.\n$TTL 300\n@ IN SOA ns hostmaster 2026010101 3600 600 86400 300\n@ IN NS ns\nns IN A 192.0.2.53\nwww IN A 192.0.2.80\nold IN TXT "bye"\n';
    const a = await h.rest('POST', '/v1/zones/imp.test/import', { ...alice(), text: v1, contentType: 'text/dns' });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.body.created, 4);
    const v2 = v1.replace('old IN TXT "bye"\n', 'new IN TXT "hi"\n').replace('192.0.2.80', '192.0.2.81');
    const b = await h.rest('POST', '/v1/zones/imp.test/import', { ...alice(), text: v2 });
    assert.equal(b.status, 200, b.text);
    assert.deepEqual([b.body.created, b.body.deleted], [2, 2]);
    const exp = await h.rest('GET', '/v1/zones/imp.test/export', { token: h.tokens.bob });
    assert.equal(exp.status, 200);
    assert.match(exp.text, /www\s+300\s+IN\s+A\s+192\.0\.2\.81/);
    const again = await h.rest('POST', '/v1/zones/imp.test/import', { ...alice(), text: exp.text });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.batch.batch_id, undefined, 'importing the export changes nothing');
  });

  test('a JSON body to import is refused, naming the zone file', async () => {
    const r = await h.rest('POST', '/v1/zones/imp.test/import', { ...alice(), body: { zone: 'x' } });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^zone file: /);
  });

  test('snapshot: mcns-YYYYMMDD-HHMMSS.db in the backup dir, openable, at the current seq', async () => {
    const r = await h.rest('POST', '/v1/snapshots', alice());
    assert.equal(r.status, 201, r.text);
    assert.match(basename(r.body.path), /^mcns-\d{8}-\d{6}(-\d+)?\.db$/);
    assert.ok(existsSync(r.body.path));
    const copy = Ledger.open({ path: r.body.path, create: false });
    try {
      assert.equal(copy.state.seq, r.body.seq);
      assert.equal(copy.startup.checkpointSeq, r.body.seq, 'the copy starts from the fresh checkpoint');
    } finally {
      copy.close();
    }
    const second = await h.rest('POST', '/v1/snapshots', alice());
    assert.notEqual(second.body.path, r.body.path);
  });

  test('events: the raw log, paged by after', async () => {
    const r = await h.rest('GET', '/v1/events?after=0&limit=2', alice());
    assert.deepEqual(r.body.events.map((e: { seq: number }) => e.seq), [1, 2]);
    assert.equal(r.body.next_after, 2);
    assert.match(r.body.events[0].hash, /^[0-9a-f]{64}$/);
    const next = await h.rest('GET', `/v1/events?after=${r.body.next_after}&limit=1`, alice());
    assert.equal(next.body.events[0].seq, 3);
  });

  test('the OpenAPI document lists every route of SPEC 4 and is well formed', async () => {
    const r = await h.rest('GET', '/v1/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.body;
    assert.equal(doc.openapi, '3.1.0');
    // Valid against the OpenAPI 3.1 JSON schema, as an OpenAPI tool would check it.
    const validator = new Validator();
    const verdict = await validator.validate(doc);
    assert.equal(verdict.valid, true, JSON.stringify(verdict.errors, null, 1));
    const spec = [
      'GET /v1/health', 'POST /v1/auth/login', 'POST /v1/auth/logout', 'GET /v1/zones', 'POST /v1/zones', 'GET /v1/zones/{zone}',
      'PUT /v1/zones/{zone}', 'DELETE /v1/zones/{zone}', 'GET /v1/zones/{zone}/records', 'POST /v1/zones/{zone}/records',
      'GET /v1/zones/{zone}/records/{id}', 'PUT /v1/zones/{zone}/records/{id}', 'DELETE /v1/zones/{zone}/records/{id}',
      'POST /v1/zones/{zone}/changes', 'GET /v1/zones/{zone}/history', 'GET /v1/zones/{zone}/records/{id}/history',
      'GET /v1/zones/{zone}/export', 'POST /v1/zones/{zone}/import', 'POST /v1/zones/{zone}/restore', 'GET /v1/events',
      'POST /v1/snapshots', 'GET /metrics', 'GET /v1/openapi.json', 'GET /v1/feed',
      'GET /v1/zones/{zone}/dnssec', 'PUT /v1/zones/{zone}/dnssec', 'POST /v1/zones/{zone}/dnssec/rollover',
    ];
    const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    assert.deepEqual(listed.sort(), spec.sort());
    assert.equal(ROUTES.length, spec.length - 1, 'every route of the table, and the feed (registered beside it)');
    // Every route the server answers is in the document: each listed path answers something but 404-for-route.
    for (const entry of listed) {
      const [method, path] = entry.split(' ');
      const concrete = path.replace('{zone}', 'example.com').replace('{id}', 'ffffffffffffffff');
      const res = await h.rest(method, concrete, { token: h.tokens.gus });
      assert.ok(!(res.status === 404 && /no route/.test(res.text)), `${entry} is not served`);
    }
    const ids = new Set<string>();
    for (const ops of Object.values(doc.paths as Record<string, Record<string, { operationId: string; responses: object; parameters: Array<{ in: string; name: string }> }>>)) {
      for (const op of Object.values(ops)) {
        assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
        ids.add(op.operationId);
        assert.ok(Object.keys(op.responses).length > 0);
        for (const p of op.parameters) assert.ok(['path', 'query', 'header'].includes(p.in));
      }
    }
    const create = doc.paths['/v1/zones/{zone}/records'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(create.required.sort(), ['name', 'type', 'value']);
    assert.equal(create.additionalProperties, false);
    for (const ref of JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? []) {
      const path = ref.slice(8, -1).replace('#/', '').split('/');
      let node: any = doc;
      for (const k of path) node = node?.[k];
      assert.ok(node, `unresolved ${ref}`);
    }
  });

  test('the OpenAPI document describes the 429 of throttled clients and the warnings of record writes', async () => {
    const doc = (await h.rest('GET', '/v1/openapi.json')).body;
    const op = (path: string, method: string) => doc.paths[path][method];
    for (const [path, method] of [['/v1/zones', 'get'], ['/v1/zones/{zone}/records', 'post'], ['/v1/auth/login', 'post'], ['/v1/auth/logout', 'post']]) {
      const listed = op(path, method).responses['429'];
      assert.ok(listed, `${method} ${path} documents 429`);
      const t = listed.$ref ? doc.components.responses[listed.$ref.split('/').pop()] : listed;
      assert.ok(t.headers['Retry-After'], 'with Retry-After');
    }
    assert.equal(op('/v1/health', 'get').responses['429'], undefined, 'public routes that call nobody are never throttled');
    for (const [path, method, status] of [['/v1/zones/{zone}/records', 'post', '201'], ['/v1/zones/{zone}/records/{id}', 'put', '200'], ['/v1/zones/{zone}/changes', 'post', '200'], ['/v1/zones/{zone}/import', 'post', '200']]) {
      assert.equal(op(path, method).responses[status].content['application/json'].schema.$ref, '#/components/schemas/WriteWithWarnings', `${method} ${path}`);
    }
    assert.deepEqual(doc.components.schemas.WriteWithWarnings.properties.warnings.items, { type: 'string' });
    assert.match(doc.components.responses.Throttled.description, /auth_failure_burst/);
  });

  test('/metrics is public Prometheus text counting API requests', async () => {
    const r = await h.rest('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain/);
    assert.match(r.text, /mcns_api_requests_total\{[^}]*surface="rest"/);
  });

  test('one log line per request, with actor and outcome, and never the token', async () => {
    lines.length = 0;
    await h.rest('GET', `/v1/zones/${Z}`, { token: h.tokens.bob });
    await h.rest('DELETE', `/v1/zones/${Z}`, { token: h.tokens.bob });
    const reqLines = lines.filter((l) => l.surface === 'rest');
    assert.equal(reqLines.length, 2);
    assert.deepEqual(reqLines.map((l) => [l.actor, l.status, l.msg]), [['bob', 200, 'request ok'], ['bob', 403, 'request failed']]);
    assert.ok(!JSON.stringify(lines).includes(h.tokens.bob));
  });
});
