/**
 * NOTIFY (RFC 1996) both ways over real UDP sockets: a serial change sends a NOTIFY to each
 * configured secondary, retried with backoff until one answers; a newer serial replaces the pending
 * one; incoming NOTIFYs from configured peers are answered NOERROR + AA for our zones and NOTAUTH
 * for others, and from anyone else REFUSED (logged at debug only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createTransferHandlers, makeKeyring, type TransferConfig } from '../../src/dns/transfer/index.ts';
import { notifyPeers, parseTarget, type TransferLogger } from '../../src/dns/transfer/notify.ts';
import { TransferAcl } from '../../src/dns/transfer/acl.ts';
import { signRequest } from '../../src/dns/transfer/tsig.ts';
import { createMetrics } from '../../src/metrics.ts';
import { McnsError } from '../../src/errors.ts';
import { testLedger } from '../helpers/ledger.ts';
import { decode, makeQuery, rcodeOf, startMiniDns, udpExchange } from './helpers.ts';

/** A fake secondary: records every NOTIFY, and acknowledges from the `ackFrom`-th one on. */
async function fakeSecondary(ackFrom: number): Promise<{ sock: Socket; port: number; got: Array<{ at: number; msg: Buffer }> }> {
  const sock = createSocket('udp4');
  const got: Array<{ at: number; msg: Buffer }> = [];
  sock.on('message', (msg, rinfo) => {
    got.push({ at: Date.now(), msg });
    if (got.length >= ackFrom) {
      // Header and question echoed with QR set (same id and opcode), no records.
      const reply = Buffer.from(msg.subarray(0, headerAndQuestionLength(msg)));
      reply[2] |= 0x80;
      reply.fill(0, 6, 12);
      sock.send(reply, rinfo.port, rinfo.address);
    }
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: (sock.address() as { port: number }).port, got };
}

function headerAndQuestionLength(msg: Buffer): number {
  let p = 12;
  while (msg[p] !== 0) p += msg[p] + 1;
  return p + 5;
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Wait for a condition without timers (for tests that mock setTimeout): yield to I/O until it holds. */
async function untilIo(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setImmediate(r));
  }
}

test('a serial change sends NOTIFY (opcode 4, AA, SOA question, new SOA in answer) and retries with backoff until acknowledged', async (t) => {
  const env = testLedger();
  const sec = await fakeSecondary(3);
  const metrics = createMetrics();
  // The retry timers run on a mocked clock: the backoff is checked exactly, however loaded the machine.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const x = createTransferHandlers({
    ledger: env.ledger,
    config: { allow_from: [], allow_keys: [], notify: [`127.0.0.1:${sec.port}`], keys: {} },
    metrics,
    notify: { localAddress: '127.0.0.1', retryMs: 100, maxRetryMs: 400, notifyOnStart: false },
  });
  try {
    const r = env.ledger.execute({ kind: 'createZone', zone: 'n.test', soa: { primary_ns: 'ns.n.test.', admin_email: 'h.n.test.' } }, { actor: 't' });
    await untilIo(() => sec.got.length === 1, 5000);
    // No retry before 100 ms; the first at 100 ms; the second 200 ms later (doubled), then the ack.
    t.mock.timers.tick(99);
    assert.equal(sec.got.length, 1);
    t.mock.timers.tick(1);
    await untilIo(() => sec.got.length === 2, 5000);
    t.mock.timers.tick(199);
    assert.equal(sec.got.length, 2, 'the second wait is twice the first');
    t.mock.timers.tick(1);
    await untilIo(() => x.notifier.acked === 1, 5000);
    assert.equal(sec.got.length, 3, 'two retries before the acknowledgement');
    const first = sec.got[0].msg;
    assert.equal((first.readUInt16BE(2) >> 11) & 0xf, 4, 'opcode NOTIFY');
    assert.ok(first.readUInt16BE(2) & 0x0400, 'AA');
    const p = decode(first);
    assert.equal(p.questions?.[0].name, 'n.test');
    assert.equal(p.questions?.[0].type, 'SOA');
    assert.equal((p.answers?.[0] as { data: { serial: number } }).data.serial, r.serial);
    assert.equal(x.notifier.waiting, 0);
    assert.equal(metrics.notifies.get({ outcome: 'acked', rcode: 'NOERROR', zone: 'n.test.' }), 1);
    assert.equal(metrics.notifies.get({ outcome: 'retry', zone: 'n.test.' }), 2);
  } finally {
    x.close();
    sec.sock.close();
    env.cleanup();
  }
});

