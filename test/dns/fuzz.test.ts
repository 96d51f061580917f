/**
 * Fuzz: 100,000+ random and mutated packets over UDP and TCP (truncations, bad lengths, compression
 * loops, huge counts, random bytes). The server must stay up, answer well-formed queries correctly
 * afterwards, and keep its heap flat.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { ask, buildQuery, fixtureServer } from './helpers.ts';
import { nextTurn, waitFor } from '../helpers/wait.ts';

/** Deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  buildQuery({ name: 'www.dns.test.' }),
  buildQuery({ name: 'foo.wild.dns.test.', type: 15, edns: { size: 4096, do: true } }),
  buildQuery({ name: 'host.sub.dns.test.', edns: {} }),
  buildQuery({ name: 'nothere.dns.test.', type: 255 }),
  buildQuery({ name: 'big.dns.test.', type: 16 }),
  buildQuery({ name: 'example.org.' }),
];

/** One hostile packet. */
function mutate(r: () => number): Buffer {
  const int = (n: number) => Math.floor(r() * n);
  const base = Buffer.from(SEEDS[int(SEEDS.length)]);
  switch (int(8)) {
    case 0: // random bytes
      return Buffer.from(Array.from({ length: int(600) }, () => int(256)));
    case 1: // truncated
      return base.subarray(0, int(base.length));
    case 2: {
      // flipped bytes
      for (let i = 0, n = 1 + int(6); i < n; i++) base[int(base.length)] = int(256);
      return base;
    }
    case 3: {
      // huge counts
      base.writeUInt16BE(int(65536), 4 + 2 * int(4));
      return base;
    }
    case 4: {
      // a compression loop in the question name (pointer to itself or to the header)
      const b = Buffer.alloc(18);
      base.copy(b, 0, 0, 12);
      b.writeUInt16BE(1, 4);
      b.writeUInt16BE(0, 6);
      b.writeUInt16BE(0, 8);
      b.writeUInt16BE(0, 10);
      b[12] = 0xc0;
      b[13] = int(2) ? 12 : int(14);
      b.writeUInt16BE(1, 14);
      b.writeUInt16BE(1, 16);
      return b;
    }
    case 5: {
      // a bad label length / label type
      base[12 + int(Math.max(1, base.length - 16))] = [0x40, 0x80, 0x3f, 0xff][int(4)];
      return base;
    }
    case 6: // trailing junk
      return Buffer.concat([base, Buffer.from(Array.from({ length: 1 + int(40) }, () => int(256)))]);
    default: {
      // a bad OPT: random rdata length
      const q = buildQuery({ name: 'www.dns.test.', edns: {} });
      q.writeUInt16BE(int(65536), q.length - 2);
      return q;
    }
  }
}

let srv: Awaited<ReturnType<typeof fixtureServer>>;
before(async () => {
  srv = await fixtureServer();
});
after(async () => {
  await srv.close();
});

async function sanity(): Promise<void> {
  const r = await ask(srv.port, { name: 'www.dns.test.' });
  assert.deepEqual(r.answer.sort(), ['www.dns.test. 3600 IN A 192.0.2.80', 'www.dns.test. 3600 IN A 192.0.2.81']);
  const n = await ask(srv.port, { name: 'nothere.dns.test.' }, 'tcp');
  assert.equal(n.rcode, 'NXDOMAIN');
  const w = await ask(srv.port, { name: 'x.wild.dns.test.', edns: { size: 1232 } });
  assert.deepEqual(w.answer, ['x.wild.dns.test. 3600 IN A 192.0.2.100']);
}

test('fuzz: 100,000 hostile packets over UDP and TCP; server up, correct, heap flat', { timeout: 120_000 }, async () => {
  const r = rng(0xdecaf);
  await sanity();
  const gcFn = (globalThis as { gc?: () => void }).gc;
  gcFn?.();
  const heapBefore = process.memoryUsage().heapUsed;

  // UDP: 80,000 packets in paced bursts (the kernel drops what a burst overflows, which is fine).
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  let replies = 0;
  sock.on('message', () => replies++);
  const UDP_N = 80_000;
  for (let i = 0; i < UDP_N; i += 200) {
    for (let j = 0; j < 200; j++) sock.send(mutate(r), srv.port, '127.0.0.1');
    await new Promise((res) => setImmediate(res));
  }

  // TCP: 20,000+ packets over 40 connections, framed with honest and dishonest lengths.
  const TCP_CONNS = 40;
  const PER_CONN = 520;
  let tcpSent = 0;
  await Promise.all(
    Array.from({ length: TCP_CONNS }, () =>
      new Promise<void>((resolve) => {
        const s = net.connect(srv.port, '127.0.0.1');
        // A bound, not a pause: the server closes once it has read our half-closed stream; a
        // connection it kept open past 3 s is dropped so the test cannot hang.
        const bound = setTimeout(() => s.destroy(), 3000);
        s.on('error', () => resolve());
        s.on('close', () => {
          clearTimeout(bound);
          resolve();
        });
        s.on('data', () => undefined);
        s.on('connect', () => {
          const parts: Buffer[] = [];
          for (let k = 0; k < PER_CONN; k++) {
            const m = mutate(r);
            const f = Buffer.alloc(2 + m.length);
            f.writeUInt16BE(m.length, 0);
            m.copy(f, 2);
            parts.push(f);
            tcpSent++;
          }
          // The last frame of some connections lies about its length (a truncated frame).
          if (r() < 0.5) parts.push(Buffer.from([0xff, 0xff, 1, 2, 3]));
          s.end(Buffer.concat(parts));
        });
      }),
    ),
  );
  assert.ok(UDP_N + tcpSent >= 100_000, `sent ${UDP_N + tcpSent}`);
  await waitFor(() => replies > 0, { what: 'a reply to any of the UDP packets' });
  sock.close();

  await sanity();
  gcFn?.();
  await nextTurn(); // closed sockets' callbacks run, then what they held can be collected
  gcFn?.();
  const heapAfter = process.memoryUsage().heapUsed;
  // The answer cache may hold some fuzzed names' answers; a leak of per-packet state would be far bigger.
  assert.ok(heapAfter - heapBefore < 64 * 1024 * 1024, `heap grew by ${((heapAfter - heapBefore) / 1048576).toFixed(1)} MiB`);
});
