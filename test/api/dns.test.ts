/**
 * Read-your-writes through DNS: a record created through REST, and one through gRPC, is answered by
 * the DNS listener in the very next query, and its history names the actor. MCIAS down: the API
 * answers 502 / UNAVAILABLE within the timeout while DNS keeps answering, and the API recovers
 * without a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { dataOf, queryUdp } from './dnsq.ts';
import { seedZone, startHarness, type Harness } from './harness.ts';

describe('API writes seen by DNS', () => {
  let h: Harness;
  let dns: DnsServer;
  let port: number;
  before(async () => {
    h = await startHarness({ timeoutMs: 500 });
    dns = await startDns({ ledger: h.ledger, listen: ['127.0.0.1:0'] });
    port = dns.addresses[0].udp.port;
    await seedZone(h, 'svc.mcp.metacircular.net');
  });
  after(async () => {
    await dns.close();
    await h.close();
  });

  test('a record created over REST is answered by the very next DNS query, and history names the actor', async () => {
    const before = await queryUdp(port, 'mcq.svc.mcp.metacircular.net', 'A');
    assert.equal(before.rcode, 'NXDOMAIN');
    const r = await h.rest('POST', '/v1/zones/svc.mcp.metacircular.net/records', { token: h.tokens.mcq, body: { name: 'mcq', type: 'A', value: '192.168.88.181' } });
    assert.equal(r.status, 201, r.text);
    const a = await queryUdp(port, 'mcq.svc.mcp.metacircular.net', 'A');
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(dataOf(a, 'A'), ['192.168.88.181']);
    const hist = await h.rest('GET', `/v1/zones/svc.mcp.metacircular.net/records/${r.body.record.id}/history`, { token: h.tokens.bob });
    assert.equal(hist.body.entries[0].actor, 'mcq');
    assert.equal(hist.body.entries[0].event, 'RecordCreated');
  });

  test('a record created over gRPC is answered by the very next DNS query, and history names the actor', async () => {
    const g = await h.grpc('RecordService', 'CreateRecord', { zone: 'svc.mcp.metacircular.net', name: 'mcr', type: 'A', value: '100.95.252.120' }, { token: h.tokens['mcp-agent'] });
    assert.equal(g.code, 0, g.details);
    const a = await queryUdp(port, 'mcr.svc.mcp.metacircular.net', 'A');
    assert.deepEqual(dataOf(a, 'A'), ['100.95.252.120']);
    const hist = await h.grpc('RecordService', 'RecordHistory', { zone: 'svc.mcp.metacircular.net', id: g.body.record.id }, { token: h.tokens.bob });
    assert.equal(hist.body.entries[0].actor, 'mcp-agent');
  });

  test('an update and a delete are seen by the next query too', async () => {
    const r = await h.rest('POST', '/v1/zones/svc.mcp.metacircular.net/records', { token: h.tokens.alice, body: { name: 'sgard', type: 'A', value: '192.0.2.1' } });
    await h.rest('PUT', `/v1/zones/svc.mcp.metacircular.net/records/${r.body.record.id}`, { token: h.tokens.alice, body: { value: '192.0.2.2' } });
    assert.deepEqual(dataOf(await queryUdp(port, 'sgard.svc.mcp.metacircular.net', 'A'), 'A'), ['192.0.2.2']);
    await h.rest('DELETE', `/v1/zones/svc.mcp.metacircular.net/records/${r.body.record.id}`, { token: h.tokens.alice });
    assert.equal((await queryUdp(port, 'sgard.svc.mcp.metacircular.net', 'A')).rcode, 'NXDOMAIN');
  });

  test('MCIAS down: 502 / UNAVAILABLE within the timeout, DNS keeps answering, then recovery without restart', async () => {
    const token = h.mcias.tokenFor('alice'); // never validated yet, so not in the cache
    h.mcias.mode = 'hang';
    try {
      const t0 = Date.now();
      const r = await h.rest('GET', '/v1/zones', { token });
      assert.equal(r.status, 502, r.text);
      assert.match(r.body.error, /MCIAS/);
      assert.ok(Date.now() - t0 < 1500, `502 after ${Date.now() - t0} ms`);
      const g = await h.grpc('ZoneService', 'ListZones', {}, { token });
      assert.equal(g.code, grpc.status.UNAVAILABLE);
      const a = await queryUdp(port, 'mcq.svc.mcp.metacircular.net', 'A');
      assert.deepEqual(dataOf(a, 'A'), ['192.168.88.181']);
      assert.equal((await h.rest('GET', '/v1/health')).status, 200);
      h.mcias.mode = 'drop';
      assert.equal((await h.rest('GET', '/v1/zones', { token })).status, 502);
    } finally {
      h.mcias.mode = 'up';
    }
    assert.equal((await h.rest('GET', '/v1/zones', { token })).status, 200);
    assert.equal((await h.grpc('ZoneService', 'ListZones', {}, { token })).code, 0);
  });

  test('the token cache cuts MCIAS calls: 50 API requests with one token, one validation', async () => {
    const token = h.mcias.tokenFor('bob');
    const before = h.mcias.validateCalls;
    for (let i = 0; i < 25; i++) {
      assert.equal((await h.rest('GET', '/v1/zones', { token })).status, 200);
      assert.equal((await h.grpc('ZoneService', 'ListZones', {}, { token })).code, 0);
    }
    assert.equal(h.mcias.validateCalls - before, 1);
  });
});
