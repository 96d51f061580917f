/**
 * Every endpoint and its RPC twin, case by case: success, invalid input (field named), no token,
 * refused role, not found, conflict, stale If-Match. Each case runs on REST and on gRPC with the same
 * inputs and must give the same outcome class on both (HTTP status and gRPC code from ERROR_KINDS).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_KINDS, type ErrorKind } from '../../src/errors.ts';
import { seedZone, startHarness, type Harness } from './harness.ts';

type Outcome = 'ok' | ErrorKind;
interface Io {
  rest: { method: string; path: string; body?: unknown; text?: string };
  grpc: { service: string; method: string; req: Record<string, unknown> };
}
interface TwinCase {
  name: string;
  expect: Outcome;
  /** The error must name this field ("field: ..."). */
  field?: string;
  as?: string;
  ifMatch?: (h: Harness) => number;
  make: (h: Harness, surface: 'rest' | 'grpc') => Promise<Io> | Io;
}

const Z = 'example.com';
let n = 0;
const uniq = (): number => ++n;
const state: { www?: string; mail?: string; stale?: number } = {};

const fromHttp = (s: number): Outcome => (s < 300 ? 'ok' : ((Object.keys(ERROR_KINDS) as ErrorKind[]).find((k) => ERROR_KINDS[k].http === s) ?? 'internal'));
const fromGrpc = (c: number): Outcome[] => (c === 0 ? ['ok'] : (Object.keys(ERROR_KINDS) as ErrorKind[]).filter((k) => ERROR_KINDS[k].grpc === c));

async function freshZone(h: Harness): Promise<string> {
  const name = `t${uniq()}.test`;
  await seedZone(h, name);
  return name;
}
async function freshRecord(h: Harness, name = `r${uniq()}`): Promise<string> {
  const r = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name, type: 'TXT', value: `"x${uniq()}"` } });
  assert.equal(r.status, 201, r.text);
  return r.body.record.id;
}

