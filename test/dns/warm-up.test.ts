/**
 * The DNS warm-up (src/dns/warm-up.ts): its questions, its loop over real loopback sockets, and what
 * startDns does with it: the index's names asked before the listeners bind, nothing of it left in
 * the metrics, the answer cache or `received`, and the clients' questions answered as without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { AnswerCache } from '../../src/dns/cache.ts';
import { readQuery } from '../../src/dns/query.ts';
import { encodeName } from '../../src/dns/wire.ts';
import { warmUp, warmUpQuestions } from '../../src/dns/warm-up.ts';
import { createMetrics, DNS_LATENCY_SAMPLE_EVERY } from '../../src/metrics.ts';
import { ask, buildQuery, fixtureServer, flatten, udpExchange } from './helpers.ts';
import { startDns } from '../../src/dns/server.ts';
import { testLedger } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';
import type { Command } from '../../src/projections/decide.ts';
import { ASKED, QTYPES, ZONES, executeUnlessRefused, query, randomRecordOps } from './random-zones.ts';

/** The wire form of a (lowercase) name, as the index keys it. */
const wire = (name: string): Uint8Array => encodeName(`${name}.`);

test('warmUpQuestions: A, AAAA, MX and TXT at each name, A below it and at a sibling, half with an OPT record, some in mixed case, every one a well-formed query', () => {
  const qs = warmUpQuestions([wire('www.example.test'), wire('example.test')]);
  assert.equal(qs.length, 12);
  const parsed = qs.map((b) => readQuery(b));
  for (const q of parsed) assert.equal(q.kind, 'query');
  const asked = parsed.map((q) => (q.kind === 'query' ? `${q.qname} ${q.qtype}${q.edns ? ' edns' : ''}` : ''));
  assert.deepEqual(
    asked.map((a) => a.replace(/ edns$/, '').toLowerCase()),
    [
      ...['www.example.test. 1', 'www.example.test. 28', 'www.example.test. 15', 'www.example.test. 16', 'mcns-warm-up.www.example.test. 1', 'm.example.test. 1'],
      ...['example.test. 1', 'example.test. 28', 'example.test. 15', 'example.test. 16', 'mcns-warm-up.example.test. 1', 'mc.test. 1'],
    ],
  );
  assert.equal(asked.filter((a) => a.endsWith(' edns')).length, 6, 'half with EDNS');
  const mixed = asked.filter((a) => /[A-Z]/.test(a));
  assert.equal(mixed.length, 6, 'every other pair in mixed case');
  for (const a of mixed) assert.match(a.split(' ')[0], /[a-z]/, `mixed, not all uppercase: ${a}`);
  assert.equal(new Set(qs.map((b) => b.readUInt16BE(0))).size, qs.length, 'distinct ids');
});

test('warmUpQuestions: the siblings\' labels take every length from 1 to 63 in turn; the root has none', () => {
  const names = Array.from({ length: 64 }, (_, i) => wire(`h${i}.example.test`));
  const siblings = warmUpQuestions(names)
    .map((b) => readQuery(b))
    .flatMap((q) => (q.kind === 'query' ? [q.qname.toLowerCase()] : []))
    .filter((n) => n.split('.').length === 4 && !/^h\d+\./.test(n));
  const lengths = siblings.map((n) => n.split('.')[0].length);
  assert.deepEqual(lengths, [...Array.from({ length: 63 }, (_, i) => i + 1), 1]);
  for (const n of siblings) assert.ok(n.endsWith('.example.test.'), n);
  assert.equal(warmUpQuestions([wire('')]).length, 5, 'the four types at the root and A below it');
});

test('warmUpQuestions: no name below one that would pass 255 bytes', () => {
  // 4 labels of 60 bytes and the root: 245 bytes; the 13 more of the label below would make 258.
  const long = wire(Array.from({ length: 4 }, (_, i) => String(i).repeat(60)).join('.'));
  assert.equal(long.length, 245);
  const qs = warmUpQuestions([long]);
  assert.equal(qs.length, 5, 'the four types at the name and its sibling (a 1-byte label), nothing below it');
});

/** A UDP socket that answers every message with itself, or never (`silent`); `seen` counts what it received. */
function echo(silent = false): dgram.Socket & { seen: number } {
  const s = Object.assign(dgram.createSocket('udp4'), { seen: 0 });
  s.on('message', (m, r) => {
    s.seen++;
    if (!silent) s.send(m, r.port, r.address);
  });
  return s;
}

