/**
 * One TTL per RRset (RFC 2181 5.2), end to end: a REST create or a DNS UPDATE whose TTL differs
 * from its RRset's sets the TTL of the whole RRset in the same batch (history shows an event for
 * every record, the API response says so); a log written before the rule, holding mixed TTLs, is
 * answered (serving index and general path, UDP and TCP) and transferred (AXFR) with the RRset's
 * lowest TTL while the log itself stays as it was; and the IXFR of the write that next touches
 * such an RRset applies exactly, the way BIND applies it (a deletion must match the record held,
 * TTL included; an addition must carry the TTL of the RRset it joins), to the next AXFR.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { createTransferHandlers, makeKeyring, type TransferHandlers } from '../../src/dns/transfer/index.ts';
import { signRequest } from '../../src/dns/transfer/tsig.ts';
import { createUpdateHandler, OPCODE_UPDATE, UPDATE_RCODE } from '../../src/dns/update.ts';
import type { EventDraft } from '../../src/events/types.ts';
import type { Command } from '../../src/projections/decide.ts';
import { zoneHistory } from '../../src/projections/history.ts';
import { testLedger } from '../helpers/ledger.ts';
import { answerKeys, decode, makeQuery, streamComplete, tcpExchange as xfrExchange } from '../transfer/helpers.ts';
import { buildQuery, tcpExchange, udpExchange } from './helpers.ts';
import { a as aRdata, CLASS, TYPE, updateMessage } from './update-helpers.ts';
import { seedZone, startHarness, type Harness } from '../api/harness.ts';
import { mcns } from '../cli/run.ts';
import { freePort } from '../helpers/ports.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { startBind, type Secondary } from '../transfer/secondaries.ts';
import { udpExchange as udpAsk } from '../transfer/helpers.ts';

const ZONE = 'old.test.';

/**
 * Appends records the way a build before the rule could (no decide: one RRset, several TTLs), as
 * one batch closed by a serial bump.
 */
function appendOldBatch(ledger: Ledger, records: Array<{ id: string; name: string; type: 'A' | 'AAAA' | 'TXT'; value: string; ttl: number }>): void {
  const serial = ledger.zone(ZONE)!.serial + 1;
  const drafts: EventDraft[] = records.map((r) => ({ zone: ZONE, body: { type: 'RecordCreated', payload: { ...r } } }));
  drafts.push({ zone: ZONE, body: { type: 'SerialBumped', payload: { serial } } });
  ledger.log.append(drafts, { actor: 'old-build', expectedVersion: ledger.state.heads.get(ZONE)?.seq ?? 0, now: Date.now() });
}

/** "name type ttl value" of every record of an answer section. */
function section(msg: Buffer, which: 'answers' | 'authorities' = 'answers'): string[] {
  const p = decode(msg) as unknown as Record<string, Array<{ name: string; type: string; ttl: number; data: unknown }>>;
  return (p[which] ?? []).map((r) => `${r.name}. ${r.type} ${r.ttl} ${Array.isArray(r.data) ? r.data.map((b: Buffer) => b.toString()).join(' ') : String(r.data)}`).sort();
}

/** An AXFR of ZONE over TCP, as "name type ttl value" keys (SOA excluded). */
async function axfr(port: number): Promise<string[]> {
  const msgs = await xfrExchange(port, makeQuery(ZONE, 'AXFR'), streamComplete());
  return msgs.flatMap((m) => answerKeys(m)).filter((k) => !k.includes(' SOA ')).sort();
}

