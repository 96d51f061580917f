/**
 * Outgoing NOTIFY, the fleet side (issue 13): `notify_key` signs every NOTIFY with TSIG (the
 * secondary verifies it with the shared key); `[transfer.zone_notify]` gives a zone its own targets
 * so a secondary that does not carry it is not told; answers are told apart: NOERROR is acknowledged,
 * any other rcode is a refusal (counted with the rcode, not retried, not an acknowledgement; NOTAUTH
 * only after two more attempts), and no answer at all is a timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createTransferHandlers, makeKeyring } from '../../src/dns/transfer/index.ts';
import { verifyRequest } from '../../src/dns/transfer/tsig.ts';
import { readQuery } from '../../src/dns/query.ts';
import { createMetrics } from '../../src/metrics.ts';
import { testLedger } from '../helpers/ledger.ts';
import { waitFor } from '../helpers/wait.ts';
import { decode } from './helpers.ts';

const SECRET = Buffer.from('notify key secret of the fleet tests').toString('base64');

/** A fake secondary answering every NOTIFY with `rcode` (undefined: never answers; a function: by the count so far); keeps what it got. */
async function secondary(answer: number | undefined | ((n: number) => number)): Promise<{ sock: Socket; port: number; got: Buffer[] }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (msg, rinfo) => {
    got.push(msg);
    const rcode = typeof answer === 'function' ? answer(got.length) : answer;
    if (rcode === undefined) return;
    let p = 12;
    while (msg[p] !== 0) p += msg[p] + 1;
    const reply = Buffer.from(msg.subarray(0, p + 5));
    reply[2] |= 0x80;
    reply[3] = (reply[3] & 0xf0) | rcode;
    reply.fill(0, 6, 12);
    reply.writeUInt16BE(1, 4);
    sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: (sock.address() as { port: number }).port, got };
}

function lines(): { all: Array<{ level: string; msg?: string; obj: Record<string, unknown> }>; logger: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void } } {
  const all: Array<{ level: string; msg?: string; obj: Record<string, unknown> }> = [];
  return {
    all,
    logger: {
      info: (obj, msg) => void all.push({ level: 'info', msg, obj: obj as Record<string, unknown> }),
      warn: (obj, msg) => void all.push({ level: 'warn', msg, obj: obj as Record<string, unknown> }),
    },
  };
}

test('notify_key signs every outgoing NOTIFY with TSIG, and the secondary verifies it with the shared key', async () => {
  const env = testLedger();
  const sec = await secondary(0);
  const x = createTransferHandlers({
    ledger: env.ledger,
    config: { allow_from: [], allow_keys: [], notify: [`127.0.0.1:${sec.port}`], notify_key: 'xfr-key', keys: { 'xfr-key': { algorithm: 'hmac-sha256', secret: SECRET } } },
    notify: { localAddress: '127.0.0.1', retryMs: 2000, notifyOnStart: false },
  });
  try {
    env.ledger.execute({ kind: 'createZone', zone: 's.test', soa: { primary_ns: 'ns.s.test.', admin_email: 'h.s.test.' } }, { actor: 't' });
    await waitFor(() => x.notifier.acked === 1, { what: 'the NOTIFY acknowledged' });
    const raw = sec.got[0];
    const q = readQuery(raw);
    assert.equal(q.kind, 'query');
    if (q.kind !== 'query') return;
    assert.ok(q.hasTsig, 'the NOTIFY carries a TSIG record');
    const theirKeyring = makeKeyring({ 'xfr-key': { algorithm: 'hmac-sha256', secret: SECRET } });
    const v = verifyRequest(raw, q.tsigOffset!, theirKeyring, Math.floor(Date.now() / 1000));
    assert.ok(v.ok, `verifies with the shared key: ${JSON.stringify(v)}`);
    const wrong = makeKeyring({ 'xfr-key': { algorithm: 'hmac-sha256', secret: Buffer.from('another secret entirely, 32 bytes') } });
    assert.equal(verifyRequest(raw, q.tsigOffset!, wrong, Math.floor(Date.now() / 1000)).ok, false, 'and not with another secret');
  } finally {
    x.close();
    sec.sock.close();
    env.cleanup();
  }
});

test('a notify_key that names no [tsig.keys] key is refused naming transfer.notify_key', () => {
  const env = testLedger();
  try {
    assert.throws(
      () => createTransferHandlers({ ledger: env.ledger, config: { allow_from: [], allow_keys: [], notify: ['127.0.0.1:53'], notify_key: 'missing', keys: {} } }),
      (e: Error & { field?: string }) => e.field === 'transfer.notify_key' && /missing/.test(e.message),
    );
  } finally {
    env.cleanup();
  }
});

test('[transfer.zone_notify] gives a zone its own targets; other zones go to every notify target', async () => {
  const env = testLedger();
  const a = await secondary(0);
  const b = await secondary(0);
  const x = createTransferHandlers({
    ledger: env.ledger,
    config: { allow_from: [], allow_keys: [], notify: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], zone_notify: { 'only-a.test': [`127.0.0.1:${a.port}`] }, keys: {} },
    notify: { localAddress: '127.0.0.1', retryMs: 2000, notifyOnStart: false },
  });
  try {
    env.ledger.execute({ kind: 'createZone', zone: 'only-a.test', soa: { primary_ns: 'ns.only-a.test.', admin_email: 'h.only-a.test.' } }, { actor: 't' });
    env.ledger.execute({ kind: 'createZone', zone: 'both.test', soa: { primary_ns: 'ns.both.test.', admin_email: 'h.both.test.' } }, { actor: 't' });
    await waitFor(() => x.notifier.acked === 3 && x.notifier.waiting === 0, { what: 'three NOTIFYs acknowledged' });
    const zones = (s: { got: Buffer[] }): string[] => s.got.map((m) => decode(m).questions![0].name).sort();
    assert.deepEqual(zones(a), ['both.test', 'only-a.test']);
    assert.deepEqual(zones(b), ['both.test'], 'b does not carry only-a.test and is not told about it');
    assert.deepEqual(x.notifier.targetsOf('only-a.test.'), [`127.0.0.1:${a.port}`]);
  } finally {
    x.close();
    a.sock.close();
    b.sock.close();
    env.cleanup();
  }
});

