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

/** "/v1/zones/:zone" -> "/v1/zones/{zone}". */
export function openapiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}');
}

/** Build the document for `routes`. */
export function buildOpenApi(routes: readonly Route[], version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorResponse = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
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
          : { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } },
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
      schemas: { Error: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
