/**
 * TCP slot keeping against slow-loris clients (src/dns/tcp-guard.ts): connections that trickle a
 * byte now and then must not hold every slot. Reproduces the attack from loopback: tricklers from
 * 127.0.0.1 (and from several 127.0.0.x addresses), then a query from another loopback address
 * (all of 127.0.0.0/8 is local on Linux) that must still be answered over TCP; a trickle is closed
 * at the message deadline though its bytes keep coming; a pipelining client and a large AXFR to a
 * slow reader are not.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import pino from 'pino';
import { buildQuery, fixtureServer, flatten } from './helpers.ts';
import { createMetrics } from '../../src/metrics.ts';
import { startDns } from '../../src/dns/server.ts';
import { clientKey } from '../../src/dns/tcp-guard.ts';
import { createTransferHandlers } from '../../src/dns/transfer/index.ts';
import { testLedger } from '../helpers/ledger.ts';

/** Polls `cond` every 10 ms until it holds; fails after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A slow-loris connection: announces a 40-byte message, then sends one byte of it every `everyMs`. */
interface Trickler {
  socket: net.Socket;
  from: string;
  closed: boolean;
  /** ms from the first byte to the close, once closed. */
  heldMs?: number;
}

function trickle(port: number, from: string, everyMs: number): Trickler {
  const t: Trickler = { socket: net.connect({ host: '127.0.0.1', port, localAddress: from }), from, closed: false };
  let started = 0;
  let timer: NodeJS.Timeout | undefined;
  t.socket.on('connect', () => {
    started = Date.now();
    t.socket.write(Buffer.from([0, 40]));
    timer = setInterval(() => t.socket.write(Buffer.from([0x41])), everyMs);
  });
  t.socket.on('error', () => undefined);
  t.socket.on('close', () => {
    clearInterval(timer);
    t.closed = true;
    t.heldMs = started > 0 ? Date.now() - started : 0;
  });
  return t;
}

/** An idle connection: connects and sends nothing. */
function idler(port: number, from: string): Trickler {
  const t: Trickler = { socket: net.connect({ host: '127.0.0.1', port, localAddress: from }), from, closed: false };
  t.socket.on('error', () => undefined);
  t.socket.on('close', () => (t.closed = true));
  return t;
}