test('warmUp: asks in turn, of each server in turn, for its time over real sockets, every question answered, then closes every socket', async () => {
  const servers = [echo(), echo()];
  const client = dgram.createSocket('udp4');
  const questions = warmUpQuestions([wire('a.test'), wire('b.test')]);
  const r = await warmUp(servers, client, questions, 60, 1e9);
  assert.equal(r.questions, questions.length);
  assert.ok(r.sent > questions.length, `asked round and round: ${r.sent}`);
  assert.equal(r.answered, r.sent, 'every answer waited for');
  assert.ok(r.ms >= 60 && r.ms < 2000, `${r.ms} ms`);
  assert.ok(Math.abs(servers[0].seen - servers[1].seen) <= 1 && servers[0].seen + servers[1].seen === r.sent, `each server in turn: ${servers[0].seen}, ${servers[1].seen}`);
  for (const server of servers) assert.throws(() => server.address(), /Not running/, 'server socket closed');
  assert.throws(() => client.address(), /Not running/, 'client socket closed');
});

test('warmUp: it ends once `answers` were answered, before its time', async () => {
  const r = await warmUp([echo()], dgram.createSocket('udp4'), warmUpQuestions([wire('a.test')]), 10_000, 500);
  assert.deepEqual([r.sent, r.answered], [500, 500]);
  assert.ok(r.ms < 5000, `${r.ms} ms`);
});

test('warmUp: lost answers end it a grace period after its time; no questions, no server or no time: nothing asked', async () => {
  const silent = await warmUp([echo(true)], dgram.createSocket('udp4'), warmUpQuestions([wire('a.test')]), 40);
  assert.equal(silent.answered, 0);
  assert.equal(silent.sent, 32, 'one window sent, none answered');
  assert.ok(silent.ms >= 40 && silent.ms < 1000, `${silent.ms} ms`);
  const none = await warmUp([echo()], dgram.createSocket('udp4'), [], 40);
  assert.deepEqual({ ...none, ms: 0 }, { loopback: '127.0.0.1', questions: 0, sent: 0, answered: 0, ms: 0 });
  const zero = await warmUp([echo()], dgram.createSocket('udp4'), warmUpQuestions([wire('a.test')]), 0);
  assert.equal(zero.sent, 0);
  const noServer = await warmUp([], dgram.createSocket('udp4'), warmUpQuestions([wire('a.test')]), 40);
  assert.equal(noServer.sent, 0);
});

test('warmUp: a socket that cannot be bound ends it at once, with the reason, and throws nothing', async () => {
  const closed = echo();
  closed.close();
  const r = await warmUp([echo(), closed], dgram.createSocket('udp4'), warmUpQuestions([wire('a.test')]), 1000);
  assert.equal(r.sent, 0);
  assert.match(r.problem ?? '', /not running/i);
});