const zoneGet = (zone: string, at?: string): Io => ({
  rest: { method: 'GET', path: `/v1/zones/${zone}${at !== undefined ? `?at=${encodeURIComponent(at)}` : ''}` },
  grpc: { service: 'ZoneService', method: 'GetZone', req: { zone, ...(at !== undefined ? { at } : {}) } },
});
const zoneCreate = (body: Record<string, unknown>): Io => ({ rest: { method: 'POST', path: '/v1/zones', body }, grpc: { service: 'ZoneService', method: 'CreateZone', req: body } });
const zoneUpdate = (zone: string, body: Record<string, unknown>): Io => ({ rest: { method: 'PUT', path: `/v1/zones/${zone}`, body }, grpc: { service: 'ZoneService', method: 'UpdateZone', req: { zone, ...body } } });
const zoneDelete = (zone: string): Io => ({ rest: { method: 'DELETE', path: `/v1/zones/${zone}` }, grpc: { service: 'ZoneService', method: 'DeleteZone', req: { zone } } });
const recList = (zone: string, q: Record<string, string> = {}): Io => ({
  rest: { method: 'GET', path: `/v1/zones/${zone}/records${Object.keys(q).length ? `?${new URLSearchParams(q)}` : ''}` },
  grpc: { service: 'RecordService', method: 'ListRecords', req: { zone, ...q } },
});
const recCreate = (zone: string, body: Record<string, unknown>): Io => ({ rest: { method: 'POST', path: `/v1/zones/${zone}/records`, body }, grpc: { service: 'RecordService', method: 'CreateRecord', req: { zone, ...body } } });
const recGet = (zone: string, id: string): Io => ({ rest: { method: 'GET', path: `/v1/zones/${zone}/records/${id}` }, grpc: { service: 'RecordService', method: 'GetRecord', req: { zone, id } } });
const recUpdate = (zone: string, id: string, body: Record<string, unknown>): Io => ({ rest: { method: 'PUT', path: `/v1/zones/${zone}/records/${id}`, body }, grpc: { service: 'RecordService', method: 'UpdateRecord', req: { zone, id, ...body } } });
const recDelete = (zone: string, id: string): Io => ({ rest: { method: 'DELETE', path: `/v1/zones/${zone}/records/${id}` }, grpc: { service: 'RecordService', method: 'DeleteRecord', req: { zone, id } } });
const changes = (zone: string, list: unknown[]): Io => ({ rest: { method: 'POST', path: `/v1/zones/${zone}/changes`, body: list }, grpc: { service: 'RecordService', method: 'ApplyChanges', req: { zone, changes: list } } });
const history = (zone: string, q: Record<string, string> = {}): Io => ({
  rest: { method: 'GET', path: `/v1/zones/${zone}/history${Object.keys(q).length ? `?${new URLSearchParams(q)}` : ''}` },
  grpc: { service: 'ZoneService', method: 'ZoneHistory', req: { zone, ...q } },
});
const recHistory = (zone: string, id: string): Io => ({ rest: { method: 'GET', path: `/v1/zones/${zone}/records/${id}/history` }, grpc: { service: 'RecordService', method: 'RecordHistory', req: { zone, id } } });
const exportZ = (zone: string, at?: string): Io => ({
  rest: { method: 'GET', path: `/v1/zones/${zone}/export${at !== undefined ? `?at=${encodeURIComponent(at)}` : ''}` },
  grpc: { service: 'ZoneService', method: 'ExportZone', req: { zone, ...(at !== undefined ? { at } : {}) } },
});
const importZ = (zone: string, text: string): Io => ({ rest: { method: 'POST', path: `/v1/zones/${zone}/import`, text }, grpc: { service: 'ZoneService', method: 'ImportZone', req: { zone, zone_file: text } } });
const restoreZ = (zone: string, at: string): Io => ({ rest: { method: 'POST', path: `/v1/zones/${zone}/restore`, body: { at } }, grpc: { service: 'ZoneService', method: 'RestoreZone', req: { zone, at } } });
const events = (q: Record<string, string>): Io => ({ rest: { method: 'GET', path: `/v1/events?${new URLSearchParams(q)}` }, grpc: { service: 'AdminService', method: 'ListEvents', req: Object.fromEntries(Object.entries(q).map(([k, v]) => [k, Number(v)])) } });
const zoneFile = (zone: string, extra = ''): string => `$ORIGIN ${zone}.\n$TTL 300\n@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 300\n@ IN NS ns.${zone}.\nns IN A 192.0.2.53\n${extra}`;

