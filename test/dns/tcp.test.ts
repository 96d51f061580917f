/** TCP transport (RFC 7766): framing, pipelining, partial reads, idle timeout, connection cap, drain on close. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { buildQuery, fixtureLedger, fixtureServer, flatten, tcpExchange, udpExchange } from './helpers.ts';
import { startDns } from '../../src/dns/server.ts';
import { nextTurn, waitFor } from '../helpers/wait.ts';

/**
 * One query on an open connection: resolves with the reply, rejects if the server closes the
 * connection first. A reply proves the server has accepted and registered the connection.
 */
function queryOn(s: net.Socket, id: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.off('data', onData);
        s.off('close', onClose);
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    };
    const onClose = (): void => reject(new Error('closed by the server before a reply'));
    s.on('data', onData);
    s.once('close', onClose);
    s.on('error', () => undefined);
    const q = buildQuery({ name: 'www.dns.test.', id });
    const f = Buffer.alloc(2 + q.length);
    f.writeUInt16BE(q.length, 0);
    q.copy(f, 2);
    s.write(f);
  });
}

/** A new connection to `port` once connected. */
async function connected(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  return s;
}

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
      // One byte per write, each flushed to the kernel and followed by a turn of the event loop, so
      // the server (in this process) reads the frame in pieces.
      for (const b of frame) {
        await new Promise((r) => s.write(Buffer.from([b]), r));
        await nextTurn();
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
  // Its own server with a long idle timeout: the shared one's 300 ms could free a slot on a slow machine.
  const capped = await fixtureServer({ tcpIdleMs: 30_000, maxTcpConnections: 3, maxTcpPerClient: 3 });
  try {
    await capTest(capped.port);
  } finally {
    await capped.close();
  }
});

async function capTest(port: number): Promise<void> {
  const open: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await connected(port);
    // Answered: the server holds this connection (a connect alone may not have been accepted yet).
    assert.equal(flatten(await queryOn(s, 40 + i)).rcode, 'NOERROR');
    open.push(s);
  }
  const extra = await connected(port);
  await assert.rejects(queryOn(extra, 49), /closed by the server/, 'the fourth connection is closed unanswered');
  for (const s of open) s.destroy();
  // The server frees the slots when it sees the closes: a new connection is answered again.
  const reply = await waitFor(
    async () => {
      const s = await connected(port);
      try {
        return await queryOn(s, 50);
      } finally {
        s.destroy();
      }
    },
    { what: 'a connection to be answered after the others closed', timeoutMs: 5000 },
  );
  assert.equal(flatten(reply).rcode, 'NOERROR');
}

test('close() lets an in-flight TCP answer finish', async () => {
  const { ledger, cleanup } = fixtureLedger();
  let received!: () => void;
  const inFlight = new Promise<void>((r) => (received = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = await startDns({
    ledger,
    listen: ['127.0.0.1:0'],
    handlers: {
      // Answers only when the test releases it, after close() has been called.
      4: async (q) => {
        received();
        await released;
        const b = Buffer.alloc(12);
        b.writeUInt16BE(q.id, 0);
        b.writeUInt16BE(0x8000 | (4 << 11), 2);
        return b;
      },
    },
  });
  const port = server.addresses[0].tcp.port;
  const pending = tcpExchange(port, [buildQuery({ name: 'dns.test.', type: 6, opcode: 4, id: 31 })]);
  // Close once the query is in flight, not after a fixed sleep: a busy machine may accept it later.
  await inFlight;
  const closing = server.close();
  release();
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
