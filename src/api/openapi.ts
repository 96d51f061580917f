/**
 * The OpenAPI 3.1 document of the REST API, generated from the route table and its zod schemas
 * (z.toJSONSchema), so the document and the validation cannot drift apart.
 */
import { z } from 'zod';
import { ERROR_KINDS } from '../errors.ts';
import { OPERATIONS } from './authz.ts';
import type { Route } from './routes.ts';

function schemaOf(s: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input' }) as Record<string, unknown>;
  return rest;
}

/** Operations whose 2xx carries lint warnings (src/projections/lint.ts). */
const WARNING_OPS: ReadonlySet<string> = new Set(['records.create', 'records.update', 'records.changes', 'zones.import']);

/** "/v1/zones/:zone" -> "/v1/zones/{zone}". */
export function openapiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}');
}

/** Build the document for `routes`. */
export function buildOpenApi(routes: readonly Route[], version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorResponse = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const throttledResponse = {
    description: 'Too many failed authentications from this client address ([server] auth_failure_burst); nothing was validated. Retry after the given seconds.',
    headers: { 'Retry-After': { description: 'Seconds until the address may try again', schema: { type: 'integer', minimum: 1 } } },
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
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
            : { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } },
        ...(level !== 'public' || r.op === 'auth.login' ? { '429': throttledResponse } : {}),
        default: errorResponse,
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
  return {
    openapi: '3.1.0',
    info: {
      title: 'MCNS management API',
      version,
      description: `Errors are {"error": "..."} with statuses ${[...new Set(Object.values(ERROR_KINDS).map((k) => k.http))].join(', ')}.`,
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'MCIAS token' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
        WriteWithWarnings: {
          type: 'object',
          properties: {
            warnings: {
              type: 'array',
              items: { type: 'string' },
              description: 'Lint warnings (a CNAME loop inside our zones; an IP address as MX, NS, SRV or CNAME target), and what the write did beyond what was asked (a TTL given to one record set the TTL of its whole RRset: one TTL per RRset, RFC 2181 5.2). Empty when there is nothing to say; the write happened either way.',
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
