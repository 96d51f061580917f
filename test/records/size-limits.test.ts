/**
 * Record data that could never go on the wire is refused at write time, on every path: a record
 * whose rdata exceeds 65,535 bytes (a TXT of 270 strings x 250 bytes, what a scoped system account
 * once stored), and an RRset that cannot fit one DNS message over TCP with its owner as the question.
 * Each refusal is a 400 naming `value` with nothing appended: through decide itself, REST (one
 * record and a batch), gRPC, zone import, restore to a point an older build wrote such a record at,
 * and a TSIG-signed DNS UPDATE.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type Command } from '../../src/projections/decide.ts';
import { EMPTY_STATE, evolveAll, type LedgerState } from '../../src/projections/state.ts';
import { McnsError } from '../../src/errors.ts';
import { rdataWireLength, rrsetResponseLength, MAX_MESSAGE_BYTES } from '../../src/records/wire-size.ts';
import { parseRData } from '../../src/records/rdata.ts';
import { createUpdateHandler, OPCODE_UPDATE, UPDATE_RCODE } from '../../src/dns/update.ts';
import { makeKeyring } from '../../src/dns/transfer/index.ts';
import { signRequest } from '../../src/dns/transfer/tsig.ts';
import { readQuery } from '../../src/dns/query.ts';
import { nameToWire } from '../../src/records/names.ts';
import { startHarness, type Harness } from '../api/harness.ts';

const NOW = Date.UTC(2026, 0, 15, 12);
/** The attack: 270 strings of 250 bytes, 67,770 bytes of rdata. */
const HUGE_TXT = Array.from({ length: 270 }, () => `"${'x'.repeat(250)}"`).join(' ');
/** A TXT of 200 strings x 250 bytes (50,200 bytes of rdata): fine alone, too much twice at one name. */
const HALF_TXT = (tag: string): string => [`"${tag}"`, ...Array.from({ length: 199 }, () => `"${'y'.repeat(250)}"`)].join(' ');

function given(commands: Command[]): LedgerState {
  let state = EMPTY_STATE;
  let n = 0;
  for (const cmd of commands) {
    const d = decide(state, cmd, { now: NOW, newId: () => `id${++n}` });
    state = evolveAll(state, d.drafts.map((draft, i) => ({ seq: state.seq + i + 1, zone: draft.zone, body: draft.body })));
  }
  return state;
}

const zone: Command = { kind: 'createZone', zone: 'example.com', soa: { primary_ns: 'ns1.example.com.', admin_email: 'hostmaster@example.com' } };
const create = (name: string, type: string, value: string): Command => ({ kind: 'changeRecords', zone: 'example.com.', ops: [{ op: 'create', name, type, value }] });

function refusedOnValue(fn: () => unknown, match: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof McnsError, String(err));
    assert.equal(err.kind, 'invalid');
    assert.match(err.message, /value: /);
    assert.match(err.message, match);
    return true;
  });
}

test('the sizes the rules use: the attack TXT is 67,770 bytes of rdata', () => {
  assert.equal(rdataWireLength(parseRData('TXT', HUGE_TXT)), 270 * 251);
  assert.equal(rdataWireLength(parseRData('TXT', '"a" "bc"')), 5);
  assert.equal(rdataWireLength(parseRData('MX', '10 mail.example.com.')), 2 + 18);
  assert.ok(rrsetResponseLength('a.example.com.', [50_200, 50_200]) > MAX_MESSAGE_BYTES);
  assert.ok(rrsetResponseLength('a.example.com.', [50_200]) <= MAX_MESSAGE_BYTES);
  // A wildcard answers questions of up to 255 bytes.
  assert.equal(rrsetResponseLength('*.example.com.', [100]) - rrsetResponseLength('x.example.com.', [100]), 255 - 15);
});

test('decide refuses a record whose rdata exceeds 65,535 bytes (TXT and CAA)', () => {
  const s = given([zone]);
  refusedOnValue(() => decide(s, create('mcq.example.com', 'TXT', HUGE_TXT), { now: NOW, newId: () => 'x' }), /67770 bytes.*at most 65535/);
  refusedOnValue(() => decide(s, create('example.com', 'CAA', `0 issue "${'c'.repeat(70_000)}"`), { now: NOW, newId: () => 'x' }), /at most 65535/);
});

