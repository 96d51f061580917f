/**
 * Request schemas (zod) shared by both API surfaces: the service layer parses every input with them,
 * so REST and gRPC refuse the same inputs with the same field named, and the OpenAPI document is
 * generated from them. Objects are strict: an unknown field is refused, by name.
 */
import { z } from 'zod';
import { McnsError } from '../errors.ts';
import { MAX_TTL } from '../records/types.ts';

const ttl = z.number().int().min(0).max(MAX_TTL);
const u32 = z.number().int().min(0).max(4294967295);
const domain = z.string().min(1).max(1100);
/** A non-negative integer given as a number (gRPC, JSON) or decimal text (query strings). */
const count = z.union([z.number().int().min(0), z.string().regex(/^\d{1,15}$/, 'must be a non-negative integer').transform(Number)]);
/** A page size from 1 to `max`. */
const pageSize = (max: number) => count.pipe(z.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`));
/** A point in the log: a sequence number or an RFC 3339 time (checked by parseLogPoint). */
const at = z.union([z.number().int().min(0), z.string().min(1).max(64)]);
const recordId = z.string().min(1).max(64);
const rrType = z.string().min(1).max(10);

/** POST /v1/auth/login. */
export const LoginBody = z.strictObject({
  username: z.string().min(1).max(256),
  password: z.string().min(1).max(4096),
  totp_code: z.string().min(1).max(32).optional(),
});

/** POST /v1/zones. */
export const ZoneCreateBody = z.strictObject({
  name: domain,
  primary_ns: domain,
  admin_email: domain,
  ttl: ttl.optional(),
  refresh: u32.optional(),
  retry: u32.optional(),
  expire: u32.optional(),
  minimum: u32.optional(),
});

/** PUT /v1/zones/{zone}: SOA parameters; only those given change. */
export const ZoneUpdateBody = z.strictObject({
  primary_ns: domain.optional(),
  admin_email: domain.optional(),
  ttl: ttl.optional(),
  refresh: u32.optional(),
  retry: u32.optional(),
  expire: u32.optional(),
  minimum: u32.optional(),
  /** The zone's catalog `group` property (RFC 9432 4.4.2; needs [catalog] zone): a name sets it, null clears it. */
  group: z.string().min(1).max(255).nullable().optional(),
});

/**
 * POST /v1/zones/{zone}/records: name relative to the zone ("@" = apex; a trailing dot makes it
 * absolute). A relative name that reads as a name of another zone we serve ("www.other.test" given
 * to newco.test) is refused unless `relative` is true (then it is www.other.test.newco.test.).
 */
export const RecordCreateBody = z.strictObject({
  name: domain,
  type: rrType,
  value: z.string().min(1).max(70000),
  ttl: ttl.optional(),
  relative: z.boolean().optional(),
});

/** PUT /v1/zones/{zone}/records/{id}. */
export const RecordUpdateBody = z.strictObject({
  value: z.string().min(1).max(70000).optional(),
  ttl: ttl.optional(),
});

/** One change of a batch. */
export const Change = z.discriminatedUnion('op', [
  RecordCreateBody.extend({ op: z.literal('create') }),
  RecordUpdateBody.extend({ op: z.literal('update'), id: recordId }),
  z.strictObject({ op: z.literal('delete'), id: recordId }),
]);

/** POST /v1/zones/{zone}/changes: one atomic batch. */
export const ChangesBody = z.array(Change).min(1).max(1000);

/** POST /v1/zones/{zone}/restore. */
export const RestoreBody = z.strictObject({
  at,
  /** Restoring to a point before the zone existed deletes it: only when asked for explicitly. */
  allow_delete: z.boolean().optional(),
});

/** ?at= on zone reads and exports. */
export const AtQuery = z.strictObject({ at: at.optional() });
/** GET /v1/zones: `catalog=true` lists the catalog zone too (hidden by default). */
export const ZoneListQuery = z.strictObject({ at: at.optional(), catalog: z.enum(['true', 'false']).optional() });

/**
 * GET /v1/zones/{zone}/records. Without `limit`, every matching record; with it, one page, and
 * `next_cursor` in the answer when more follow (pass it back as `cursor`).
 */
export const RecordsQuery = z.strictObject({
  name: domain.optional(),
  type: rrType.optional(),
  at: at.optional(),
  limit: pageSize(10000).optional(),
  cursor: z.string().min(1).max(4000).optional(),
});

/** GET /v1/zones/{zone}/history. */
export const HistoryQuery = z.strictObject({
  name: domain.optional(),
  type: rrType.optional(),
  since: z.string().min(1).max(64).optional(),
  until: z.string().min(1).max(64).optional(),
  batch_id: z.string().min(1).max(64).optional(),
  /** The former name of batch_id, still accepted. */
  batch: z.string().min(1).max(64).optional(),
  actor: z.string().min(1).max(256).optional(),
  /** asc (default): oldest first, cursor = last seq seen; desc: newest first, the next page is before cursor. */
  order: z.enum(['asc', 'desc']).optional(),
  limit: pageSize(10000).optional(),
  cursor: count.optional(),
});

/** GET /v1/events. */
export const EventsQuery = z.strictObject({ after: count.optional(), limit: pageSize(1000).optional() });

/** An empty body or query. */
export const Empty = z.strictObject({});

/** Parse `input` with `schema`, or throw 400 naming the first offending field (prefixed by `where`). */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where?: string): z.output<S> {
  const r = schema.safeParse(input ?? (schema instanceof z.ZodArray ? input : {}));
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.map(String);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    path.push(issue.keys[0]);
    message = 'unknown field';
  }
  const field = [where, ...path].filter((p) => p !== undefined && p !== '').join('.') || where || 'body';
  throw new McnsError('invalid', message, field);
}