describe('a log written before one TTL per RRset (mixed TTLs in one RRset)', () => {
  let t: ReturnType<typeof testLedger>;
  let dns: DnsServer;
  let xfr: TransferHandlers;
  let port: number;

  before(async () => {
    t = testLedger();
    t.ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster.${ZONE}` } }, { actor: 'test' });
    appendOldBatch(t.ledger, [
      { id: 'm1', name: `www.${ZONE}`, type: 'A', value: '192.0.2.1', ttl: 300 },
      { id: 'm2', name: `www.${ZONE}`, type: 'A', value: '192.0.2.2', ttl: 600 },
      { id: 'm3', name: `www.${ZONE}`, type: 'A', value: '192.0.2.3', ttl: 60 },
      { id: 'm4', name: `www.${ZONE}`, type: 'TXT', value: '"one"', ttl: 900 },
      { id: 'm5', name: `www.${ZONE}`, type: 'TXT', value: '"two"', ttl: 120 },
      { id: 'm6', name: `mail.${ZONE}`, type: 'A', value: '192.0.2.10', ttl: 30 },
      { id: 'm7', name: `mail.${ZONE}`, type: 'A', value: '192.0.2.11', ttl: 3600 },
      { id: 'm8', name: `db.${ZONE}`, type: 'A', value: '192.0.2.20', ttl: 500 },
      { id: 'm9', name: `db.${ZONE}`, type: 'A', value: '192.0.2.21', ttl: 100 },
    ]);
    // Enough other records that the IXFR below stays smaller than the zone (else AXFR is the answer).
    t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: Array.from({ length: 40 }, (_, i) => ({ op: 'create' as const, name: `h${i}.${ZONE}`, type: 'A', value: `10.0.0.${i}`, ttl: 300 })) }, { actor: 'test' });
    xfr = createTransferHandlers({ ledger: t.ledger, config: { allow_from: ['127.0.0.0/8'], allow_keys: [], notify: [], keys: {} } });
    dns = await startDns({ ledger: t.ledger, listen: ['127.0.0.1:0'], handlers: xfr.handlers, transfer: xfr.transfer });
    await dns.indexed();
    port = dns.addresses[0].udp.port;
  });
  after(async () => {
    await dns?.close();
    xfr?.close();
    t?.cleanup();
  });

  test('answers carry the lowest TTL of the RRset: the serving index (A), the general path (TXT, ANY), UDP and TCP, with and without EDNS', async () => {
    for (const edns of [undefined, { size: 1232 }]) {
      const a = section(await udpExchange(port, buildQuery({ name: `www.${ZONE}`, type: 1, edns })));
      assert.deepEqual(a, [`www.${ZONE} A 60 192.0.2.1`, `www.${ZONE} A 60 192.0.2.2`, `www.${ZONE} A 60 192.0.2.3`]);
      const txt = section(await udpExchange(port, buildQuery({ name: `www.${ZONE}`, type: 16, edns })));
      assert.deepEqual(txt, [`www.${ZONE} TXT 120 one`, `www.${ZONE} TXT 120 two`]);
      const [any] = await tcpExchange(port, [buildQuery({ name: `www.${ZONE}`, type: 255, edns })]);
      assert.deepEqual(section(any).map((l) => l.split(' ').slice(1, 3).join(' ')).sort(), ['A 60', 'A 60', 'A 60', 'TXT 120', 'TXT 120']);
    }
    const mx = section(await udpExchange(port, buildQuery({ name: `mail.${ZONE}`, type: 1 })));
    assert.deepEqual(mx.map((l) => l.split(' ')[2]), ['30', '30']);
  });

  test('AXFR transfers every RRset with its lowest TTL; the log and the projection keep what was written (replay stays exact)', async () => {
    const keys = await axfr(port);
    assert.deepEqual(keys.filter((k) => k.startsWith(`www.${ZONE} A `)), [`www.${ZONE} A 60 192.0.2.1`, `www.${ZONE} A 60 192.0.2.2`, `www.${ZONE} A 60 192.0.2.3`]);
    assert.deepEqual(keys.filter((k) => k.startsWith(`db.${ZONE} A `)).map((k) => k.split(' ')[2]), ['100', '100']);
    assert.equal(t.ledger.zone(ZONE)!.records.get('m2')!.ttl, 600, 'the projection holds what the log says');
    const reopened = Ledger.open({ path: t.path });
    try {
      assert.deepEqual(['m1', 'm2', 'm3'].map((id) => reopened.zone(ZONE)!.records.get(id)!.ttl), [300, 600, 60]);
    } finally {
      reopened.close();
    }
  });

  test('the next write of such an RRset makes it one TTL; its IXFR applies exactly, BIND-style, to what AXFR gave, and equals the next AXFR', async () => {
    const held = new Map<string, number>();
    for (const k of await axfr(port)) {
      const [name, type, ttl, ...value] = k.split(' ');
      held.set(`${name} ${type} ${value.join(' ')}`, Number(ttl));
    }
    const fromSerial = t.ledger.zone(ZONE)!.serial;
    // A TTL for one record of www A; a new record without a TTL in mail A; the lowest of db A deleted.
    t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'update', id: 'm1', ttl: 600 }] }, { actor: 'test' });
    t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `mail.${ZONE}`, type: 'A', value: '192.0.2.12' }] }, { actor: 'test' });
    t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'delete', id: 'm9' }] }, { actor: 'test' });

    const query = makeQuery(ZONE, 'IXFR', {
      authority: [{ name: ZONE.slice(0, -1), type: 'SOA', ttl: 300, data: { mname: `ns1.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: fromSerial, refresh: 3600, retry: 600, expire: 86400, minimum: 300 } } as never],
    });
    const msgs = await xfrExchange(port, query, streamComplete());
    const rrs = msgs.flatMap((m) => answerKeys(m));
    assert.ok(rrs.filter((k) => k.includes(' SOA ')).length >= 4, `an incremental answer, not an AXFR: ${rrs.join('\n')}`);

    // Apply as BIND's dns_diff_apply does with DNS_DBADD_EXACTTTL / DNS_DBSUB_EXACT.
    let deleting = false;
    let soas = 0;
    for (const k of rrs) {
      const [name, type, ttl, ...rest] = k.split(' ');
      if (type === 'SOA') {
        soas++;
        deleting = soas % 2 === 0;
        continue;
      }
      const key = `${name} ${type} ${rest.join(' ')}`;
      if (deleting) {
        assert.equal(held.get(key), Number(ttl), `delete not exact: ${k} (held with TTL ${held.get(key)})`);
        held.delete(key);
      } else {
        for (const [other, otherTtl] of held) {
          if (other.startsWith(`${name} ${type} `)) assert.equal(otherTtl, Number(ttl), `add not exact: ${k} joins ${other} held with TTL ${otherTtl}`);
        }
        held.set(key, Number(ttl));
      }
    }
    const applied = [...held].map(([k, ttl]) => {
      const [name, type, ...value] = k.split(' ');
      return `${name} ${type} ${ttl} ${value.join(' ')}`;
    }).sort();
    const now = await axfr(port);
    assert.deepEqual(applied, now);
    assert.deepEqual(now.filter((k) => k.startsWith(`www.${ZONE} A `)).map((k) => k.split(' ')[2]), ['600', '600', '600']);
    assert.deepEqual(now.filter((k) => k.startsWith(`mail.${ZONE} A `)).map((k) => k.split(' ')[2]), ['30', '30', '30']);
    assert.deepEqual(now.filter((k) => k.startsWith(`db.${ZONE} A `)), [`db.${ZONE} A 100 192.0.2.20`]);
    // The TXT RRset was not written: still served with its lowest, still mixed in the log.
    assert.deepEqual(now.filter((k) => k.startsWith(`www.${ZONE} TXT `)).map((k) => k.split(' ')[2]), ['120', '120']);
    assert.equal(t.ledger.zone(ZONE)!.records.get('m4')!.ttl, 900);
  });
});

