/**
 * One concrete call per operation of the authorization table, for both surfaces, preparing whatever
 * the call needs (as the admin) so that an allowed caller gets a 2xx. The matrix tests iterate the
 * table (OPERATIONS) and fail when an operation has no case here.
 */
import type { Operation } from '../../src/api/authz.ts';
import type { Harness } from './harness.ts';

/** A call on both surfaces (either may be absent when the operation has no twin there). */
export interface OpCall {
  rest?: { method: string; path: string; body?: unknown; text?: string };
  grpc?: { service: string; method: string; req: Record<string, unknown> };
  /** A token to use instead of the caller's (logout revokes it). */
  token?: string;
}

let n = 0;
const fresh = (): number => ++n;

async function adminCreateRecord(h: Harness, zone: string, name: string): Promise<string> {
  const r = await h.rest('POST', `/v1/zones/${zone}/records`, { token: h.tokens.alice, body: { name, type: 'TXT', value: `"v${fresh()}"` } });
  if (r.status !== 201) throw new Error(`prepare record: ${r.status} ${r.text}`);
  return r.body.record.id;
}

async function adminCreateZone(h: Harness): Promise<string> {
  const name = `z${fresh()}.test`;
  const r = await h.rest('POST', '/v1/zones', { token: h.tokens.alice, body: { name, primary_ns: `ns.${name}`, admin_email: `hostmaster@${name}` } });
  if (r.status !== 201) throw new Error(`prepare zone: ${r.status} ${r.text}`);
  return name;
}

/** The zone the matrix works in (created by the matrix setup). */
export const MATRIX_ZONE = 'svc.mcp.metacircular.net';

/**
 * A call for `op` made by `who`: record names are the caller's own name, so a system account's
 * scope never decides the outcome here (name scoping has its own tests).
 */