test('acknowledged, refused (with the rcode) and timed-out NOTIFYs are counted and logged apart; a refusal is not retried', async () => {
  const env = testLedger();
  const ok = await secondary(0);
  const refusing = await secondary(5);
  const silent = await secondary(undefined);
  const metrics = createMetrics();
  const log = lines();
  const targets = { ok: `127.0.0.1:${ok.port}`, refusing: `127.0.0.1:${refusing.port}`, silent: `127.0.0.1:${silent.port}` };
  const x = createTransferHandlers({
    ledger: env.ledger,
    config: { allow_from: [], allow_keys: [], notify: Object.values(targets), keys: {} },
    metrics,
    logger: log.logger,
    notify: { localAddress: '127.0.0.1', retryMs: 20, maxRetryMs: 40, maxAttempts: 3, notifyOnStart: false },
  });
  try {
    env.ledger.execute({ kind: 'createZone', zone: 'o.test', soa: { primary_ns: 'ns.o.test.', admin_email: 'h.o.test.' } }, { actor: 't' });
    await waitFor(() => x.notifier.waiting === 0, { what: 'every NOTIFY settled' });
    assert.equal(x.notifier.acked, 1, 'only the NOERROR answer is an acknowledgement');
    assert.equal(x.notifier.refused, 1);
    assert.equal(x.notifier.timedOut, 1);
    // A retry may leave before the refusal arrives on a loaded machine; after it, nothing more is sent.
    assert.equal(refusing.got.length, log.all.find((l) => l.obj.outcome === 'refused')!.obj.attempts, 'a refusal is final: not sent again');
    assert.equal(silent.got.length, 3, 'no answer: sent maxAttempts times');
    assert.equal(metrics.notifies.get({ outcome: 'acked', rcode: 'NOERROR', zone: 'o.test.' }), 1);
    assert.equal(metrics.notifies.get({ outcome: 'refused', zone: 'o.test.', rcode: 'REFUSED' }), 1);
    assert.equal(metrics.notifies.get({ outcome: 'timeout', zone: 'o.test.' }), 1);
    const byOutcome = (o: string) => log.all.filter((l) => l.obj.outcome === o);
    assert.equal(byOutcome('acked')[0].obj.target, targets.ok);
    assert.equal(byOutcome('refused')[0].obj.target, targets.refusing);
    assert.equal(byOutcome('refused')[0].obj.rcode, 'REFUSED');
    assert.equal(byOutcome('refused')[0].level, 'warn');
    assert.match(byOutcome('refused')[0].msg ?? '', /refused.*REFUSED/);
    assert.equal(byOutcome('timeout')[0].obj.target, targets.silent);
    assert.match(byOutcome('timeout')[0].msg ?? '', /timed out/);
  } finally {
    x.close();
    for (const s of [ok, refusing, silent]) s.sock.close();
    env.cleanup();
  }
});

test('NOTAUTH is asked again twice on the retry schedule before it counts as refused (a catalog consumer that has not added the zone yet)', async () => {
  const env = testLedger();
  const late = await secondary((n) => (n === 1 ? 9 : 0)); // NOTAUTH, then NOERROR: the zone arrived
  const never = await secondary(9);
  const metrics = createMetrics();
  const log = lines();
  const x = createTransferHandlers({
    ledger: env.ledger,
    config: { allow_from: [], allow_keys: [], notify: [`127.0.0.1:${late.port}`, `127.0.0.1:${never.port}`], keys: {} },
    metrics,
    logger: log.logger,
    notify: { localAddress: '127.0.0.1', retryMs: 20, maxRetryMs: 40, notifyOnStart: false },
  });
  try {
    env.ledger.execute({ kind: 'createZone', zone: 'new.test', soa: { primary_ns: 'ns.new.test.', admin_email: 'h.new.test.' } }, { actor: 't' });
    await waitFor(() => x.notifier.waiting === 0, { what: 'both NOTIFYs settled' });
    assert.equal(late.got.length, 2);
    assert.equal(x.notifier.acked, 1, 'NOERROR on the second attempt: acknowledged');
    assert.equal(never.got.length, 3, 'NOTAUTH three times: sent three times');
    assert.equal(x.notifier.refused, 1);
    assert.equal(metrics.notifies.get({ outcome: 'acked', rcode: 'NOERROR', zone: 'new.test.' }), 1);
    assert.equal(metrics.notifies.get({ outcome: 'refused', rcode: 'NOTAUTH', zone: 'new.test.' }), 1);
    const refused = log.all.filter((l) => l.obj.outcome === 'refused');
    assert.equal(refused.length, 1);
    assert.equal(refused[0].obj.attempts, 3);
  } finally {
    x.close();
    late.sock.close();
    never.sock.close();
    env.cleanup();
  }
});
