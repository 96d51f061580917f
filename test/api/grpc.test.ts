/**
 * gRPC-specific behaviour: TLS 1.3 only, server reflection (list the services and call Health with
 * no proto files), WatchEvents streaming history then live appends, deny-by-default for methods
 * missing from the authorization map, and If-Match through metadata.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { GRPC_METHODS, loadProtos, startGrpc } from '../../src/api/grpc.ts';
import { handshake, seedZone, startHarness, type Harness } from './harness.ts';

const require = createRequire(import.meta.url);
const reflectionProto = (version: string): string => join(dirname(require.resolve('@grpc/reflection')), `../proto/grpc/reflection/${version}/reflection.proto`);

/** Wrap serialized FileDescriptorProtos into one FileDescriptorSet (field 1, repeated). */
function descriptorSet(files: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const len: number[] = [];
    let n = f.length;
    while (n > 0x7f) {
      len.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    len.push(n);
    parts.push(Buffer.from([0x0a, ...len]), f);
  }
  return Buffer.concat(parts);
}

describe('gRPC surface', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await seedZone(h, 'example.com');
  });
  after(async () => h.close());

  test('TLS 1.3 only: a TLS 1.2 client is refused', async () => {
    assert.equal(await handshake(h.grpcPort, h.tls.ca, 'TLSv1.3', ['h2']), 'TLSv1.3');
    assert.match(await handshake(h.grpcPort, h.tls.ca, 'TLSv1.2', ['h2']), /^error/);
  });

  // Both versions (src/api/grpc-reflection.ts registers them at start and analyses the package at the first call).
  for (const version of ['v1', 'v1alpha']) test(`reflection (${version}) lists the services, and Health is called from reflected descriptors alone`, async () => {
    const reflPkg = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto(version), { keepCase: true })) as any;
    const creds = grpc.credentials.createSsl(h.tls.ca);
    const target = `127.0.0.1:${h.grpcPort}`;
    const options = { 'grpc.ssl_target_name_override': 'localhost' };
    const refl = new reflPkg.grpc.reflection[version].ServerReflection(target, creds, options);
    const ask = (req: object): Promise<any> =>
      new Promise((resolve, reject) => {
        const call = refl.ServerReflectionInfo();
        call.on('data', (d: unknown) => {
          resolve(d);
          call.end();
        });
        call.on('error', reject);
        call.write(req);
      });
    try {
      const list = await ask({ list_services: '' });
      const names = list.list_services_response.service.map((s: { name: string }) => s.name).sort();
      for (const s of ['mcns.v1.AdminService', 'mcns.v1.AuthService', 'mcns.v1.RecordService', 'mcns.v1.ZoneService']) assert.ok(names.includes(s), `${s} in ${names}`);
      const files = await ask({ file_containing_symbol: 'mcns.v1.AdminService' });
      const set = descriptorSet(files.file_descriptor_response.file_descriptor_proto);
      const pkg = grpc.loadPackageDefinition(protoLoader.loadFileDescriptorSetFromBuffer(set, { keepCase: true })) as any;
      const admin = new pkg.mcns.v1.AdminService(target, creds, options);
      const res = await new Promise<any>((resolve, reject) => admin.Health({}, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))));
      assert.equal(res.status, 'ok');
      admin.close();
    } finally {
      refl.close();
    }
  });

  test('WatchEvents streams the log from `after`, then live appends', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${h.tokens.alice}`);
    const start = h.ledger.state.seq;
    const call = h.client('AdminService').WatchEvents({ after: start - 1 }, md);
    const seen: any[] = [];
    const isLive = (x: any): boolean => x.event === 'RecordCreated' && JSON.parse(x.payload_json).name === 'live.example.com.';
    let backlogDelivered!: () => void;
    const streaming = new Promise<void>((r) => (backlogDelivered = r));
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (e: any) => {
        seen.push(e);
        backlogDelivered();
        if (seen.some(isLive)) resolve();
      });
      call.on('error', (err: grpc.ServiceError) => (err.code === grpc.status.CANCELLED ? undefined : reject(err)));
    });
    // The stream is live once the event at `start` (already in the log) has arrived: the record
    // created next is then a live append, not part of the replayed backlog.
    await Promise.race([streaming, done]); // done rejects on a stream error
    const w = await h.rest('POST', '/v1/zones/example.com/records', { token: h.tokens['mcp-agent'], body: { name: 'live', type: 'A', value: '192.0.2.99' } });
    assert.equal(w.status, 201);
    await done;
    call.cancel();
    assert.equal(seen[0].seq, start);
    const created = seen.find(isLive);
    assert.equal(created.actor, 'mcp-agent');
    assert.equal(JSON.parse(created.payload_json).name, 'live.example.com.');
    assert.match(created.hash, /^[0-9a-f]{64}$/);
  });

  test('a method missing from the authorization map is denied, even to an admin', async () => {
    const map = { ...GRPC_METHODS };
    delete (map as Record<string, string>)['/mcns.v1.ZoneService/ListZones'];
    const srv = await startGrpc({ ledger: h.ledger, tls: { cert: h.tls.cert, key: h.tls.key }, listen: '127.0.0.1:0', auth: h.auth, methodMap: map });
    try {
      const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(['mcns/v1/zone.proto'], { keepCase: true, includeDirs: [join(import.meta.dirname, '../../proto')] })) as any;
      const c = new pkg.mcns.v1.ZoneService(`127.0.0.1:${srv.port}`, grpc.credentials.createSsl(h.tls.ca), { 'grpc.ssl_target_name_override': 'localhost' });
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${h.tokens.alice}`);
      const call = (m: string, req: object): Promise<number> => new Promise((resolve) => c[m](req, md, (err: grpc.ServiceError | null) => resolve(err ? err.code : 0)));
      assert.equal(await call('ListZones', {}), grpc.status.PERMISSION_DENIED);
      assert.equal(await call('GetZone', { zone: 'example.com' }), grpc.status.OK);
      c.close();
    } finally {
      await srv.close();
    }
  });

  test('one log line per call, with actor and outcome, and never the token', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    const srv = await startGrpc({ ledger: h.ledger, tls: { cert: h.tls.cert, key: h.tls.key }, listen: '127.0.0.1:0', auth: h.auth, logger: pino(sink) });
    try {
      const pkg = grpc.loadPackageDefinition(loadProtos()) as any;
      const c = new pkg.mcns.v1.ZoneService(`127.0.0.1:${srv.port}`, grpc.credentials.createSsl(h.tls.ca), { 'grpc.ssl_target_name_override': 'localhost' });
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${h.tokens.bob}`);
      await new Promise((resolve) => c.ListZones({}, md, resolve));
      await new Promise((resolve) => c.DeleteZone({ zone: 'example.com' }, md, resolve));
      c.close();
      const calls = lines.filter((l) => l.surface === 'grpc');
      assert.deepEqual(calls.map((l) => [l.method, l.actor, l.code]), [['/mcns.v1.ZoneService/ListZones', 'bob', 'OK'], ['/mcns.v1.ZoneService/DeleteZone', 'bob', 'PERMISSION_DENIED']]);
      assert.ok(!JSON.stringify(lines).includes(h.tokens.bob));
    } finally {
      await srv.close();
    }
  });

  test('If-Match through metadata: current serial passes, stale is FAILED_PRECONDITION', async () => {
    const serial = h.ledger.zone('example.com.')!.serial;
    const ok = await h.grpc('RecordService', 'CreateRecord', { zone: 'example.com', name: 'if1', type: 'A', value: '192.0.2.1' }, { token: h.tokens.alice, ifMatch: serial });
    assert.equal(ok.code, 0, ok.details);
    const stale = await h.grpc('RecordService', 'CreateRecord', { zone: 'example.com', name: 'if2', type: 'A', value: '192.0.2.1' }, { token: h.tokens.alice, ifMatch: serial });
    assert.equal(stale.code, grpc.status.FAILED_PRECONDITION);
  });

  test('history payloads travel as JSON text and numbers stay numbers', async () => {
    const r = await h.grpc('ZoneService', 'ZoneHistory', { zone: 'example.com', limit: 2 }, { token: h.tokens.bob });
    assert.equal(r.code, 0, r.details);
    assert.equal(r.body.entries.length, 2);
    assert.equal(typeof r.body.entries[0].seq, 'number');
    assert.equal(JSON.parse(r.body.entries[0].payload_json).primary_ns, 'ns1.example.com.');
    assert.equal(r.body.next_cursor, 2);
  });
});
