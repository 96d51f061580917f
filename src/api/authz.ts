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
  'dnssec.get': 'admin',
  'dnssec.configure': 'admin',
  'dnssec.rollover': 'admin',
} as const satisfies Record<string, AccessLevel>;

/** The name of an operation of {@link OPERATIONS}. */
export type Operation = keyof typeof OPERATIONS;

/** The system account that may manage every record (the MCP control plane's agent). */
export const MCP_AGENT = 'mcp-agent';

/** The role that grants nothing, whatever the account type or any other role it comes with. */
export const GUEST = 'guest';

/**
 * The levels an identity holds (SPEC 4): `admin` everything; system accounts write records (all of
 * them for mcp-agent, their own name otherwise) and read, because they must list records to find
 * the ids they update; `user` reads; accounts without a known role get nothing. `guest` means
 * nothing at all: an account that holds it gets no level beyond logging out, whatever its type and
 * whatever else it holds (a guest marker must never be undone by a role granted elsewhere).
 */
export function levelsOf(id: Identity): Set<AccessLevel> {
  const levels = new Set<AccessLevel>(['public', 'authenticated']);
  if (id.roles.includes(GUEST)) return levels;
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

/**
 * The types a name-scoped system account may write at its own name: data about that one name only.
 * Everything else is refused, in particular the types that delegate, redirect or sign a subtree
 * (NS, DNAME, DS, SOA, DNSKEY, ...): at its own name they would hand every name below it to whoever
 * controls the account. An allowlist, so a type added to MCNS later stays admin/mcp-agent only until
 * someone decides otherwise.
 */
export const SCOPED_RECORD_TYPES: ReadonlySet<string> = new Set(['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'PTR', 'CAA']);

/**
 * Whether an account name can scope record rights: exactly one DNS label of letters, digits, `-`
 * and `_`, 1 to 63 bytes. Anything else (`mcq.evil`, `*`, empty, escapes, over 63 bytes) would
 * reach other names once written as an owner (`mcq.evil.<zone>`, a wildcard), so it gets no
 * record rights at all.
 */
export function isScopeLabel(username: string): boolean {
  return /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(username);
}

/** Whether `id` writes records without a name scope (admin, or the mcp-agent system account). */
export function writesAnyRecord(id: Identity): boolean {
  if (id.roles.includes(GUEST)) return false;
  if (id.roles.includes('admin')) return true;
  return id.accountType === 'system' && id.username === MCP_AGENT;
}

/** Which records `id` may write: every record, only those named after the account, or none. */
export function recordScope(id: Identity): 'all' | 'own' | 'none' {
  if (!levelsOf(id).has('record-write')) return 'none';
  if (writesAnyRecord(id)) return 'all';
  return id.accountType === 'system' && isScopeLabel(id.username) ? 'own' : 'none';
}

/**
 * Why `id` may not write a record of `type` with absolute `name` in `zone` (both normalised), or
 * undefined when it may.
 */
export function recordRefusal(id: Identity, zone: string, name: string, type: string): string | undefined {
  if (!levelsOf(id).has('record-write')) return `${id.username} (roles: ${id.roles.join(', ') || 'none'}) may not write records`;
  if (writesAnyRecord(id)) return undefined;
  if (id.accountType !== 'system') return `${id.username} may not write records`;
  if (!isScopeLabel(id.username)) return `account name "${id.username}" is not one DNS label, so it scopes no records`;
  if (relativeName(name, zone) !== id.username.toLowerCase()) return `${id.username} may only manage records named ${id.username}, not ${name}`;
  const t = type.toUpperCase();
  if (!SCOPED_RECORD_TYPES.has(t)) {
    return `${id.username} may not manage ${t} records (name-scoped accounts may write ${[...SCOPED_RECORD_TYPES].join(', ')}; NS, DNAME, DS and SOA are for admin and ${MCP_AGENT})`;
  }
  return undefined;
}

/** Whether `id` may write a record of `type` with absolute `name` in `zone` (both normalised). */
export function mayWriteRecord(id: Identity, zone: string, name: string, type: string): boolean {
  return recordRefusal(id, zone, name, type) === undefined;
}

/**
 * Refuse (403) a record write outside the caller's scope: the wrong name (field `name`), a type the
 * caller may not write (field `type`), or an account name that scopes nothing.
 */
export function authorizeRecord(id: Identity, op: Operation, zone: string, name: string, type: string, fields: { name?: string; type?: string } = {}): void {
  authorize(id, op);
  const why = recordRefusal(id, zone, name, type);
  if (why === undefined) return;
  const nameOk = writesAnyRecord(id) || (id.accountType === 'system' && isScopeLabel(id.username) && relativeName(name, zone) === id.username.toLowerCase());
  throw new McnsError('forbidden', why, nameOk ? (fields.type ?? 'type') : (fields.name ?? 'name'));
}
