/**
 * Unauthenticated work (issue 10): what an anonymous client can make MCNS and MCIAS do. The token
 * is checked before a request body is read (a 4 MiB body is never waited for), an unknown token
 * costs MCIAS one call however often it is repeated (negative cache, shared in-flight calls), and
 * failed authentications are limited per client address (429 with Retry-After, gRPC
 * RESOURCE_EXHAUSTED), so random tokens or password guesses cannot drive MCIAS. Calls are counted in
 * the real HTTPS MCIAS fake.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { McIasClient } from '../../src/api/auth.ts';
import { AuthFailureThrottle, AuthGate, clientKey } from '../../src/api/auth-gate.ts';
import { loadProtos, startGrpc, type GrpcServer } from '../../src/api/grpc.ts';
import { startRest, type RestServer } from '../../src/api/rest.ts';
import { Ledger } from '../../src/ledger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { startMcIasFake, type McIasFake } from '../helpers/mcias-fake.ts';
import { makeTestTls, type TestTls } from '../helpers/tls.ts';

const random = (): string => randomBytes(18).toString('base64url');

interface Rig {
  dir: string;
  ledger: Ledger;
  mcias: McIasFake;
  tls: TestTls;
  metrics: Metrics;
  gate: AuthGate;
  rest: RestServer;
  grpcSrv: GrpcServer;
  clock: { now: number };
  get(path: string, token?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>;
  post(path: string, body: unknown, token?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>;
  rpc(method: string, req: unknown, token?: string): Promise<{ code: number; details?: string; trailer?: grpc.Metadata }>;
  close(): Promise<void>;
}

async function startRig(throttle: { burst?: number; perMinute?: number } = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-gate-'));
  const ledger = Ledger.open({ path: join(dir, 'mcns.db') });
  const mcias = await startMcIasFake();
  const clock = { now: Date.now() };
  const auth = new McIasClient({ serverUrl: mcias.url, ca: mcias.tls.ca, timeoutMs: 2000, now: () => clock.now });
  const tls = makeTestTls();
  const metrics = createMetrics();
  const gate = new AuthGate({ auth, metrics, throttle: new AuthFailureThrottle({ ...throttle, now: () => clock.now }) });
  const common = { ledger, tls: { cert: tls.cert, key: tls.key }, auth, metrics, authGate: gate, backupDir: join(dir, 'b') };
  const rest = await startRest({ ...common, listen: '127.0.0.1:0' });
  const grpcSrv = await startGrpc({ ...common, listen: '127.0.0.1:0' });
  const pkg = grpc.loadPackageDefinition(loadProtos()) as any;
  const clients: Record<string, any> = {};
  const client = (svc: string): any =>
    (clients[svc] ??= new pkg.mcns.v1[svc](`127.0.0.1:${grpcSrv.port}`, grpc.credentials.createSsl(tls.ca), { 'grpc.ssl_target_name_override': 'localhost' }));
  const http = (method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = {};
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
      const req = request({ host: '127.0.0.1', port: rest.address.port, method, path, ca: tls.ca, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  return {
    dir, ledger, mcias, tls, metrics, gate, rest, grpcSrv, clock,
    get: (path, token) => http('GET', path, undefined, token),
    post: (path, body, token) => http('POST', path, body, token),
    rpc: (method, req, token) =>
      new Promise((resolve) => {
        const [svc, m] = method.split('/');
        const md = new grpc.Metadata();
        if (token !== undefined) md.set('authorization', `Bearer ${token}`);
        let trailer: grpc.Metadata | undefined;
        const call = client(svc)[m](req, md, (err: grpc.ServiceError | null) => resolve({ code: err ? err.code : 0, details: err?.details, trailer: err?.metadata ?? trailer }));
        call.on('status', (s: grpc.StatusObject) => (trailer = s.metadata));
      }),
    close: async () => {
      for (const c of Object.values(clients)) c.close();
      await rest.close();
      await grpcSrv.close();
      await mcias.close();
      ledger.close();
      for (const d of [dir, tls.dir, mcias.tls.dir]) rmSync(d, { recursive: true, force: true });
    },
  };
}

/**
 * Send the headers of a request announcing `declared` body bytes and only `sent` of them, and resolve
 * with the response if it arrives while the body is still incomplete (undefined after `deadlineMs`:
 * the server is waiting for the body).
 */
