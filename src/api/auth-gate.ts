/**
 * The gate in front of token validation, shared by REST and gRPC: it limits how much MCIAS work an
 * unauthenticated client can cause. Every failed authentication that cost an MCIAS call (an unknown
 * token MCIAS called invalid, a refused login) takes one from the client's bucket; when the bucket
 * is empty the client's requests are answered 429 (gRPC RESOURCE_EXHAUSTED) with Retry-After before
 * anything is validated, except tokens already known to be valid (cached), so a noisy neighbour
 * behind the same address does not lock a signed-in user out. Buckets refill steadily, as Knot's and
 * NSD's rate limits do, so a client that slows down is served again without anyone intervening.
 *
 * Clients are counted by address: IPv4 /32, IPv6 /56 (one site's allocation; a /64 each would hand an
 * attacker 256 buckets for the price of one prefix).
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { McnsError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { Identity, IdentityProvider } from './auth.ts';
import { bearerToken } from './service.ts';

/** A 429: the client failed authentication too often; `retryAfterSeconds` says when to come back. */
export class RateLimitedError extends McnsError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `too many failed authentications from this address; retry after ${retryAfterSeconds} s`);
  }
}

/** Limits of {@link AuthFailureThrottle}. */
export interface ThrottleOptions {
  /** Failures a client may have in a row before it is refused (0 turns the limit off). Default 20. */
  burst?: number;
  /** Failures forgiven per minute (the refill rate). Default 10. */
  perMinute?: number;
  /** Most client buckets kept; past it the fullest are dropped (they would be forgiven anyway). Default 100000. */
  maxClients?: number;
  /** Injected clock, ms (tests). */
  now?: () => number;
}

/** The default limits (RUNBOOK: Hardening). */
export const THROTTLE_DEFAULTS = { burst: 20, perMinute: 10, maxClients: 100_000 } as const;

/** The key a client's failures are counted under: its IPv4 address, or its IPv6 /56. */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  let a = address.trim();
  if (a.startsWith('[')) a = a.slice(1, a.indexOf(']'));
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return mapped[1];
  if (isIP(a) !== 6) return a;
  // Expand to 8 groups and keep the first 56 bits (3.5 groups).
  const [head, tail = ''] = a.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = a.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...new Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t].map((g) => g.padStart(4, '0'));
  return `${groups.slice(0, 3).join(':')}:${groups[3].slice(0, 2)}00::/56`;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Per-client token buckets of authentication failures. */
export class AuthFailureThrottle {
  private readonly buckets = new Map<string, Bucket>();
  readonly burst: number;
  private readonly perMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;

  constructor(opts: ThrottleOptions = {}) {
    this.burst = opts.burst ?? THROTTLE_DEFAULTS.burst;
    this.perMs = (opts.perMinute ?? THROTTLE_DEFAULTS.perMinute) / 60_000;
    this.maxClients = opts.maxClients ?? THROTTLE_DEFAULTS.maxClients;
    this.now = opts.now ?? Date.now;
  }

  /** Whether the limit is on. */
  get enabled(): boolean {
    return this.burst > 0;
  }

  private refill(key: string): Bucket | undefined {
    const b = this.buckets.get(key);
    if (!b) return undefined;
    const now = this.now();
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens >= this.burst) {
      this.buckets.delete(key);
      return undefined;
    }
    return b;
  }

  /** Seconds until `key` may try again; 0 when it may now. */
  retryAfter(key: string): number {
    if (!this.enabled) return 0;
    const b = this.refill(key);
    if (!b || b.tokens >= 1) return 0;
    if (this.perMs <= 0) return 3600;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  /** Count one failure of `key`; true when this one emptied its bucket (the moment worth one log line). */
  fail(key: string): boolean {
    if (!this.enabled) return false;
    const b = this.refill(key) ?? { tokens: this.burst, at: this.now() };
    const before = b.tokens;
    b.tokens -= 1;
    this.buckets.delete(key); // re-insert: Map order is then oldest activity first
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxClients) this.prune();
    return before >= 1 && b.tokens < 1;
  }

  /** Number of clients with failures still on record (tests, metrics; forgets refilled buckets first). */
  get size(): number {
    for (const key of [...this.buckets.keys()]) this.refill(key);
    return this.buckets.size;
  }

  private prune(): void {
    for (const key of [...this.buckets.keys()]) this.refill(key);
    // Still too many: forget the least recently active (a flood of addresses must not grow memory).
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxClients) break;
      this.buckets.delete(key);
    }
  }
}

/** What a gate is built from. */
export interface AuthGateOptions {
  auth: IdentityProvider;
  throttle?: AuthFailureThrottle;
  metrics?: Metrics;
  logger?: Logger;
}

/** The one path from an Authorization value and a client address to an identity, for both surfaces. */
export class AuthGate {
  readonly auth: IdentityProvider;
  readonly throttle: AuthFailureThrottle;
  private readonly metrics?: Metrics;
  private readonly logger?: Logger;

  constructor(opts: AuthGateOptions) {
    this.auth = opts.auth;
    this.throttle = opts.throttle ?? new AuthFailureThrottle();
    this.metrics = opts.metrics;
    this.logger = opts.logger;
  }

  private tokenOf(authorization: string | undefined): string | undefined {
    try {
      return bearerToken(authorization);
    } catch {
      return undefined;
    }
  }

  /**
   * Identify the caller: 429 when its address has failed too often (unless its token is already
   * known valid), 401 for a missing, malformed or invalid token, 502 when MCIAS is down.
   */
  async identify(authorization: string | undefined, client: string | undefined, surface: 'rest' | 'grpc'): Promise<Identity> {
    const key = clientKey(client);
    const token = this.tokenOf(authorization);
    const known = token ? this.auth.peek?.(token) : undefined;
    if (known) return known;
    this.refuseIfThrottled(key, surface);
    const id = bearerToken(authorization);
    if (!id) throw new McnsError('unauthenticated', 'missing bearer token (Authorization: Bearer <token>)');
    // A refusal already cached costs MCIAS nothing: answer it without counting.
    if (known === null) throw new McnsError('unauthenticated', 'invalid or expired token');
    try {
      return await this.auth.validate(id);
    } catch (err) {
      if (err instanceof McnsError && err.kind === 'unauthenticated') this.failed(client, surface);
      throw err;
    }
  }

  /** Before a public call that costs MCIAS (login): 429 when the client is throttled. */
  admitPublic(client: string | undefined, surface: 'rest' | 'grpc'): void {
    this.refuseIfThrottled(clientKey(client), surface);
  }

  private refuseIfThrottled(key: string, surface: 'rest' | 'grpc'): void {
    const wait = this.throttle.retryAfter(key);
    if (wait > 0) {
      this.metrics?.authThrottled.inc({ surface });
      throw new RateLimitedError(wait);
    }
  }

  /** Count a failed authentication of `client` that cost MCIAS a call (an invalid token, a refused login). */
  failed(client: string | undefined, surface: 'rest' | 'grpc'): void {
    const key = clientKey(client);
    this.metrics?.authFailures.inc({ surface });
    if (this.throttle.fail(key)) {
      this.logger?.warn(
        { client: key, surface, burst: this.throttle.burst, retryAfterS: this.throttle.retryAfter(key) },
        'authentication failures from one client over the limit: answering 429 until it slows down',
      );
    }
  }
}
