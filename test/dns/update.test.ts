/**
 * DNS UPDATE (RFC 2136) signed with TSIG, driven by the real `nsupdate` (what certbot-dns-rfc2136,
 * lego and acme.sh do under the hood) against the real listeners (startDns) on a Ledger on a temp
 * SQLite file, with `dig` checking the answers right after. Plus raw-wire cases nsupdate cannot
 * produce (malformed sections), built by hand and signed with our TSIG code.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { zoneHistory } from '../../src/projections/history.ts';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { makeKeyring } from '../../src/dns/transfer/index.ts';
import { signRequest, TsigResponseVerifier } from '../../src/dns/transfer/tsig.ts';
import { readQuery } from '../../src/dns/query.ts';
import { nameToWire } from '../../src/records/names.ts';
import { createUpdateHandler, namePattern, OPCODE_UPDATE, UPDATE_RCODE } from '../../src/dns/update.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { pino } from 'pino';
import { udpExchange, tcpExchange } from './helpers.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { requireTool } from '../helpers/tools.ts';

const ZONES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'zones');
const ACME_SECRET = Buffer.from('acme-key secret for the update tests, 32+').toString('base64');
const LIMITED_SECRET = Buffer.from('limited key secret for the update tests').toString('base64');
const XFR_SECRET = Buffer.from('transfer-only key secret for the tests!!').toString('base64');
const keyring = makeKeyring({
  'acme-key': { algorithm: 'hmac-sha256', secret: ACME_SECRET },
  'acme-limited': { algorithm: 'hmac-sha256', secret: LIMITED_SECRET },
  'xfr-key': { algorithm: 'hmac-sha256', secret: XFR_SECRET },
});
const ACME = `hmac-sha256:acme-key:${ACME_SECRET}`;
const LIMITED = `hmac-sha256:acme-limited:${LIMITED_SECRET}`;

// Skipped with the reason printed when the tools are missing, but a failure in CI (they must be there).
const SKIP = requireTool('nsupdate', 'dig');

let dir: string;
let ledger: Ledger;
let dns: DnsServer;
let port: number;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-update-'));
  ledger = Ledger.open({ path: path.join(dir, 'ledger.db') });
  ledger.execute(importCommand('example.com.', fs.readFileSync(path.join(ZONES, 'example.com.zone'), 'utf8')), { actor: 'import' });
  const update = createUpdateHandler({
    ledger,
    keyring,
    config: { allow_keys: ['acme-key', 'acme-limited'], keys: { 'acme-limited': { zones: ['example.com'], names: ['_acme-challenge.*'] } } },
  });
  dns = await startDns({ ledger, listen: ['127.0.0.1:0'], handlers: { [OPCODE_UPDATE]: update } });
  port = dns.addresses[0].udp.port;
});

after(async () => {
  await dns.close();
  ledger.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Run a command asynchronously (the server answers from this process). */