function partialBody(rig: Rig, path: string, token: string | undefined, declared: number, sent: number, deadlineMs = 5000): Promise<{ status: number; headers: Record<string, string | string[] | undefined> } | undefined> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': declared };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const req = request({ host: '127.0.0.1', port: rig.rest.address.port, method: 'POST', path, ca: rig.tls.ca, headers, agent: false });
    const deadline = setTimeout(() => {
      req.destroy();
      resolve(undefined);
    }, deadlineMs);
    req.on('response', (res) => {
      clearTimeout(deadline);
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      req.destroy();
    });
    req.on('error', () => {});
    req.write(Buffer.alloc(sent, 0x20));
  });
}

describe('client keys and the failure bucket', () => {
  test('IPv4 by address, IPv4-mapped IPv6 as IPv4, IPv6 by /56', () => {
    assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('2001:db8:1:2ff::1'), '2001:db8:1:200::/56');
    assert.equal(clientKey('2001:db8:1:2aa:ffff::9'), clientKey('2001:db8:1:200::1'));
    assert.notEqual(clientKey('2001:db8:1:300::1'), clientKey('2001:db8:1:200::1'));
    assert.equal(clientKey('::1'), '::/56');
    assert.equal(clientKey(undefined), 'unknown');
  });

  test('burst failures, then Retry-After until the bucket refills; other clients unaffected; 0 turns it off', () => {
    const clock = { now: 0 };
    const t = new AuthFailureThrottle({ burst: 3, perMinute: 6, now: () => clock.now });
    assert.equal(t.fail('a'), false);
    assert.equal(t.fail('a'), false);
    assert.equal(t.retryAfter('a'), 0);
    assert.equal(t.fail('a'), true, 'the failure that empties the bucket is reported once');
    assert.equal(t.retryAfter('a'), 10, 'one failure is forgiven every 10 s');
    assert.equal(t.retryAfter('b'), 0);
    clock.now += 9_000;
    assert.equal(t.retryAfter('a'), 1);
    clock.now += 1_000;
    assert.equal(t.retryAfter('a'), 0);
    clock.now += 60_000;
    assert.equal(t.size, 0, 'a refilled bucket is forgotten');
    const off = new AuthFailureThrottle({ burst: 0 });
    for (let i = 0; i < 100; i++) off.fail('a');
    assert.equal(off.retryAfter('a'), 0);
  });

  test('memory stays bounded under a flood of addresses', () => {
    const t = new AuthFailureThrottle({ burst: 5, maxClients: 1000, now: () => 0 });
    for (let i = 0; i < 20_000; i++) t.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.ok(t.size <= 1000, `size ${t.size}`);
  });
});

