/**
 * The OpenAPI 3.1 document of the REST API, generated from the route table and its zod schemas
 * (z.toJSONSchema), so the document and the validation cannot drift apart. Every operation lists
 * each 4xx/5xx it can answer, with the one error shape ({"error": "..."}); `npx redocly lint` on the
 * served document reports no problem (test/api/openapi-lint.test.ts).
 */
import { z } from 'zod';
import { OPERATIONS } from './authz.ts';
import type { Route } from './routes.ts';

function schemaOf(s: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input' }) as Record<string, unknown>;
  return rest;
}

/** Operations whose 2xx carries lint warnings (src/projections/lint.ts). */
const WARNING_OPS: ReadonlySet<string> = new Set(['records.create', 'records.update', 'records.changes', 'zones.import']);

/** Writes that can meet a conflict (exists, duplicate, CNAME exclusivity, restore that would delete). */
const CONFLICT_OPS: ReadonlySet<string> = new Set(['zones.create', 'records.create', 'records.update', 'records.changes', 'zones.import', 'zones.restore', 'dnssec.configure', 'dnssec.rollover']);

/** Success bodies described in full: the pages, which say how to get the next one. */
const RESPONSE_SCHEMAS: Readonly<Record<string, string>> = {
  'records.list': 'RecordPage',
  'zones.history': 'HistoryPage',
  'records.history': 'HistoryPage',
};

/** The schemas of RESPONSE_SCHEMAS (snake_case, as every JSON answer). */
const PAGE_SCHEMAS: Record<string, unknown> = {
  Record: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string', description: 'relative to the zone ("@" = apex)' },
      fqdn: { type: 'string', description: 'the full name, with the trailing dot' },
      type: { type: 'string' },
      value: { type: 'string' },
      ttl: { type: 'integer' },
    },
    required: ['id', 'name', 'fqdn', 'type', 'value', 'ttl'],
  },
  RecordPage: {
    type: 'object',
    properties: {
      records: { type: 'array', items: { $ref: '#/components/schemas/Record' } },
      next_cursor: { type: 'string', description: 'Present when more records follow (only with ?limit=): pass it as ?cursor= for the next page' },
    },
    required: ['records'],
  },
  ChangeSide: {
    type: 'object',
    description: 'A record (name, type, value, ttl) or the SOA fields a zone update changed',
    additionalProperties: true,
  },
  HistoryEntry: {
    type: 'object',
    properties: {
      seq: { type: 'integer' },
      time: { type: 'string', format: 'date-time' },
      actor: { type: 'string' },
      zone: { type: 'string' },
      batch_id: { type: 'string' },
      event: { type: 'string' },
      payload: { type: 'object' },
      surface: { type: 'string', description: 'rest, grpc, update, cli, system, import, offline, restore (api: before surfaces were recorded)' },
      old: { $ref: '#/components/schemas/ChangeSide' },
      new: { $ref: '#/components/schemas/ChangeSide' },
      restored_to: { type: 'object', properties: { seq: { type: 'integer' }, at: { type: 'string' } }, required: ['seq'] },
    },
    required: ['seq', 'time', 'actor', 'zone', 'batch_id', 'event', 'payload'],
  },
  HistoryPage: {
    type: 'object',
    properties: {
      entries: { type: 'array', items: { $ref: '#/components/schemas/HistoryEntry' } },
      next_cursor: { type: 'integer', description: 'Present when more entries follow: pass it as ?cursor= (with the same order)' },
      remaining: { type: 'integer', description: 'With next_cursor: how many entries follow this page' },
    },
    required: ['entries'],
  },
};

/** "/v1/zones/:zone" -> "/v1/zones/{zone}". */
export function openapiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}');
}

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

/** The error responses, one per status, shared by reference. */
const ERROR_RESPONSES: Record<string, { name: string; description: string; headers?: Record<string, unknown> }> = {
  '400': { name: 'BadRequest', description: 'Invalid input; the message names the field (e.g. "name: ...", "limit: must be at most 10000")' },
  '401': { name: 'Unauthenticated', description: 'No bearer token, or a token MCIAS does not accept (login: wrong credentials)' },
  '403': { name: 'Forbidden', description: "The caller's role or account may not do this (admin-only operations, name scopes of system accounts)" },
  '404': { name: 'NotFound', description: 'The zone or record does not exist (at that point, with ?at=)' },
  '409': { name: 'Conflict', description: 'Conflict: the zone exists, a duplicate record, CNAME exclusivity, or a restore that would delete the zone without allow_delete' },
  '412': { name: 'PreconditionFailed', description: 'If-Match: the zone is no longer at that serial' },
  '413': { name: 'TooLarge', description: 'The body is larger than [server] max_body (default 4 MiB); the message gives the limit' },
  '415': { name: 'UnsupportedMediaType', description: 'The body is not of a content type this operation reads' },
  '429': {
    name: 'Throttled',
    description: 'Too many failed authentications from this client address ([server] auth_failure_burst); nothing was validated. Retry after the given seconds.',
    headers: { 'Retry-After': { description: 'Seconds until the address may try again', schema: { type: 'integer', minimum: 1 } } },
  },
  '500': { name: 'Internal', description: 'Internal error (logged by the server; the message says nothing more)' },
  '502': { name: 'UpstreamUnavailable', description: 'MCIAS (the identity service) is unreachable; DNS keeps answering' },
  '503': { name: 'Unavailable', description: 'The server is shutting down' },
};