function run(cmd: string, args: string[], timeoutMs = 15000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Feed an nsupdate script (server and zone lines are added) with optional `-y` key and flags. */
async function nsupdate(lines: string[], opts: { key?: string; tcp?: boolean; zone?: string } = {}): Promise<{ code: number; out: string }> {
  const file = path.join(dir, `nsupdate-${Math.random().toString(36).slice(2)}.txt`);
  fs.writeFileSync(file, [`server 127.0.0.1 ${port}`, `zone ${opts.zone ?? 'example.com'}`, ...lines, 'send', ''].join('\n'));
  const args = [...(opts.key ? ['-y', opts.key] : []), ...(opts.tcp ? ['-v'] : []), '-t', '5', file];
  return run('nsupdate', args);
}

/** `dig +short` over UDP. */
async function dig(name: string, type: string): Promise<string> {
  const r = await run('dig', ['@127.0.0.1', '-p', String(port), name, type, '+short', '+time=2', '+tries=1']);
  assert.equal(r.code, 0, r.out);
  return r.out.trim();
}

async function digStatus(name: string, type: string): Promise<string> {
  const r = await run('dig', ['@127.0.0.1', '-p', String(port), name, type, '+time=2', '+tries=1']);
  return /status: (\w+)/.exec(r.out)?.[1] ?? r.out;
}

const serial = (): number => ledger.state.zones.get('example.com.')!.serial;

test('nsupdate -y adds an _acme-challenge TXT record, dig sees it in the very next query, the actor is the key name', { skip: SKIP }, async () => {
  const before = serial();
  const r = await nsupdate(['update add _acme-challenge.example.com. 60 TXT "token-one"'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  assert.equal(await dig('_acme-challenge.example.com', 'TXT'), '"token-one"');
  assert.ok(ledger.state.zones.get('example.com.')!.serial > before, 'one serial bump');
  const entries = zoneHistory(ledger.db, 'example.com.', { name: '_acme-challenge.example.com.' }).entries;
  assert.equal(entries.length, 1);
  assert.equal(entries[0].event, 'RecordCreated');
  assert.equal(entries[0].actor, 'acme-key');
  assert.equal(entries[0].surface, 'update', 'the history says it came through DNS UPDATE');
  // The whole batch (record + serial bump) carries the key as its actor.
  const batch = zoneHistory(ledger.db, 'example.com.', { batchId: entries[0].batchId }).entries;
  assert.deepEqual(batch.map((e) => [e.event, e.actor]), [['RecordCreated', 'acme-key'], ['SerialBumped', 'acme-key']]);
});

test('adding a record that already exists is a no-op (RFC 2136 3.4.2.2), not an error, and bumps nothing', { skip: SKIP }, async () => {
  const before = serial();
  const seq = ledger.state.seq;
  const r = await nsupdate(['update add _acme-challenge.example.com. 60 TXT "token-one"'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  assert.equal(serial(), before);
  assert.equal(ledger.state.seq, seq, 'nothing appended');
});

test('a second challenge token joins the RRset over TCP (nsupdate -v), and deleting one RR leaves the other', { skip: SKIP }, async () => {
  let r = await nsupdate(['update add _acme-challenge.example.com. 60 TXT "token-two"'], { key: ACME, tcp: true });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual((await dig('_acme-challenge.example.com', 'TXT')).split('\n').sort(), ['"token-one"', '"token-two"']);
  r = await nsupdate(['update delete _acme-challenge.example.com. TXT "token-one"'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  assert.equal(await dig('_acme-challenge.example.com', 'TXT'), '"token-two"');
});

test('nsupdate deletes the RRset; dig gets NXDOMAIN right after', { skip: SKIP }, async () => {
  const r = await nsupdate(['update delete _acme-challenge.example.com. TXT'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  assert.equal(await digStatus('_acme-challenge.example.com', 'TXT'), 'NXDOMAIN');
  const entries = zoneHistory(ledger.db, 'example.com.', { name: '_acme-challenge.example.com.' }).entries;
  assert.ok(entries.filter((e) => e.event === 'RecordDeleted').every((e) => e.actor === 'acme-key'));
});

for (const c of [
  { name: 'RRset exists (value-independent) on a missing RRset: NXRRSET', prereq: 'prereq yxrrset _acme-challenge.example.com. TXT', rcode: 'NXRRSET' },
  { name: 'RRset exists (value-dependent) with another value: NXRRSET', prereq: 'prereq yxrrset mail.example.com. A 192.0.2.99', rcode: 'NXRRSET' },
  { name: 'RRset does not exist on an existing RRset: YXRRSET', prereq: 'prereq nxrrset mail.example.com. A', rcode: 'YXRRSET' },
  { name: 'name is in use on a missing name: NXDOMAIN', prereq: 'prereq yxdomain nothere.example.com.', rcode: 'NXDOMAIN' },
  { name: 'name is not in use on an existing name: YXDOMAIN', prereq: 'prereq nxdomain www.example.com.', rcode: 'YXDOMAIN' },
]) {
  test(`prerequisite failure, ${c.name}; nothing is written`, { skip: SKIP }, async () => {
    const seq = ledger.state.seq;
    const r = await nsupdate([c.prereq, 'update add _acme-challenge.example.com. 60 TXT "blocked"'], { key: ACME });
    assert.notEqual(r.code, 0);
    assert.match(r.out, new RegExp(`update failed: ${c.rcode}`), r.out);
    assert.equal(ledger.state.seq, seq);
  });
}

test('prerequisites that hold let the update through (value-dependent match, nxdomain, nxrrset)', { skip: SKIP }, async () => {
  const r = await nsupdate(
    ['prereq yxrrset mail.example.com. A 192.0.2.25', 'prereq nxdomain _acme-challenge.example.com.', 'prereq nxrrset mail.example.com. TXT', 'update add _acme-challenge.example.com. 60 TXT "ok"'],
    { key: ACME },
  );
  assert.equal(r.code, 0, r.out);
  assert.equal(await dig('_acme-challenge.example.com', 'TXT'), '"ok"');
  assert.equal((await nsupdate(['update delete _acme-challenge.example.com.'], { key: ACME })).code, 0);
});

test('an unsigned update is REFUSED', { skip: SKIP }, async () => {
  const seq = ledger.state.seq;
  const r = await nsupdate(['update add _acme-challenge.example.com. 60 TXT "unsigned"']);
  assert.match(r.out, /update failed: REFUSED/, r.out);
  assert.equal(ledger.state.seq, seq);
});

test('an unknown key gets NOTAUTH/BADKEY, a wrong secret NOTAUTH/BADSIG, a key not in allow_keys REFUSED', { skip: SKIP }, async () => {
  const seq = ledger.state.seq;
  const add = ['update add _acme-challenge.example.com. 60 TXT "wrong"'];
  const unknown = await nsupdate(add, { key: `hmac-sha256:nobody:${ACME_SECRET}` });
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.out, /update failed: NOTAUTH\(BADKEY\)/, unknown.out);
  const badSecret = await nsupdate(add, { key: `hmac-sha256:acme-key:${Buffer.from('not the secret').toString('base64')}` });
  assert.notEqual(badSecret.code, 0);
  assert.match(badSecret.out, /update failed: NOTAUTH\(BADSIG\)/, badSecret.out);
  const xfr = await nsupdate(add, { key: `hmac-sha256:xfr-key:${XFR_SECRET}` });
  assert.match(xfr.out, /update failed: REFUSED/, xfr.out);
  assert.equal(ledger.state.seq, seq);
});

test('a key limited to _acme-challenge.* may change those names and is REFUSED elsewhere', { skip: SKIP }, async () => {
  let r = await nsupdate(['update add _acme-challenge.www.example.com. 60 TXT "limited"'], { key: LIMITED });
  assert.equal(r.code, 0, r.out);
  const seq = ledger.state.seq;
  r = await nsupdate(['update add www2.example.com. 60 A 192.0.2.80'], { key: LIMITED });
  assert.match(r.out, /update failed: REFUSED/, r.out);
  assert.equal(ledger.state.seq, seq);
  const entries = zoneHistory(ledger.db, 'example.com.', { name: '_acme-challenge.www.example.com.' }).entries;
  assert.equal(entries[0].actor, 'acme-limited');
});

test('a CNAME-exclusivity violation is REFUSED and changes nothing (whole update rolled back)', { skip: SKIP }, async () => {
  const seq = ledger.state.seq;
  const s = serial();
  const r = await nsupdate(['update add other.example.com. 60 A 192.0.2.90', 'update add mail.example.com. 60 CNAME www.example.com.'], { key: ACME });
  assert.match(r.out, /update failed: REFUSED/, r.out);
  assert.equal(ledger.state.seq, seq);
  assert.equal(serial(), s);
  assert.equal(await digStatus('other.example.com', 'A'), 'NXDOMAIN');
  assert.equal(await dig('mail.example.com', 'A'), '192.0.2.25');
});

test('replacing data with a CNAME in one update (delete then add) is accepted, atomically', { skip: SKIP }, async () => {
  let r = await nsupdate(['update add swap.example.com. 60 A 192.0.2.91'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  r = await nsupdate(['update delete swap.example.com. A', 'update add swap.example.com. 60 CNAME www.example.com.'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  assert.equal(await dig('swap.example.com', 'CNAME'), 'www.example.com.');
});

test('deleting the SOA is ignored and the last apex NS is kept (RFC 2136 3.4.2.4)', { skip: SKIP }, async () => {
  const s = serial();
  let r = await nsupdate(['update delete example.com. SOA'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  assert.equal(serial(), s, 'nothing changed');
  // Two NS at the apex: deleting both removes the first and keeps the last one.
  r = await nsupdate(['update delete example.com. NS ns1.example.com.', 'update delete example.com. NS ns2.example.net.'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  assert.equal(await dig('example.com', 'NS'), 'ns2.example.net.');
  // Deleting every RRset of the apex keeps the SOA and NS.
  r = await nsupdate(['update delete example.com.'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  assert.equal(await dig('example.com', 'NS'), 'ns2.example.net.');
  assert.notEqual(await dig('example.com', 'SOA'), '');
  assert.equal(await dig('example.com', 'MX'), '');
});

test('every type is accepted, RFC 3597 ones byte for byte; SOA additions are REFUSED (the ledger owns the serial)', { skip: SKIP }, async () => {
  let r = await nsupdate(['update add info.example.com. 60 HINFO "cpu" "os"', 'update add info.example.com. 60 TYPE65400 \\# 4 0a000001'], { key: ACME });
  assert.equal(r.code, 0, r.out);
  const at = [...ledger.state.zones.get('example.com.')!.records.values()].filter((x) => x.name === 'info.example.com.');
  assert.deepEqual(at.map((x) => `${x.type} ${x.value}`).sort(), ['HINFO "cpu" "os"', 'TYPE65400 \\# 4 0A000001']);
  const seq = ledger.state.seq;
  r = await nsupdate(['update add example.com. 60 SOA ns1.example.com. hostmaster.example.com. 1 2 3 4 5'], { key: ACME });
  assert.match(r.out, /update failed: REFUSED/, r.out);
  assert.equal(ledger.state.seq, seq);
  r = await nsupdate(['update delete info.example.com.'], { key: ACME });
  assert.equal(r.code, 0, r.out);
});

test('a name outside the zone is NOTZONE; a zone we do not serve is NOTAUTH', { skip: SKIP }, async () => {
  let r = await nsupdate(['update add www.example.org. 60 A 192.0.2.1'], { key: ACME });
  assert.match(r.out, /NOTZONE/, r.out);
  r = await nsupdate(['update add www.example.org. 60 A 192.0.2.1'], { key: ACME, zone: 'example.org' });
  assert.match(r.out, /NOTAUTH/, r.out);
});

// ---- Raw wire: cases nsupdate does not produce. ----

interface RawRR {
  name: string;
  type: number;
  cls: number;
  ttl?: number;
  rdata?: Buffer;
}

function rr(r: RawRR): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(r.type, 0);
  head.writeUInt16BE(r.cls, 2);
  head.writeUInt32BE(r.ttl ?? 0, 4);
  head.writeUInt16BE(r.rdata?.length ?? 0, 8);
  return Buffer.concat([Buffer.from(nameToWire(r.name)), head, r.rdata ?? Buffer.alloc(0)]);
}

/** An UPDATE message: zone section, prerequisites, updates. */
function updateMessage(zone: string, prereqs: RawRR[], updates: RawRR[], zoneType = 6): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(prereqs.length, 6);
  h.writeUInt16BE(updates.length, 8);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(zoneType, 0);
  q.writeUInt16BE(1, 2);
  return Buffer.concat([h, Buffer.from(nameToWire(zone)), q, ...prereqs.map(rr), ...updates.map(rr)]);
}

const txt = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);

/** Send a signed UPDATE; verify the signed response; return its rcode. */
async function signedRaw(msg: Buffer, transport: 'udp' | 'tcp' = 'udp'): Promise<number> {
  const key = keyring.get('acme-key.')!;
  const signed = signRequest(msg, key);
  const reply = transport === 'udp' ? await udpExchange(port, signed.bytes) : (await tcpExchange(port, [signed.bytes]))[0];
  const copy = Buffer.from(reply);
  copy[2] &= 0x7f; // readQuery skips responses; clear QR to find the TSIG
  const q = readQuery(copy);
  assert.ok(q.kind === 'query' && q.hasTsig, 'the response is signed');
  new TsigResponseVerifier(key, signed.mac).verify(reply, q.tsigOffset!);
  assert.equal((reply.readUInt16BE(2) >> 11) & 0xf, OPCODE_UPDATE, 'opcode echoed');
  return reply[3] & 0xf;
}

test('raw: a signed add over UDP and TCP is applied and the response verifies with the request key', async () => {
  assert.equal(await signedRaw(updateMessage('example.com.', [], [{ name: 'raw.example.com.', type: 16, cls: 1, ttl: 30, rdata: txt('raw') }])), UPDATE_RCODE.NOERROR);
  const rec = [...ledger.state.zones.get('example.com.')!.records.values()].find((r) => r.name === 'raw.example.com.');
  assert.deepEqual([rec?.type, rec?.value, rec?.ttl], ['TXT', '"raw"', 30]);
  assert.equal(await signedRaw(updateMessage('example.com.', [], [{ name: 'raw.example.com.', type: 255, cls: 255 }]), 'tcp'), UPDATE_RCODE.NOERROR);
  assert.ok(![...ledger.state.zones.get('example.com.')!.records.values()].some((r) => r.name === 'raw.example.com.'));
});

for (const c of [
  { name: 'prerequisite with a non-zero TTL', prereqs: [{ name: 'www.example.com.', type: 1, cls: 255, ttl: 5 }], updates: [] as RawRR[], rcode: UPDATE_RCODE.FORMERR },
  { name: 'class ANY prerequisite with rdata', prereqs: [{ name: 'www.example.com.', type: 1, cls: 255, rdata: Buffer.from([1, 2, 3, 4]) }], updates: [], rcode: UPDATE_RCODE.FORMERR },
  { name: 'update adding type ANY', prereqs: [], updates: [{ name: 'x.example.com.', type: 255, cls: 1, ttl: 60 }], rcode: UPDATE_RCODE.FORMERR },
  { name: 'class ANY delete with a TTL', prereqs: [], updates: [{ name: 'x.example.com.', type: 1, cls: 255, ttl: 60 }], rcode: UPDATE_RCODE.FORMERR },
  { name: 'class NONE delete of type ANY', prereqs: [], updates: [{ name: 'x.example.com.', type: 255, cls: 254 }], rcode: UPDATE_RCODE.FORMERR },
  { name: 'update with class CH', prereqs: [], updates: [{ name: 'x.example.com.', type: 1, cls: 3, ttl: 60, rdata: Buffer.from([1, 2, 3, 4]) }], rcode: UPDATE_RCODE.FORMERR },
  { name: 'A record with 3 bytes of rdata', prereqs: [], updates: [{ name: 'x.example.com.', type: 1, cls: 1, ttl: 60, rdata: Buffer.from([1, 2, 3]) }], rcode: UPDATE_RCODE.FORMERR },
  { name: 'DS with a 2-byte SHA-256 digest', prereqs: [], updates: [{ name: 'x.example.com.', type: 43, cls: 1, ttl: 60, rdata: Buffer.from('00010d02abcd', 'hex') }], rcode: UPDATE_RCODE.FORMERR },
  { name: 'SVCB with its keys out of order', prereqs: [], updates: [{ name: 'x.example.com.', type: 64, cls: 1, ttl: 60, rdata: Buffer.from('000100' + '000300020050' + '00010003026832', 'hex') }], rcode: UPDATE_RCODE.FORMERR },
  { name: 'NAPTR with "+" in its flags', prereqs: [], updates: [{ name: 'x.example.com.', type: 35, cls: 1, ttl: 60, rdata: Buffer.from('00010001012b000000', 'hex') }], rcode: UPDATE_RCODE.FORMERR },
  { name: 'prerequisite outside the zone', prereqs: [{ name: 'www.example.org.', type: 1, cls: 255 }], updates: [], rcode: UPDATE_RCODE.NOTZONE },
  { name: 'TTL above 2^31-1', prereqs: [], updates: [{ name: 'x.example.com.', type: 1, cls: 1, ttl: 0x80000000, rdata: Buffer.from([1, 2, 3, 4]) }], rcode: UPDATE_RCODE.REFUSED },
]) {
  test(`raw: ${c.name} is answered ${Object.entries(UPDATE_RCODE).find(([, v]) => v === c.rcode)![0]} and changes nothing`, async () => {
    const seq = ledger.state.seq;
    assert.equal(await signedRaw(updateMessage('example.com.', c.prereqs, c.updates)), c.rcode);
    assert.equal(ledger.state.seq, seq);
  });
}

test('raw: a request signed 20 minutes ago is NOTAUTH (BADTIME) and changes nothing', async () => {
  const seq = ledger.state.seq;
  const msg = updateMessage('example.com.', [], [{ name: 'late.example.com.', type: 16, cls: 1, ttl: 30, rdata: txt('late') }]);
  const signed = signRequest(msg, keyring.get('acme-key.')!, Math.floor(Date.now() / 1000) - 1200);
  const reply = await udpExchange(port, signed.bytes);
  assert.equal(reply[3] & 0xf, UPDATE_RCODE.NOTAUTH);
  assert.equal(ledger.state.seq, seq);
});

test('raw: re-adding an RR with another TTL changes only its TTL; a CNAME replaces the CNAME at its name', async () => {
  const zone = (): ReturnType<typeof ledger.state.zones.get> => ledger.state.zones.get('example.com.');
  const at = (name: string) => [...zone()!.records.values()].filter((r) => r.name === name).map((r) => `${r.type} ${r.value} ${r.ttl}`);
  const rrTxt = { name: 'ttl.example.com.', type: 16, cls: 1, rdata: txt('v') };
  assert.equal(await signedRaw(updateMessage('example.com.', [], [{ ...rrTxt, ttl: 30 }])), UPDATE_RCODE.NOERROR);
  assert.equal(await signedRaw(updateMessage('example.com.', [], [{ ...rrTxt, ttl: 90 }])), UPDATE_RCODE.NOERROR);
  assert.deepEqual(at('ttl.example.com.'), ['TXT "v" 90']);
  const cname = (target: string): RawRR => ({ name: 'alias.example.com.', type: 5, cls: 1, ttl: 60, rdata: Buffer.from(nameToWire(target)) });
  assert.equal(await signedRaw(updateMessage('example.com.', [], [cname('www.example.com.')])), UPDATE_RCODE.NOERROR);
  assert.equal(await signedRaw(updateMessage('example.com.', [], [cname('mail.example.com.')])), UPDATE_RCODE.NOERROR);
  assert.deepEqual(at('alias.example.com.'), ['CNAME mail.example.com. 60']);
});

test('raw: a zone section whose type is not SOA is FORMERR', async () => {
  assert.equal(await signedRaw(updateMessage('example.com.', [], [], 1)), UPDATE_RCODE.FORMERR);
});

test('namePattern: "*" spans whole labels, matching is case-insensitive and ignores the trailing dot', () => {
  const m = namePattern('_acme-challenge.*');
  assert.ok(m('_acme-challenge.example.com.'));
  assert.ok(m('_ACME-challenge.www.example.com'));
  assert.ok(!m('www.example.com.'));
  assert.ok(!m('x_acme-challenge.example.com.'));
  assert.ok(namePattern('host.example.com.')('host.example.com.'));
});

test('createUpdateHandler refuses keys missing from the keyring and limits for keys not allowed', () => {
  assert.throws(() => createUpdateHandler({ ledger, keyring, config: { allow_keys: ['nope'] } }), /update\.allow_keys/);
  assert.throws(() => createUpdateHandler({ ledger, keyring, config: { allow_keys: ['acme-key'], keys: { 'xfr-key': { zones: ['example.com'] } } } }), /update\.keys\.xfr-key/);
});

test('config: [update] allow_keys and [update.keys.*] load, and naming an undefined key is refused with the key named', () => {
  const write = (text: string): string => {
    const p = path.join(dir, `cfg-${Math.random().toString(36).slice(2)}.toml`);
    fs.writeFileSync(p, text);
    return p;
  };
  const base = `[tsig.keys.acme-key]\nsecret = "${ACME_SECRET}"\n`;
  const ok = loadConfig({ dev: true, devDir: dir, path: write(`${base}[update]\nallow_keys = ["acme-key"]\n[update.keys.acme-key]\nzones = ["example.com"]\nnames = ["_acme-challenge.*"]\n`), env: {} });
  assert.deepEqual(ok.update, { allow_keys: ['acme-key'], keys: { 'acme-key': { zones: ['example.com'], names: ['_acme-challenge.*'], types: [] } } });
  assert.deepEqual(loadConfig({ dev: true, devDir: dir, env: {} }).update, { allow_keys: [], keys: {} });
  assert.throws(() => loadConfig({ dev: true, devDir: dir, path: write(`[update]\nallow_keys = ["ghost"]\n`), env: {} }), /update\.allow_keys.*ghost/);
  assert.throws(() => loadConfig({ dev: true, devDir: dir, path: write(`${base}[update]\nallow_keys = ["acme-key"]\n[update.keys.other]\nzones = []\n`), env: {} }), /update\.keys\.other/);
  assert.throws(() => loadConfig({ dev: true, devDir: dir, path: write(`${base}[update]\nallow_key = ["acme-key"]\n`), env: {} }), /unknown key update\.allow_key/);
  assert.deepEqual(loadConfig({ dev: true, devDir: dir, path: write(base), env: { MCNS_UPDATE_ALLOW_KEYS: 'acme-key' } }).update.allow_keys, ['acme-key']);
});

test('the server composition (startServer) wires [update] into the DNS listener: nsupdate adds, dig sees it', { skip: SKIP }, async () => {
  const sdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-update-server-'));
  const cfg = writeServerConfig(sdir, {
    tail: ['[update]', 'allow_keys = ["acme-key"]', '[update.keys.acme-key]', 'names = ["_acme-challenge.*"]', '[tsig.keys.acme-key]', `secret = "${ACME_SECRET}"`],
  });
  const server = await startServer(loadConfig({ path: cfg, env: {} }), { logger: pino({ level: 'silent' }) });
  try {
    server.ledger.execute(importCommand('up.test.', '$TTL 300\n@ SOA ns.up.test. h.up.test. 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.1\n'), { actor: 'test' });
    const sport = server.dns[0].udp.split(':').pop()!;
    const file = path.join(sdir, 'script.txt');
    fs.writeFileSync(file, `server 127.0.0.1 ${sport}\nzone up.test\nupdate add _acme-challenge.up.test. 60 TXT "via-server"\nsend\n`);
    const r = await run('nsupdate', ['-y', ACME, '-t', '5', file]);
    assert.equal(r.code, 0, r.out);
    const d = await run('dig', ['@127.0.0.1', '-p', sport, '_acme-challenge.up.test', 'TXT', '+short', '+time=2', '+tries=1']);
    assert.equal(d.out.trim(), '"via-server"');
    fs.writeFileSync(file, `server 127.0.0.1 ${sport}\nzone up.test\nupdate add www.up.test. 60 A 192.0.2.9\nsend\n`);
    assert.match((await run('nsupdate', ['-y', ACME, '-t', '5', file])).out, /update failed: REFUSED/);
    assert.equal(zoneHistory(server.ledger.db, 'up.test.', { name: '_acme-challenge.up.test.' }).entries[0].actor, 'acme-key');
    // Outcomes are counted in mcns_dns_updates_total.
    assert.equal(server.metrics.dnsUpdates.get({ outcome: 'applied' }), 1);
    assert.equal(server.metrics.dnsUpdates.get({ outcome: 'refused' }), 1);
    assert.match(await server.metrics.registry.render(), /mcns_dns_updates_total\{outcome="applied"\} 1/);
    // Without a zone line nsupdate finds the zone with an SOA query first (as lego and acme.sh do).
    fs.writeFileSync(file, `server 127.0.0.1 ${sport}\nupdate add _acme-challenge.deep.up.test. 60 TXT "found-zone"\nsend\n`);
    const found = await run('nsupdate', ['-y', ACME, '-t', '5', file]);
    assert.equal(found.code, 0, found.out);
    // certbot-dns-rfc2136 finds the zone with TSIG-signed SOA queries and wants a signed, authoritative answer.
    const soa = await run('dig', ['-y', ACME, '@127.0.0.1', '-p', sport, 'up.test', 'SOA', '+time=2', '+tries=1']);
    assert.match(soa.out, /flags: qr aa/, soa.out);
    assert.doesNotMatch(soa.out, /tsig verify failure|Couldn't verify/i, soa.out);
  } finally {
    await server.stop('test');
    fs.rmSync(sdir, { recursive: true, force: true });
  }
});
