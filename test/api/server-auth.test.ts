/**
 * The auth limits as `mcns server` wires them from the config: one failure budget shared by REST and
 * gRPC ([server] auth_failure_burst), MCIAS requests counted in /metrics, the warn line an operator
 * greps for. A whole server from a config file, against the real HTTPS MCIAS fake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { request } from 'node:https';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { loadProtos } from '../../src/api/grpc.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { tempDir } from '../helpers/ledger.ts';
import { startMcIasFake } from '../helpers/mcias-fake.ts';
import { writeServerConfig } from '../helpers/server-config.ts';

function get(addr: string, path: string, token: string): Promise<{ status: number; retryAfter?: string; text: string }> {
  const port = Number(addr.split(':').pop());
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, text }));
    })
      .on('error', reject)
      .end();
  });
}

test('[server] auth_failure_burst from the config: REST and gRPC share one budget; MCIAS calls and throttling show in /metrics and the log', async () => {
  const mcias = await startMcIasFake();
  const { dir, cleanup } = tempDir();
  const cfg = writeServerConfig(dir, { tail: [] });
  const env = { MCNS_MCIAS_SERVER_URL: mcias.url, MCNS_MCIAS_CA_CERT: mcias.tls.caPath, MCNS_SERVER_AUTH_FAILURE_BURST: '3', MCNS_SERVER_AUTH_FAILURES_PER_MINUTE: '1' };
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const config = loadConfig({ path: cfg, env });
  const server = await startServer(config, { logger: pino({ level: 'info' }, sink) });
  // The test CA sits beside the server certificate (test/helpers/tls.ts).
  const ca = readFileSync(join(dirname(config.server.tls_cert), 'ca.pem'));
  const pkg = grpc.loadPackageDefinition(loadProtos()) as any;
  const zones = new pkg.mcns.v1.ZoneService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createSsl(ca), { 'grpc.ssl_target_name_override': 'localhost' });
  const rpc = (token: string): Promise<number> =>
    new Promise((resolve) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      zones.ListZones({}, md, (err: grpc.ServiceError | null) => resolve(err ? err.code : 0));
    });
  try {
    const random = (): string => randomBytes(16).toString('hex');
    const bob = mcias.tokenFor('bob');
    assert.equal((await get(server.rest, '/v1/zones', bob)).status, 200);
    // Two failures on REST, one on gRPC: the budget of 3 is spent across both surfaces.
    assert.equal((await get(server.rest, '/v1/zones', random())).status, 401);
    assert.equal((await get(server.rest, '/v1/zones', random())).status, 401);
    assert.equal(await rpc(random()), grpc.status.UNAUTHENTICATED);
    const calls = mcias.validateCalls;
    const r = await get(server.rest, '/v1/zones', random());
    assert.equal(r.status, 429, r.text);
    assert.match(r.retryAfter ?? '', /^\d+$/);
    assert.equal(await rpc(random()), grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(mcias.validateCalls, calls, 'a throttled client costs MCIAS nothing');
    const metrics = (await get(server.rest, '/metrics', bob)).text;
    assert.match(metrics, /^mcns_mcias_requests_total\{call="validate",status="200"\} 4$/m);
    assert.match(metrics, /^mcns_api_auth_failures_total\{surface="rest"\} 2$/m);
    assert.match(metrics, /^mcns_api_auth_failures_total\{surface="grpc"\} 1$/m);
    assert.match(metrics, /^mcns_api_auth_throttled_total\{surface="rest"\} 1$/m);
    const warn = lines.filter((l) => l.msg === 'authentication failures from one client over the limit: answering 429 until it slows down');
    assert.equal(warn.length, 1, 'one warn line, not one per request');
    assert.equal(warn[0].client, '127.0.0.1');
  } finally {
    zones.close();
    await server.stop('test');
    await mcias.close();
    cleanup();
  }
});