export const OP_CALLS: Record<Operation, (h: Harness, who: string, surface: 'rest' | 'grpc') => Promise<OpCall>> = {
  'health': async () => ({ rest: { method: 'GET', path: '/v1/health' }, grpc: { service: 'AdminService', method: 'Health', req: {} } }),
  'metrics': async () => ({ rest: { method: 'GET', path: '/metrics' } }),
  'openapi': async () => ({ rest: { method: 'GET', path: '/v1/openapi.json' } }),
  'auth.login': async () => {
    const body = { username: 'bob', password: 'bob-pw' };
    return { rest: { method: 'POST', path: '/v1/auth/login', body }, grpc: { service: 'AuthService', method: 'Login', req: body } };
  },
  'auth.logout': async (h, who) => ({
    token: who === 'none' ? undefined : h.mcias.tokenFor(who),
    rest: { method: 'POST', path: '/v1/auth/logout' },
    grpc: { service: 'AuthService', method: 'Logout', req: {} },
  }),
  'zones.list': async () => ({ rest: { method: 'GET', path: '/v1/zones' }, grpc: { service: 'ZoneService', method: 'ListZones', req: {} } }),
  'zones.get': async () => ({ rest: { method: 'GET', path: `/v1/zones/${MATRIX_ZONE}` }, grpc: { service: 'ZoneService', method: 'GetZone', req: { zone: MATRIX_ZONE } } }),
  'zones.export': async () => ({ rest: { method: 'GET', path: `/v1/zones/${MATRIX_ZONE}/export` }, grpc: { service: 'ZoneService', method: 'ExportZone', req: { zone: MATRIX_ZONE } } }),
  'zones.history': async () => ({ rest: { method: 'GET', path: `/v1/zones/${MATRIX_ZONE}/history` }, grpc: { service: 'ZoneService', method: 'ZoneHistory', req: { zone: MATRIX_ZONE } } }),
  'zones.create': async () => {
    const name = `new${fresh()}.test`;
    const body = { name, primary_ns: `ns.${name}`, admin_email: `hostmaster@${name}` };
    return { rest: { method: 'POST', path: '/v1/zones', body }, grpc: { service: 'ZoneService', method: 'CreateZone', req: body } };
  },
  'zones.update': async (h) => {
    const zone = await adminCreateZone(h);
    return { rest: { method: 'PUT', path: `/v1/zones/${zone}`, body: { refresh: 1234 } }, grpc: { service: 'ZoneService', method: 'UpdateZone', req: { zone, refresh: 1234 } } };
  },
  'zones.delete': async (h) => {
    const zone = await adminCreateZone(h);
    return { rest: { method: 'DELETE', path: `/v1/zones/${zone}` }, grpc: { service: 'ZoneService', method: 'DeleteZone', req: { zone } } };
  },
  'zones.import': async () => {
    const zone = `imp${fresh()}.test`;
    const text = `$ORIGIN ${zone}.\n$TTL 300\n@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 300\n@ IN NS ns.${zone}.\nns IN A 192.0.2.53\n`;
    return { rest: { method: 'POST', path: `/v1/zones/${zone}/import`, text }, grpc: { service: 'ZoneService', method: 'ImportZone', req: { zone, zone_file: text } } };
  },
  'zones.restore': async (h) => {
    const zone = await adminCreateZone(h);
    const at = String(h.ledger.state.seq);
    await adminCreateRecord(h, zone, 'later');
    return { rest: { method: 'POST', path: `/v1/zones/${zone}/restore`, body: { at } }, grpc: { service: 'ZoneService', method: 'RestoreZone', req: { zone, at } } };
  },
  'records.list': async () => ({ rest: { method: 'GET', path: `/v1/zones/${MATRIX_ZONE}/records` }, grpc: { service: 'RecordService', method: 'ListRecords', req: { zone: MATRIX_ZONE } } }),
  'records.get': async (h) => {
    const id = await adminCreateRecord(h, MATRIX_ZONE, 'get-me');
    return { rest: { method: 'GET', path: `/v1/zones/${MATRIX_ZONE}/records/${id}` }, grpc: { service: 'RecordService', method: 'GetRecord', req: { zone: MATRIX_ZONE, id } } };
  },
  'records.history': async (h) => {
    const id = await adminCreateRecord(h, MATRIX_ZONE, 'hist');
    return { rest: { method: 'GET', path: `/v1/zones/${MATRIX_ZONE}/records/${id}/history` }, grpc: { service: 'RecordService', method: 'RecordHistory', req: { zone: MATRIX_ZONE, id } } };
  },
  'records.create': async (_h, who) => {
    const body = { name: who === 'none' ? 'anon' : who, type: 'TXT', value: `"c${fresh()}"` };
    return { rest: { method: 'POST', path: `/v1/zones/${MATRIX_ZONE}/records`, body }, grpc: { service: 'RecordService', method: 'CreateRecord', req: { zone: MATRIX_ZONE, ...body } } };
  },
  'records.update': async (h, who) => {
    const id = await adminCreateRecord(h, MATRIX_ZONE, who === 'none' ? 'anon' : who);
    const body = { value: `"u${fresh()}"` };
    return { rest: { method: 'PUT', path: `/v1/zones/${MATRIX_ZONE}/records/${id}`, body }, grpc: { service: 'RecordService', method: 'UpdateRecord', req: { zone: MATRIX_ZONE, id, ...body } } };
  },
  'records.delete': async (h, who) => {
    const id = await adminCreateRecord(h, MATRIX_ZONE, who === 'none' ? 'anon' : who);
    return { rest: { method: 'DELETE', path: `/v1/zones/${MATRIX_ZONE}/records/${id}` }, grpc: { service: 'RecordService', method: 'DeleteRecord', req: { zone: MATRIX_ZONE, id } } };
  },
  'records.changes': async (h, who) => {
    const name = who === 'none' ? 'anon' : who;
    const id = await adminCreateRecord(h, MATRIX_ZONE, name);
    const changes = [
      { op: 'create', name, type: 'TXT', value: `"b${fresh()}"` },
      { op: 'delete', id },
    ];
    return { rest: { method: 'POST', path: `/v1/zones/${MATRIX_ZONE}/changes`, body: changes }, grpc: { service: 'RecordService', method: 'ApplyChanges', req: { zone: MATRIX_ZONE, changes } } };
  },
  'events.list': async () => ({ rest: { method: 'GET', path: '/v1/events?limit=5' }, grpc: { service: 'AdminService', method: 'ListEvents', req: { limit: 5 } } }),
  // A server stream: the matrix opens it and reads the first event or the error.
  'events.watch': async () => ({ grpc: { service: 'AdminService', method: 'WatchEvents', req: { after: 0 } } }),
  'snapshots.create': async () => ({ rest: { method: 'POST', path: '/v1/snapshots' }, grpc: { service: 'AdminService', method: 'Snapshot', req: {} } }),
  'dnssec.get': async () => ({ rest: { method: 'GET', path: `/v1/zones/${MATRIX_ZONE}/dnssec` }, grpc: { service: 'DnssecService', method: 'GetDnssec', req: { zone: MATRIX_ZONE } } }),
  'dnssec.configure': async (h) => {
    const zone = await adminCreateZone(h);
    return { rest: { method: 'PUT', path: `/v1/zones/${zone}/dnssec`, body: { enabled: true } }, grpc: { service: 'DnssecService', method: 'SetDnssec', req: { zone, enabled: true } } };
  },
  'dnssec.rollover': async (h) => {
    const zone = await adminCreateZone(h);
    const r = await h.rest('PUT', `/v1/zones/${zone}/dnssec`, { token: h.tokens.alice, body: { enabled: true } });
    if (r.status !== 200) throw new Error(`prepare signed zone: ${r.status} ${r.text}`);
    return { rest: { method: 'POST', path: `/v1/zones/${zone}/dnssec/rollover`, body: { role: 'zsk' } }, grpc: { service: 'DnssecService', method: 'StartRollover', req: { zone, role: 'zsk' } } };
  },
};
