/**
 * Authorization: the role table itself against SPEC 4, then a matrix generated from that table
 * (every operation x every kind of caller) run through both surfaces, then the name scoping of
 * system accounts (`mcq` manages `mcq` records and nothing else).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Identity } from '../../src/api/auth.ts';
import { OPERATIONS, permits, type Operation } from '../../src/api/authz.ts';
import { GRPC_METHODS } from '../../src/api/grpc.ts';
import { ROUTES } from '../../src/api/routes.ts';
import { DEFAULT_ACCOUNTS } from '../helpers/mcias-fake.ts';
import { MATRIX_ZONE, OP_CALLS } from './cases.ts';
import { seedZone, startHarness, type Harness } from './harness.ts';

const CALLERS = ['alice', 'bob', 'gus', 'mcp-agent', 'mcq', 'none'] as const;
const identityOf = (who: string): Identity | undefined => {
  const a = DEFAULT_ACCOUNTS.find((x) => x.username === who);
  return a && { sub: a.username, username: a.username, accountType: a.account_type, roles: a.roles };
};
const ops = Object.keys(OPERATIONS) as Operation[];

describe('the role table', () => {
  test('admin-only operations are exactly zone lifecycle, import, restore, DNSSEC, events and snapshots (SPEC 4)', () => {
    const adminOnly = ops.filter((op) => OPERATIONS[op] === 'admin').sort();
    assert.deepEqual(adminOnly, ['dnssec.configure', 'dnssec.get', 'dnssec.rollover', 'events.list', 'events.watch', 'snapshots.create', 'zones.create', 'zones.delete', 'zones.import', 'zones.restore', 'zones.update'].sort());
  });

  test('public operations are health, metrics, the OpenAPI document and login', () => {
    assert.deepEqual(ops.filter((op) => OPERATIONS[op] === 'public').sort(), ['auth.login', 'health', 'metrics', 'openapi']);
  });

  test('admin everything; user reads only; guest nothing; system accounts write records and read', () => {
    for (const op of ops) {
      assert.equal(permits(identityOf('alice'), op), true, `admin ${op}`);
      const level = OPERATIONS[op];
      assert.equal(permits(identityOf('bob'), op), ['public', 'authenticated', 'read'].includes(level), `user ${op}`);
      assert.equal(permits(identityOf('gus'), op), ['public', 'authenticated'].includes(level), `guest ${op}`);
      for (const sys of ['mcp-agent', 'mcq']) {
        assert.equal(permits(identityOf(sys), op), level !== 'admin', `${sys} ${op}`);
      }
    }
  });

  test('every operation has a REST route or an RPC, and every route and RPC names an operation of the table', () => {
    const covered = new Set<string>([...ROUTES.map((r) => r.op), ...Object.values(GRPC_METHODS)]);
    for (const op of ops) assert.ok(covered.has(op), `${op} has no route or RPC`);
    for (const op of covered) assert.ok(op in OPERATIONS, `${op} is not in the table`);
  });
});

describe('authorization matrix (generated from OPERATIONS) over REST and gRPC', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await seedZone(h, MATRIX_ZONE);
  });
  after(async () => h.close());

  for (const op of ops) {
    test(`${op} (${OPERATIONS[op]})`, async () => {
      for (const who of CALLERS) {
        const allowed = who === 'none' ? OPERATIONS[op] === 'public' : permits(identityOf(who), op);
        const refusal = who === 'none' ? 401 : 403;
        for (const surface of ['rest', 'grpc'] as const) {
          const call = await OP_CALLS[op](h, who, surface);
          const token = call.token ?? (who === 'none' ? undefined : h.tokens[who]);
          if (surface === 'rest' && call.rest) {
            const r = await h.rest(call.rest.method, call.rest.path, { token, body: call.rest.body, text: call.rest.text });
            if (allowed) assert.ok(r.status >= 200 && r.status < 300, `REST ${op} as ${who}: expected 2xx, got ${r.status} ${r.text}`);
            else assert.equal(r.status, refusal, `REST ${op} as ${who}: ${r.text}`);
          }
          if (surface === 'grpc' && call.grpc) {
            const code = call.grpc.method === 'WatchEvents' ? await watchFirst(h, token) : (await h.grpc(call.grpc.service, call.grpc.method, call.grpc.req, { token })).code;
            const want = allowed ? grpc.status.OK : who === 'none' ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED;
            assert.equal(code, want, `gRPC ${op} as ${who}`);
          }
        }
      }
    });
  }
});

/** Open WatchEvents and resolve with OK on the first event or the error code. */
function watchFirst(h: Harness, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    const call = h.client('AdminService').WatchEvents({ after: 0 }, md);
    call.on('data', () => {
      resolve(grpc.status.OK);
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => resolve(err.code === grpc.status.CANCELLED ? grpc.status.OK : err.code));
  });
}