const ref = (status: string): { $ref: string } => ({ $ref: `#/components/responses/${ERROR_RESPONSES[status].name}` });

/** Every error status an operation can answer, from what it takes and who may call it. */
export function errorStatuses(r: Pick<Route, 'op' | 'method' | 'url' | 'body' | 'query' | 'conditional'>): string[] {
  const s = new Set<string>(['500', '503']);
  const level = OPERATIONS[r.op];
  if (level !== 'public') ['401', '403', '429', '502'].forEach((x) => s.add(x));
  if (r.op === 'auth.login') ['400', '401', '413', '415', '429', '502'].forEach((x) => s.add(x));
  if (r.body || r.query || r.url.includes(':')) s.add('400');
  if (r.url.includes(':zone') || r.url.includes(':id')) s.add('404');
  if (r.body) ['413', '415'].forEach((x) => s.add(x));
  if (r.conditional) s.add('412');
  if (CONFLICT_OPS.has(r.op)) s.add('409');
  return [...s].sort();
}

/** GET /v1/feed (events-feed.ts registers it beside the table; described here so the document has every route). */
function feedOperation(): Record<string, unknown> {
  return {
    operationId: 'events.feed',
    summary: 'Live changes as server-sent events (text/event-stream): hello, then one change per appended batch',
    description:
      'Authorized like reading a zone history, with the bearer header (read it with fetch() and a stream reader; EventSource cannot send the header). ' +
      'Messages: `event: hello` (username, account_type, roles, may, seq, zone), then `event: change` with `id:` the batch\'s last seq and data ' +
      '{"events": [...as GET /v1/events...], "seq": N}; `: keep-alive` every 15 s (the token is checked again each time); `event: error` before the server ends the stream.',
    'x-mcns-access': 'read',
    parameters: [
      { name: 'zone', in: 'query', required: false, description: 'Only this zone (every zone when absent)', schema: { type: 'string' } },
      { name: 'after', in: 'query', required: false, description: 'Start after this seq (default: the newest; nothing old is replayed)', schema: { type: 'string', pattern: '^\\d{1,15}$' } },
    ],
    responses: {
      '200': { description: 'The stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
      ...Object.fromEntries(['400', '401', '403', '429', '500', '502', '503'].map((st) => [st, ref(st)])),
    },
  };
}

/** Build the document for `routes`. */
export function buildOpenApi(routes: readonly Route[], version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params: Array<Record<string, unknown>> = [...r.url.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = schemaOf(r.query) as { properties?: Record<string, unknown> };
      for (const [name, schema] of Object.entries(q.properties ?? {})) params.push({ name, in: 'query', required: false, schema });
    }
    if (r.conditional) params.push({ name: 'If-Match', in: 'header', required: false, description: 'Zone serial the change was decided against (412 when the zone moved on)', schema: { type: 'string' } });
    const level = OPERATIONS[r.op];
    const op: Record<string, unknown> = {
      operationId: r.op,
      summary: r.summary,
      'x-mcns-access': level,
      parameters: params,
      responses: {
        [String(r.status ?? 200)]: r.produces
          ? { description: 'OK', content: { [r.produces]: { schema: { type: 'string' } } } }
          : WARNING_OPS.has(r.op)
            ? { description: 'OK (the write was applied; warnings name legal but probably wrong records)', content: { 'application/json': { schema: { $ref: '#/components/schemas/WriteWithWarnings' } } } }
            : RESPONSE_SCHEMAS[r.op]
              ? { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${RESPONSE_SCHEMAS[r.op]}` } } } }
              : { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } },
        ...Object.fromEntries(errorStatuses(r).map((st) => [st, ref(st)])),
      },
    };
    if (level === 'public') op.security = [];
    if (r.body === 'zonefile') {
      op.requestBody = { required: true, content: { 'text/plain': { schema: { type: 'string' } }, 'text/dns': { schema: { type: 'string' } } } };
    } else if (r.body) {
      op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(r.body) } } };
    }
    (paths[openapiPath(r.url)] ??= {})[r.method.toLowerCase()] = op;
  }
  paths['/v1/feed'] = { get: feedOperation() };
  return {
    openapi: '3.1.0',
    info: {
      title: 'MCNS management API',
      version,
      description:
        'Zones and records of an authoritative DNS server built as an event-sourced ledger. Errors are {"error": "..."} with the statuses each operation lists. ' +
        'JSON field names are snake_case. Every endpoint has a gRPC twin (proto/mcns/v1).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: 'https://{host}:{port}',
        description: 'An MCNS server ([server] listen_addr; `mcns server --dev` listens on 127.0.0.1:8443)',
        variables: { host: { default: '127.0.0.1' }, port: { default: '8443' } },
      },
    ],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'MCIAS token' } },
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map((e) => [e.name, { description: e.description, ...(e.headers ? { headers: e.headers } : {}), content: errorContent }]),
      ),
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
        ...PAGE_SCHEMAS,
        WriteWithWarnings: {
          type: 'object',
          properties: {
            warnings: {
              type: 'array',
              items: { type: 'string' },
              description: 'Lint warnings (a CNAME loop inside our zones; an IP address as MX, NS, SRV or CNAME target). Empty when there is nothing to say; the write happened either way.',
            },
          },
          required: ['warnings'],
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