const CASES: TwinCase[] = [
  // health and auth
  { name: 'health is public', as: 'none', expect: 'ok', make: () => ({ rest: { method: 'GET', path: '/v1/health' }, grpc: { service: 'AdminService', method: 'Health', req: {} } }) },
  { name: 'login ok', as: 'none', expect: 'ok', make: () => ({ rest: { method: 'POST', path: '/v1/auth/login', body: { username: 'bob', password: 'bob-pw' } }, grpc: { service: 'AuthService', method: 'Login', req: { username: 'bob', password: 'bob-pw' } } }) },
  { name: 'login without password', as: 'none', expect: 'invalid', field: 'password', make: () => ({ rest: { method: 'POST', path: '/v1/auth/login', body: { username: 'bob' } }, grpc: { service: 'AuthService', method: 'Login', req: { username: 'bob' } } }) },
  { name: 'login wrong password', as: 'none', expect: 'unauthenticated', make: () => ({ rest: { method: 'POST', path: '/v1/auth/login', body: { username: 'bob', password: 'x' } }, grpc: { service: 'AuthService', method: 'Login', req: { username: 'bob', password: 'x' } } }) },
  { name: 'login refused by MCIAS stays 403', as: 'none', expect: 'forbidden', make: () => ({ rest: { method: 'POST', path: '/v1/auth/login', body: { username: 'blocked', password: 'pw' } }, grpc: { service: 'AuthService', method: 'Login', req: { username: 'blocked', password: 'pw' } } }) },
  { name: 'logout without token', as: 'none', expect: 'unauthenticated', make: () => ({ rest: { method: 'POST', path: '/v1/auth/logout' }, grpc: { service: 'AuthService', method: 'Logout', req: {} } }) },
  { name: 'a bad token is 401', as: 'badtoken', expect: 'unauthenticated', make: () => zoneGet(Z) },
  // zones
  { name: 'list zones', as: 'bob', expect: 'ok', make: () => ({ rest: { method: 'GET', path: '/v1/zones' }, grpc: { service: 'ZoneService', method: 'ListZones', req: {} } }) },
  { name: 'list zones with a bad at', as: 'bob', expect: 'invalid', field: 'at', make: () => ({ rest: { method: 'GET', path: '/v1/zones?at=yesterday' }, grpc: { service: 'ZoneService', method: 'ListZones', req: { at: 'yesterday' } } }) },
  { name: 'list zones as guest', as: 'gus', expect: 'forbidden', make: () => ({ rest: { method: 'GET', path: '/v1/zones' }, grpc: { service: 'ZoneService', method: 'ListZones', req: {} } }) },
  { name: 'get zone', as: 'bob', expect: 'ok', make: () => zoneGet(Z) },
  { name: 'get zone at seq 1', as: 'bob', expect: 'ok', make: () => zoneGet(Z, '3') },
  { name: 'get zone at a time before it existed', as: 'bob', expect: 'not_found', make: () => zoneGet(Z, '2000-01-01T00:00:00Z') },
  { name: 'get unknown zone', as: 'bob', expect: 'not_found', make: () => zoneGet('nope.test') },
  { name: 'get zone with a bad name', as: 'bob', expect: 'invalid', field: 'zone', make: () => zoneGet('a..b') },
  { name: 'get zone without token', as: 'none', expect: 'unauthenticated', make: () => zoneGet(Z) },
  { name: 'create zone', expect: 'ok', make: () => zoneCreate({ name: `c${uniq()}.test`, primary_ns: 'ns1.example.net', admin_email: 'hostmaster@example.net', ttl: 600 }) },
  { name: 'create zone without primary_ns', expect: 'invalid', field: 'primary_ns', make: () => zoneCreate({ name: `c${uniq()}.test`, admin_email: 'h@example.net' }) },
  { name: 'create zone with a ttl out of range', expect: 'invalid', field: 'ttl', make: () => zoneCreate({ name: `c${uniq()}.test`, primary_ns: 'ns1.example.net', admin_email: 'h@example.net', ttl: 3000000000 }) },
  { name: 'create an existing zone', expect: 'conflict', field: 'name', make: () => zoneCreate({ name: Z, primary_ns: 'ns1.example.net', admin_email: 'h@example.net' }) },
  { name: 'create zone as user', as: 'bob', expect: 'forbidden', make: () => zoneCreate({ name: `c${uniq()}.test`, primary_ns: 'ns1.example.net', admin_email: 'h@example.net' }) },
  { name: 'create zone as mcp-agent', as: 'mcp-agent', expect: 'forbidden', make: () => zoneCreate({ name: `c${uniq()}.test`, primary_ns: 'ns1.example.net', admin_email: 'h@example.net' }) },
  { name: 'update zone', expect: 'ok', make: async (h) => zoneUpdate(await freshZone(h), { refresh: 7200, minimum: 60 }) },
  { name: 'update zone with a bad primary_ns', expect: 'invalid', field: 'primary_ns', make: async (h) => zoneUpdate(await freshZone(h), { primary_ns: 'a..b' }) },
  { name: 'update unknown zone', expect: 'not_found', make: () => zoneUpdate('nope.test', { refresh: 1 }) },
  { name: 'update zone as mcp-agent', as: 'mcp-agent', expect: 'forbidden', make: () => zoneUpdate(Z, { refresh: 1 }) },
  { name: 'update zone with a stale If-Match', expect: 'precondition', ifMatch: () => 1, make: async (h) => zoneUpdate(await freshZone(h), { refresh: 1 }) },
  { name: 'delete zone', expect: 'ok', make: async (h) => zoneDelete(await freshZone(h)) },
  { name: 'delete unknown zone', expect: 'not_found', make: () => zoneDelete('nope.test') },
  { name: 'delete zone as user', as: 'bob', expect: 'forbidden', make: () => zoneDelete(Z) },
  { name: 'delete zone with a stale If-Match', expect: 'precondition', ifMatch: () => 1, make: async (h) => zoneDelete(await freshZone(h)) },
  // records
  { name: 'list records', as: 'bob', expect: 'ok', make: () => recList(Z, { type: 'a' }) },
  { name: 'list records by a bad name', as: 'bob', expect: 'invalid', field: 'name', make: () => recList(Z, { name: 'a..b' }) },
  { name: 'list records of an unknown zone', as: 'bob', expect: 'not_found', make: () => recList('nope.test') },
  { name: 'list records as guest', as: 'gus', expect: 'forbidden', make: () => recList(Z) },
  { name: 'create record', as: 'mcp-agent', expect: 'ok', make: () => recCreate(Z, { name: `h${uniq()}`, type: 'A', value: '192.0.2.10', ttl: 60 }) },
  { name: 'create record with a value that is not an address', expect: 'invalid', field: 'value', make: () => recCreate(Z, { name: 'bad', type: 'A', value: 'not-an-ip' }) },
  { name: 'create record of an unknown type', expect: 'invalid', field: 'type', make: () => recCreate(Z, { name: 'bad', type: 'BOGUS', value: 'x' }) },
  { name: 'create record outside the zone', expect: 'invalid', field: 'name', make: () => recCreate(Z, { name: 'www.other.org.', type: 'A', value: '192.0.2.1' }) },
  { name: 'create record without a value', expect: 'invalid', field: 'value', make: () => recCreate(Z, { name: 'bad', type: 'A' }) },
  { name: 'create a duplicate record', expect: 'conflict', make: () => recCreate(Z, { name: 'www', type: 'A', value: '192.0.2.1' }) },
  { name: 'create a CNAME where an A exists', expect: 'conflict', field: 'name', make: () => recCreate(Z, { name: 'www', type: 'CNAME', value: 'other.example.net.' }) },
  { name: 'create record in an unknown zone', expect: 'not_found', make: () => recCreate('nope.test', { name: 'www', type: 'A', value: '192.0.2.1' }) },
  { name: 'create record as user', as: 'bob', expect: 'forbidden', make: () => recCreate(Z, { name: 'bob', type: 'A', value: '192.0.2.1' }) },
  { name: 'create record without token', as: 'none', expect: 'unauthenticated', make: () => recCreate(Z, { name: 'x', type: 'A', value: '192.0.2.1' }) },
  { name: 'create record with a stale If-Match', expect: 'precondition', ifMatch: () => 1, make: () => recCreate(Z, { name: `p${uniq()}`, type: 'A', value: '192.0.2.1' }) },
  { name: 'get record', as: 'bob', expect: 'ok', make: () => recGet(Z, state.www!) },
  { name: 'get unknown record', as: 'bob', expect: 'not_found', make: () => recGet(Z, 'ffffffffffffffff') },
  { name: 'update record', as: 'mcp-agent', expect: 'ok', make: async (h) => recUpdate(Z, await freshRecord(h), { value: '"new"', ttl: 30 }) },
  { name: 'update record with a ttl out of range', expect: 'invalid', field: 'ttl', make: () => recUpdate(Z, state.www!, { ttl: 2147483648 }) },
  { name: 'update record to a duplicate value', expect: 'conflict', make: () => recUpdate(Z, state.mail!, { value: '192.0.2.1' }) },
  { name: 'update unknown record', expect: 'not_found', make: () => recUpdate(Z, 'ffffffffffffffff', { ttl: 5 }) },
  { name: 'update record as user', as: 'bob', expect: 'forbidden', make: () => recUpdate(Z, state.www!, { ttl: 5 }) },
  { name: 'update record with a stale If-Match', expect: 'precondition', ifMatch: () => 1, make: () => recUpdate(Z, state.www!, { ttl: 5 }) },
  { name: 'delete record', as: 'mcp-agent', expect: 'ok', make: async (h) => recDelete(Z, await freshRecord(h)) },
  { name: 'delete unknown record', expect: 'not_found', make: () => recDelete(Z, 'ffffffffffffffff') },
  { name: 'delete record as guest', as: 'gus', expect: 'forbidden', make: () => recDelete(Z, state.www!) },
  { name: 'delete record with a stale If-Match', expect: 'precondition', ifMatch: () => 1, make: () => recDelete(Z, state.www!) },
  // change batches
  { name: 'apply a batch', as: 'mcp-agent', expect: 'ok', make: async (h) => changes(Z, [{ op: 'create', name: `b${uniq()}`, type: 'A', value: '192.0.2.20' }, { op: 'update', id: await freshRecord(h), ttl: 10 }, { op: 'delete', id: await freshRecord(h) }]) },
  { name: 'apply an empty batch', expect: 'invalid', field: 'changes', make: () => changes(Z, []) },
  { name: 'apply a batch with an unknown op', expect: 'invalid', field: 'changes.0.op', make: () => changes(Z, [{ op: 'frob', id: 'x' }]) },
  { name: 'apply a batch with a bad value', expect: 'invalid', make: () => changes(Z, [{ op: 'create', name: 'ok1', type: 'A', value: '192.0.2.1' }, { op: 'create', name: 'ok2', type: 'A', value: 'bad' }]) },
  { name: 'apply a batch that creates the same record twice', expect: 'conflict', make: () => changes(Z, [{ op: 'create', name: 'twice', type: 'A', value: '192.0.2.1' }, { op: 'create', name: 'twice', type: 'A', value: '192.0.2.1' }]) },
  { name: 'apply a batch deleting an unknown record', expect: 'not_found', make: () => changes(Z, [{ op: 'delete', id: 'ffffffffffffffff' }]) },
  { name: 'apply a batch as user', as: 'bob', expect: 'forbidden', make: () => changes(Z, [{ op: 'create', name: 'bob', type: 'A', value: '192.0.2.1' }]) },
  { name: 'apply a batch with a stale If-Match', expect: 'precondition', ifMatch: () => 1, make: () => changes(Z, [{ op: 'create', name: `s${uniq()}`, type: 'A', value: '192.0.2.1' }]) },
  // history
  { name: 'zone history', as: 'bob', expect: 'ok', make: () => history(Z, { name: 'www', type: 'A', limit: '5' }) },
  { name: 'zone history with a bad since', as: 'bob', expect: 'invalid', field: 'since', make: () => history(Z, { since: 'yesterday' }) },
  { name: 'history of a zone that never existed', as: 'bob', expect: 'not_found', make: () => history('never.test') },
  { name: 'zone history as guest', as: 'gus', expect: 'forbidden', make: () => history(Z) },
  { name: 'record history', as: 'bob', expect: 'ok', make: () => recHistory(Z, state.www!) },
  { name: 'history of an unknown record', as: 'bob', expect: 'not_found', make: () => recHistory(Z, 'ffffffffffffffff') },
  // zone files
  { name: 'export', as: 'bob', expect: 'ok', make: () => exportZ(Z) },
  { name: 'export at a bad point', as: 'bob', expect: 'invalid', field: 'at', make: () => exportZ(Z, 'last tuesday') },
  { name: 'export an unknown zone', as: 'bob', expect: 'not_found', make: () => exportZ('nope.test') },
  { name: 'import a new zone', expect: 'ok', make: () => {
    const zone = `i${uniq()}.test`;
    return importZ(zone, zoneFile(zone));
  } },
  { name: 'import a file with an error (line named)', expect: 'invalid', field: 'zone file', make: () => {
    const zone = `i${uniq()}.test`;
    return importZ(zone, zoneFile(zone, 'www IN A 999.1.1.1\n'));
  } },
  { name: 'import as user', as: 'bob', expect: 'forbidden', make: () => importZ(Z, zoneFile(Z)) },
  { name: 'import with a stale If-Match', expect: 'precondition', ifMatch: () => 1, make: () => importZ(Z, zoneFile(Z)) },
  // restore
  { name: 'restore', expect: 'ok', make: async (h) => {
    const zone = await freshZone(h);
    const at = String(h.ledger.state.seq);
    await h.rest('POST', `/v1/zones/${zone}/records`, { token: h.tokens.alice, body: { name: 'later', type: 'A', value: '192.0.2.1' } });
    return restoreZ(zone, at);
  } },
  { name: 'restore to a bad point', expect: 'invalid', field: 'at', make: () => restoreZ(Z, 'soon') },
  { name: 'restore a zone that never existed', expect: 'not_found', make: () => restoreZ('never.test', '1') },
  { name: 'restore as mcp-agent', as: 'mcp-agent', expect: 'forbidden', make: () => restoreZ(Z, '1') },
  { name: 'restore with a stale If-Match', expect: 'precondition', ifMatch: () => 1, make: () => restoreZ(Z, '3') },
  // admin
  { name: 'events', expect: 'ok', make: () => events({ after: '0', limit: '3' }) },
  { name: 'events with a limit out of range', expect: 'invalid', field: 'limit', make: () => ({ rest: { method: 'GET', path: '/v1/events?limit=-1' }, grpc: { service: 'AdminService', method: 'ListEvents', req: { limit: 1e12 } } }) },
  { name: 'events as user', as: 'bob', expect: 'forbidden', make: () => events({}) },
  { name: 'snapshot', expect: 'ok', make: () => ({ rest: { method: 'POST', path: '/v1/snapshots' }, grpc: { service: 'AdminService', method: 'Snapshot', req: {} } }) },
  { name: 'snapshot as mcp-agent', as: 'mcp-agent', expect: 'forbidden', make: () => ({ rest: { method: 'POST', path: '/v1/snapshots' }, grpc: { service: 'AdminService', method: 'Snapshot', req: {} } }) },
];

