/**
 * The domain rules, as given(events).when(command).then(events | error) cases: every refused
 * command names its field and reason and leaves the state untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type Command } from '../../src/projections/decide.ts';
import { EMPTY_STATE, evolveAll, type LedgerState } from '../../src/projections/state.ts';
import { McnsError } from '../../src/errors.ts';

const NOW = Date.UTC(2026, 0, 15, 12);

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
const create = (name: string, type: string, value: string, ttl?: number): Command => ({
  kind: 'changeRecords',
  zone: 'example.com.',
  ops: [{ op: 'create', name, type, value, ttl }],
});

test('creating a zone emits ZoneCreated, an apex NS and one serial bump', () => {
  const d = decide(EMPTY_STATE, zone, { now: NOW, newId: () => 'x' });
  assert.deepEqual(d.drafts.map((e) => e.body.type), ['ZoneCreated', 'RecordCreated', 'SerialBumped']);
  assert.equal(d.zone, 'example.com.');
  assert.deepEqual(d.drafts[2].body.payload, { serial: 2026011500 });
  const soa = d.drafts[0].body.payload as { admin_email: string; ttl: number };
  assert.equal(soa.admin_email, 'hostmaster.example.com.');
  assert.equal(soa.ttl, 300);
});

test('a mailbox with dots in its local part keeps them escaped', () => {
  const d = decide(EMPTY_STATE, { kind: 'createZone', zone: 'x.test', soa: { primary_ns: 'ns.x.test', admin_email: 'dns.admin@x.test' } }, { now: NOW, newId: () => 'x' });
  assert.equal((d.drafts[0].body.payload as { admin_email: string }).admin_email, 'dns\\.admin.x.test.');
});

const refusals: Array<{ name: string; given: Command[]; when: Command; kind: McnsError['kind']; match: RegExp }> = [
  { name: 'zone exists', given: [zone], when: zone, kind: 'conflict', match: /already exists/ },
  { name: 'zone missing', given: [], when: create('www.example.com', 'A', '1.2.3.4'), kind: 'not_found', match: /does not exist/ },
  { name: 'name outside zone', given: [zone], when: create('www.example.org', 'A', '1.2.3.4'), kind: 'invalid', match: /^name: .*not inside zone/ },
  { name: 'bad IPv4', given: [zone], when: create('www.example.com', 'A', '300.1.1.1'), kind: 'invalid', match: /^value: / },
  { name: 'bad IPv6', given: [zone], when: create('www.example.com', 'AAAA', '1.2.3.4'), kind: 'invalid', match: /^value: / },
  { name: 'bad MX', given: [zone], when: create('example.com', 'MX', 'mail.example.com'), kind: 'invalid', match: /^value: / },
  { name: 'bad SRV', given: [zone], when: create('_sip._tcp.example.com', 'SRV', '10 5 99999 sip.example.com'), kind: 'invalid', match: /^value: / },
  { name: 'bad CAA', given: [zone], when: create('example.com', 'CAA', '0 is$$ue "x"'), kind: 'invalid', match: /^value: / },
  { name: 'TTL too large', given: [zone], when: create('www.example.com', 'A', '1.2.3.4', 2147483648), kind: 'invalid', match: /^ttl: / },
  { name: 'TTL negative', given: [zone], when: create('www.example.com', 'A', '1.2.3.4', -1), kind: 'invalid', match: /^ttl: / },
  { name: 'unsupported type', given: [zone], when: create('www.example.com', 'BOGUS', 'a b'), kind: 'invalid', match: /^type: unsupported/ },
  { name: 'a meta type is no data type', given: [zone], when: create('www.example.com', 'TYPE255', '\\# 0'), kind: 'invalid', match: /^type: unsupported/ },
  { name: 'second DNAME at one owner', given: [zone, create('d.example.com', 'DNAME', 'a.example.net.')], when: create('d.example.com', 'DNAME', 'b.example.net.'), kind: 'conflict', match: /at most one \(RFC 6672 2\.4\)/ },
  { name: 'SOA as a record', given: [zone], when: create('example.com', 'SOA', 'a. b. 1 2 3 4 5'), kind: 'invalid', match: /^type: / },
  { name: 'duplicate', given: [zone, create('www.example.com', 'A', '1.2.3.4')], when: create('WWW.example.com.', 'A', '1.2.3.4'), kind: 'conflict', match: /already exists/ },
  { name: 'CNAME next to A', given: [zone, create('www.example.com', 'A', '1.2.3.4')], when: create('www.example.com', 'CNAME', 'x.example.com'), kind: 'conflict', match: /CNAME must be the only record/ },
  { name: 'A next to CNAME', given: [zone, create('www.example.com', 'CNAME', 'x.example.com')], when: create('www.example.com', 'A', '1.2.3.4'), kind: 'conflict', match: /has a CNAME/ },
  { name: 'second CNAME', given: [zone, create('www.example.com', 'CNAME', 'x.example.com')], when: create('www.example.com', 'CNAME', 'y.example.com'), kind: 'conflict', match: /at most one/ },
  { name: 'CNAME at apex', given: [zone], when: create('example.com', 'CNAME', 'x.example.org'), kind: 'conflict', match: /apex/ },
  { name: 'update of missing record', given: [zone], when: { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'update', id: 'nope', value: '1.1.1.1' }] }, kind: 'not_found', match: /record nope/ },
  { name: 'delete of missing record', given: [zone], when: { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'delete', id: 'nope' }] }, kind: 'not_found', match: /record nope/ },
  { name: 'empty batch', given: [zone], when: { kind: 'changeRecords', zone: 'example.com', ops: [] }, kind: 'invalid', match: /at least one/ },
  { name: 'bad zone name', given: [], when: { ...zone, zone: 'a..b' } as Command, kind: 'invalid', match: /^zone: / },
  { name: 'SOA field out of range', given: [zone], when: { kind: 'updateZone', zone: 'example.com', soa: { refresh: -5 } }, kind: 'invalid', match: /^refresh: / },
  {
    name: 'a batch whose second op breaks CNAME exclusivity with its first',
    given: [zone],
    when: { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'create', name: 'a.example.com', type: 'A', value: '1.2.3.4' }, { op: 'create', name: 'a.example.com', type: 'CNAME', value: 'b.example.com' }] },
    kind: 'conflict',
    match: /^change 1: /,
  },
];

for (const c of refusals) {
  test(`refused: ${c.name}`, () => {
    const state = given(c.given);
    assert.throws(
      () => decide(state, c.when, { now: NOW, newId: () => 'new' }),
      (err: unknown) => err instanceof McnsError && err.kind === c.kind && c.match.test(err.message),
    );
  });
}

test('a CNAME may replace an A in one batch (delete first)', () => {
  const state = given([zone, create('www.example.com', 'A', '1.2.3.4')]);
  const id = [...state.zones.get('example.com.')!.records.values()].find((r) => r.type === 'A')!.id;
  const d = decide(state, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'delete', id }, { op: 'create', name: 'www.example.com', type: 'CNAME', value: 'x.example.com' }] }, { now: NOW, newId: () => 'c' });
  assert.deepEqual(d.drafts.map((e) => e.body.type), ['RecordDeleted', 'RecordCreated', 'SerialBumped']);
});

test('values are stored canonical and names absolute', () => {
  const state = given([zone, create('mail.example.com', 'MX', '10 MX1.Example.COM')]);
  const r = [...state.zones.get('example.com.')!.records.values()].find((x) => x.type === 'MX')!;
  assert.equal(r.value, '10 mx1.example.com.');
  assert.equal(r.name, 'mail.example.com.');
  assert.equal(r.ttl, 300);
});

test('an update that changes nothing decides an empty batch', () => {
  const state = given([zone, create('www.example.com', 'A', '1.2.3.4', 60)]);
  const id = [...state.zones.get('example.com.')!.records.values()].find((r) => r.type === 'A')!.id;
  const d = decide(state, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'update', id, ttl: 60 }] }, { now: NOW, newId: () => 'c' });
  assert.equal(d.drafts.length, 0);
});

test('deleting a zone keeps its head, and re-creating it continues the serial', () => {
  const state = given([zone, create('www.example.com', 'A', '1.2.3.4'), { kind: 'deleteZone', zone: 'example.com' }]);
  assert.equal(state.zones.has('example.com.'), false);
  const head = state.heads.get('example.com.')!;
  assert.equal(head.deleted, true);
  const again = given([zone, create('www.example.com', 'A', '1.2.3.4'), { kind: 'deleteZone', zone: 'example.com' }, zone]);
  assert.ok(again.zones.get('example.com.')!.serial > head.serial);
});

// ---- One TTL per RRset (RFC 2181 5.2) --------------------------------------------------------

/** Applies a decision to `state`, as the ledger does after appending it. */
function apply(state: LedgerState, drafts: { zone: string; body: import('../../src/events/types.ts').EventBody }[]): LedgerState {
  return evolveAll(state, drafts.map((draft, i) => ({ seq: state.seq + i + 1, zone: draft.zone, body: draft.body })));
}

