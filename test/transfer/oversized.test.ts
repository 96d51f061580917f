/**
 * A log written by an older build that holds a record whose rdata exceeds 65,535 bytes (a TXT of
 * 270 strings x 250 bytes, appended here straight to the log, past decide): the production DNS
 * listener must still transfer the rest of the zone (AXFR and IXFR), answer queries for that name
 * with a proper message (question echoed, never a bare SERVFAIL header), and count and log what it
 * left out. Also: a SERVFAIL caught on the query path echoes the question.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type dnsPacket from 'dns-packet';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { createTransferHandlers, type TransferHandlers } from '../../src/dns/transfer/index.ts';
import { createMetrics } from '../../src/metrics.ts';
import { allRecords } from '../../src/projections/trie.ts';
import { testLedger } from '../helpers/ledger.ts';
import { waitFor } from '../helpers/wait.ts';
import { answerKeys, decode, makeQuery, rcodeOf, recordKey, streamComplete, tcpExchange, udpExchange } from './helpers.ts';

const ZONE = 'legacy.test.';
/** 270 strings of 250 bytes: 67,770 bytes of rdata. */
const HUGE_TXT = Array.from({ length: 270 }, () => `"${'x'.repeat(250)}"`).join(' ');

let env: ReturnType<typeof testLedger>;
let handlers: TransferHandlers;
let dns: DnsServer;
let port: number;
let serialBefore: number;
const metrics = createMetrics();
const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
const logger = {
  info: () => {},
  debug: () => {},
  error: () => {},
  warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }),
  child: () => logger,
};

/** Append a batch straight to the log, as an older build without the size rules could have written it. */
function appendBypassingDecide(bodies: Array<{ type: string; payload: Record<string, unknown> }>): void {
  const { ledger } = env;
  ledger.log.append(
    bodies.map((body) => ({ zone: ZONE, body }) as never),
    { actor: 'old-build', expectedVersion: ledger.log.zoneVersion(ZONE), now: env.clock.now() },
  );
}

