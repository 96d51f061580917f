/**
 * Response rate limiting ([dns.rrl]): a burst of UDP queries from one /24 is answered up to the rate,
 * then dropped, every slip-th answer over the rate sent truncated (TC=1, no records) so a real client
 * retries over TCP; other prefixes and TCP are not limited; the metrics count what was limited.
 * The server's RRL clock is frozen so the proportions are exact.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, test } from 'node:test';
import { buildQuery, fixtureServer, flatten, tcpExchange } from './helpers.ts';
import { createMetrics } from '../../src/metrics.ts';
import { DROP, PASS, ResponseRateLimiter, SLIP, slipResponse } from '../../src/dns/rrl.ts';
import { encodeMessage } from '../../src/dns/wire.ts';

/** Polls `cond` every 20 ms until it holds; fails after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Sends `n` queries (ids 1..n) from a UDP socket bound to `from` and collects every reply in
 * `replies` until `close` is called, so late or extra replies would be seen.
 */
async function burst(port: number, from: string, n: number): Promise<{ replies: Buffer[]; close: () => void }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address: from, port: 0 }, r));
  const replies: Buffer[] = [];
  s.on('message', (b) => replies.push(b));
  for (let i = 1; i <= n; i++) s.send(buildQuery({ name: 'www.dns.test.', id: i, edns: { size: 1232 } }), port, '127.0.0.1');
  return { replies, close: () => s.close() };
}

const RATE = 10;
const BURST = 50;
let srv: Awaited<ReturnType<typeof fixtureServer>>;
let metrics: ReturnType<typeof createMetrics>;
before(async () => {
  metrics = createMetrics();
  srv = await fixtureServer({ metrics, rrl: { responsesPerSecond: RATE, slip: 2, now: () => 5000 } });
});
after(async () => {
  await srv.close();
});

test('a burst from one /24 over the rate is dropped, every 2nd limited answer slipped (TC=1, empty); metrics count both', async () => {
  const b = await burst(srv.port, '127.0.0.1', BURST);
  const limited = BURST - RATE;
  // The metrics are flushed once a second; once they show every answer over the rate, the burst is through.
  await until(() => metrics.dnsRrlLimited.get() >= limited, 5000, 'the limited answers to be counted');
  // Answers already sent arrive on loopback at once; wait for the expected number, then check none extra.
  await until(() => b.replies.length >= RATE + limited / 2, 2000, 'the answers and slips');
  await new Promise((r) => setTimeout(r, 100));
  b.close();
  const flat = b.replies.map(flatten);
  const full = flat.filter((f) => !f.flags.includes('tc'));
  const slipped = flat.filter((f) => f.flags.includes('tc'));
  assert.equal(full.length, RATE, 'answers within the rate');
  assert.equal(slipped.length, limited / 2, 'every second answer over the rate slipped');
  for (const f of full) assert.equal(f.answer.length, 2);
  for (const f of slipped) {
    assert.deepEqual([f.answer.length, f.authority.length, f.additional.length], [0, 0, 0]);
    assert.deepEqual(f.question, ['www.dns.test. IN A']);
    assert.equal(f.opt?.size, 1232, 'an EDNS query gets an OPT in the slip too');
  }
  // The first RATE queries were answered in full, the rest alternate drop, slip.
  assert.deepEqual(full.map((f) => f.id).sort((x, y) => x - y), Array.from({ length: RATE }, (_, i) => i + 1));
  assert.deepEqual(
    slipped.map((f) => f.id).sort((x, y) => x - y),
    Array.from({ length: limited / 2 }, (_, i) => RATE + 2 * (i + 1)),
  );
  assert.equal(metrics.dnsRrlLimited.get(), limited);
  assert.equal(metrics.dnsRrlSlipped.get(), limited / 2);
  assert.match(await metrics.registry.render(), /mcns_dns_rrl_slipped_total 20/);
});

test('another /24 (127.0.1.1) is not limited while 127.0.0.0/24 is', async () => {
  const b = await burst(srv.port, '127.0.1.1', RATE);
  await until(() => b.replies.length >= RATE, 3000, 'every answer to 127.0.1.1');
  b.close();
  for (const f of b.replies.map(flatten)) {
    assert.ok(!f.flags.includes('tc'));
    assert.equal(f.answer.length, 2);
  }
});