/** "id ttl" of every record of RRset name/type, by id. */
function ttls(state: LedgerState, name: string, type: string): string[] {
  return [...state.zones.get('example.com.')!.records.values()].filter((r) => r.name === name && r.type === type).map((r) => `${r.id} ${r.ttl}`).sort();
}

/**
 * A zone as a log written before the rule can hold it: one A RRset whose records have 300, 600 and
 * 60 (events appended as they were then, without decide).
 */
function mixedLog(): LedgerState {
  let state = given([zone]);
  const records = [['m1', '192.0.2.1', 300], ['m2', '192.0.2.2', 600], ['m3', '192.0.2.3', 60]] as const;
  state = apply(state, records.map(([id, value, ttl]) => ({ zone: 'example.com.', body: { type: 'RecordCreated' as const, payload: { id, name: 'mixed.example.com.', type: 'A' as const, value, ttl } } })));
  return state;
}

test('one TTL per RRset: a create with another TTL sets every sibling to it in the same batch, and says so', () => {
  const state = given([zone, create('www.example.com', 'A', '192.0.2.1', 300), create('www.example.com', 'A', '192.0.2.2', 300)]);
  const d = decide(state, create('www.example.com', 'A', '192.0.2.3', 600), { now: NOW, newId: () => 'new' });
  assert.deepEqual(d.drafts.map((e) => e.body.type), ['RecordCreated', 'RecordUpdated', 'RecordUpdated', 'SerialBumped']);
  const after = apply(state, d.drafts);
  assert.deepEqual(ttls(after, 'www.example.com.', 'A'), ['id2 600', 'id3 600', 'new 600']);
  assert.equal(d.notes.length, 1);
  assert.match(d.notes[0], /^www\.example\.com\. A: the TTL of the whole RRset is now 600 \(was 300\); 2 other records changed with it/);
});

