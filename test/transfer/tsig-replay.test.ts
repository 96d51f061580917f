/**
 * TSIG replay (RFC 8945 5.2.3): a signed UPDATE captured on the wire and sent again within the fudge
 * window is refused (NOTAUTH, TSIG error BADTIME, signed) and changes nothing, whatever the replayer
 * does to the parts the MAC does not bind (header id, MAC truncation) and over either transport.
 * Distinct updates signed in the same second all apply (nsupdate sends several), and read-only
 * signed requests (AXFR, SOA queries) still work when sent twice, as retrying secondaries do.
 * Real listeners (startDns) on loopback, a Ledger on a temp SQLite file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { createTransferHandlers, type TransferHandlers } from '../../src/dns/transfer/index.ts';
import { parseTsig, signRequest, TSIG_ERROR } from '../../src/dns/transfer/tsig.ts';
import { TsigReplayGuard } from '../../src/dns/transfer/tsig-replay.ts';
import { readQuery } from '../../src/dns/query.ts';
import { createUpdateHandler, OPCODE_UPDATE, UPDATE_RCODE } from '../../src/dns/update.ts';
import { tempDir } from '../helpers/ledger.ts';
import { requireTool } from '../helpers/tools.ts';
import { CLASS, rcodeOf, responseTsig, TYPE, txt, updateMessage, verifyResponse, type RawRR } from '../dns/update-helpers.ts';
import { makeQuery, run, streamComplete, tcpExchange, udpExchange } from './helpers.ts';

const ZONES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'zones');
const SECRET = Buffer.from('replay test key secret, 32 bytes or more').toString('base64');

let env: { dir: string; cleanup: () => void };
let ledger: Ledger;
let xfr: TransferHandlers;
let dns: DnsServer;
let port: number;

before(async () => {
  env = tempDir('mcns-tsig-replay-');
  ledger = Ledger.open({ path: path.join(env.dir, 'mcns.db') });
  ledger.execute(importCommand('example.com.', fs.readFileSync(path.join(ZONES, 'example.com.zone'), 'utf8')), { actor: 'import' });
  // Wired as src/server.ts wires them: one keyring for transfers and updates.
  xfr = createTransferHandlers({ ledger, config: { allow_from: [], allow_keys: ['replay-key'], notify: [], keys: { 'replay-key': { algorithm: 'hmac-sha256', secret: SECRET } } } });
  const update = createUpdateHandler({ ledger, keyring: xfr.keyring, config: { allow_keys: ['replay-key'] } });
  dns = await startDns({ ledger, listen: ['127.0.0.1:0'], handlers: { ...xfr.handlers, [OPCODE_UPDATE]: update }, transfer: xfr.transfer });
  port = dns.addresses[0].udp.port;
});

after(async () => {
  await dns.close();
  xfr.close();
  ledger.close();
  env.cleanup();
});

const key = () => xfr.keyring.get('replay-key.')!;
const now = (): number => Math.floor(Date.now() / 1000);
const addTxt = (name: string, value: string): RawRR => ({ name, type: TYPE.TXT, cls: CLASS.IN, ttl: 60, rdata: txt(value) });
const txtAt = (name: string): string[] => [...ledger.state.zones.get('example.com.')!.records.values()].filter((r) => r.name === name && r.type === 'TXT').map((r) => r.value);

/** Send over UDP or TCP; the single response. */
async function exchange(bytes: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer> {
  if (transport === 'udp') return udpExchange(port, bytes);
  const [reply] = await tcpExchange(port, bytes, (m) => m.length >= 1);
  return reply;
}

/** Assert a replay refusal: NOTAUTH, TSIG error BADTIME, signed with the key over the request's MAC. */
function assertReplayRefused(reply: Buffer, requestMac: Buffer): void {
  assert.equal(rcodeOf(reply), UPDATE_RCODE.NOTAUTH);
  const tsig = verifyResponse(reply, key(), requestMac);
  assert.equal(tsig.error, TSIG_ERROR.BADTIME);
}

test('the exact same signed UPDATE bytes sent twice: applied once, the second is NOTAUTH/BADTIME (signed) and appends nothing', async () => {
  const captured = signRequest(updateMessage('example.com.', [], [addTxt('once.example.com.', 'first')]), key());
  const first = await exchange(captured.bytes, 'udp');
  assert.equal(rcodeOf(first), UPDATE_RCODE.NOERROR);
  verifyResponse(first, key(), captured.mac);
  const seq = ledger.state.seq;
  const again = await exchange(captured.bytes, 'udp');
  assertReplayRefused(again, captured.mac);
  assert.equal(ledger.state.seq, seq, 'nothing appended');
});

test('an old "add" replayed after the record was deleted does not re-create it (UDP capture replayed over TCP)', async () => {
  const add = signRequest(updateMessage('example.com.', [], [addTxt('_acme-challenge.example.com.', 'token')]), key());
  assert.equal(rcodeOf(await exchange(add.bytes, 'udp')), UPDATE_RCODE.NOERROR);
  const del = signRequest(updateMessage('example.com.', [], [{ name: '_acme-challenge.example.com.', type: TYPE.TXT, cls: CLASS.ANY }]), key());
  assert.equal(rcodeOf(await exchange(del.bytes, 'tcp')), UPDATE_RCODE.NOERROR);
  assert.deepEqual(txtAt('_acme-challenge.example.com.'), []);
  const seq = ledger.state.seq;
  assertReplayRefused(await exchange(add.bytes, 'tcp'), add.mac);
  assertReplayRefused(await exchange(del.bytes, 'udp'), del.mac);
  assert.deepEqual(txtAt('_acme-challenge.example.com.'), [], 'still deleted');
  assert.equal(ledger.state.seq, seq);
});

/** The same signed message with another header id and its MAC cut to `macLength` bytes (RFC 8945 5.2.2.1 allows half). */
function disguise(bytes: Buffer, id: number, macLength: number): Buffer {
  const q = readQuery(bytes);
  if (q.kind !== 'query' || q.tsigOffset === undefined) throw new Error('not a signed query');
  const t = parseTsig(bytes, q.tsigOffset);
  const owner = bytes.subarray(q.tsigOffset, q.tsigOffset + t.keyName.length + 1);
  const u16 = (v: number): Buffer => Buffer.from([v >> 8, v & 0xff]);
  const time = Buffer.alloc(6);
  time.writeUIntBE(t.timeSigned, 0, 6);
  const alg = Buffer.concat([...t.algorithm.replace(/\.$/, '').split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const rdata = Buffer.concat([alg, time, u16(t.fudge), u16(macLength), t.mac.subarray(0, macLength), u16(t.originalId), u16(t.error), u16(t.other.length), t.other]);
  const head = Buffer.concat([u16(250), u16(255), Buffer.alloc(4), u16(rdata.length)]);
  const out = Buffer.concat([bytes.subarray(0, q.tsigOffset), owner, head, rdata]);
  out.writeUInt16BE(id, 0);
  return out;
}

test('a replay with another header id and a truncated MAC is still recognised (the recomputed HMAC is the same)', async () => {
  const captured = signRequest(updateMessage('example.com.', [], [addTxt('disguise.example.com.', 'x')]), key());
  const disguised = disguise(captured.bytes, 0x4321, 16);
  // Sanity: the disguised copy alone is a valid signed request.
  const fresh = signRequest(updateMessage('example.com.', [], [addTxt('disguise2.example.com.', 'y')]), key());
  assert.equal(rcodeOf(await exchange(disguise(fresh.bytes, 7, 16), 'udp')), UPDATE_RCODE.NOERROR, 'a truncated MAC verifies');
  assert.deepEqual(txtAt('disguise2.example.com.'), ['"y"']);

  assert.equal(rcodeOf(await exchange(captured.bytes, 'udp')), UPDATE_RCODE.NOERROR);
  const seq = ledger.state.seq;
  const reply = await exchange(disguised, 'udp');
  assert.equal(rcodeOf(reply), UPDATE_RCODE.NOTAUTH);
  assert.equal(responseTsig(reply)?.error, TSIG_ERROR.BADTIME);
  assert.equal(ledger.state.seq, seq);
});

test('distinct updates signed in the same second all apply, in any order', async () => {
  const t = now();
  const signed = [0, 1, 2, 3, 4].map((i) => signRequest(updateMessage('example.com.', [], [addTxt(`same-second-${i}.example.com.`, `v${i}`)], 0x100 + i), key(), t));
  // Sent newest-built first, then the rest: order does not matter within the window.
  for (const s of [signed[4], signed[0], signed[3], signed[1], signed[2]]) assert.equal(rcodeOf(await exchange(s.bytes, 'udp')), UPDATE_RCODE.NOERROR);
  for (let i = 0; i < 5; i++) assert.deepEqual(txtAt(`same-second-${i}.example.com.`), [`"v${i}"`]);
  // Even the same update content, signed again (a client retrying by re-signing), is a new request.
  const again = signRequest(updateMessage('example.com.', [], [addTxt('same-second-0.example.com.', 'v0')], 0x100), key(), t + 1);
  assert.equal(rcodeOf(await exchange(again.bytes, 'udp')), UPDATE_RCODE.NOERROR);
});

for (const tool of ['nsupdate', 'knsupdate']) {
  test(`${tool} sending several updates in a row (one script, several sends, over UDP and TCP) gets every one applied`, { skip: requireTool(tool) }, async () => {
    const script = path.join(env.dir, `several-${tool}.txt`);
    const lines = [`server 127.0.0.1 ${port}`, 'zone example.com.'];
    for (let i = 0; i < 4; i++) lines.push(`update add ${tool}-run-${i}.example.com. 60 TXT "n${i}"`, 'send');
    fs.writeFileSync(script, lines.join('\n') + '\n');
    for (const flags of [[], ['-v']]) {
      // Each run adds records that exist already the second time: a no-op update, still a new request.
      const r = await run(tool, ['-y', `hmac-sha256:replay-key:${SECRET}`, ...flags, '-t', '5', script]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /BADTIME|NOTAUTH|REFUSED/i);
    }
    for (let i = 0; i < 4; i++) assert.deepEqual(txtAt(`${tool}-run-${i}.example.com.`), [`"n${i}"`]);
  });
}

test('read-only signed requests are not replay-checked: the same signed AXFR twice is served twice, a signed SOA query answered twice', async () => {
  const axfr = signRequest(makeQuery('example.com', 'AXFR', { id: 77 }), key());
  for (let i = 0; i < 2; i++) {
    const msgs = await tcpExchange(port, axfr.bytes, streamComplete());
    assert.equal(rcodeOf(msgs[0]), 0, `AXFR #${i + 1}`);
    assert.ok(msgs.length >= 1 && responseTsig(msgs[0])?.error === 0, 'signed, no TSIG error');
  }
  const soa = signRequest(makeQuery('example.com', 'SOA', { id: 78 }), key());
  for (let i = 0; i < 2; i++) {
    const reply = await udpExchange(port, soa.bytes);
    assert.equal(rcodeOf(reply), 0);
    verifyResponse(reply, key(), soa.mac);
  }
});

test('a request signed before the server started is refused (a capture from before a restart), one signed since is not', () => {
  let clock = 2_000_000_000;
  const update = createUpdateHandler({ ledger, keyring: xfr.keyring, config: { allow_keys: ['replay-key'] }, nowSec: () => clock });
  clock += 2;
  const handle = (bytes: Buffer): Buffer => {
    const q = readQuery(bytes);
    if (q.kind !== 'query') throw new Error('not a query');
    return update(q, bytes, { address: '127.0.0.1', port: 1, transport: 'udp' })!;
  };
  const before = signRequest(updateMessage('example.com.', [], [addTxt('restart.example.com.', 'old')]), key(), 2_000_000_000 - 10);
  const seq = ledger.state.seq;
  assertReplayRefused(handle(before.bytes), before.mac);
  assert.equal(ledger.state.seq, seq);
  const since = signRequest(updateMessage('example.com.', [], [addTxt('restart.example.com.', 'new')]), key(), 2_000_000_000);
  assert.equal(rcodeOf(handle(since.bytes)), UPDATE_RCODE.NOERROR);
});

test('TsigReplayGuard: remembers a digest until its window closes, bounds memory per key by moving a floor, keeps keys apart', () => {
  const g = new TsigReplayGuard({ startedAt: 1000, maxPerKey: 3 });
  const d = (n: number): Buffer => Buffer.from([n]);
  assert.equal(g.check('k.', d(1), 1000, 300, 1000), undefined);
  assert.match(g.check('k.', d(1), 1000, 300, 1200) ?? '', /already received/);
  assert.equal(g.check('other.', d(1), 1000, 300, 1200), undefined, 'another key has its own memory');
  // Past time signed + fudge the digest is forgotten (the time check refuses such a request anyway).
  assert.equal(g.check('k.', d(2), 1001, 300, 1302), undefined);
  assert.equal(g.remembered('k.'), 1, 'digest 1 expired at 1300');
  assert.equal(g.check('k.', d(3), 1301, 300, 1301), undefined);
  assert.equal(g.check('k.', d(4), 1301, 300, 1301), undefined);
  // A fourth digest forgets the oldest (signed at 1001, still in its window) and refuses everything signed at or before it.
  assert.equal(g.check('k.', d(5), 1301, 300, 1301), undefined);
  assert.equal(g.remembered('k.'), 3);
  assert.match(g.check('k.', d(2), 1001, 300, 1301) ?? '', /before 1002/);
  assert.match(g.check('k.', d(4), 1301, 300, 1301) ?? '', /already received/, 'the newer ones are still remembered');
  assert.match(g.check('k.', d(9), 999, 300, 1000) ?? '', /before/, 'signed before the guard started');
});

test('a flood of replays (or unsigned updates) is counted one by one but warned about at most once a minute', () => {
  const lines: Array<{ level: string; msg?: string }> = [];
  const at = (level: string) => (_obj: object, msg?: string) => void lines.push({ level, msg });
  const outcomes: string[] = [];
  let clock = now();
  const update = createUpdateHandler({
    ledger,
    keyring: xfr.keyring,
    config: { allow_keys: ['replay-key'] },
    nowSec: () => clock,
    logger: { info: at('info'), warn: at('warn'), debug: at('debug') },
    onOutcome: (o) => outcomes.push(o),
  });
  const handle = (bytes: Buffer): number => {
    const q = readQuery(bytes);
    if (q.kind !== 'query') throw new Error('not a query');
    return rcodeOf(update(q, bytes, { address: '127.0.0.1', port: 1, transport: 'udp' })!);
  };
  const captured = signRequest(updateMessage('example.com.', [], [addTxt('flood.example.com.', 'f')]), key(), clock);
  const unsigned = updateMessage('example.com.', [], [addTxt('flood.example.com.', 'u')]);
  assert.equal(handle(captured.bytes), UPDATE_RCODE.NOERROR);
  for (let i = 0; i < 100; i++) {
    assert.equal(handle(captured.bytes), UPDATE_RCODE.NOTAUTH);
    assert.equal(handle(unsigned), UPDATE_RCODE.REFUSED);
  }
  assert.equal(outcomes.filter((o) => o === 'replay').length, 100);
  assert.equal(outcomes.filter((o) => o === 'refused').length, 100);
  assert.equal(lines.filter((l) => l.level === 'warn').length, 2, 'one warning per kind (replay, unsigned)');
  clock += 61;
  handle(captured.bytes);
  assert.equal(lines.filter((l) => l.level === 'warn').length, 3, 'a minute later: one more');
});