test('TCP is never rate limited (it cannot be spoofed)', async () => {
  const before = metrics.dnsRrlLimited.get();
  const replies = await tcpExchange(
    srv.port,
    Array.from({ length: 5 }, (_, i) => buildQuery({ name: 'www.dns.test.', id: 100 + i })),
  );
  for (const r of replies) assert.equal(flatten(r).answer.length, 2);
  assert.equal(metrics.dnsRrlLimited.get(), before);
});

test('token bucket: prefixes (/24, /56), refill over time, slip 0 and 1', () => {
  let now = 0;
  const rrl = new ResponseRateLimiter({ responsesPerSecond: 2, slip: 0, now: () => now });
  assert.equal(rrl.check('192.0.2.1'), PASS);
  assert.equal(rrl.check('192.0.2.200'), PASS);
  assert.equal(rrl.check('192.0.2.7'), DROP, 'same /24 shares the bucket; slip 0 never slips');
  assert.equal(rrl.check('::ffff:192.0.2.9'), DROP, 'IPv4-mapped IPv6 counts as its IPv4 prefix');
  assert.equal(rrl.check('192.0.3.1'), PASS, 'another /24');
  assert.equal(rrl.check('2001:db8:0:ff::1'), PASS);
  assert.equal(rrl.check('2001:db8:0:aa:1:2:3:4'), PASS, '2001:db8:0:00xx::/56 is one prefix');
  assert.equal(rrl.check('2001:0db8:0000:0012::'), DROP);
  assert.equal(rrl.check('2001:db8:0:100::1'), PASS, 'another /56');
  now = 500; // half a second refills one answer at 2/s
  assert.equal(rrl.check('192.0.2.1'), PASS);
  assert.equal(rrl.check('192.0.2.1'), DROP);
  assert.equal(rrl.check('not an address'), PASS);

  const every = new ResponseRateLimiter({ responsesPerSecond: 1, slip: 1, now: () => 0 });
  assert.equal(every.check('198.51.100.1'), PASS);
  assert.equal(every.check('198.51.100.1'), SLIP);
  assert.equal(every.check('198.51.100.1'), SLIP);
});

test('the table has a fixed size however many prefixes are seen', () => {
  let now = 0;
  const rrl = new ResponseRateLimiter({ responsesPerSecond: 5, slip: 2, tableSize: 4096, now: () => now });
  assert.equal(rrl.capacity, 4096);
  const sizes = () => process.memoryUsage().arrayBuffers;
  const before = sizes();
  for (let i = 0; i < 300_000; i++) {
    now += 0.01;
    rrl.check(`10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`);
    rrl.check(`2001:db8:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}00::1`);
  }
  assert.equal(rrl.capacity, 4096);
  assert.ok(sizes() - before < 1 << 20, 'no growth of the table');
  assert.throws(() => new ResponseRateLimiter({ responsesPerSecond: 5, slip: 101 }), /slip/);
  assert.throws(() => new ResponseRateLimiter({ responsesPerSecond: 0, slip: 2 }), /responses_per_second/);
});

test('slipResponse keeps header, question and OPT; sets TC; drops every record', () => {
  const full = encodeMessage({
    id: 7,
    flags: 0x8400 | 3,
    question: [{ name: 'x.dns.test.', type: 1, class: 1 }],
    answer: [{ name: 'x.dns.test.', type: 'A', ttl: 60, data: { type: 'A', address: '192.0.2.1' } }],
    authority: [{ name: 'dns.test.', type: 'NS', ttl: 60, data: { type: 'NS', target: 'ns.dns.test.' } }],
    additional: [{ name: 'ns.dns.test.', type: 'A', ttl: 60, data: { type: 'A', address: '192.0.2.53' } }],
    edns: { udpPayloadSize: 1232, extendedRcode: 0, version: 0, flags: 0x8000, options: new Uint8Array(0) },
  }).bytes;
  const f = flatten(slipResponse(full));
  assert.equal(f.id, 7);
  assert.equal(f.rcode, 'NXDOMAIN');
  assert.deepEqual(f.flags, ['qr', 'aa', 'tc']);
  assert.deepEqual(f.question, ['x.dns.test. IN A']);
  assert.deepEqual([f.answer, f.authority, f.additional], [[], [], []]);
  assert.deepEqual(f.opt, { size: 1232, version: 0, do: true, extendedRcode: 0 });
  const headerOnly = Buffer.from(full.subarray(0, 12));
  headerOnly.writeUInt16BE(0, 4);
  headerOnly.writeUInt16BE(0, 6);
  headerOnly.writeUInt16BE(0, 8);
  headerOnly.writeUInt16BE(0, 10);
  assert.equal(slipResponse(headerOnly).length, 12);
});
