/** Forwarding for names outside our zones: order, failover, TCP on TC, SERVFAIL, and the cache rules. */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { ResponseCache } from '../../src/dns/cache.ts';
import { Forwarder } from '../../src/dns/forwarder.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { ask, buildQuery, fixtureServer, flatten } from './helpers.ts';

/** How the in-test upstream answers one question. */
type Behaviour = 'answer' | 'nxdomain' | 'nodata' | 'servfail' | 'refused' | 'silent' | 'tc' | 'bigttl';

/** A real DNS server on loopback (UDP + TCP on one port) with scripted answers and a query count. */
async function upstream(behaviour: (name: string) => Behaviour): Promise<{ port: number; udpCount: () => number; tcpCount: () => number; close: () => Promise<void> }> {
  let udpN = 0;
  let tcpN = 0;
  const respond = (msg: Buffer, tcp: boolean): Buffer | undefined => {
    const q = dnsPacket.decode(msg) as any;
    const question = q.questions[0];
    const b = behaviour(question.name.toLowerCase());
    if (b === 'silent') return undefined;
    // dns-packet takes the rcode from the low bits of `flags`.
    const base: any = { id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: q.questions };
    const soa = { name: 'example.org', type: 'SOA', ttl: 900, data: { mname: 'ns.example.org', rname: 'h.example.org', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 120 } };
    if (b === 'servfail') return dnsPacket.encode({ ...base, flags: base.flags | 2 } as any);
    if (b === 'refused') return dnsPacket.encode({ ...base, flags: base.flags | 5 } as any);
    if (b === 'nxdomain') return dnsPacket.encode({ ...base, flags: base.flags | 3, authorities: [soa] } as any);
    if (b === 'nodata') return dnsPacket.encode({ ...base, authorities: [soa] } as any);
    if (b === 'tc' && !tcp) return dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE } as any);
    const answers: any[] = [
      { name: question.name, type: 'A', ttl: b === 'bigttl' ? 86400 : 60, data: '203.0.113.1' },
      { name: question.name, type: 'A', ttl: b === 'bigttl' ? 86400 : 100, data: '203.0.113.2' },
    ];
    if (b === 'tc') for (let i = 3; i < 60; i++) answers.push({ name: question.name, type: 'A', ttl: 60, data: `203.0.113.${i}` });
    return dnsPacket.encode({ ...base, answers } as any);
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => {
    udpN++;
    const out = respond(m, false);
    if (out) udp.send(out, r.port, r.address);
  });
  await new Promise<void>((res) => udp.bind(0, '127.0.0.1', () => res()));
  const port = udp.address().port;
  const tcp = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        tcpN++;
        const out = respond(m, true);
        if (out) {
          const f = Buffer.alloc(2 + out.length);
          f.writeUInt16BE(out.length);
          out.copy(f, 2);
          s.write(f);
        }
      }
    });
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((res) => tcp.listen(port, '127.0.0.1', () => res()));
  return {
    port,
    udpCount: () => udpN,
    tcpCount: () => tcpN,
    close: () => new Promise<void>((res) => {
      udp.close();
      tcp.close(() => res());
    }),
  };
}

/** A port with nothing behind it (bound then closed). */
async function deadPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
  const p = s.address().port;
  s.close();
  return p;
}

const script = (name: string): Behaviour => {
  if (name.startsWith('nx')) return 'nxdomain';
  if (name.startsWith('nodata')) return 'nodata';
  if (name.startsWith('fail')) return 'servfail';
  if (name.startsWith('refuse')) return 'refused';
  if (name.startsWith('silent')) return 'silent';
  if (name.startsWith('tc')) return 'tc';
  if (name.startsWith('long')) return 'bigttl';
  return 'answer';
};

let up1: Awaited<ReturnType<typeof upstream>>;
let up2: Awaited<ReturnType<typeof upstream>>;
let srv: Awaited<ReturnType<typeof fixtureServer>>;

before(async () => {
  up1 = await upstream(script);
  up2 = await upstream(() => 'answer');
  srv = await fixtureServer({ upstreams: [`127.0.0.1:${up1.port}`, `127.0.0.1:${up2.port}`], upstreamTimeoutMs: 300 });
});
after(async () => {
  await srv.close();
  await up1.close();
  await up2.close();
});

test('forwards a name outside our zones; RA and RD set, not AA', async () => {
  const r = await ask(srv.port, { name: 'www.example.org.', rd: true });
  assert.equal(r.rcode, 'NOERROR');
  assert.deepEqual(r.flags, ['qr', 'rd', 'ra']);
  assert.deepEqual(r.answer.sort(), ['www.example.org. 100 IN A 203.0.113.2', 'www.example.org. 60 IN A 203.0.113.1']);
});

test('the second query is answered from the cache (upstream not asked again), with the client id and case', async () => {
  await ask(srv.port, { name: 'cached.example.org.' });
  const n = up1.udpCount();
  const r = await ask(srv.port, { name: 'CACHED.example.ORG.', id: 777 });
  assert.equal(up1.udpCount(), n);
  assert.equal(r.id, 777);
  assert.deepEqual(r.question, ['CACHED.example.ORG. IN A']);
  assert.equal(r.answer.length, 2);
});

test('our zones are never forwarded', async () => {
  const n = up1.udpCount();
  const r = await ask(srv.port, { name: 'nothere.dns.test.' });
  assert.equal(r.rcode, 'NXDOMAIN');
  assert.equal(up1.udpCount(), n);
});

