/**
 * AXFR over real TCP sockets on loopback: SOA first and last with the whole zone between, a
 * 100,000-record zone split into many messages and checked record by record, refusal of peers
 * outside allow_from and of wrong TSIG keys, and dig verifying our multi-message TSIG signatures.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createTransferHandlers, type TransferHandlers } from '../../src/dns/transfer/index.ts';
import { signRequest, makeKeyring, TsigResponseVerifier, TSIG_ERROR, parseTsig } from '../../src/dns/transfer/tsig.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { allRecords } from '../../src/projections/trie.ts';
import { readQuery } from '../../src/dns/query.ts';
import { createMetrics } from '../../src/metrics.ts';
import { testLedger } from '../helpers/ledger.ts';
import { requireTool } from '../helpers/tools.ts';
import { answerKeys, decode, run, makeQuery, rcodeOf, recordKey, startMiniDns, streamComplete, tcpExchange, udpExchange, type MiniDns } from './helpers.ts';

const SECRET = Buffer.from('c2VjcmV0LWtleS1mb3ItbWNucy10cmFuc2Zlci10ZXN0cw==', 'base64');
const KEYS = { 'xfr-key': { algorithm: 'hmac-sha256', secret: SECRET }, 'other-key': { algorithm: 'hmac-sha512', secret: Buffer.from('another secret') } };
const BIG = 100_000;

let env: ReturnType<typeof testLedger>;
let handlers: TransferHandlers;
let dns: MiniDns;
const warnings: Array<{ obj: object; msg?: string }> = [];
const metrics = createMetrics();

before(async () => {
  env = testLedger();
  const text = readFileSync(new URL('../fixtures/zones/example.com.zone', import.meta.url), 'utf8');
  env.ledger.execute(importCommand('example.com', text), { actor: 'import' });
  const records = [];
  for (let i = 0; i < BIG - 1; i++) {
    const name = `h${i}.big.test.`;
    if (i % 10 === 0) records.push({ name, type: 'TXT' as const, value: `"record ${i} of the big zone"`, ttl: 300 });
    else records.push({ name, type: 'A' as const, value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, ttl: 300 });
  }
  records.push({ name: 'big.test.', type: 'NS' as const, value: 'ns1.big.test.', ttl: 3600 });
  env.ledger.execute({ kind: 'createZone', zone: 'big.test', soa: { primary_ns: 'ns1.big.test.', admin_email: 'hostmaster.big.test.' }, records }, { actor: 'test' });
  handlers = createTransferHandlers({
    ledger: env.ledger,
    config: { allow_from: ['127.0.0.1/32', '::1/128'], allow_keys: ['xfr-key'], notify: [], keys: KEYS },
    logger: { info: () => {}, warn: (obj, msg) => warnings.push({ obj, msg }) },
    metrics,
  });
  dns = await startMiniDns(() => env.ledger.state, handlers);
});

after(async () => {
  await dns?.close();
  handlers?.close();
  env?.cleanup();
});

function answersOf(msgs: Buffer[]): string[] {
  return msgs.flatMap(answerKeys);
}

test('AXFR of example.com: SOA first and last, every record of the zone in between', async () => {
  const msgs = await tcpExchange(dns.port, makeQuery('example.com', 'AXFR'), streamComplete());
  assert.equal(rcodeOf(msgs[0]), 0);
  const first = decode(msgs[0]);
  assert.equal(first.id, 4242);
  assert.ok(first.flags! & 0x0400, 'AA set');
  const rrs = answersOf(msgs);
  const zone = env.ledger.zone('example.com.')!;
  const soa = recordKey(zone.tree.rrsets.get('SOA')!.records[0]);
  assert.equal(rrs[0], soa);
  assert.equal(rrs[rrs.length - 1], soa);
  const expected = [...allRecords(zone.tree)].filter((r) => r.type !== 'SOA').map(recordKey).sort();
  assert.deepEqual(rrs.slice(1, -1).sort(), expected);
});

test('AXFR of a 100,000-record zone: many messages of at most ~16 KiB, every record arrives exactly once', async () => {
  const msgs = await tcpExchange(dns.port, makeQuery('big.test', 'AXFR'), streamComplete(), { timeoutMs: 60000 });
  assert.ok(msgs.length > 50, `split into ${msgs.length} messages`);
  for (const m of msgs) assert.ok(m.length <= 16 * 1024 + 512, `message of ${m.length} bytes`);
  assert.equal(decode(msgs[0]).questions?.length, 1);
  const rrs = answersOf(msgs);
  const zone = env.ledger.zone('big.test.')!;
  const soa = recordKey(zone.tree.rrsets.get('SOA')!.records[0]);
  assert.equal(rrs[0], soa);
  assert.equal(rrs[rrs.length - 1], soa);
  const got = rrs.slice(1, -1).sort();
  const expected = [...allRecords(zone.tree)].filter((r) => r.type !== 'SOA').map(recordKey).sort();
  assert.equal(got.length, BIG);
  assert.deepEqual(got, expected);
});

test('a running 100,000-record AXFR does not hold up other queries: a UDP answer arrives before the transfer ends', async () => {
  let udpAnsweredAt = 0;
  let firstMessageAt = 0;
  const done = streamComplete();
  const msgs = await tcpExchange(
    dns.port,
    makeQuery('big.test', 'AXFR'),
    (m) => {
      if (m.length === 1) {
        firstMessageAt = Date.now();
        void udpExchange(dns.port, makeQuery('example.com', 'SOA')).then(() => (udpAnsweredAt = Date.now()));
      }
      return done(m);
    },
    { timeoutMs: 60000 },
  );
  const endedAt = Date.now();
  assert.ok(msgs.length > 50);
  assert.ok(firstMessageAt > 0);
  assert.ok(udpAnsweredAt > 0 && udpAnsweredAt < endedAt, `UDP answered at +${udpAnsweredAt - firstMessageAt} ms, AXFR ended at +${endedAt - firstMessageAt} ms`);
});

test('AXFR from an address outside allow_from (127.0.0.2 vs 127.0.0.1/32) is REFUSED and logged', async () => {
  const before = warnings.length;
  const msgs = await tcpExchange(dns.port, makeQuery('example.com', 'AXFR'), () => true, { localAddress: '127.0.0.2' });
  assert.equal(msgs.length, 1);
  assert.equal(rcodeOf(msgs[0]), 5, 'REFUSED');
  assert.equal(decode(msgs[0]).answers?.length ?? 0, 0);
  const w = warnings.slice(before).find((x) => x.msg?.includes('refused'));
  assert.ok(w, 'a log line for the refusal');
  assert.equal((w.obj as { peer: string }).peer, '127.0.0.2');
  assert.ok(metrics.transfers.get({ kind: 'axfr', outcome: 'refused' }) >= 1);
});

test('AXFR signed with a key in allow_keys is allowed from any address, and every message is signed in a chain', async () => {
  const ring = makeKeyring(KEYS);
  const key = ring.get('xfr-key.')!;
  const signed = signRequest(makeQuery('example.com', 'AXFR', { id: 777 }), key);
  const msgs = await tcpExchange(dns.port, signed.bytes, streamComplete(), { localAddress: '127.0.0.2' });
  assert.equal(rcodeOf(msgs[0]), 0);
  const verifier = new TsigResponseVerifier(key, signed.mac);
  for (const m of msgs) {
    const q = readQuery(Buffer.concat([Buffer.from([m[0], m[1], m[2] & 0x7f]), m.subarray(3)]));
    assert.equal(q.kind, 'query');
    if (q.kind === 'query') verifier.verify(m, q.tsigOffset!);
  }
});

test('AXFR with an unknown TSIG key is answered NOTAUTH with TSIG error BADKEY', async () => {
  const bad = makeKeyring({ 'nobody-key': { algorithm: 'hmac-sha256', secret: SECRET } }).get('nobody-key.')!;
  const msgs = await tcpExchange(dns.port, signRequest(makeQuery('example.com', 'AXFR'), bad).bytes, () => true);
  assert.equal(rcodeOf(msgs[0]), 9, 'NOTAUTH');
  const q = readQuery(Buffer.concat([Buffer.from([msgs[0][0], msgs[0][1], msgs[0][2] & 0x7f]), msgs[0].subarray(3)]));
  assert.ok(q.kind === 'query' && q.hasTsig);
  const tsig = parseTsig(msgs[0], q.tsigOffset!);
  assert.equal(tsig.error, TSIG_ERROR.BADKEY);
  assert.equal(tsig.mac.length, 0);
});

test('AXFR with the right key name but a wrong secret is answered NOTAUTH with TSIG error BADSIG', async () => {
  const wrong = makeKeyring({ 'xfr-key': { algorithm: 'hmac-sha256', secret: Buffer.from('not the secret') } }).get('xfr-key.')!;
  const msgs = await tcpExchange(dns.port, signRequest(makeQuery('example.com', 'AXFR'), wrong).bytes, () => true, { localAddress: '127.0.0.2' });
  assert.equal(msgs.length, 1);
  assert.equal(rcodeOf(msgs[0]), 9, 'NOTAUTH');
  const q = readQuery(Buffer.concat([Buffer.from([msgs[0][0], msgs[0][1], msgs[0][2] & 0x7f]), msgs[0].subarray(3)]));
  assert.ok(q.kind === 'query');
  assert.equal(parseTsig(msgs[0], q.tsigOffset!).error, TSIG_ERROR.BADSIG);
  assert.equal(decode(msgs[0]).answers?.length ?? 0, 0);
});

test('AXFR of a zone we do not serve is NOTAUTH; AXFR over UDP is FORMERR', async () => {
  const msgs = await tcpExchange(dns.port, makeQuery('nope.test', 'AXFR'), () => true);
  assert.equal(rcodeOf(msgs[0]), 9);
  const udp = await udpExchange(dns.port, makeQuery('example.com', 'AXFR'));
  assert.equal(rcodeOf(udp), 1);
});

test('dig -y verifies the TSIG chain of a multi-message AXFR of 100,000 records', { skip: requireTool('dig') }, async () => {
  const r = await run('dig', ['-y', `hmac-sha256:xfr-key:${SECRET.toString('base64')}`, '-b', '127.0.0.2', '@127.0.0.1', '-p', String(dns.port), 'big.test', 'AXFR']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Transfer failed|Couldn't verify|tsig verify failure/i);
  const size = /XFR size: (\d+) records \(messages (\d+)/.exec(r.stdout);
  assert.ok(size, r.stdout.slice(-500));
  assert.equal(Number(size[1]), BIG + 2);
  assert.ok(Number(size[2]) > 50);
});

test('kdig with a wrong secret reports the refusal (BADSIG)', { skip: requireTool('kdig') }, async () => {
  const r = await run('kdig', ['-y', `hmac-sha256:xfr-key:${Buffer.from('wrong').toString('base64')}`, '@127.0.0.1', '-p', String(dns.port), 'example.com', 'AXFR']);
  assert.match(r.stdout + r.stderr, /BADSIG|NOTAUTH/);
});
