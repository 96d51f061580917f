/**
 * Authorization: the role table of SPEC 4, in one place for both API surfaces.
 *
 * Every operation has one access level; who holds which level comes from the MCIAS roles and the
 * account type. REST routes and gRPC methods name their operation (gRPC through an explicit method
 * map; a method missing from it is denied), and the service layer calls {@link authorize} /
 * {@link authorizeRecord} before doing anything.
 */
import { McnsError } from '../errors.ts';
import { relativeName } from '../records/names.ts';
import type { Identity } from './auth.ts';

/**
 * Access levels, from open to closed:
 * - public: no token needed;
 * - authenticated: any valid token (logout);
 * - read: zones, records, history, exports;
 * - record-write: create/update/delete records (name-scoped for system accounts other than mcp-agent);
 * - admin: zone lifecycle, import, restore, the raw event log, snapshots.
 */
export type AccessLevel = 'public' | 'authenticated' | 'read' | 'record-write' | 'admin';

/** Every operation of the management API and the level it needs: the table both surfaces enforce. */
export const OPERATIONS = {
  'health': 'public',
  'metrics': 'public',
  'openapi': 'public',
  'auth.login': 'public',
  'auth.logout': 'authenticated',
  'zones.list': 'read',
  'zones.get': 'read',
  'zones.export': 'read',
  'zones.history': 'read',
  'zones.create': 'admin',
  'zones.update': 'admin',
  'zones.delete': 'admin',
  'zones.import': 'admin',
  'zones.restore': 'admin',
  'records.list': 'read',
  'records.get': 'read',
  'records.history': 'read',
  'records.create': 'record-write',
  'records.update': 'record-write',
  'records.delete': 'record-write',
  'records.changes': 'record-write',
  'events.list': 'admin',
  'events.watch': 'admin',
  'snapshots.create': 'admin',
} as const satisfies Record<string, AccessLevel>;

/** The name of an operation of {@link OPERATIONS}. */
export type Operation = keyof typeof OPERATIONS;

/** The system account that may manage every record (the MCP control plane's agent). */
export const MCP_AGENT = 'mcp-agent';

/**
 * The levels an identity holds (SPEC 4): `admin` everything; system accounts write records (all of
 * them for mcp-agent, their own name otherwise) and read, because they must list records to find
 * the ids they update; `user` reads; `guest` and accounts without a known role get nothing.
 */
export function levelsOf(id: Identity): Set<AccessLevel> {
  const levels = new Set<AccessLevel>(['public', 'authenticated']);
  if (id.roles.includes('admin')) return new Set(['public', 'authenticated', 'read', 'record-write', 'admin']);
  if (id.accountType === 'system') {
    levels.add('read');
    levels.add('record-write');
  }
  if (id.roles.includes('user')) levels.add('read');
  return levels;
}

/** Whether `id` may perform `op` at all (record writes are further scoped by name). */
export function permits(id: Identity | undefined, op: Operation): boolean {
  const level = OPERATIONS[op];
  if (level === 'public') return true;
  if (!id) return false;
  return levelsOf(id).has(level);
}

/** Refuse (401 without identity, 403 without the level) unless `id` may perform `op`. */
export function authorize(id: Identity | undefined, op: Operation): void {
  const level = OPERATIONS[op];
  if (level === 'public') return;
  if (!id) throw new McnsError('unauthenticated', 'missing bearer token (Authorization: Bearer <token>)');
  if (!levelsOf(id).has(level)) {
    throw new McnsError('forbidden', `${id.username} (roles: ${id.roles.join(', ') || 'none'}) may not ${op}`);
  }
}

/** Whether `id` may write a record with absolute `name` in `zone` (both normalised). */
export function mayWriteRecord(id: Identity, zone: string, name: string): boolean {
  if (id.roles.includes('admin')) return true;
  if (id.accountType !== 'system') return false;
  if (id.username === MCP_AGENT) return true;
  // Any other system account manages exactly the records named after itself, in any zone.
  return relativeName(name, zone) === id.username.toLowerCase();
}

/** Refuse (403, field `name`) a record write outside the caller's scope. */
export function authorizeRecord(id: Identity, op: Operation, zone: string, name: string, field = 'name'): void {
  authorize(id, op);
  if (!mayWriteRecord(id, zone, name)) {
    throw new McnsError('forbidden', `${id.username} may only manage records named ${id.username}, not ${name}`, field);
  }
}