describe('the token is checked before the body is read', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig();
  });
  after(async () => rig.close());

  test('a write with an unknown token and a 4 MiB body announced: 401 before the body arrives, connection closed', async () => {
    const res = await partialBody(rig, '/v1/zones/example.com/records', random(), 4 * 1024 * 1024 - 1, 1024);
    assert.ok(res, 'no answer while the body was incomplete: the server waited to read it');
    assert.equal(res.status, 401);
    assert.equal(res.headers.connection, 'close');
  });

  test('no token at all, and an admin-only import: 401 before the body', async () => {
    const a = await partialBody(rig, '/v1/zones/example.com/records', undefined, 4 * 1024 * 1024 - 1, 10);
    assert.equal(a?.status, 401);
    const b = await partialBody(rig, '/v1/zones/example.com/import', random(), 4 * 1024 * 1024 - 1, 10);
    assert.equal(b?.status, 401);
  });

  test('gRPC: an unknown token is refused on the metadata, before a 4 MB message has arrived', async () => {
    const status = await new Promise<string | undefined>((resolve) => {
      const session = http2Connect(`https://127.0.0.1:${rig.grpcSrv.port}`, { ca: rig.tls.ca, servername: 'localhost' });
      session.on('error', () => resolve(undefined));
      const stream = session.request({ ':method': 'POST', ':path': '/mcns.v1.ZoneService/ImportZone', 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${random()}` });
      const deadline = setTimeout(() => {
        session.destroy();
        resolve(undefined);
      }, 5000);
      const done = (headers: Record<string, unknown>): void => {
        if (headers['grpc-status'] === undefined) return;
        clearTimeout(deadline);
        resolve(String(headers['grpc-status']));
        session.destroy();
      };
      stream.on('response', done);
      stream.on('trailers', done);
      stream.on('error', () => {});
      // A gRPC frame announcing a 4,000,000-byte message, of which 100 bytes are sent.
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(4_000_000, 1);
      stream.write(Buffer.concat([prefix, Buffer.alloc(100, 0x0a)]));
    });
    assert.equal(status, String(grpc.status.UNAUTHENTICATED), 'no status while the message was incomplete: the server waited to read it');
  });

  test('login (public) takes at most a small body', async () => {
    const r = await rig.post('/v1/auth/login', { username: 'alice', password: 'x'.repeat(100 * 1024) });
    assert.equal(r.status, 413);
    assert.equal(rig.mcias.loginCalls, 0);
  });

  test('a valid token still writes with a body', async () => {
    const alice = rig.mcias.tokenFor('alice');
    const r = await rig.post('/v1/zones', { name: 'example.com', primary_ns: 'ns1.example.com', admin_email: 'h@example.com' }, alice);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });
});

describe('an unknown token costs MCIAS one call', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ burst: 0 }); // no per-client limit: this is about the cache alone
  });
  after(async () => rig.close());

  test('the same unknown token 40 times (20 at once) on both surfaces: one MCIAS call, until the negative cache expires after 10 s', async () => {
    const bad = random();
    const before0 = rig.mcias.validateCalls;
    const burst = await Promise.all(Array.from({ length: 20 }, () => rig.get('/v1/zones', bad)));
    assert.ok(burst.every((r) => r.status === 401));
    for (let i = 0; i < 10; i++) assert.equal((await rig.get('/v1/zones', bad)).status, 401);
    for (let i = 0; i < 10; i++) assert.equal((await rig.rpc('ZoneService/ListZones', {}, bad)).code, grpc.status.UNAUTHENTICATED);
    assert.equal(rig.mcias.validateCalls - before0, 1);
    rig.clock.now += 10_001;
    assert.equal((await rig.get('/v1/zones', bad)).status, 401);
    assert.equal(rig.mcias.validateCalls - before0, 2, 'a refusal is cached briefly (10 s), not for the 30 s of a valid token');
  });
});

describe('failed authentications are limited per client address', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ burst: 20, perMinute: 10 });
  });
  after(async () => rig.close());

  test('random tokens: at most the burst reaches MCIAS, then 429 with Retry-After on REST and RESOURCE_EXHAUSTED on gRPC', async () => {
    const bob = rig.mcias.tokenFor('bob');
    assert.equal((await rig.get('/v1/zones', bob)).status, 200, 'bob signs in before the flood (cached)');
    const calls0 = rig.mcias.validateCalls;
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await rig.get('/v1/zones', random())).status);
    const codes: number[] = [];
    for (let i = 0; i < 30; i++) codes.push((await rig.rpc('ZoneService/ListZones', {}, random())).code);
    const calls = rig.mcias.validateCalls - calls0;
    assert.ok(calls <= 20, `random tokens drove ${calls} MCIAS calls`);
    assert.equal(statuses.filter((s) => s === 401).length, 20);
    assert.ok(statuses.slice(20).every((s) => s === 429), statuses.join(','));
    assert.ok(codes.every((c) => c === grpc.status.RESOURCE_EXHAUSTED), codes.join(','));
    const r = await rig.get('/v1/zones', random());
    assert.equal(r.status, 429);
    assert.match(String(r.headers['retry-after']), /^[1-9]\d*$/);
    assert.match(r.body.error, /too many failed authentications/);
    const g = await rig.rpc('ZoneService/ListZones', {}, random());
    assert.equal(g.trailer?.get('retry-after')[0] !== undefined, true);
    assert.ok(rig.metrics.authThrottled.get({ surface: 'rest' }) >= 41);
    assert.ok(rig.metrics.authThrottled.get({ surface: 'grpc' }) >= 30);
    assert.equal(rig.metrics.authFailures.get({ surface: 'rest' }), 20);
    // A token already known valid still works from the throttled address; the write path too.
    assert.equal((await rig.get('/v1/zones', bob)).status, 200);
    assert.equal((await rig.rpc('ZoneService/ListZones', {}, bob)).code, 0);
    // Login attempts are refused before MCIAS sees them.
    const logins0 = rig.mcias.loginCalls;
    assert.equal((await rig.post('/v1/auth/login', { username: 'alice', password: 'guess' })).status, 429);
    assert.equal((await rig.rpc('AuthService/Login', { username: 'alice', password: 'guess' })).code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(rig.mcias.loginCalls, logins0);
    // The bucket refills: after Retry-After seconds the client is served (and refused 401) again.
    rig.clock.now += Number(r.headers['retry-after']) * 1000;
    assert.equal((await rig.get('/v1/zones', random())).status, 401);
    assert.equal((await rig.get('/v1/zones', random())).status, 429);
  });

  test('a burst of concurrent random tokens cannot slip past the bucket: the budget is charged before MCIAS is asked', async () => {
    rig.clock.now += 3_600_000; // a fresh bucket
    const calls0 = rig.mcias.validateCalls;
    const rest = Promise.all(Array.from({ length: 150 }, () => rig.get('/v1/zones', random())));
    const grpcCalls = Promise.all(Array.from({ length: 50 }, () => rig.rpc('ZoneService/ListZones', {}, random())));
    const [statuses, codes] = await Promise.all([rest, grpcCalls]);
    const calls = rig.mcias.validateCalls - calls0;
    assert.ok(calls <= 20, `200 concurrent random tokens drove ${calls} MCIAS calls`);
    assert.equal(statuses.filter((s) => s.status === 401).length + codes.filter((c) => c.code === grpc.status.UNAUTHENTICATED).length, calls);
    assert.equal(statuses.filter((s) => s.status === 429).length + codes.filter((c) => c.code === grpc.status.RESOURCE_EXHAUSTED).length, 200 - calls);
  });

  test('password guessing through login is limited the same way', async () => {
    rig.clock.now += 3_600_000; // a fresh bucket
    const logins0 = rig.mcias.loginCalls;
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await rig.post('/v1/auth/login', { username: 'alice', password: `guess${i}` })).status);
    assert.equal(statuses.filter((s) => s === 401).length, 20);
    assert.ok(statuses.slice(20).every((s) => s === 429), statuses.join(','));
    assert.equal(rig.mcias.loginCalls - logins0, 20);
  });
});

describe('a caller without the role is refused before its body is read', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig();
  });
  after(async () => rig.close());

  test('a read-only user announcing a 4 MiB write body: 403 at once, connection closed', async () => {
    const bob = rig.mcias.tokenFor('bob');
    const r = await partialBody(rig, '/v1/zones/example.com/records', bob, 4 * 1024 * 1024 - 1, 10);
    assert.ok(r, 'no answer while the body was incomplete');
    assert.equal(r.status, 403);
    assert.equal(r.headers.connection, 'close');
    const g = await rig.rpc('RecordService/CreateRecord', { zone: 'example.com', name: 'x', type: 'TXT', value: `"${'y'.repeat(200)}"` }, bob);
    assert.equal(g.code, grpc.status.PERMISSION_DENIED);
  });
});
