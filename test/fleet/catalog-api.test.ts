/**
 * The catalog zone is hidden from GET /v1/zones unless asked for (?catalog=true), and still readable
 * as a zone by its name; a zone's catalog group is set and cleared with PUT /v1/zones/{zone}.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { startRest } from '../../src/api/rest.ts';
import { createDevAuth } from '../../src/api/auth.ts';
import { CatalogMaintainer } from '../../src/catalog/maintainer.ts';
import { testLedger } from '../helpers/ledger.ts';
import { makeTestTls } from '../helpers/tls.ts';

const TOKEN = 'catalog-api-token';

function get(port: number, ca: Buffer, path: string, method = 'GET', body?: unknown): Promise<{ status: number; json: { zones?: Array<{ name: string }>; error?: string } }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const headers = { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }) };
    const req = request({ host: '127.0.0.1', port, path, method, ca, servername: 'localhost', headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

test('GET /v1/zones hides the catalog zone unless ?catalog=true; the zone itself stays readable', async () => {
  const env = testLedger();
  env.ledger.execute({ kind: 'createZone', zone: 'a.test', soa: { primary_ns: 'ns.a.test.', admin_email: 'h.a.test.' } }, { actor: 't' });
  const m = new CatalogMaintainer(env.ledger, 'catalog.mcns.invalid.');
  m.start();
  const tls = makeTestTls();
  const rest = await startRest({ ledger: env.ledger, tls, listen: '127.0.0.1:0', auth: createDevAuth({ token: TOKEN }), catalogZone: 'catalog.mcns.invalid.' });
  try {
    const names = async (path: string): Promise<string[]> => ((await get(rest.address.port, tls.ca, path)).json.zones ?? []).map((z) => z.name);
    assert.deepEqual(await names('/v1/zones'), ['a.test']);
    assert.deepEqual((await names('/v1/zones?catalog=true')).sort(), ['a.test', 'catalog.mcns.invalid']);
    assert.equal((await get(rest.address.port, tls.ca, '/v1/zones/catalog.mcns.invalid')).status, 200);
    assert.equal((await get(rest.address.port, tls.ca, '/v1/zones?catalog=maybe')).status, 400);
  } finally {
    await rest.close();
    m.stop();
    env.cleanup();
  }
});

test('PUT /v1/zones/{zone} {group} sets the catalog group property; null clears it; without a catalog it is refused', async () => {
  const env = testLedger();
  env.ledger.execute({ kind: 'createZone', zone: 'g.test', soa: { primary_ns: 'ns.g.test.', admin_email: 'h.g.test.' } }, { actor: 't' });
  const m = new CatalogMaintainer(env.ledger, 'catalog.mcns.invalid.');
  m.start();
  const tls = makeTestTls();
  const rest = await startRest({ ledger: env.ledger, tls, listen: '127.0.0.1:0', auth: createDevAuth({ token: TOKEN }), catalogZone: 'catalog.mcns.invalid.' });
  const bare = await startRest({ ledger: env.ledger, tls, listen: '127.0.0.1:0', auth: createDevAuth({ token: TOKEN }) });
  try {
    const groups = (): string[] => [...env.ledger.zone('catalog.mcns.invalid.')!.records.values()].filter((r) => r.name.startsWith('group.')).map((r) => r.value);
    assert.equal((await get(rest.address.port, tls.ca, '/v1/zones/g.test', 'PUT', { group: 'signed' })).status, 200);
    assert.deepEqual(groups(), ['"signed"']);
    assert.equal((await get(rest.address.port, tls.ca, '/v1/zones/g.test', 'PUT', { group: null, refresh: 7200 })).status, 200);
    assert.deepEqual(groups(), []);
    assert.equal(env.ledger.zone('g.test.')!.soa.refresh, 7200, 'SOA parameters in the same request still apply');
    const refused = await get(bare.address.port, tls.ca, '/v1/zones/g.test', 'PUT', { group: 'x' });
    assert.equal(refused.status, 400);
    assert.match(refused.json.error ?? '', /no catalog zone is configured/);
  } finally {
    await rest.close();
    await bare.close();
    m.stop();
    env.cleanup();
  }
});