describe('a write with another TTL sets the TTL of the whole RRset', () => {
  test('DNS UPDATE: adding a record with another TTL changes its siblings in the same batch, attributed to the key', async () => {
    const t = testLedger();
    const secret = Buffer.from('rrset ttl update key secret, 32 bytes+').toString('base64');
    const keyring = makeKeyring({ 'upd-key': { algorithm: 'hmac-sha256', secret } });
    const update = createUpdateHandler({ ledger: t.ledger, keyring, config: { allow_keys: ['upd-key'] } });
    const dns = await startDns({ ledger: t.ledger, listen: ['127.0.0.1:0'], handlers: { [OPCODE_UPDATE]: update } });
    try {
      const port = dns.addresses[0].udp.port;
      t.ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster.${ZONE}` } }, { actor: 'test' });
      t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [1, 2].map((i) => ({ op: 'create' as const, name: `acme.${ZONE}`, type: 'A', value: `192.0.2.${i}`, ttl: 300 })) }, { actor: 'test' });
      const msg = updateMessage(ZONE, [], [{ name: `acme.${ZONE}`, type: TYPE.A, cls: CLASS.IN, ttl: 60, rdata: aRdata('192.0.2.3') }]);
      const reply = await udpExchange(port, signRequest(msg, keyring.get('upd-key.')!).bytes);
      assert.equal(reply[3] & 0xf, UPDATE_RCODE.NOERROR);
      const records = [...t.ledger.zone(ZONE)!.records.values()].filter((r) => r.name === `acme.${ZONE}`);
      assert.deepEqual(records.map((r) => r.ttl), [60, 60, 60]);
      const page = zoneHistory(t.ledger.db, ZONE, { name: `acme.${ZONE}`, order: 'desc', limit: 3 });
      assert.deepEqual(page.entries.map((e) => e.event).sort(), ['RecordCreated', 'RecordUpdated', 'RecordUpdated']);
      assert.ok(page.entries.every((e) => e.actor === 'upd-key.' || e.actor === 'upd-key'), page.entries.map((e) => e.actor).join());
      assert.equal(new Set(page.entries.map((e) => e.batchId)).size, 1, 'one batch');
      const answer = section(await udpExchange(port, buildQuery({ name: `acme.${ZONE}`, type: 1 })));
      assert.deepEqual(answer.map((l) => l.split(' ')[2]), ['60', '60', '60']);
    } finally {
      await dns.close();
      t.cleanup();
    }
  });

  describe('REST', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
      await seedZone(h, 'example.com');
    });
    after(async () => h.close());

    test('create with another TTL: 201, every sibling updated in the same batch (history shows it), a note in warnings', async () => {
      const add = (value: string, ttl: number) => h.rest('POST', '/v1/zones/example.com/records', { token: h.tokens.alice, body: { name: 'www', type: 'A', value, ttl } });
      assert.equal((await add('192.0.2.1', 300)).status, 201);
      assert.equal((await add('192.0.2.2', 300)).status, 201);
      const r = await add('192.0.2.3', 3600);
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.record.ttl, 3600);
      assert.equal(r.body.warnings.length, 1, r.text);
      assert.match(r.body.warnings[0], /www\.example\.com\. A: the TTL of the whole RRset is now 3600 \(was 300\); 2 other records changed with it/);
      const list = await h.rest('GET', '/v1/zones/example.com/records?name=www&type=A', { token: h.tokens.alice });
      assert.deepEqual(list.body.records.map((x: { ttl: number }) => x.ttl), [3600, 3600, 3600]);
      const hist = await h.rest('GET', `/v1/zones/example.com/history?batch=${encodeURIComponent(r.body.batch.batch_id)}`, { token: h.tokens.alice });
      assert.equal(hist.status, 200, hist.text);
      const events = hist.body.entries.map((e: { event: string; actor: string; old?: { ttl: number }; new?: { ttl: number } }) => `${e.event} ${e.actor} ${e.old?.ttl ?? '-'}->${e.new?.ttl ?? '-'}`);
      assert.deepEqual(events.filter((e: string) => e.startsWith('Record')).sort(), ['RecordCreated alice -->3600', 'RecordUpdated alice 300->3600', 'RecordUpdated alice 300->3600']);
    });

    test('an update of one record\'s TTL through PUT sets its siblings too', async () => {
      const list = await h.rest('GET', '/v1/zones/example.com/records?name=www&type=A', { token: h.tokens.alice });
      const id = list.body.records[0].id;
      const r = await h.rest('PUT', `/v1/zones/example.com/records/${id}`, { token: h.tokens.alice, body: { ttl: 120 } });
      assert.equal(r.status, 200, r.text);
      assert.match(r.body.warnings.join('\n'), /now 120 \(was 3600\); 2 other records/);
      const after = await h.rest('GET', '/v1/zones/example.com/records?name=www&type=A', { token: h.tokens.alice });
      assert.deepEqual(after.body.records.map((x: { ttl: number }) => x.ttl), [120, 120, 120]);
    });

    test('gRPC CreateRecord with another TTL: the same note in warnings', async () => {
      const g = await h.grpc('RecordService', 'CreateRecord', { zone: 'example.com', name: 'grpc', type: 'TXT', value: 'one', ttl: 300 }, { token: h.tokens.alice });
      assert.equal(g.code, 0, g.details);
      const g2 = await h.grpc('RecordService', 'CreateRecord', { zone: 'example.com', name: 'grpc', type: 'TXT', value: 'two', ttl: 60 }, { token: h.tokens.alice });
      assert.equal(g2.code, 0, g2.details);
      assert.match((g2.body.warnings as string[]).join('\n'), /grpc\.example\.com\. TXT: the TTL of the whole RRset is now 60 \(was 300\); 1 other record changed with it/);
    });

    test('mcns record add with another TTL says on stderr that the RRset\'s TTL changed', async () => {
      const client = ['--addr', `https://127.0.0.1:${h.restPort}`, '--ca-cert', h.tls.caPath, '--token', h.tokens.alice];
      const r = await mcns(['record', 'add', 'example.com', 'www', 'A', '192.0.2.4', '--ttl', '900', ...client]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^warning: www\.example\.com\. A: the TTL of the whole RRset is now 900 \(was 120\); 3 other records changed with it/m);
    });
  });
});