test('the new types are measured exactly and refused past 65,535 bytes of rdata', () => {
  const s = given([zone]);
  const key = Buffer.alloc(66_000, 7).toString('base64');
  refusedOnValue(() => decide(s, create('k.example.com', 'OPENPGPKEY', key), { now: NOW, newId: () => 'x' }), /OPENPGPKEY record data would be 66000 bytes/);
  // SVCB: priority 2, root target 1, one ech parameter 4 + 65,001.
  const ech = Buffer.alloc(65_001, 1).toString('base64');
  assert.equal(rdataWireLength(parseRData('SVCB', `1 . ech=${ech}`)), 2 + 1 + 4 + 65_001);
  refusedOnValue(() => decide(s, create('s.example.com', 'SVCB', `1 . ech=${ech}${Buffer.alloc(600, 2).toString('base64')}`), { now: NOW, newId: () => 'x' }), /SVCB record data would be 65608 bytes/);
  assert.equal(rdataWireLength(parseRData('TYPE65400', `\\# 65535 ${'00'.repeat(65535)}`)), 65535);
  assert.equal(rdataWireLength(parseRData('NAPTR', '1 2 "S" "SIP+D2U" "" _sip._udp.example.com.')), 4 + 2 + 8 + 1 + 23);
  assert.equal(rdataWireLength(parseRData('LOC', '0 N 0 E 0m')), 16);
});

test('decide refuses an RRset that cannot fit one TCP message, by create, update or batch', () => {
  const s = given([zone, create('big.example.com', 'TXT', HALF_TXT('one'))]);
  refusedOnValue(() => decide(s, create('big.example.com', 'TXT', HALF_TXT('two')), { now: NOW, newId: () => 'x' }), /RRset of big\.example\.com\. would need a \d+-byte response/);
  // Two records in one batch, each fine alone.
  refusedOnValue(
    () =>
      decide(given([zone]), { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'create', name: 'b.example.com', type: 'TXT', value: HALF_TXT('1') }, { op: 'create', name: 'b.example.com', type: 'TXT', value: HALF_TXT('2') }] }, { now: NOW, newId: () => `n${Math.random()}` }),
    /RRset of b\.example\.com\./,
  );
  // Growing a small record next to the big one past the limit.
  const s2 = given([zone, create('big.example.com', 'TXT', HALF_TXT('one')), create('big.example.com', 'TXT', '"small"')]);
  const small = [...s2.zones.get('example.com.')!.records.values()].find((r) => r.value === '"small"')!;
  refusedOnValue(() => decide(s2, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'update', id: small.id, value: HALF_TXT('grown') }] }, { now: NOW, newId: () => 'x' }), /RRset/);
  // Other types at the same name and other names are unaffected.
  assert.ok(decide(s, create('big.example.com', 'A', '192.0.2.1'), { now: NOW, newId: () => 'x' }).drafts.length > 0);
  assert.ok(decide(s, create('other.example.com', 'TXT', HALF_TXT('two')), { now: NOW, newId: () => 'x' }).drafts.length > 0);
});

test('an RRset already too large in an old log can still be shrunk, and not grown', () => {
  // Built the way an old build would have: evolve past decide.
  const base = given([zone]);
  const events = [1, 2].map((i) => ({ seq: base.seq + i, zone: 'example.com.', body: { type: 'RecordCreated' as const, payload: { id: `old${i}`, name: 'old.example.com.', type: 'TXT' as const, value: HALF_TXT(`old${i}`), ttl: 300 } } }));
  const s = evolveAll(base, events);
  assert.ok(decide(s, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'delete', id: 'old1' }] }, { now: NOW, newId: () => 'x' }).drafts.length > 0);
  refusedOnValue(() => decide(s, create('old.example.com', 'TXT', '"more"'), { now: NOW, newId: () => 'x' }), /RRset/);
});

let h: Harness;
const ZONE = 'limits.test';

