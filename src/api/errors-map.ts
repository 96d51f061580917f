/**
 * The one mapping from errors to what each surface sends: McnsError kinds through ERROR_KINDS;
 * fastify's own 4xx errors (body too large, bad JSON, bad media type) keep their status; anything
 * else is a 500 whose message is not shown to the client.
 */
import { ERROR_KINDS, McnsError, type ErrorKind } from '../errors.ts';

/** The kind and the client-visible message of any thrown value. */
export function classify(err: unknown): { kind: ErrorKind; message: string; internal: boolean } {
  if (err instanceof McnsError) return { kind: err.kind, message: err.message, internal: false };
  const e = err as { statusCode?: number; message?: string; code?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const kind = (Object.keys(ERROR_KINDS) as ErrorKind[]).find((k) => ERROR_KINDS[k].http === e.statusCode) ?? 'invalid';
    const message = e.statusCode === 413 ? 'request body is too large' : (e.message ?? 'bad request');
    return { kind, message, internal: false };
  }
  return { kind: 'internal', message: 'internal error', internal: true };
}

/** The HTTP status and body for an error. */
export function httpError(err: unknown): { status: number; body: { error: string }; internal: boolean } {
  const c = classify(err);
  const e = err as { statusCode?: number };
  const status = c.kind === 'invalid' && typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : ERROR_KINDS[c.kind].http;
  return { status, body: { error: c.message }, internal: c.internal };
}

/** The gRPC status code and details for an error. */
export function grpcError(err: unknown): { code: number; details: string; internal: boolean } {
  const c = classify(err);
  return { code: ERROR_KINDS[c.kind].grpc, details: c.message, internal: c.internal };
}