describe('REST and gRPC twins', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await seedZone(h, Z);
    const www = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name: 'www', type: 'A', value: '192.0.2.1' } });
    const mail = await h.rest('POST', `/v1/zones/${Z}/records`, { token: h.tokens.alice, body: { name: 'www', type: 'A', value: '192.0.2.2' } });
    state.www = www.body.record.id;
    state.mail = mail.body.record.id;
  });
  after(async () => h.close());

  for (const c of CASES) {
    test(`${c.name}: ${c.expect} on both`, async () => {
      const who = c.as ?? 'alice';
      const token = who === 'none' ? undefined : who === 'badtoken' ? 'not-a-valid-token' : h.tokens[who];
      const io1 = await c.make(h, 'rest');
      const ifMatch = c.ifMatch?.(h);
      const r = await h.rest(io1.rest.method, io1.rest.path, { token, body: io1.rest.body, text: io1.rest.text, headers: ifMatch !== undefined ? { 'if-match': String(ifMatch) } : {} });
      assert.equal(fromHttp(r.status), c.expect, `REST ${r.status} ${r.text.slice(0, 300)}`);
      if (c.expect !== 'ok') {
        assert.equal(typeof r.body?.error, 'string', `REST error body: ${r.text}`);
        if (c.field) assert.ok(r.body.error.startsWith(`${c.field}: `), `REST error names ${c.field}: ${r.body.error}`);
      }
      const io2 = await c.make(h, 'grpc');
      const g = await h.grpc(io2.grpc.service, io2.grpc.method, io2.grpc.req, { token, ifMatch });
      assert.ok(fromGrpc(g.code).includes(c.expect), `gRPC code ${g.code} (${g.details}) for ${c.expect}`);
      if (c.field && c.expect !== 'ok') assert.ok(g.details?.startsWith(`${c.field}: `), `gRPC error names ${c.field}: ${g.details}`);
    });
  }
});