before(async () => {
  env = testLedger();
  env.ledger.execute(
    {
      kind: 'createZone',
      zone: ZONE,
      soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster.${ZONE}` },
      records: [
        { name: ZONE, type: 'NS', value: `ns1.${ZONE}`, ttl: 3600 },
        { name: `ns1.${ZONE}`, type: 'A', value: '192.0.2.1', ttl: 300 },
        { name: `mcq.${ZONE}`, type: 'TXT', value: '"a small one"', ttl: 300 },
        { name: `www.${ZONE}`, type: 'A', value: '192.0.2.80', ttl: 300 },
      ],
    },
    { actor: 'test' },
  );
  serialBefore = env.ledger.zone(ZONE)!.serial;
  env.clock.advance(1000);
  appendBypassingDecide([
    { type: 'RecordCreated', payload: { id: 'huge', name: `mcq.${ZONE}`, type: 'TXT', value: HUGE_TXT, ttl: 300 } },
    { type: 'RecordCreated', payload: { id: 'after', name: `after.${ZONE}`, type: 'A', value: '192.0.2.99', ttl: 300 } },
    { type: 'RecordCreated', payload: { id: 'only', name: `only.${ZONE}`, type: 'TXT', value: HUGE_TXT, ttl: 300 } },
    { type: 'SerialBumped', payload: { serial: serialBefore + 1 } },
  ]);
  assert.equal(env.ledger.zone(ZONE)!.records.get('huge')?.value.length, HUGE_TXT.length, 'the projection holds the legacy record');
  handlers = createTransferHandlers({
    ledger: env.ledger,
    config: { allow_from: ['127.0.0.1/32'], allow_keys: [], notify: [], keys: {} },
    logger,
    metrics,
  });
  dns = await startDns({ ledger: env.ledger, listen: ['127.0.0.1:0'], logger: logger as never, metrics, handlers: handlers.handlers, transfer: handlers.transfer });
  port = dns.addresses[0].tcp.port;
});

after(async () => {
  await dns?.close();
  handlers?.close();
  env?.cleanup();
});

test('AXFR of a zone holding an unencodable record: every other record arrives, SOA last, the record is counted and logged', async () => {
  const msgs = await tcpExchange(port, makeQuery(ZONE, 'AXFR'), streamComplete(), { timeoutMs: 10000 });
  assert.equal(rcodeOf(msgs[0]), 0);
  const rrs = msgs.flatMap(answerKeys);
  const zone = env.ledger.zone(ZONE)!;
  const soa = recordKey(zone.tree.rrsets.get('SOA')!.records[0]);
  assert.equal(rrs[0], soa);
  assert.equal(rrs[rrs.length - 1], soa, 'the transfer ran to its closing SOA');
  const expected = [...allRecords(zone.tree)].filter((r) => r.type !== 'SOA' && r.id !== 'huge' && r.id !== 'only').map(recordKey).sort();
  assert.deepEqual(rrs.slice(1, -1).sort(), expected);
  assert.ok(rrs.some((k) => k.startsWith(`after.${ZONE}`)), 'records after the unencodable one are transferred');
  assert.equal(metrics.recordsSkipped.get({ path: 'axfr' }), 2);
  const w = warnings.find((x) => /zone transfer left out/.test(x.msg));
  assert.ok(w, 'a warning names what was left out');
  assert.deepEqual((w.obj.records as Array<{ id: string }>).map((r) => r.id).sort(), ['huge', 'only']);
});

test('IXFR across the batch that stored it: the other change arrives, the record is left out', async () => {
  const query = makeQuery(ZONE, 'IXFR', {
    authority: [{ name: ZONE.replace(/\.$/, ''), type: 'SOA', ttl: 300, data: { mname: 'ns1', rname: 'h', serial: serialBefore, refresh: 1, retry: 1, expire: 1, minimum: 1 } } as dnsPacket.Answer],
  });
  const msgs = await tcpExchange(port, query, streamComplete(), { timeoutMs: 10000 });
  assert.equal(rcodeOf(msgs[0]), 0);
  const rrs = msgs.flatMap(answerKeys);
  assert.ok(rrs.some((k) => k.startsWith(`after.${ZONE}`)), 'the other change of the batch is transferred');
  assert.ok(!rrs.some((k) => k.startsWith(`mcq.${ZONE}`) || k.startsWith(`only.${ZONE}`)), 'the unencodable records are not');
  assert.equal(metrics.recordsSkipped.get({ path: 'ixfr' }), 2);
});

for (const transport of ['udp', 'tcp'] as const) {
  test(`TXT query for the name over ${transport}: a proper answer with the question, the small record kept`, async () => {
    const q = makeQuery(`mcq.${ZONE}`, 'TXT', { id: 777 });
    const reply = transport === 'udp' ? await udpExchange(port, q) : (await tcpExchange(port, q, (m) => m.length >= 1))[0];
    const p = decode(reply);
    assert.equal(p.id, 777);
    assert.equal(rcodeOf(reply), 0, 'NOERROR, not SERVFAIL');
    assert.equal(p.questions?.length, 1, 'the question is echoed');
    assert.equal(p.questions?.[0].name, `mcq.${ZONE.replace(/\.$/, '')}`);
    const txt = (p.answers ?? []).filter((a) => a.type === 'TXT');
    assert.equal(txt.length, 1);
    assert.equal(String((txt[0].data as Buffer[])[0]), 'a small one');
  });
}

test('a name whose only TXT is unencodable answers NODATA (the SOA in authority), with the question', async () => {
  const reply = (await tcpExchange(port, makeQuery(`only.${ZONE}`, 'TXT', { id: 779 }), (m) => m.length >= 1))[0];
  const p = decode(reply);
  assert.equal(rcodeOf(reply), 0);
  assert.equal(p.questions?.length, 1);
  assert.equal(p.answers?.length, 0);
  assert.deepEqual(p.authorities?.map((a) => a.type), ['SOA']);
});

test('answers that left a record out are counted (mcns_records_skipped_total{path="answer"}) and logged once', async () => {
  // Both names were asked (tests above); the listener flushes its notes once a second.
  await waitFor(() => metrics.recordsSkipped.get({ path: 'answer' }) >= 2 && warnings.filter((x) => /left out of DNS answers/.test(x.msg)).length >= 2, { what: 'the DNS metrics flush', timeoutMs: 5000 });
  const logged = warnings.filter((x) => /left out of DNS answers/.test(x.msg));
  assert.deepEqual(logged.map((l) => l.obj.id).sort(), ['huge', 'only'], 'one warning per record, however often it is asked for');
  assert.match(await metrics.registry.render(), /mcns_records_skipped_total\{path="answer"\} \d+/);
});

test('a failure on the query path answers SERVFAIL with the question echoed', async () => {
  // A value no build would store (an unterminated string): parsing it throws inside the answerer.
  appendBypassingDecide([
    { type: 'RecordCreated', payload: { id: 'broken', name: `broken.${ZONE}`, type: 'TXT', value: '"unterminated', ttl: 300 } },
    { type: 'SerialBumped', payload: { serial: serialBefore + 2 } },
  ]);
  const reply = await udpExchange(port, makeQuery(`broken.${ZONE}`, 'TXT', { id: 778 }));
  assert.equal(rcodeOf(reply), 2, 'SERVFAIL');
  const p = decode(reply);
  assert.equal(p.id, 778);
  assert.equal(p.questions?.length, 1, 'the question is echoed');
  assert.equal(p.questions?.[0].name, `broken.${ZONE.replace(/\.$/, '')}`);
});
