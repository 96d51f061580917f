/**
 * The served OpenAPI document (GET /v1/openapi.json) passes `redocly lint` (the recommended rules)
 * with no error, has servers, a license and /v1/feed, and every operation lists each error status
 * it can answer with the one error schema.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../cli/run.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let doc: any;
before(async () => {
  h = await startHarness();
  const r = await h.rest('GET', '/v1/openapi.json');
  assert.equal(r.status, 200);
  doc = r.body;
});
after(() => h.close());

test('npx redocly lint on the served document reports no error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const r = spawnSync(join(REPO, 'node_modules/.bin/redocly'), ['lint', file, '--format=json'], {
      encoding: 'utf8',
      cwd: dir,
      timeout: 120_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_UPDATE_NOTIFIER: '1' },
    });
    const json = r.stdout.slice(r.stdout.indexOf('{'));
    const report = JSON.parse(json) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }> };
    const errors = report.problems.filter((p) => p.severity === 'error');
    assert.deepEqual(errors.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`), []);
    assert.equal(r.status, 0, r.stderr);
    // The only warnings left: public routes that no client input can make fail with a 4xx.
    const warned = report.problems.filter((p) => p.severity === 'warn').map((p) => `${p.ruleId} ${p.location[0]?.pointer}`);
    assert.deepEqual(warned.sort(), ['/v1/health', '/metrics', '/v1/openapi.json'].map((p) => `operation-4xx-response #/paths/${p.replaceAll('/', '~1')}/get/responses`).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('servers, a license and /v1/feed are in the document', () => {
  assert.ok(Array.isArray(doc.servers) && doc.servers.length > 0);
  assert.equal(doc.info.license.identifier, 'MIT');
  const feed = doc.paths['/v1/feed'].get;
  assert.ok(feed.responses['200'].content['text/event-stream']);
  assert.deepEqual(feed.parameters.map((p: { name: string }) => p.name), ['zone', 'after']);
});

test('the pages say how to get the next one: next_cursor (records), next_cursor and remaining (history)', () => {
  const schemaOf = (path: string) => doc.components.schemas[doc.paths[path].get.responses['200'].content['application/json'].schema.$ref.split('/').pop()];
  assert.ok(schemaOf('/v1/zones/{zone}/records').properties.next_cursor);
  assert.deepEqual(doc.paths['/v1/zones/{zone}/records'].get.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name), ['name', 'type', 'at', 'limit', 'cursor']);
  const hist = schemaOf('/v1/zones/{zone}/history');
  assert.ok(hist.properties.next_cursor && hist.properties.remaining);
  const entry = doc.components.schemas.HistoryEntry.properties;
  for (const k of ['old', 'new', 'surface', 'restored_to', 'batch_id']) assert.ok(entry[k], k);
});

test('every operation lists its error statuses with the error schema', () => {
  const resolve = (r: any): any => (r.$ref ? doc.components.responses[r.$ref.split('/').pop()] : r);
  const expect: Array<[string, string, string[]]> = [
    ['/v1/zones/{zone}/records', 'post', ['400', '401', '403', '404', '409', '412', '413', '415', '429', '500', '502', '503']],
    ['/v1/zones/{zone}/records', 'get', ['400', '401', '403', '404', '429', '500', '502', '503']],
    ['/v1/zones/{zone}', 'delete', ['400', '401', '403', '404', '412', '429', '500', '502', '503']],
    ['/v1/auth/login', 'post', ['400', '401', '413', '415', '429', '500', '502', '503']],
    ['/v1/health', 'get', ['500', '503']],
  ];
  for (const [path, method, statuses] of expect) {
    const errs = Object.keys(doc.paths[path][method].responses).filter((s) => /^[45]/.test(s));
    assert.deepEqual(errs.sort(), statuses, `${method} ${path}`);
  }
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const [status, res] of Object.entries(op.responses as Record<string, any>)) {
        if (!/^[45]/.test(status)) continue;
        assert.equal(resolve(res).content['application/json'].schema.$ref, '#/components/schemas/Error', `${method} ${path} ${status}`);
      }
    }
  }
});