test('SERVFAIL and REFUSED from the first upstream: the second answers', async () => {
  for (const name of ['fail.example.org.', 'refuse.example.org.']) {
    const r = await ask(srv.port, { name });
    assert.equal(r.rcode, 'NOERROR', name);
    assert.equal(r.answer.length, 2);
  }
});

test('a silent upstream times out and the next one answers', async () => {
  const r = await ask(srv.port, { name: 'silent.example.org.' });
  assert.equal(r.rcode, 'NOERROR');
});

test('TC from the upstream: retried over TCP, the full answer reaches a TCP client', async () => {
  const tcpBefore = up1.tcpCount();
  const u = await ask(srv.port, { name: 'tc.example.org.' });
  assert.equal(up1.tcpCount(), tcpBefore + 1);
  // 59 A records do not fit 512 bytes: the UDP client is told to retry over TCP...
  assert.ok(u.flags.includes('tc'));
  const t = await ask(srv.port, { name: 'tc.example.org.' }, 'tcp');
  assert.equal(t.answer.length, 59);
  // The in-test upstream does not compress names: about 1.9 kB, over our 1232-byte UDP limit too.
  const e = await ask(srv.port, { name: 'tc.example.org.', edns: { size: 1232 } });
  assert.ok(e.flags.includes('tc'));
  assert.equal(e.opt?.size, 1232);
});

test('NXDOMAIN and NODATA pass through with the SOA', async () => {
  const nx = await ask(srv.port, { name: 'nx.example.org.' });
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authority.length, 1);
  const nd = await ask(srv.port, { name: 'nodata.example.org.' });
  assert.equal(nd.rcode, 'NOERROR');
  assert.equal(nd.answer.length, 0);
});

test('every upstream failing: SERVFAIL, not cached', async () => {
  const dead1 = await deadPort();
  const dead2 = await deadPort();
  const s = await fixtureServer({ upstreams: [`127.0.0.1:${dead1}`, `[::1]:${dead2}`], upstreamTimeoutMs: 200 });
  try {
    const r = await ask(s.port, { name: 'www.example.org.', rd: true });
    assert.equal(r.rcode, 'SERVFAIL');
    assert.equal(s.server.forwarder?.cache.size, 0);
  } finally {
    await s.close();
  }
});

/** A Forwarder with a fake clock, for the cache rules. */
async function clocked(): Promise<{ f: Forwarder; tick: (s: number) => void; q: (name: string) => ParsedQuery }> {
  let now = 1_000_000;
  const f = new Forwarder({ upstreams: [`127.0.0.1:${up1.port}`], timeoutMs: 300, now: () => now });
  return {
    f,
    tick: (s) => {
      now += s * 1000;
    },
    q: (name) => readQuery(buildQuery({ name })) as ParsedQuery,
  };
}

test('cache: TTL = smallest answer TTL, counting down, then expiry asks again', async () => {
  const { f, tick, q } = await clocked();
  await f.resolve(q('ttl.example.org.'), false);
  const n = up1.udpCount();
  tick(25);
  const r = flatten(await f.resolve(q('ttl.example.org.'), false));
  assert.equal(up1.udpCount(), n);
  assert.deepEqual(r.answer.map((a) => a.split(' ')[1]).sort(), ['35', '75']);
  tick(36); // 61 s: the 60 s entry has expired
  await f.resolve(q('ttl.example.org.'), false);
  assert.equal(up1.udpCount(), n + 1);
});

test('cache: TTLs capped at 300 s', async () => {
  const { f, tick, q } = await clocked();
  await f.resolve(q('long.example.org.'), false);
  const n = up1.udpCount();
  tick(299);
  await f.resolve(q('long.example.org.'), false);
  assert.equal(up1.udpCount(), n);
  tick(2);
  await f.resolve(q('long.example.org.'), false);
  assert.equal(up1.udpCount(), n + 1);
});

test('cache: NXDOMAIN and NODATA for min(SOA TTL, minimum) = 120 s (RFC 2308)', async () => {
  const { f, tick, q } = await clocked();
  for (const name of ['nx2.example.org.', 'nodata2.example.org.']) {
    await f.resolve(q(name), false);
    const n = up1.udpCount();
    tick(119);
    await f.resolve(q(name), false);
    assert.equal(up1.udpCount(), n, name);
    tick(2);
    await f.resolve(q(name), false);
    assert.equal(up1.udpCount(), n + 1, name);
  }
});

test('cache: SERVFAIL and REFUSED are never cached', async () => {
  const f = new Forwarder({ upstreams: [`127.0.0.1:${up1.port}`], timeoutMs: 300 });
  const q = readQuery(buildQuery({ name: 'fail2.example.org.' })) as ParsedQuery;
  assert.equal(flatten(await f.resolve(q, false)).rcode, 'SERVFAIL');
  const q2 = readQuery(buildQuery({ name: 'refuse2.example.org.' })) as ParsedQuery;
  assert.equal(flatten(await f.resolve(q2, false)).rcode, 'SERVFAIL');
  assert.equal(f.cache.size, 0);
});

test('cache: bounded, least recently used evicted', () => {
  const c = new ResponseCache(2);
  const m = { bytes: Buffer.alloc(12), flags: 0, rcode: 0, questionEnd: 12, rrs: [] };
  c.set('a', m, 10);
  c.set('b', m, 10);
  assert.ok(c.get('a')); // a is now the most recent
  c.set('c', m, 10);
  assert.equal(c.size, 2);
  assert.equal(c.get('b'), undefined);
  assert.ok(c.get('a'));
  assert.ok(c.get('c'));
});
