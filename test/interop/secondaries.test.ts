/**
 * MCNS as the primary of real Knot, NSD and BIND secondaries on loopback high ports, without TSIG
 * and with a key of each algorithm (hmac-sha256/384/512). The zones include large.test (RRsets of
 * 300 and 2000 records, split across AXFR messages). After the initial AXFR every secondary answers
 * like MCNS for every name (a truncated UDP answer asked again over TCP); after a batch
 * of 100 record changes through the REST API each one, prompted by NOTIFY, catches up by IXFR
 * (proven from MCNS's transfer log, keyed by each secondary's own source address, and from the
 * secondaries' logs) within 5 seconds and answers like MCNS again; after a restore they converge too.
 *
 * A missing binary skips with the reason printed, except under CI=true, where it fails (test/helpers/tools.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { Ledger } from '../../src/ledger.ts';
import { startDns } from '../../src/dns/server.ts';
import { startRest } from '../../src/api/rest.ts';
import { createDevAuth } from '../../src/api/auth.ts';
import { createTransferHandlers } from '../../src/dns/transfer/index.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { allRecords } from '../../src/projections/trie.ts';
import { tempDir } from '../helpers/ledger.ts';
import { makeTestTls } from '../helpers/tls.ts';
import { answerKeys, makeQuery, rcodeOf, tcpExchange, udpExchange } from '../transfer/helpers.ts';
import { startBind, startKnot, startNsd, type Secondary, type SecondaryConfig } from '../transfer/secondaries.ts';
import { freePort } from '../helpers/ports.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';

/** The secondaries' daemons: missing ones skip the suite with the reason printed, or fail it under CI=true. */
const skip = requireTool('knotd', 'nsd', 'named');

const ZONE = 'example.com.';
/** The zones transferred: two repository fixtures and the large RRsets (2000 A at one name spans several AXFR messages). */
const ZONES = [ZONE, 'svc.mcp.metacircular.net.', 'large.test.'];
const ZONE_FILES: Record<string, string> = {
  'example.com': '../fixtures/zones/example.com.zone',
  'svc.mcp.metacircular.net': '../fixtures/zones/svc.mcp.metacircular.net.zone',
  'large.test': '../fixtures/dns/large.test.zone',
};
const TOKEN = 'interop-admin-token';
/** A TSIG key of each algorithm MCNS supports: every secondary verifies our signed AXFR/IXFR chains with each. */
type Key = { name: string; algorithm: string; secret: string };
const KEY: Key = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: Buffer.from('interop secret for the xfr key, 32b').toString('base64') };
const KEY_384: Key = { name: 'xfr-key-384', algorithm: 'hmac-sha384', secret: Buffer.from('interop secret for the hmac-sha384 transfer key, 48b.').toString('base64') };
const KEY_512: Key = { name: 'xfr-key-512', algorithm: 'hmac-sha512', secret: Buffer.from('interop secret for the hmac-sha512 transfer key: sixty-four bytes!').toString('base64') };

