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
  { name: 'unsupported type', given: [zone], when: create('www.example.com', 'HINFO', 'a b'), kind: 'invalid', match: /^type: unsupported/ },
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
