/**
 * The one registry of error kinds. Every layer throws {@link McnsError}; REST maps `kind` to an HTTP
 * status and gRPC to a status code in exactly one place each (src/api), so the two can never disagree.
 */

/** Error kinds with their HTTP status and gRPC code (numeric, from grpc status codes). */
export const ERROR_KINDS = {
  invalid: { http: 400, grpc: 3 /* INVALID_ARGUMENT */ },
  unauthenticated: { http: 401, grpc: 16 /* UNAUTHENTICATED */ },
  forbidden: { http: 403, grpc: 7 /* PERMISSION_DENIED */ },
  not_found: { http: 404, grpc: 5 /* NOT_FOUND */ },
  conflict: { http: 409, grpc: 6 /* ALREADY_EXISTS */ },
  precondition: { http: 412, grpc: 9 /* FAILED_PRECONDITION */ },
  too_large: { http: 413, grpc: 8 /* RESOURCE_EXHAUSTED */ },
  rate_limited: { http: 429, grpc: 8 /* RESOURCE_EXHAUSTED */ },
  upstream: { http: 502, grpc: 14 /* UNAVAILABLE */ },
  unavailable: { http: 503, grpc: 14 /* UNAVAILABLE */ },
  internal: { http: 500, grpc: 13 /* INTERNAL */ },
} as const;

/** One of the keys of {@link ERROR_KINDS}. */
export type ErrorKind = keyof typeof ERROR_KINDS;

/** An expected failure: bad input, a conflict, a missing object. `field` names the offending input. */
export class McnsError extends Error {
  readonly kind: ErrorKind;
  readonly field?: string;

  constructor(kind: ErrorKind, message: string, field?: string) {
    super(field && !message.startsWith(field) ? `${field}: ${message}` : message);
    this.name = 'McnsError';
    this.kind = kind;
    this.field = field;
  }
}

/** Shorthand constructors, so call sites read as the rule they enforce. */
export const invalid = (field: string, message: string): McnsError => new McnsError('invalid', message, field);
export const notFound = (message: string): McnsError => new McnsError('not_found', message);
export const conflict = (message: string, field?: string): McnsError => new McnsError('conflict', message, field);
export const precondition = (message: string): McnsError => new McnsError('precondition', message);