test('every configured secondary is notified once per serial change; a newer serial replaces a pending NOTIFY', async () => {
  const env = testLedger();
  const a = await fakeSecondary(1);
  const b = await fakeSecondary(1);
  const x = createTransferHandlers({
    ledger: env.ledger,
    config: { allow_from: [], allow_keys: [], notify: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], keys: {} },
    notify: { localAddress: '127.0.0.1', retryMs: 5000, notifyOnStart: false },
  });
  try {
    env.ledger.execute({ kind: 'createZone', zone: 'm.test', soa: { primary_ns: 'ns.m.test.', admin_email: 'h.m.test.' } }, { actor: 't' });
    const r2 = env.ledger.execute({ kind: 'changeRecords', zone: 'm.test', ops: [{ op: 'create', name: 'www.m.test', type: 'A', value: '192.0.2.1' }] }, { actor: 't' });
    await until(() => x.notifier.acked >= 2 && x.notifier.waiting === 0, 3000);
    for (const s of [a, b]) {
      const serials = s.got.map((g) => (decode(g.msg).answers?.[0] as { data: { serial: number } }).data.serial);
      assert.equal(serials[serials.length - 1], r2.serial);
    }
  } finally {
    x.close();
    a.sock.close();
    b.sock.close();
    env.cleanup();
  }
});

/** A logger that keeps every line with its level. */
function recordingLogger(): { lines: Array<{ level: string; msg?: string; obj: object }>; logger: TransferLogger } {
  const lines: Array<{ level: string; msg?: string; obj: object }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, msg, obj });
  return { lines, logger: { info: at('info'), warn: at('warn'), debug: at('debug') } };
}

test('an incoming NOTIFY from a sender that is not a configured peer is REFUSED, for our zones too, and logged at debug only', async () => {
  const env = testLedger();
  env.ledger.execute({ kind: 'createZone', zone: 'ours.test', soa: { primary_ns: 'ns.ours.test.', admin_email: 'h.ours.test.' } }, { actor: 't' });
  const log = recordingLogger();
  const metrics = createMetrics();
  // Peers exist, but 127.0.0.1 is none of them.
  const x = createTransferHandlers({ ledger: env.ledger, config: { allow_from: ['192.0.2.0/24'], allow_keys: [], notify: ['192.0.2.53:53'], keys: {} }, logger: log.logger, metrics });
  const dns = await startMiniDns(() => env.ledger.state, x);
  try {
    for (let i = 0; i < 50; i++) {
      const reply = await udpExchange(dns.port, makeQuery(i % 2 ? 'ours.test' : 'elsewhere.test', 'SOA', { opcode: 'NOTIFY', id: i }));
      assert.equal(rcodeOf(reply), 5, 'REFUSED');
      assert.equal((reply.readUInt16BE(2) >> 11) & 0xf, 4, 'opcode NOTIFY echoed');
      assert.equal(reply.readUInt16BE(2) & 0x0400, 0, 'no AA on a refusal');
    }
    // Signed with a key we do not know: the TSIG error (NOTAUTH), also logged at debug only.
    const stranger = makeKeyring({ 'nobody-key': { algorithm: 'hmac-sha256', secret: Buffer.from('a key this server does not have') } }).get('nobody-key.')!;
    const badKey = await udpExchange(dns.port, signRequest(makeQuery('ours.test', 'SOA', { opcode: 'NOTIFY' }), stranger).bytes);
    assert.equal(rcodeOf(badKey), 9);
    assert.deepEqual(log.lines.filter((l) => l.level !== 'debug'), [], 'nothing above debug: a flood of NOTIFYs cannot flood the log');
    assert.equal(log.lines.filter((l) => /NOTIFY refused/.test(l.msg ?? '')).length, 50);
    assert.equal(metrics.notifiesReceived.get({ outcome: 'refused' }), 50);
    assert.equal(metrics.notifiesReceived.get({ outcome: 'badtsig' }), 1);
  } finally {
    await dns.close();
    x.close();
    env.cleanup();
  }
});