describe('a BIND secondary follows the RRset that was mixed in an old log (AXFR, then IXFR of the next write)', { skip: requireTool('named') || undefined }, () => {
  let t: ReturnType<typeof testLedger>;
  let dns: DnsServer;
  let xfr: TransferHandlers;
  let bind: Secondary;
  /** What MCNS logged about the transfers it sent. */
  const sent: Array<{ peer?: string; how?: string; msg?: string }> = [];

  /** BIND's answer to `name`/`type` as sorted "ttl value" strings, and the serial it serves. */
  const bindAnswer = async (name: string, type: string): Promise<string[]> =>
    answerKeys(await udpAsk(bind.port, makeQuery(name, type), 1000)).map((k) => k.split(' ').slice(2).join(' ')).sort();
  const bindSerial = async (): Promise<number | undefined> => {
    const soa = answerKeys(await udpAsk(bind.port, makeQuery(ZONE, 'SOA'), 500)).find((k) => k.includes(' SOA '));
    return soa ? Number(soa.split(' ')[5]) : undefined;
  };
  const atSerial = (serial: number) => waitFor(async () => (await bindSerial()) === serial, { what: () => `BIND at serial ${serial}\n${bind.log().slice(-3000)}`, timeoutMs: 30_000 });

  before(async () => {
    t = testLedger({ clock: Date.now });
    t.ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster.${ZONE}` } }, { actor: 'test' });
    t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: Array.from({ length: 40 }, (_, i) => ({ op: 'create' as const, name: `h${i}.${ZONE}`, type: 'A', value: `10.0.0.${i}`, ttl: 300 })) }, { actor: 'test' });
    appendOldBatch(t.ledger, [
      { id: 'm1', name: `www.${ZONE}`, type: 'A', value: '192.0.2.1', ttl: 300 },
      { id: 'm2', name: `www.${ZONE}`, type: 'A', value: '192.0.2.2', ttl: 600 },
      { id: 'm3', name: `www.${ZONE}`, type: 'A', value: '192.0.2.3', ttl: 60 },
      { id: 'm6', name: `mail.${ZONE}`, type: 'A', value: '192.0.2.10', ttl: 30 },
      { id: 'm7', name: `mail.${ZONE}`, type: 'A', value: '192.0.2.11', ttl: 3600 },
    ]);
    const bindPort = await freePort(true);
    xfr = createTransferHandlers({
      ledger: t.ledger,
      config: { allow_from: ['127.0.0.0/8'], allow_keys: [], notify: [`127.0.0.1:${bindPort}`], keys: {} },
      notify: { localAddress: '127.0.0.1', retryMs: 250, maxRetryMs: 1000, maxAttempts: 40, notifyOnStart: false },
      logger: { info: (o: object, msg?: string) => void sent.push({ ...o, msg }), warn: (o: object, msg?: string) => void sent.push({ ...o, msg }) },
    });
    dns = await startDns({ ledger: t.ledger, listen: ['127.0.0.1:0'], handlers: xfr.handlers, transfer: xfr.transfer });
    const dir = fs.mkdtempSync(path.join(t.dir, 'bind-'));
    bind = startBind({ dir, port: bindPort, source: '127.0.0.13', primaryPort: dns.addresses[0].udp.port, zones: [ZONE] });
    await atSerial(t.ledger.zone(ZONE)!.serial);
  });
  after(async () => {
    await bind?.stop();
    await dns?.close();
    xfr?.close();
    t?.cleanup();
  });

  test('BIND holds the lowest TTL after the AXFR, applies the IXFR of the next writes exactly, and answers what MCNS answers', async () => {
    assert.deepEqual(await bindAnswer(`www.${ZONE}`, 'A'), ['60 192.0.2.1', '60 192.0.2.2', '60 192.0.2.3']);
    const mark = bind.log().length;
    const sentMark = sent.length;
    const steps: Command[] = [
      { kind: 'changeRecords', zone: ZONE, ops: [{ op: 'update', id: 'm1', ttl: 600 }] },
      { kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `mail.${ZONE}`, type: 'A', value: '192.0.2.12' }] },
      { kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `www.${ZONE}`, type: 'A', value: '192.0.2.4', ttl: 120 }] },
    ];
    for (const cmd of steps) {
      t.ledger.execute(cmd, { actor: 'test' });
      await atSerial(t.ledger.zone(ZONE)!.serial);
    }
    const log = bind.log().slice(mark);
    assert.doesNotMatch(log, /not exact|retrying with AXFR|falling back to AXFR|failed while receiving/i, log);
    const transfers = sent.slice(sentMark).filter((e) => e.msg === 'zone transfer sent' && e.peer === '127.0.0.13').map((e) => e.how);
    assert.deepEqual(transfers, steps.map(() => 'ixfr'), 'every change went to BIND as an IXFR (no AXFR fallback)');
    for (const name of [`www.${ZONE}`, `mail.${ZONE}`]) {
      const mcnsAnswer = answerKeys(await udpAsk(dns.addresses[0].udp.port, makeQuery(name, 'A'), 1000)).map((k) => k.split(' ').slice(2).join(' ')).sort();
      assert.deepEqual(await bindAnswer(name, 'A'), mcnsAnswer, name);
    }
    assert.deepEqual(await bindAnswer(`www.${ZONE}`, 'A'), ['120 192.0.2.1', '120 192.0.2.2', '120 192.0.2.3', '120 192.0.2.4']);
    assert.deepEqual(await bindAnswer(`mail.${ZONE}`, 'A'), ['30 192.0.2.10', '30 192.0.2.11', '30 192.0.2.12']);
  });
});
