/**
 * Scoped system accounts as an attacker holding one would use them (issue 10): a name-scoped account
 * must not delegate, redirect or sign the subtree below its name (NS, DNAME, DS, SOA), an account
 * holding `guest` gets nothing whatever its type, and an account name that is not one DNS label
 * (`mcq.evil`, `*`, over 63 bytes) scopes no records. Every refusal is checked on REST and gRPC, and
 * nothing may be appended to the log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Identity } from '../../src/api/auth.ts';
import { isScopeLabel, levelsOf, mayWriteRecord, recordScope, SCOPED_RECORD_TYPES } from '../../src/api/authz.ts';
import { capabilitiesOf } from '../../src/api/events-feed.ts';
import { seedZone, startHarness, type Harness } from './harness.ts';

const Z = 'example.com';
const sys = (username: string, roles: string[] = []): Identity => ({ sub: username, username, accountType: 'system', roles });

describe('scoped-account rules (unit)', () => {
  test('a name-scoped account writes data types at its own name, never subtree types', () => {
    for (const t of ['A', 'AAAA', 'TXT', 'CNAME', 'MX', 'SRV', 'CAA', 'PTR']) assert.equal(mayWriteRecord(sys('mcq'), 'example.com.', 'mcq.example.com.', t), true, t);
    for (const t of ['NS', 'DNAME', 'DS', 'SOA', 'DNSKEY', 'CDS', 'CDNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'NSEC3PARAM', 'ns', 'TYPE2', 'SVCB-ish']) {
      assert.equal(mayWriteRecord(sys('mcq'), 'example.com.', 'mcq.example.com.', t), false, t);
    }
    assert.ok(!SCOPED_RECORD_TYPES.has('NS'));
  });

  test('admin and mcp-agent write every type anywhere', () => {
    for (const t of ['NS', 'DNAME', 'DS', 'SOA']) {
      assert.equal(mayWriteRecord({ sub: 'a', username: 'alice', accountType: 'human', roles: ['admin'] }, 'example.com.', 'x.example.com.', t), true);
      assert.equal(mayWriteRecord(sys('mcp-agent'), 'example.com.', 'x.example.com.', t), true);
    }
  });

  test('guest means nothing, for every account type and whatever else the account holds', () => {
    for (const roles of [['guest'], ['guest', 'user'], ['user', 'guest'], ['guest', 'admin']]) {
      for (const accountType of ['human', 'system'] as const) {
        for (const username of ['gus', 'mcq', 'mcp-agent']) {
          const levels = levelsOf({ sub: username, username, accountType, roles });
          assert.deepEqual([...levels].sort(), ['authenticated', 'public'], `${accountType} ${username} ${roles.join('+')}`);
          assert.equal(mayWriteRecord({ sub: username, username, accountType, roles }, 'example.com.', `${username}.example.com.`, 'A'), false);
        }
      }
    }
  });

  test('only one DNS label scopes records', () => {
    for (const ok of ['mcq', 'mcp-x', 'a', '_acme', 'x1', 'A'.repeat(63)]) assert.equal(isScopeLabel(ok), true, ok);
    for (const bad of ['mcq.evil', '*', '', 'a'.repeat(64), '-lead', 'trail-', 'sp ace', 'mcq\\.evil', 'mcq.', '.mcq', '@', 'é', 'a*']) {
      assert.equal(isScopeLabel(bad), false, JSON.stringify(bad));
      assert.equal(mayWriteRecord(sys(bad), 'example.com.', `${bad}.example.com.`, 'A'), false, JSON.stringify(bad));
    }
  });
});

describe('what the console is told (capabilities come from the same rules)', () => {
  test('record scope: mcp-agent and admin all, mcq its own, guests and non-label names none', () => {
    assert.equal(recordScope(sys('mcp-agent')), 'all');
    assert.equal(recordScope({ sub: 'a', username: 'alice', accountType: 'human', roles: ['admin'] }), 'all');
    assert.equal(recordScope(sys('mcq')), 'own');
    for (const id of [sys('mcq', ['guest']), sys('mcq.evil'), sys('*'), sys(''), { sub: 'b', username: 'bob', accountType: 'human' as const, roles: ['user'] }]) {
      assert.equal(recordScope(id), 'none', id.username);
      assert.equal(capabilitiesOf(id).records, 'none', id.username);
    }
  });
});

describe('scoped accounts over REST and gRPC', () => {
  let h: Harness;
  const tok: Record<string, string> = {};
  before(async () => {
    h = await startHarness();
    await seedZone(h, Z);
    const extra: Array<[string, string[]]> = [
      ['sysguest', ['guest']],
      ['sysguestuser', ['guest', 'user']],
      ['mcq.evil', []],
      ['*', []],
      ['x'.repeat(64), []],
    ];
    for (const [username, roles] of extra) {
      h.mcias.addAccount({ username, account_type: 'system', roles });
      tok[username] = h.mcias.tokenFor(username);
    }
  });
  after(async () => h.close());

  const restCreate = (token: string, name: string, type: string, value: string) => h.rest('POST', `/v1/zones/${Z}/records`, { token, body: { name, type, value } });
  const grpcCreate = (token: string, name: string, type: string, value: string) => h.grpc('RecordService', 'CreateRecord', { zone: Z, name, type, value }, { token });

  test('mcq cannot delegate, redirect or sign below its own name (NS, DNAME, DS, SOA): 403 on both surfaces, nothing written', async () => {
    const seq = h.ledger.state.seq;
    const attempts: Array<[string, string]> = [
      ['NS', 'ns.attacker.example.net.'],
      ['ns', 'ns.attacker.example.net.'],
      ['DNAME', 'attacker.example.net.'],
      ['DS', '12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF'],
      ['SOA', 'ns.attacker.example.net. h.attacker.example.net. 1 3600 600 86400 300'],
    ];
    for (const [type, value] of attempts) {
      const r = await restCreate(h.tokens.mcq, 'mcq', type, value);
      assert.equal(r.status, 403, `REST ${type}: ${r.text}`);
      assert.match(r.body.error, /^type: /, type);
      const g = await grpcCreate(h.tokens.mcq, 'mcq', type, value);
      assert.equal(g.code, grpc.status.PERMISSION_DENIED, `gRPC ${type}: ${g.details}`);
      const b = await h.rest('POST', `/v1/zones/${Z}/changes`, { token: h.tokens.mcq, body: [{ op: 'create', name: 'mcq', type: 'TXT', value: '"ok"' }, { op: 'create', name: 'mcq', type, value }] });
      assert.equal(b.status, 403, `changes ${type}: ${b.text}`);
      assert.match(b.body.error, /^changes\.1\.type: /);
    }
    assert.equal(h.ledger.state.seq, seq, 'nothing appended');
    const ns = await h.rest('GET', `/v1/zones/${Z}/records?name=mcq`, { token: h.tokens.bob });
    assert.deepEqual(ns.body.records, []);
  });

  test('mcq cannot update or delete an NS record at its own name that the admin made', async () => {
    const a = await restCreate(h.tokens.alice, 'mcq', 'NS', 'ns1.example.net.');
    assert.equal(a.status, 201, a.text);
    const id = a.body.record.id;
    const u = await h.rest('PUT', `/v1/zones/${Z}/records/${id}`, { token: h.tokens.mcq, body: { value: 'ns.attacker.example.net.' } });
    assert.equal(u.status, 403, u.text);
    const gu = await h.grpc('RecordService', 'UpdateRecord', { zone: Z, id, value: 'ns.attacker.example.net.' }, { token: h.tokens.mcq });
    assert.equal(gu.code, grpc.status.PERMISSION_DENIED);
    const d = await h.rest('DELETE', `/v1/zones/${Z}/records/${id}`, { token: h.tokens.mcq });
    assert.equal(d.status, 403, d.text);
    const gd = await h.grpc('RecordService', 'DeleteRecord', { zone: Z, id }, { token: h.tokens.mcq });
    assert.equal(gd.code, grpc.status.PERMISSION_DENIED);
    assert.equal((await h.rest('DELETE', `/v1/zones/${Z}/records/${id}`, { token: h.tokens.alice })).status, 200);
  });

  test('mcq still writes its own data records; mcp-agent may delegate', async () => {
    const r = await restCreate(h.tokens.mcq, 'mcq', 'AAAA', '2001:db8::1');
    assert.equal(r.status, 201, r.text);
    const g = await grpcCreate(h.tokens.mcq, 'mcq', 'TXT', '"hello"');
    assert.equal(g.code, 0, g.details);
    const ns = await restCreate(h.tokens['mcp-agent'], 'sub', 'NS', 'ns1.example.net.');
    assert.equal(ns.status, 201, ns.text);
  });

  test('a system account holding guest reads and writes nothing, on both surfaces', async () => {
    const seq = h.ledger.state.seq;
    for (const who of ['sysguest', 'sysguestuser']) {
      const t = tok[who];
      assert.equal((await h.rest('GET', `/v1/zones/${Z}/records`, { token: t })).status, 403, who);
      assert.equal((await h.rest('GET', '/v1/zones', { token: t })).status, 403, who);
      assert.equal((await restCreate(t, who, 'A', '192.0.2.1')).status, 403, who);
      assert.equal((await h.grpc('RecordService', 'ListRecords', { zone: Z }, { token: t })).code, grpc.status.PERMISSION_DENIED, who);
      assert.equal((await grpcCreate(t, who, 'A', '192.0.2.1')).code, grpc.status.PERMISSION_DENIED, who);
    }
    assert.equal(h.ledger.state.seq, seq);
  });

  test('an account name that is not one DNS label writes nothing: mcq.evil.<zone>, a wildcard, an over-long label', async () => {
    const seq = h.ledger.state.seq;
    const long = 'x'.repeat(64);
    const cases: Array<[string, string[]]> = [
      ['mcq.evil', ['mcq.evil', 'mcq.evil.example.com.', 'evil']],
      ['*', ['*', '*.example.com.']],
      [long, [long.slice(0, 63), long]],
    ];
    for (const [who, names] of cases) {
      for (const name of names) {
        const r = await restCreate(tok[who], name, 'A', '192.0.2.66');
        assert.ok(r.status === 403 || r.status === 400, `REST ${who} -> ${name}: ${r.status} ${r.text}`);
        // (a 64-byte label is not a name at all: 400 naming `name`, before any authorization)
        if (name === who && who !== long) assert.equal(r.status, 403, `REST ${who} at its own name: ${r.text}`);
        const g = await grpcCreate(tok[who], name, 'A', '192.0.2.66');
        assert.ok(g.code === grpc.status.PERMISSION_DENIED || g.code === grpc.status.INVALID_ARGUMENT, `gRPC ${who} -> ${name}: ${g.code} ${g.details}`);
        if (name === who && who !== long) assert.equal(g.code, grpc.status.PERMISSION_DENIED, `gRPC ${who} at its own name`);
      }
    }
    assert.equal(h.ledger.state.seq, seq, 'nothing appended');
    const list = await h.rest('GET', `/v1/zones/${Z}/records`, { token: h.tokens.bob });
    assert.ok(!list.body.records.some((r: { name: string }) => r.name.includes('evil') || r.name.startsWith('*')), JSON.stringify(list.body.records));
  });
});