test('startDns: warms up on the index before binding; metrics, received and the answer cache show only clients; answers as without', async () => {
  const metrics = createMetrics();
  const answerCache = new AnswerCache(1000);
  const warm = await fixtureServer({ warmUpMs: 80, metrics, answerCache });
  const cold = await fixtureServer();
  try {
    const w = warm.server.warmUp;
    assert.ok(w, 'a warm-up ran');
    assert.ok(w.questions > 10 && w.sent >= w.questions && w.answered === w.sent, JSON.stringify(w));
    assert.equal(cold.server.warmUp, undefined, 'none without warmUpMs');
    assert.equal(warm.server.received(), 0, 'the warm-up is not counted as received');
    assert.equal(answerCache.size, 0, 'the warm-up never took the general path (it fills the answer cache)');
    // Its queries take the timing path (so that its code is ready) but none is timed into the histogram.
    assert.ok(w.sent >= 4 * DNS_LATENCY_SAMPLE_EVERY, `enough questions for some to have been timed: ${w.sent}`);
    assert.match(await metrics.registry.render(), /^mcns_dns_answer_seconds_count(\{[^}]*\})? 0$/m, 'no warm-up query in the latency histogram');
    // Questions of every kind, the general path's among them (ANY; DS), answered byte for byte alike.
    const asks = [
      { name: 'www.dns.test.', type: 1 },
      { name: 'dns.test.', type: 6 },
      { name: 'nothing-here.dns.test.', type: 1 },
      { name: 'www.dns.test.', type: 255 },
      { name: 'child.dns.test.', type: 43 },
      { name: 'www.dns.test.', type: 28, edns: { size: 1232 } },
    ];
    // Each twice: the answer cache stores a general-path answer on its second sight.
    for (const a of [...asks, ...asks]) {
      const q = buildQuery(a);
      assert.deepEqual(await udpExchange(warm.port, q), await udpExchange(cold.port, q), JSON.stringify(a));
    }
    assert.ok(answerCache.size > 0, 'the clients general-path questions were cached as usual');
    // (udpExchange sends again after 666 ms without an answer: a slow machine may add one or two.)
    const asked = 2 * asks.length;
    const received = warm.server.received();
    assert.ok(received >= asked && received < asked + 5, `only the clients messages: ${received} (the warm-up sent ${w.sent})`);
    // The counts are flushed to the registry once a second: only the clients' questions.
    await new Promise((r) => setTimeout(r, 1200));
    const text = await metrics.registry.render();
    const total = [...text.matchAll(/^mcns_dns_queries_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(total >= asked && total < asked + 5, text.split('\n').filter((l) => l.startsWith('mcns_dns_queries_total')).join('\n'));
  } finally {
    await warm.close();
    await cold.close();
  }
});

test('startDns: an IPv6 listener (":53" is one) is warmed up over ::1, with udp6 sockets as its own', async () => {
  const { server, port, close } = await fixtureServer({ listen: ['[::1]:0'], warmUpMs: 1000 });
  try {
    assert.equal(server.warmUp?.loopback, '::1');
    assert.ok(server.warmUp.answered > 0 && server.warmUp.answered === server.warmUp.sent, JSON.stringify(server.warmUp));
    const r = flatten(await udpExchange(port, buildQuery({ name: 'www.dns.test.', type: 1 }), 2000, '::1'));
    assert.equal(r.rcode, 'NOERROR');
  } finally {
    await close();
  }
});

test('startDns: no warm-up without names to ask (no zone)', async () => {
  const { ledger, cleanup } = testLedger();
  const server = await startDns({ ledger, listen: ['127.0.0.1:0'], warmUpMs: 50 });
  try {
    assert.equal(server.warmUp, undefined);
    const r = await ask(server.addresses[0].udp.port, { name: 'example.test.', type: 1 });
    assert.equal(r.rcode, 'REFUSED', 'no zone here');
  } finally {
    await server.close();
    cleanup();
  }
});

/** One UDP socket asking one question at a time (retrying, as udpExchange does), for many questions. */
async function asker(): Promise<{ ask: (port: number, q: Buffer) => Promise<Buffer>; close: () => void }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address: '127.0.0.1', port: 0 }, () => r()));
  let waiting: ((b: Buffer) => void) | undefined;
  s.on('message', (b) => waiting?.(b));
  return {
    ask: (port, q) =>
      new Promise((resolve, reject) => {
        const again = setInterval(() => s.send(q, port, '127.0.0.1'), 500);
        const t = setTimeout(() => {
          clearInterval(again);
          reject(new Error('udp timeout'));
        }, 3000);
        waiting = (b) => {
          if (b.readUInt16BE(0) !== q.readUInt16BE(0)) return;
          clearInterval(again);
          clearTimeout(t);
          waiting = undefined;
          resolve(b);
        };
        s.send(q, port, '127.0.0.1');
      }),
    close: () => s.close(),
  };
}

test('property: on random zones (nested, delegations, DNAMEs, wildcards, chains, every type), a warmed-up server answers every question byte for byte as one that was not', async () => {
  let compared = 0;
  let warmed = 0;
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const random = rng(20261205 + seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const t = testLedger();
    const { ledger } = t;
    for (let i = 0; i < 80; i++) {
      const zone = pick(ZONES);
      const z = ledger.state.zones.get(`${zone}.`);
      const cmd: Command = !z || random() < 0.03 ? { kind: 'createZone', zone, soa: { primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` } } : { kind: 'changeRecords', zone, ops: randomRecordOps(zone, [...z.records.keys()], random) };
      executeUnlessRefused(ledger, cmd);
    }
    const warm = await startDns({ ledger, listen: ['127.0.0.1:0'], warmUpMs: 1000 });
    const cold = await startDns({ ledger, listen: ['127.0.0.1:0'] });
    const client = await asker();
    try {
      assert.ok(warm.warmUp && warm.warmUp.answered > 0, `seed ${seed}: the warm-up ran`);
      warmed += warm.warmUp.questions;
      for (let k = 0; k < 400; k++) {
        const zone = pick(ZONES);
        const name = pick(ASKED);
        const q = query(name === '@' ? `${zone}.` : `${name}.${zone}.`, pick(QTYPES), random, random() < 0.5);
        q.writeUInt16BE(k, 0);
        const [a, b] = [await client.ask(warm.addresses[0].udp.port, q), await client.ask(cold.addresses[0].udp.port, q)];
        assert.deepEqual(a, b, `seed ${seed}, question ${k}: ${name} in ${zone}`);
        compared++;
      }
    } finally {
      client.close();
      await warm.close();
      await cold.close();
      t.cleanup();
    }
  }
  assert.ok(compared === 2400 && warmed > 300, `${compared} compared, ${warmed} warm-up questions`);
});