/** One JSON request to the REST API (self-signed CA of the test). */
function api(port: number, ca: Buffer, method: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      { host: '127.0.0.1', port, method, path, ca, servername: 'localhost', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** rcode + sorted answer section of one query; a truncated UDP answer is asked again over TCP, as a resolver would. */
async function answerOf(port: number, name: string, type: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      let msg = await udpExchange(port, makeQuery(name, type, { id: 1 + attempt }), 1000);
      if (msg[2] & 0x02) [msg] = await tcpExchange(port, makeQuery(name, type, { id: 1 + attempt }), (m) => m.length === 1, { timeoutMs: 5000 });
      return `${rcodeOf(msg)} ${answerKeys(msg).sort().join(' | ')}`;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** Every (owner, type) of the zones plus names that do not exist. */
function questions(ledger: Ledger): Array<[string, string]> {
  const qs: Array<[string, string]> = [];
  for (const z of ZONES) {
    const zone = ledger.zone(z);
    if (!zone) continue;
    const seen = new Set<string>();
    for (const r of allRecords(zone.tree)) {
      const k = `${r.name} ${r.type}`;
      if (seen.has(k)) continue;
      seen.add(k);
      qs.push([r.name, r.type]);
    }
    qs.push([`nonexistent.${z}`, 'A'], [z, 'AAAA']);
  }
  return qs;
}

/** Every question answered alike by MCNS and each secondary; returns how many were asked. */
async function compareAll(ledger: Ledger, mcnsPort: number, secs: Secondary[]): Promise<number> {
  const qs = questions(ledger);
  let largest = 0;
  for (const [name, type] of qs) {
    const want = await answerOf(mcnsPort, name, type);
    largest = Math.max(largest, want.split(' | ').length);
    for (const s of secs) {
      const got = await answerOf(s.port, name, type);
      assert.equal(got, want, `${s.name} answers ${name} ${type} differently`);
    }
  }
  assert.equal(largest, 2000, 'the 2000-record A RRset of large.test was compared in full (over TCP after TC)');
  return qs.length;
}

async function soaSerial(port: number, zone: string): Promise<number | undefined> {
  try {
    const msg = await udpExchange(port, makeQuery(zone, 'SOA'), 500);
    const soa = answerKeys(msg).find((k) => k.includes(' SOA '));
    return soa ? Number(soa.split(' ')[5]) : undefined;
  } catch {
    return undefined;
  }
}

/** Wait until every secondary serves `serial` for `zone`; returns the ms it took. */
async function waitSerial(secs: Secondary[], zone: string, serial: number, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const pending = new Set(secs);
  while (pending.size > 0) {
    for (const s of [...pending]) if ((await soaSerial(s.port, zone)) === serial) pending.delete(s);
    if (pending.size === 0) break;
    if (Date.now() - t0 > timeoutMs) {
      const state = await Promise.all([...pending].map(async (s) => `${s.name}@${await soaSerial(s.port, zone)}`));
      throw new Error(`not at serial ${serial} of ${zone} after ${timeoutMs} ms: ${state.join(', ')}\n${[...pending].map((s) => `--- ${s.name}\n${s.log().slice(-3000)}`).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

/** The whole story with the secondaries; `tsigKey`: only that key admits them (their addresses are not allowed). */
async function scenario(tsigKey?: Key): Promise<void> {
  const withTsig = tsigKey !== undefined;
  const key = tsigKey ?? KEY;
  const tmp = tempDir('mcns-interop-');
  const tls = makeTestTls();
  const ledger = Ledger.open({ path: join(tmp.dir, 'mcns.db') });
  const xfrLog: Array<Record<string, unknown> & { msg?: string }> = [];
  const logger = { info: (o: object, msg?: string) => xfrLog.push({ ...o, msg }), warn: (o: object, msg?: string) => xfrLog.push({ ...o, msg }) };
  const secs: Secondary[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    for (const [zone, file] of Object.entries(ZONE_FILES)) {
      ledger.execute(importCommand(zone, readFileSync(new URL(file, import.meta.url), 'utf8')), { actor: 'import' });
    }
    // 300 more records, among them those the batch of 100 will update and delete (so the batch's
    // difference stays smaller than the zone and IXFR is the right answer).
    ledger.execute(
      { kind: 'changeRecords', zone: ZONE, ops: Array.from({ length: 300 }, (_, i) => ({ op: 'create' as const, name: `h${i}.${ZONE}`, type: 'A', value: `10.0.${i >> 8}.${i & 255}`, ttl: 300 })) },
      { actor: 'test' },
    );
    const ports = { knot: await freePort(), nsd: await freePort(), bind: await freePort() };
    const xfr = createTransferHandlers({
      ledger,
      config: {
        // With TSIG the secondaries' source addresses (127.0.0.11-13) are not allowed: only the key lets them in.
        allow_from: withTsig ? ['127.0.0.1/32'] : ['127.0.0.0/8'],
        allow_keys: withTsig ? [key.name] : [],
        notify: Object.values(ports).map((p) => `127.0.0.1:${p}`),
        keys: { [key.name]: { algorithm: key.algorithm, secret: key.secret } },
      },
      logger,
      notify: { localAddress: '127.0.0.1', retryMs: 250, maxRetryMs: 1000, maxAttempts: 40, notifyOnStart: false },
    });
    cleanups.push(() => xfr.close());
    const dns = await startDns({ ledger, listen: ['127.0.0.1:0'], handlers: xfr.handlers, transfer: xfr.transfer });
    cleanups.push(() => dns.close());
    const mcnsPort = dns.addresses[0].udp.port;
    const rest = await startRest({ ledger, tls: { cert: tls.cert, key: tls.key }, listen: '127.0.0.1:0', auth: createDevAuth({ token: TOKEN }) });
    cleanups.push(() => rest.close());

    const base = (name: string, source: string): SecondaryConfig => {
      const dir = join(tmp.dir, name);
      mkdirSync(dir, { recursive: true });
      return { dir, port: ports[name as keyof typeof ports], source, primaryPort: mcnsPort, zones: ZONES, key: tsigKey };
    };
    secs.push(startKnot(base('knot', '127.0.0.11')), startNsd(base('nsd', '127.0.0.12')), startBind(base('bind', '127.0.0.13')));
    const sourceOf = (s: Secondary): string => s.source;

    // 1. Initial AXFR.
    for (const z of ZONES) await waitSerial(secs, z, ledger.zone(z)!.serial, 30000);
    const n = await compareAll(ledger, mcnsPort, secs);
    console.log(`${withTsig ? `TSIG ${key.algorithm}` : 'no TSIG'}: initial transfer done, ${n} questions answered alike by MCNS, Knot, NSD and BIND`);
    for (const s of secs) {
      const sent = xfrLog.filter((e) => e.msg === 'zone transfer sent' && e.peer === sourceOf(s));
      assert.ok(sent.length >= ZONES.length, `${s.name} transferred every zone`);
      if (withTsig) assert.ok(sent.every((e) => e.key === `${key.name}.`), `${s.name} transfers were TSIG-signed`);
    }

    // 2. A batch of 100 changes through the REST API: 40 creates, 30 updates, 30 deletes.
    const mark = xfrLog.length;
    const secLogMark = secs.map((s) => s.log().length);
    const h = [...ledger.zone(ZONE)!.records.values()].filter((r) => /^h\d+\./.test(r.name)).sort((a, b) => a.name.localeCompare(b.name));
    const changes = [
      ...Array.from({ length: 40 }, (_, i) => ({ op: 'create', name: `new${i}`, type: i % 2 ? 'TXT' : 'A', value: i % 2 ? `"batch record ${i}"` : `198.51.100.${i}` })),
      ...h.slice(0, 30).map((r, i) => ({ op: 'update', id: r.id, value: `203.0.113.${i}`, ttl: 600 })),
      ...h.slice(30, 60).map((r) => ({ op: 'delete', id: r.id })),
    ];
    assert.equal(changes.length, 100);
    const before = ledger.state.seq;
    const t0 = Date.now();
    const res = await api(rest.address.port, tls.ca, 'POST', `/v1/zones/${ZONE.slice(0, -1)}/changes`, changes);
    assert.ok(res.status >= 200 && res.status < 300, `REST changes answered ${res.status} ${JSON.stringify(res.json)}`);
    const serial = ledger.zone(ZONE)!.serial;
    await waitSerial(secs, ZONE, serial, 5000);
    const took = Date.now() - t0;
    assert.ok(took < 5000, `caught up in ${took} ms`);
    console.log(`${withTsig ? `TSIG ${key.algorithm}` : 'no TSIG'}: 100 changes reached Knot, NSD and BIND in ${took} ms`);
    const after = xfrLog.slice(mark);
    for (const s of secs) {
      const mine = after.filter((e) => e.msg === 'zone transfer sent' && e.peer === sourceOf(s) && e.zone === ZONE);
      assert.ok(mine.length >= 1, `${s.name} transferred ${ZONE} after the change`);
      assert.ok(mine.every((e) => e.how === 'ixfr'), `${s.name} used IXFR, not AXFR: ${JSON.stringify(mine)}`);
      // The secondary's own log shows the same transfer: Knot names it ("IXFR, incoming"); NSD and
      // BIND log its size, which is the IXFR's byte count (the AXFR of this zone is several times larger).
      // BIND counts the TSIG RRs in the size, Knot and NSD do not.
      const sizes = [mine[mine.length - 1].bytes, mine[mine.length - 1].unsignedBytes].map((b) => `${b} bytes`);
      const find = (): { own: string; line?: string } => {
        const own = s.log().slice(secLogMark[secs.indexOf(s)]);
        return { own, line: own.split('\n').find((l) => sizes.some((b) => l.includes(b)) && (s.name !== 'knot' || /IXFR, incoming/.test(l))) };
      };
      // The zone may be served a moment before the line is written: poll the log for it.
      const { own, line } = await waitFor(() => (find().line ? find() : undefined), {
        what: () => `${s.name} to log the IXFR of ${sizes.join(' or ')}:\n${find().own}`,
        timeoutMs: 5000,
      });
      if (process.env.INTEROP_DEBUG) console.log(own);
      assert.ok(line);
      console.log(`${s.name}: ${line.trim()}`);
    }
    await compareAll(ledger, mcnsPort, secs);

    // 3. Restore the zone to before the batch.
    const restore = await api(rest.address.port, tls.ca, 'POST', `/v1/zones/${ZONE.slice(0, -1)}/restore`, { at: String(before) });
    assert.ok(restore.status >= 200 && restore.status < 300, `REST restore answered ${restore.status} ${JSON.stringify(restore.json)}`);
    const restored = ledger.zone(ZONE)!.serial;
    const t1 = Date.now();
    await waitSerial(secs, ZONE, restored, 5000);
    console.log(`${withTsig ? `TSIG ${key.algorithm}` : 'no TSIG'}: restore reached every secondary in ${Date.now() - t1} ms`);
    await compareAll(ledger, mcnsPort, secs);
    const restoreXfrs = xfrLog.slice(mark).filter((e) => e.msg === 'zone transfer sent' && e.serial === restored);
    console.log(`restore transfers: ${restoreXfrs.map((e) => `${e.peer} ${e.how}`).join(', ')}`);
  } finally {
    for (const s of secs) await s.stop();
    for (const c of cleanups.reverse()) await c();
    ledger.close();
    tmp.cleanup();
  }
}


test('Knot, NSD and BIND follow MCNS by AXFR, then NOTIFY + IXFR, and after a restore (no TSIG)', { skip, timeout: 120000 }, async () => {
  await scenario();
});

for (const key of [KEY, KEY_384, KEY_512]) {
  test(`Knot, NSD and BIND follow MCNS with TSIG (${key.algorithm}) when only the key admits them`, { skip, timeout: 120000 }, async () => {
    await scenario(key);
  });
}
