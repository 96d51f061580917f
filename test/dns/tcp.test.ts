/** TCP transport (RFC 7766): framing, pipelining, partial reads, idle timeout, connection cap, drain on close. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { buildQuery, fixtureLedger, fixtureServer, flatten, tcpExchange, udpExchange } from './helpers.ts';
import { startDns } from '../../src/dns/server.ts';

let srv: Awaited<ReturnType<typeof fixtureServer>>;
before(async () => {
  srv = await fixtureServer({ tcpIdleMs: 300, maxTcpConnections: 3, maxTcpPerClient: 3 });
});
after(async () => {
  await srv.close();
});

test('UDP and TCP share the port', () => {
  assert.equal(srv.server.addresses[0].udp.port, srv.server.addresses[0].tcp.port);
});

test('pipelined queries on one connection, each answered', async () => {
  const names = ['www.dns.test.', 'mail.dns.test.', 'nothere.dns.test.', 'foo.wild.dns.test.', 'host.sub.dns.test.'];
  const msgs = names.map((name, i) => buildQuery({ name, id: 100 + i }));
  const replies = (await tcpExchange(srv.port, msgs)).map(flatten);
  assert.deepEqual(replies.map((r) => r.id).sort(), [100, 101, 102, 103, 104]);
  const byId = new Map(replies.map((r) => [r.id, r.rcode]));
  assert.equal(byId.get(102), 'NXDOMAIN');
  assert.equal(byId.get(100), 'NOERROR');
});

test('partial reads: a query written one byte at a time', async () => {
  const q = buildQuery({ name: 'www.dns.test.', id: 9 });
  const frame = Buffer.alloc(q.length + 2);
  frame.writeUInt16BE(q.length);
  q.copy(frame, 2);
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.destroy();
        resolve(buf.subarray(2));
      }
    });
    s.on('error', reject);
    s.on('connect', async () => {
      for (const b of frame) {
        s.write(Buffer.from([b]));
        await new Promise((r) => setTimeout(r, 2));
      }
    });
  });
  assert.equal(flatten(reply).answer.length, 2);
});

test('a malformed message on a connection gets FORMERR and the next one is answered', async () => {
  const bad = buildQuery({ name: 'www.dns.test.', id: 5 });
  bad.writeUInt16BE(2, 4); // claims two questions
  const good = buildQuery({ name: 'www.dns.test.', id: 6 });
  const replies = (await tcpExchange(srv.port, [bad, good])).map(flatten);
  assert.deepEqual(replies.map((r) => `${r.id} ${r.rcode}`).sort(), ['5 FORMERR', '6 NOERROR']);
});

test('idle connections are closed after tcpIdleMs', async () => {
  const closedAfter = await new Promise<number>((resolve) => {
    const t0 = Date.now();
    const s = net.connect(srv.port, '127.0.0.1');
    s.on('close', () => resolve(Date.now() - t0));
    s.on('error', () => undefined);
  });
  assert.ok(closedAfter >= 250 && closedAfter < 2000, `closed after ${closedAfter} ms`);
});

test('connections over the per-client cap are closed at once; the others keep working', async () => {
  const open: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => s.on('connect', r));
    open.push(s);
  }
  await new Promise((r) => setTimeout(r, 30));
  const extra = net.connect(srv.port, '127.0.0.1');
  const closed = await new Promise<boolean>((resolve) => {
    extra.on('close', () => resolve(true));
    extra.on('error', () => undefined);
    setTimeout(() => resolve(false), 200);
  });
  assert.equal(closed, true);
  for (const s of open) s.destroy();
  await new Promise((r) => setTimeout(r, 50));
  const r = await tcpExchange(srv.port, [buildQuery({ name: 'www.dns.test.' })]);
  assert.equal(flatten(r[0]).rcode, 'NOERROR');
});

test('close() lets an in-flight TCP answer finish', async () => {
  const { ledger, cleanup } = fixtureLedger();
  let received!: () => void;
  const inFlight = new Promise<void>((r) => (received = r));
  const server = await startDns({
    ledger,
    listen: ['127.0.0.1:0'],
    handlers: {
      4: (q) =>
        new Promise((resolve) => {
          received();
          setTimeout(() => {
            const b = Buffer.alloc(12);
            b.writeUInt16BE(q.id, 0);
            b.writeUInt16BE(0x8000 | (4 << 11), 2);
            resolve(b);
          }, 150);
        }),
    },
  });
  const port = server.addresses[0].tcp.port;
  const pending = tcpExchange(port, [buildQuery({ name: 'dns.test.', type: 6, opcode: 4, id: 31 })]);
  // Close once the query is in flight, not after a fixed sleep: a busy machine may accept it later.
  await inFlight;
  const closing = server.close();
  const [reply] = await pending;
  await closing;
  cleanup();
  assert.equal(flatten(reply).id, 31);
  await assert.rejects(udpExchange(port, buildQuery({ name: 'www.dns.test.' }), 200));
});

test('IPv6 loopback listener', async (t) => {
  const { ledger, cleanup } = fixtureLedger();
  let server;
  try {
    server = await startDns({ ledger, listen: ['[::1]:0'] });
  } catch (err) {
    cleanup();
    if (process.env.CI === 'true') throw err;
    t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
    return;
  }
  try {
    const port = server.addresses[0].udp.port;
    const u = flatten(await udpExchange(port, buildQuery({ name: 'www.dns.test.' }), 2000, '::1'));
    assert.equal(u.answer.length, 2);
    const [tr] = await tcpExchange(port, [buildQuery({ name: 'www.dns.test.' })], 1, 2000, '::1');
    assert.equal(flatten(tr).answer.length, 2);
  } finally {
    await server.close();
    cleanup();
  }
});
