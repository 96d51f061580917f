/**
 * The catalog zone is hidden from GET /v1/zones unless asked for (?catalog=true), and still readable
 * as a zone by its name.
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

function get(port: number, ca: Buffer, path: string): Promise<{ status: number; json: { zones?: Array<{ name: string }> } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
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