before(async () => {
  h = await startHarness();
  const r = await h.rest('POST', '/v1/zones', { token: h.tokens.alice, body: { name: ZONE, primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster@${ZONE}` } });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await h?.close();
});

/** The log must not move: nothing appended by a refused write. */
async function nothingAppended<T>(fn: () => Promise<T>): Promise<T> {
  const before = h.ledger.log.head().seq;
  const out = await fn();
  assert.equal(h.ledger.log.head().seq, before, 'nothing was appended');
  return out;
}

test('REST: the scoped system account mcq cannot store the 270 x 250 TXT at its own name (400 naming value)', async () => {
  const r = await nothingAppended(() => h.rest('POST', `/v1/zones/${ZONE}/records`, { token: h.tokens.mcq, body: { name: 'mcq', type: 'TXT', value: HUGE_TXT } }));
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error, /value/);
  assert.match(r.body.error, /65535/);
});

test('REST: a batch that would make an RRset too large for one message is refused whole', async () => {
  const r = await nothingAppended(() =>
    h.rest('POST', `/v1/zones/${ZONE}/changes`, {
      token: h.tokens.alice,
      body: [
        { op: 'create', name: 'a', type: 'A', value: '192.0.2.1' },
        { op: 'create', name: 'big', type: 'TXT', value: HALF_TXT('1') },
        { op: 'create', name: 'big', type: 'TXT', value: HALF_TXT('2') },
      ],
    }),
  );
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error, /value/);
  assert.match(r.body.error, /RRset of big\.limits\.test\./);
});

test('gRPC: CreateRecord with the oversized TXT is InvalidArgument naming value', async () => {
  const r = await nothingAppended(() => h.grpc('RecordService', 'CreateRecord', { zone: ZONE, name: 'mcq', type: 'TXT', value: HUGE_TXT }, { token: h.tokens.mcq }));
  assert.equal(r.code, 3, r.details);
  assert.match(r.details ?? '', /value/);
});

test('import: a zone file holding the oversized TXT is refused (400 naming value), the zone untouched', async () => {
  const text = `$ORIGIN ${ZONE}.\n$TTL 300\n@ IN SOA ns1.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 300\n@ IN NS ns1.${ZONE}.\nmcq IN TXT ${HUGE_TXT}\n`;
  const r = await nothingAppended(() => h.rest('POST', `/v1/zones/${ZONE}/import`, { token: h.tokens.alice, text, contentType: 'text/plain' }));
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error, /value/);
});

test('restore: going back to a point where an older build stored the record is refused (400 naming value)', async () => {
  const z = `${ZONE}.`;
  h.ledger.log.append(
    [
      { zone: z, body: { type: 'RecordCreated', payload: { id: 'legacy', name: `mcq.${z}`, type: 'TXT', value: HUGE_TXT, ttl: 300 } } },
      { zone: z, body: { type: 'SerialBumped', payload: { serial: h.ledger.zone(z)!.serial + 1 } } },
    ] as never,
    { actor: 'old-build', expectedVersion: h.ledger.log.zoneVersion(z) },
  );
  const at = String(h.ledger.state.seq);
  const del = await h.rest('DELETE', `/v1/zones/${ZONE}/records/legacy`, { token: h.tokens.alice });
  assert.equal(del.status, 200, del.text);
  const r = await nothingAppended(() => h.rest('POST', `/v1/zones/${ZONE}/restore`, { token: h.tokens.alice, body: { at } }));
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error, /value/);
});

/** A minimal UPDATE message: zone section, then "add" RRs (TXT, class IN). */
function updateAdding(zone: string, name: string, rdatas: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x1234, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rdatas.length, 8);
  parts.push(header, Buffer.from(nameToWire(zone)), Buffer.from([0, 6, 0, 1]));
  for (const rd of rdatas) {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(16, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(300, 4);
    fixed.writeUInt16BE(rd.length, 8);
    parts.push(Buffer.from(nameToWire(name)), fixed, rd);
  }
  return Buffer.concat(parts);
}

/** TXT rdata: `count` character-strings of `len` bytes. */
function txtRdata(tag: string, count: number, len: number): Buffer {
  const strings = [Buffer.from(tag), ...Array.from({ length: count - 1 }, () => Buffer.alloc(len, 0x7a))];
  return Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([s.length]), s])));
}

test('DNS UPDATE: adds that would grow an RRset past one TCP message are REFUSED, nothing appended', async () => {
  const secret = Buffer.from('update key secret for the size-limit test').toString('base64');
  const keyring = makeKeyring({ 'size-key': { algorithm: 'hmac-sha256', secret } });
  const handler = createUpdateHandler({ ledger: h.ledger, keyring, config: { allow_keys: ['size-key'], keys: {} } });
  const key = keyring.get('size-key.')!;
  const send = async (msg: Buffer): Promise<number> => {
    const signed = signRequest(msg, key).bytes;
    const q = readQuery(signed);
    assert.ok(q.kind === 'query');
    const reply = await handler(q, signed, { address: '127.0.0.1', port: 5353, transport: 'tcp' });
    assert.ok(reply);
    return reply[3] & 0xf;
  };
  const z = `${ZONE}.`;
  // 200 strings of 250 bytes: about 50 KB, one record in one message, accepted.
  assert.equal(await send(updateAdding(z, `upd.${z}`, [txtRdata('first', 200, 250)])), UPDATE_RCODE.NOERROR);
  // The same again at the same name: the RRset would need about 100 KB.
  const before = h.ledger.log.head().seq;
  assert.equal(await send(updateAdding(z, `upd.${z}`, [txtRdata('second', 200, 250)])), UPDATE_RCODE.REFUSED);
  assert.equal(h.ledger.log.head().seq, before, 'nothing was appended');
});