test('one TTL per RRset: an update of one record\'s TTL sets the RRset\'s; other RRsets at the name keep theirs', () => {
  const state = given([zone, create('www.example.com', 'A', '192.0.2.1', 300), create('www.example.com', 'A', '192.0.2.2', 300), create('www.example.com', 'AAAA', '2001:db8::1', 300)]);
  const d = decide(state, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'update', id: 'id2', ttl: 60 }] }, { now: NOW, newId: () => 'new' });
  const after = apply(state, d.drafts);
  assert.deepEqual(ttls(after, 'www.example.com.', 'A'), ['id2 60', 'id3 60']);
  assert.deepEqual(ttls(after, 'www.example.com.', 'AAAA'), ['id4 300']);
  assert.match(d.notes[0], /now 60 \(was 300\); 1 other record changed/);
});

test('one TTL per RRset: a create without a TTL joins its RRset at the RRset\'s TTL, and a matching TTL changes nothing else', () => {
  const state = given([zone, create('www.example.com', 'A', '192.0.2.1', 900)]);
  const d = decide(state, create('www.example.com', 'A', '192.0.2.2'), { now: NOW, newId: () => 'new' });
  assert.deepEqual(d.drafts.map((e) => e.body.type), ['RecordCreated', 'SerialBumped']);
  assert.equal((d.drafts[0].body.payload as { ttl: number }).ttl, 900);
  assert.deepEqual(d.notes, []);
});

test('one TTL per RRset: a batch giving two TTLs to one RRset ends with the last one for all', () => {
  const state = given([zone, create('www.example.com', 'A', '192.0.2.1', 300)]);
  const d = decide(state, {
    kind: 'changeRecords',
    zone: 'example.com',
    ops: [{ op: 'create', name: 'www.example.com', type: 'A', value: '192.0.2.2', ttl: 60 }, { op: 'create', name: 'www.example.com', type: 'A', value: '192.0.2.3', ttl: 120 }],
  }, { now: NOW, newId: (() => { let n = 0; return () => `n${++n}`; })() });
  assert.deepEqual(ttls(apply(state, d.drafts), 'www.example.com.', 'A'), ['id2 120', 'n1 120', 'n2 120']);
});