/** One TCP query from `from`; resolves with the reply or rejects when the connection closes without one. */
function tcpQueryFrom(port: number, from: string, id = 77): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const q = buildQuery({ name: 'www.dns.test.', id });
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no TCP answer for ${from} within 5 s`));
    }, 5000);
    s.on('connect', () => {
      const f = Buffer.alloc(2 + q.length);
      f.writeUInt16BE(q.length);
      q.copy(f, 2);
      s.write(f);
    });
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`the server closed the TCP connection from ${from} without an answer`));
    });
  });
}

/** A pino logger writing parsed lines into `lines`. */
function captureLogger(lines: Array<{ level: number; msg: string; [k: string]: unknown }>): pino.Logger {
  const out = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return pino({ level: 'debug' }, out);
}

const everyone: Trickler[] = [];
after(() => {
  for (const t of everyone) t.socket.destroy();
});

test('1,000 trickling connections from 127.0.0.1 get 5 slots; 127.0.0.2 is still answered over TCP', async () => {
  const metrics = createMetrics();
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  // Deadlines far away: this test shows the per-client cap alone keeps the table open.
  const srv = await fixtureServer({ metrics, logger: captureLogger(lines), maxTcpConnections: 100, maxTcpPerClient: 5, tcpMessageMs: 60_000, tcpIdleMs: 60_000 });
  try {
    const tricklers: Trickler[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = trickle(srv.port, '127.0.0.1', 1000);
      tricklers.push(t);
      everyone.push(t);
      // Connect in waves so the listen backlog does not overflow.
      if (i % 100 === 99) await until(() => tricklers.filter((x) => x.closed || x.socket.readyState === 'open').length === i + 1, 10_000, 'the wave to connect');
    }
    await until(() => tricklers.filter((t) => t.closed).length >= 995, 20_000, 'every trickler over the per-client cap to be closed');
    assert.equal(tricklers.filter((t) => !t.closed).length, 5, 'one client holds tcp_max_per_client slots');
    const reply = flatten(await tcpQueryFrom(srv.port, '127.0.0.2'));
    assert.equal(reply.rcode, 'NOERROR');
    assert.equal(reply.answer.length, 2);
    assert.equal(metrics.dnsTcpClosed.get({ reason: 'per_client_limit' }), 995);
    // The answered connection is given up once its close reaches the server.
    await until(() => metrics.dnsTcpOpen.value === 5, 5000, 'the query connection to be released');
    assert.match(await metrics.registry.render(), /mcns_dns_tcp_connections 5\n/);
    const warn = lines.filter((l) => l.level === 40 && /tcp_max_per_client/.test(l.msg));
    assert.ok(warn.length >= 1 && warn.length <= 2, `throttled log lines, got ${warn.length}`);
    assert.deepEqual(warn[0].clients, ['127.0.0.1']);
    for (const t of tricklers) t.socket.destroy();
  } finally {
    await srv.close();
  }
});

test('when many addresses fill the table with tricklers, a newcomer takes a slot from the largest holder', async () => {
  const metrics = createMetrics();
  const srv = await fixtureServer({ metrics, maxTcpConnections: 20, maxTcpPerClient: 5, tcpMessageMs: 60_000, tcpIdleMs: 60_000 });
  try {
    const tricklers: Trickler[] = [];
    for (const host of ['127.0.0.11', '127.0.0.12', '127.0.0.13']) {
      for (let i = 0; i < 5; i++) tricklers.push(trickle(srv.port, host, 1000));
    }
    for (let i = 0; i < 4; i++) tricklers.push(trickle(srv.port, '127.0.0.14', 1000));
    everyone.push(...tricklers);
    // 19 held; one more from a fifth address fills the table.
    tricklers.push(trickle(srv.port, '127.0.0.15', 1000));
    everyone.push(tricklers[tricklers.length - 1]);
    // Each trickler is connected and has sent part of a message (none is idle), filling the table.
    await until(() => tricklers.every((t) => !t.closed && t.socket.bytesWritten >= 3), 10_000, 'every trickler to start its message');
    const reply = flatten(await tcpQueryFrom(srv.port, '127.0.0.2'));
    assert.equal(reply.answer.length, 2);
    assert.equal(metrics.dnsTcpClosed.get({ reason: 'evicted' }), 1);
    // The slot came from a client holding 5, not from the one holding 1.
    await until(() => tricklers.some((t) => t.closed), 5000, 'the evicted trickler to close');
    const closed = tricklers.filter((t) => t.closed).map((t) => t.from);
    assert.equal(closed.length, 1);
    assert.match(String(closed[0]), /^127\.0\.0\.1[123]$/);
    assert.equal(tricklers[tricklers.length - 1].closed, false);
  } finally {
    await srv.close();
  }
});

test('when one trickler per address fills the table (no hog), a newcomer takes the slot of the one waiting longest', async () => {
  const metrics = createMetrics();
  const srv = await fixtureServer({ metrics, maxTcpConnections: 10, maxTcpPerClient: 5, tcpMessageMs: 60_000, tcpIdleMs: 60_000 });
  try {
    const tricklers: Trickler[] = [];
    for (let i = 0; i < 10; i++) {
      const t = trickle(srv.port, `127.0.0.${60 + i}`, 1000);
      tricklers.push(t);
      everyone.push(t);
      // In order, each with its first bytes read before the next connects.
      await new Promise((r) => t.socket.once('connect', r));
      await until(() => metrics.dnsTcpOpen.value === i + 1, 5000, 'the trickler to be held');
    }
    await until(() => tricklers.every((t) => !t.closed && t.socket.bytesWritten >= 3), 10_000, 'every trickler to be mid-message');
    const reply = flatten(await tcpQueryFrom(srv.port, '127.0.0.4'));
    assert.equal(reply.answer.length, 2);
    await until(() => tricklers[0].closed, 5000, 'the trickler waiting longest to be closed');
    assert.equal(tricklers.filter((t) => t.closed).length, 1);
    assert.equal(metrics.dnsTcpClosed.get({ reason: 'evicted' }), 1);
  } finally {
    await srv.close();
  }
});

test('when idle connections fill the table, a newcomer takes the slot of the one idle longest', async () => {
  const metrics = createMetrics();
  const srv = await fixtureServer({ metrics, maxTcpConnections: 8, maxTcpPerClient: 2, tcpIdleMs: 60_000 });
  try {
    const idle: Trickler[] = [];
    for (let i = 0; i < 8; i++) {
      const t = idler(srv.port, `127.0.0.${40 + i}`);
      idle.push(t);
      // One at a time, so they are accepted in this order (the first is the idlest).
      await new Promise((r) => t.socket.once('connect', r));
    }
    everyone.push(...idle);
    const reply = flatten(await tcpQueryFrom(srv.port, '127.0.0.3'));
    assert.equal(reply.answer.length, 2);
    await until(() => idle[0].closed, 5000, 'the first (idlest) connection to be closed');
    assert.deepEqual(
      idle.map((t) => t.closed),
      [true, false, false, false, false, false, false, false],
    );
    assert.equal(metrics.dnsTcpClosed.get({ reason: 'evicted' }), 1);
  } finally {
    await srv.close();
  }
});

test('a trickle is closed at the message deadline although its bytes keep coming', async () => {
  const metrics = createMetrics();
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const srv = await fixtureServer({ metrics, logger: captureLogger(lines), tcpMessageMs: 500, tcpIdleMs: 10_000 });
  try {
    const t = trickle(srv.port, '127.0.0.1', 100);
    everyone.push(t);
    await until(() => t.closed, 3000, 'the trickling connection to be closed');
    assert.ok(t.heldMs! >= 450 && t.heldMs! < 2000, `held ${t.heldMs} ms with a 500 ms deadline`);
    assert.equal(metrics.dnsTcpClosed.get({ reason: 'message_timeout' }), 1);
    assert.ok(lines.some((l) => l.level === 40 && /tcp_message_timeout/.test(l.msg) && (l.clients as string[])[0] === '127.0.0.1'));
    // The listener is fine afterwards.
    assert.equal(flatten(await tcpQueryFrom(srv.port, '127.0.0.1')).answer.length, 2);
    // A client that sends one query first (in two pieces, so its deadline is armed and then
    // disarmed), then starts trickling the next, is closed too.
    const late = await new Promise<{ answered: boolean; heldMs: number }>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: srv.port, noDelay: true });
      const q = buildQuery({ name: 'www.dns.test.', id: 9 });
      let answered = false;
      let started = 0;
      let timer: NodeJS.Timeout | undefined;
      s.on('connect', () => {
        const f = Buffer.alloc(2 + q.length);
        f.writeUInt16BE(q.length);
        q.copy(f, 2);
        s.write(f.subarray(0, 10));
        setTimeout(() => s.write(f.subarray(10)), 100);
      });
      s.once('data', () => {
        answered = true;
        started = Date.now();
        s.write(Buffer.from([0, 40]));
        timer = setInterval(() => s.write(Buffer.from([0x41])), 100);
      });
      // Not closed by the server within 3 s: give up (the assertion below fails).
      const giveUp = setTimeout(() => s.destroy(), 3000);
      s.on('error', () => undefined);
      s.on('close', () => {
        clearInterval(timer);
        clearTimeout(giveUp);
        resolve({ answered, heldMs: Date.now() - started });
      });
    });
    assert.equal(late.answered, true);
    assert.ok(late.heldMs >= 450 && late.heldMs < 2000, `second message held ${late.heldMs} ms with a 500 ms deadline`);
    assert.equal(metrics.dnsTcpClosed.get({ reason: 'message_timeout' }), 2);
  } finally {
    await srv.close();
  }
});

test('a client pipelining for longer than the deadline, its messages split across reads, keeps its connection', async () => {
  const srv = await fixtureServer({ tcpMessageMs: 300 });
  try {
    const frames = Buffer.concat(
      Array.from({ length: 60 }, (_, i) => {
        const q = buildQuery({ name: 'www.dns.test.', id: 1000 + i });
        const f = Buffer.alloc(2 + q.length);
        f.writeUInt16BE(q.length);
        q.copy(f, 2);
        return f;
      }),
    );
    const started = Date.now();
    const ids = await new Promise<number[]>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: srv.port, noDelay: true });
      const got: number[] = [];
      let buf = Buffer.alloc(0);
      s.on('data', (c) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(buf.readUInt16BE(2));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length === 60) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('close', () => reject(new Error(`closed after ${got.length} answers`)));
      s.on('error', () => undefined);
      s.on('connect', async () => {
        // Pieces shorter than a message: most reads end inside one.
        for (let p = 0; p < frames.length; p += 29) {
          s.write(frames.subarray(p, p + 29));
          await new Promise((r) => setTimeout(r, 15));
        }
      });
    });
    assert.equal(ids.length, 60);
    assert.ok(Date.now() - started > 300, 'the stream outlasted one deadline');
  } finally {
    await srv.close();
  }
});

let xfr: { port: number; close: () => Promise<void> } | undefined;
before(async () => {
  const env = testLedger();
  const records = [];
  for (let i = 0; i < 20_000; i++) records.push({ name: `h${i}.big.test.`, type: 'TXT' as const, value: `"record ${i} of a zone that takes many messages"`, ttl: 300 });
  records.push({ name: 'big.test.', type: 'NS' as const, value: 'ns1.big.test.', ttl: 3600 });
  env.ledger.execute({ kind: 'createZone', zone: 'big.test', soa: { primary_ns: 'ns1.big.test.', admin_email: 'hostmaster.big.test.' }, records }, { actor: 'test' });
  const handlers = createTransferHandlers({ ledger: env.ledger, config: { allow_from: ['127.0.0.0/8'], allow_keys: [], notify: [], keys: {} } });
  const server = await startDns({ ledger: env.ledger, listen: ['127.0.0.1:0'], handlers: handlers.handlers, transfer: handlers.transfer, tcpMessageMs: 100, tcpIdleMs: 5000 });
  xfr = {
    port: server.addresses[0].tcp.port,
    close: async () => {
      await server.close();
      handlers.close();
      env.cleanup();
    },
  };
});
after(async () => {
  await xfr?.close();
});

test('an AXFR of a large zone to a slow reader is not cut by the message deadline (it is for incoming messages)', async () => {
  const port = xfr!.port;
  const q = dnsPacket.encode({ type: 'query', id: 5, questions: [{ type: 'AXFR', name: 'big.test' }] });
  const { records, bytes } = await new Promise<{ records: number; bytes: number }>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let records = 0;
    let soas = 0;
    let bytes = 0;
    s.on('connect', () => {
      const f = Buffer.alloc(2 + q.length);
      f.writeUInt16BE(q.length);
      q.copy(f, 2);
      s.write(f);
    });
    s.on('data', (c) => {
      bytes += c.length;
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        records += m.answers?.length ?? 0;
        soas += (m.answers ?? []).filter((a) => a.type === 'SOA').length;
      }
      if (soas === 2) {
        s.destroy();
        resolve({ records, bytes });
        return;
      }
      // A slow reader: each read is followed by a pause longer than the message deadline.
      s.pause();
      setTimeout(() => s.resume(), 150);
    });
    s.on('error', () => undefined);
    s.on('close', () => reject(new Error(`closed after ${records} records, ${bytes} bytes`)));
  });
  assert.equal(records, 20_000 + 1 + 2, 'every TXT, the NS and the opening and closing SOA');
  assert.ok(bytes > 1_000_000, `a transfer of many messages (${bytes} bytes)`);
});

test('a client is an IPv4 address (IPv4-mapped too) or an IPv6 /64', () => {
  assert.equal(clientKey('192.0.2.1'), '192.0.2.1');
  assert.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(clientKey('2001:db8:1:2:3::1'), clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'));
  assert.equal(clientKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.notEqual(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'));
  assert.equal(clientKey('::1'), '::/64');
  assert.equal(clientKey('fe80::1%eth0'), 'fe80::/64');
});