describe('name scoping of system accounts', () => {
  let h: Harness;
  const zone = MATRIX_ZONE;
  before(async () => {
    h = await startHarness();
    await seedZone(h, zone);
    await seedZone(h, 'mcp.metacircular.net');
  });
  after(async () => h.close());

  const create = (who: string, name: string, z = zone) => h.rest('POST', `/v1/zones/${z}/records`, { token: h.tokens[who], body: { name, type: 'A', value: '192.168.88.181' } });

  test('mcq creates, updates and deletes its own record (named mcq), in any zone', async () => {
    const c = await create('mcq', 'mcq');
    assert.equal(c.status, 201, c.text);
    assert.equal(c.body.record.fqdn, 'mcq.svc.mcp.metacircular.net.');
    const u = await h.rest('PUT', `/v1/zones/${zone}/records/${c.body.record.id}`, { token: h.tokens.mcq, body: { value: '100.95.252.120' } });
    assert.equal(u.status, 200, u.text);
    const g = await h.grpc('RecordService', 'CreateRecord', { zone: 'mcp.metacircular.net', name: 'mcq', type: 'A', value: '192.0.2.7' }, { token: h.tokens.mcq });
    assert.equal(g.code, 0, g.details);
    const d = await h.rest('DELETE', `/v1/zones/${zone}/records/${c.body.record.id}`, { token: h.tokens.mcq });
    assert.equal(d.status, 200, d.text);
    const hist = await h.rest('GET', `/v1/zones/${zone}/records/${c.body.record.id}/history`, { token: h.tokens.bob });
    assert.deepEqual(hist.body.entries.map((e: { actor: string }) => e.actor), ['mcq', 'mcq', 'mcq']);
  });

  test('mcq may not touch another name: create, update, delete, apex, sub-names, absolute names', async () => {
    for (const name of ['mcr', '@', 'x.mcq', 'mcq2', 'metacrypt.svc.mcp.metacircular.net.']) {
      const r = await create('mcq', name);
      assert.equal(r.status, 403, `${name}: ${r.text}`);
      assert.match(r.body.error, /^name: /);
    }
    const other = await create('alice', 'mcr');
    const u = await h.rest('PUT', `/v1/zones/${zone}/records/${other.body.record.id}`, { token: h.tokens.mcq, body: { value: '192.0.2.9' } });
    assert.equal(u.status, 403);
    const d = await h.grpc('RecordService', 'DeleteRecord', { zone, id: other.body.record.id }, { token: h.tokens.mcq });
    assert.equal(d.code, grpc.status.PERMISSION_DENIED);
  });

  test('a batch with one foreign change is refused whole, nothing written', async () => {
    const seq = h.ledger.state.seq;
    const r = await h.rest('POST', `/v1/zones/${zone}/changes`, {
      token: h.tokens.mcq,
      body: [{ op: 'create', name: 'mcq', type: 'TXT', value: '"ok"' }, { op: 'create', name: 'mcr', type: 'TXT', value: '"not mine"' }],
    });
    assert.equal(r.status, 403, r.text);
    assert.match(r.body.error, /changes\.1\.name/);
    assert.equal(h.ledger.state.seq, seq);
  });

  test('mcp-agent manages any record; bob (user) and gus (guest) none', async () => {
    const a = await create('mcp-agent', 'metacrypt');
    assert.equal(a.status, 201, a.text);
    assert.equal((await h.rest('DELETE', `/v1/zones/${zone}/records/${a.body.record.id}`, { token: h.tokens['mcp-agent'] })).status, 200);
    assert.equal((await create('bob', 'bob')).status, 403);
    assert.equal((await create('gus', 'gus')).status, 403);
    assert.equal((await h.rest('GET', `/v1/zones/${zone}/records`, { token: h.tokens.gus })).status, 403);
  });
});