test('one TTL per RRset: an older log\'s mixed RRset is made one TTL (its lowest) by the next write of any of its records, every record written', () => {
  const state = mixedLog();
  // A value change without a TTL: the RRset keeps the TTL it was served with, 60.
  const d = decide(state, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'update', id: 'm1', value: '192.0.2.9' }] }, { now: NOW, newId: () => 'new' });
  assert.deepEqual(d.drafts.filter((e) => e.body.type === 'RecordUpdated').map((e) => (e.body.payload as { id: string }).id).sort(), ['m1', 'm2', 'm3']);
  assert.deepEqual(ttls(apply(state, d.drafts), 'mixed.example.com.', 'A'), ['m1 60', 'm2 60', 'm3 60']);
  assert.deepEqual(d.notes, [], 'the served TTL did not change');
  // A delete: what is left keeps the TTL the RRset was served with.
  const del = decide(state, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'delete', id: 'm3' }] }, { now: NOW, newId: () => 'new' });
  assert.deepEqual(ttls(apply(state, del.drafts), 'mixed.example.com.', 'A'), ['m1 60', 'm2 60']);
  // An explicit TTL: every record gets it, the one already holding it too (IXFR needs the whole RRset).
  const up = decide(state, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'update', id: 'm1', ttl: 600 }] }, { now: NOW, newId: () => 'new' });
  assert.deepEqual(up.drafts.filter((e) => e.body.type === 'RecordUpdated').length, 3);
  assert.deepEqual(ttls(apply(state, up.drafts), 'mixed.example.com.', 'A'), ['m1 600', 'm2 600', 'm3 600']);
  assert.match(up.notes[0], /now 600 \(was 60\)/);
});

test('one TTL per RRset: an import or a restore whose records differ within one RRset gets its lowest', () => {
  const state = given([zone]);
  const d = decide(state, {
    kind: 'importZone',
    zone: 'example.com',
    records: [
      { name: 'example.com.', type: 'NS', value: 'ns1.example.com.', ttl: 300 },
      { name: 'www.example.com.', type: 'A', value: '192.0.2.1', ttl: 900 },
      { name: 'www.example.com.', type: 'A', value: '192.0.2.2', ttl: 120 },
    ],
  }, { now: NOW, newId: (() => { let n = 0; return () => `n${++n}`; })() });
  const after = apply(state, d.drafts);
  assert.deepEqual(ttls(after, 'www.example.com.', 'A').map((x) => x.split(' ')[1]), ['120', '120']);
});

test('no record below a DNAME (RFC 6672 2.3): a record written below one, or a DNAME written above records, is refused naming both', () => {
  const withRecord = given([zone, create('x.d.example.com', 'A', '192.0.2.1')]);
  assert.throws(
    () => decide(withRecord, create('d.example.com', 'DNAME', 'target.example.com.'), { now: NOW, newId: () => 'n' }),
    (err: unknown) => err instanceof McnsError && err.kind === 'conflict' && /^name: d\.example\.com\. has records below it \(such as x\.d\.example\.com\.\)/.test(err.message),
  );
  const withDname = given([zone, create('d.example.com', 'DNAME', 'target.example.com.')]);
  assert.throws(
    () => decide(withDname, create('y.x.d.example.com', 'TXT', '"hidden"'), { now: NOW, newId: () => 'm' }),
    (err: unknown) => err instanceof McnsError && /^name: y\.x\.d\.example\.com\. is below the DNAME at d\.example\.com\./.test(err.message),
  );
  // Beside the DNAME, and at its owner, records are fine; so is a DNAME whose subtree was deleted in the same batch.
  assert.equal(decide(withDname, create('e.example.com', 'A', '192.0.2.2'), { now: NOW, newId: () => 'm' }).drafts.length, 2);
  assert.equal(decide(withDname, create('d.example.com', 'TXT', '"owner data"'), { now: NOW, newId: () => 'm' }).drafts.length, 2);
  const id = [...withRecord.zones.get('example.com.')!.records.values()].find((r) => r.type === 'A')!.id;
  const swap = decide(withRecord, { kind: 'changeRecords', zone: 'example.com', ops: [{ op: 'delete', id }, { op: 'create', name: 'd.example.com', type: 'DNAME', value: 'target.example.com.' }] }, { now: NOW, newId: () => 'n' });
  assert.deepEqual(swap.drafts.map((e) => e.body.type), ['RecordDeleted', 'RecordCreated', 'SerialBumped']);
});