test('an incoming NOTIFY from a configured peer (allow_from, a notify target, an allow_keys key) is answered NOERROR + AA for our zone and NOTAUTH for another', async () => {
  const env = testLedger();
  env.ledger.execute({ kind: 'createZone', zone: 'ours.test', soa: { primary_ns: 'ns.ours.test.', admin_email: 'h.ours.test.' } }, { actor: 't' });
  const secret = Buffer.from('notify peer key secret for the tests').toString('base64');
  const configs: TransferConfig[] = [
    { allow_from: ['127.0.0.0/8'], allow_keys: [], notify: [], keys: {} },
    { allow_from: [], allow_keys: [], notify: ['127.0.0.1:5399'], keys: {} },
    { allow_from: [], allow_keys: ['peer-key'], notify: [], keys: { 'peer-key': { algorithm: 'hmac-sha256', secret } } },
  ];
  for (const [i, config] of configs.entries()) {
    const x = createTransferHandlers({ ledger: env.ledger, config });
    const dns = await startMiniDns(() => env.ledger.state, x);
    const signed = (msg: Buffer): { bytes: Buffer; mac?: Buffer } => (config.allow_keys.length ? signRequest(msg, x.keyring.get('peer-key.')!) : { bytes: msg });
    try {
      const ours = signed(makeQuery('ours.test', 'SOA', { opcode: 'NOTIFY' }));
      const reply = await udpExchange(dns.port, ours.bytes);
      assert.equal(rcodeOf(reply), 0, `config ${i}: NOERROR`);
      assert.equal((reply.readUInt16BE(2) >> 11) & 0xf, 4);
      assert.equal(reply.readUInt16BE(2) & 0x8400, 0x8400, 'QR + AA');
      const theirs = await udpExchange(dns.port, signed(makeQuery('elsewhere.test', 'SOA', { opcode: 'NOTIFY' })).bytes);
      assert.equal(rcodeOf(theirs), 9, `config ${i}: NOTAUTH for a zone we do not serve`);
      if (i === 2) {
        // The same key is needed: unsigned, the sender is a stranger again.
        assert.equal(rcodeOf(await udpExchange(dns.port, makeQuery('ours.test', 'SOA', { opcode: 'NOTIFY' }))), 5);
      }
    } finally {
      await dns.close();
      x.close();
    }
  }
  env.cleanup();
});

test('notifyPeers: allow_from networks, verified allow_keys keys and notify target addresses (IPv4-mapped too); nobody else', () => {
  const acl = TransferAcl.from({ allow_from: ['192.0.2.0/24'], allow_keys: ['xfr-key'] });
  const peer = notifyPeers(acl, ['198.51.100.7:5300', '[2001:db8::53]:53']);
  assert.ok(peer('192.0.2.9'));
  assert.ok(peer('::ffff:192.0.2.9'));
  assert.ok(peer('198.51.100.7'));
  assert.ok(peer('::ffff:198.51.100.7'));
  assert.ok(peer('2001:DB8::53'));
  assert.ok(peer('203.0.113.1', 'xfr-key.'));
  assert.ok(!peer('203.0.113.1'));
  assert.ok(!peer('203.0.113.1', 'other-key.'));
  assert.ok(!peer('198.51.100.8'));
});

test('notify targets parse as address[:port] and bad ones are refused naming the entry', () => {
  assert.deepEqual(parseTarget('192.0.2.2:53'), { host: '192.0.2.2', port: 53 });
  assert.deepEqual(parseTarget('192.0.2.2'), { host: '192.0.2.2', port: 53 });
  assert.deepEqual(parseTarget('[2001:db8::2]:5300'), { host: '2001:db8::2', port: 5300 });
  assert.deepEqual(parseTarget('::1'), { host: '::1', port: 53 });
  assert.throws(() => parseTarget('ns1.example.com:53', 'transfer.notify[0]'), (e: unknown) => e instanceof McnsError && e.field === 'transfer.notify[0]');
  assert.throws(() => parseTarget('192.0.2.2:70000'), McnsError);
});
