/**
 * `/metrics` names every zone (issue 10): `[metrics] listen_addr` moves it to a listener of its own
 * (loopback, say) and the REST listener then answers /metrics 404; without it, /metrics stays on the
 * REST listener as before. Whole servers from a config file, real sockets on 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { tempDir } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';

function get(scheme: 'http' | 'https', addr: string, path: string, method = 'GET'): Promise<{ status: number; text: string; type?: string }> {
  const port = Number(addr.split(':').pop());
  const send = scheme === 'https' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    send({ host: '127.0.0.1', port, path, method, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, type: res.headers['content-type'] }));
    })
      .on('error', reject)
      .end();
  });
}

async function withServer(tail: string[], fn: (s: Awaited<ReturnType<typeof startServer>>) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const cfg = writeServerConfig(dir, { tail });
  const server = await startServer(loadConfig({ path: cfg, env: {} }), { logger: (await import('pino')).pino({ level: 'silent' }) });
  try {
    server.ledger.execute(importCommand('secret-zone.test', '$TTL 60\n@ SOA ns.secret-zone.test. h.secret-zone.test. 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n'), { actor: 'test' });
    await fn(server);
  } finally {
    await server.stop('test');
    cleanup();
  }
}

test('default: /metrics is served on the REST listener, as before', async () => {
  await withServer([], async (s) => {
    assert.equal(s.metricsAddr, undefined);
    const r = await get('https', s.rest, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /^mcns_projection_seq /m);
  });
});

test('[metrics] listen_addr: /metrics on its own plain-HTTP listener, 404 on the REST listener and gone from the OpenAPI document', async () => {
  await withServer(['[metrics]', 'listen_addr = "127.0.0.1:0"'], async (s) => {
    assert.ok(s.metricsAddr, 'the metrics listener runs');
    const onRest = await get('https', s.rest, '/metrics');
    assert.equal(onRest.status, 404, onRest.text);
    assert.doesNotMatch(onRest.text, /mcns_/);
    const doc = JSON.parse((await get('https', s.rest, '/v1/openapi.json')).text);
    assert.equal(doc.paths['/metrics'], undefined);
    assert.ok(doc.paths['/v1/health'], 'the rest of the document is there');
    const own = await get('http', s.metricsAddr, '/metrics');
    assert.equal(own.status, 200);
    assert.equal(own.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(own.text, /^mcns_projection_seq /m);
    // The whole exposition: the server's metrics, a serial per zone, and the process's runtime metrics.
    assert.match(own.text, /^mcns_zone_serial\{zone="secret-zone\.test\."\} [1-9]\d*$/m);
    assert.match(own.text, /^process_cpu_user_seconds_total /m);
    assert.match(own.text, /^nodejs_heap_size_used_bytes /m);
    assert.equal((await get('http', s.metricsAddr, '/v1/health')).status, 404, 'the metrics listener serves /metrics only');
    assert.equal((await get('http', s.metricsAddr, '/metrics', 'POST')).status, 405);
    assert.equal((await get('http', s.metricsAddr, '/metrics', 'HEAD')).status, 200);
  });
});

test('[metrics] tls = true: the metrics listener speaks HTTPS with the server certificate', async () => {
  await withServer(['[metrics]', 'listen_addr = "127.0.0.1:0"', 'tls = true'], async (s) => {
    assert.ok(s.metricsAddr);
    const r = await get('https', s.metricsAddr, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /^mcns_projection_seq /m);
    assert.equal((await get('https', s.rest, '/metrics')).status, 404);
  });
});
