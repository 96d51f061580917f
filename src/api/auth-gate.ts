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
import type { Logger } from 'pino';
import { McnsError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { clientPrefix } from '../records/ip.ts';
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

/** The key a client's failures are counted under: its IPv4 address, or its IPv6 /56 (records/ip.ts parses it). */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  let a = address.trim();
  if (a.startsWith('[')) a = a.slice(1, a.indexOf(']'));
  const p = clientPrefix(a, 32, 56);
  if (p === undefined) return a;
  return p.endsWith('/32') ? p.slice(0, -3) : p;
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
    return this.wait(b);
  }

  /**
   * Take one from `key`'s bucket before an attempt that may fail (an MCIAS call for an unknown token
   * or a login): 0 when taken, else the seconds to wait. Charging before the call, not after it,
   * means a burst of concurrent attempts cannot all slip past a bucket that is about to empty.
   */
  take(key: string): number {
    if (!this.enabled) return 0;
    const b = this.refill(key) ?? { tokens: this.burst, at: this.now() };
    if (b.tokens < 1) return this.wait(b);
    b.tokens -= 1;
    this.buckets.delete(key); // re-insert: Map order is then oldest activity first
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxClients) this.prune();
    return 0;
  }

  /** Give back what {@link take} took: the attempt succeeded, or failed for a reason that is not the client's. */
  refund(key: string): void {
    if (!this.enabled) return;
    const b = this.buckets.get(key);
    if (!b) return;
    b.tokens += 1;
    if (b.tokens >= this.burst) this.buckets.delete(key);
  }

  /** Count one failure of `key` outright; true when this one emptied its bucket (the moment worth one log line). */
  fail(key: string): boolean {
    return this.take(key) === 0 && this.retryAfter(key) > 0;
  }

  private wait(b: Bucket): number {
    if (this.perMs <= 0) return 3600;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
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
  /** Clients whose going over the limit was logged, until when: one line a minute per client, not one per request. */
  private readonly announced = new Map<string, number>();

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
    const bearer = bearerToken(authorization);
    if (!bearer) throw new McnsError('unauthenticated', 'missing bearer token (Authorization: Bearer <token>)');
    // A refusal already cached costs MCIAS nothing: answer it without counting.
    if (known === null) throw new McnsError('unauthenticated', 'invalid or expired token');
    return this.attempt(key, surface, () => this.auth.validate(bearer));
  }

  /** Before a public call that costs MCIAS (login): 429 when the client is throttled (cheap, before the body). */
  admitPublic(client: string | undefined, surface: 'rest' | 'grpc'): void {
    this.refuseIfThrottled(clientKey(client), surface);
  }

  /** Run a login for `client` under its failure budget: a refused login counts like an unknown token. */
  login<T>(client: string | undefined, surface: 'rest' | 'grpc', fn: () => Promise<T>): Promise<T> {
    return this.attempt(clientKey(client), surface, fn);
  }

  /**
   * Run an MCIAS call charged to `key`: charged before it starts (429 when nothing is left), refunded
   * when it succeeds or fails for a reason that is not the client's (MCIAS down), kept when it was
   * refused as unauthenticated.
   */
  private async attempt<T>(key: string, surface: 'rest' | 'grpc', fn: () => Promise<T>): Promise<T> {
    const wait = this.throttle.take(key);
    if (wait > 0) this.throttled(wait, surface);
    try {
      const out = await fn();
      this.throttle.refund(key);
      return out;
    } catch (err) {
      if (err instanceof McnsError && err.kind === 'unauthenticated') this.counted(key, surface);
      else this.throttle.refund(key);
      throw err;
    }
  }

  private refuseIfThrottled(key: string, surface: 'rest' | 'grpc'): void {
    const wait = this.throttle.retryAfter(key);
    if (wait > 0) this.throttled(wait, surface);
  }

  private throttled(wait: number, surface: 'rest' | 'grpc'): never {
    this.metrics?.authThrottled.inc({ surface });
    throw new RateLimitedError(wait);
  }

  /** A failure already charged: count it, and log once when it emptied the bucket. */
  private counted(key: string, surface: 'rest' | 'grpc'): void {
    this.metrics?.authFailures.inc({ surface });
    const wait = this.throttle.retryAfter(key);
    if (wait === 0) return;
    const now = Date.now();
    if ((this.announced.get(key) ?? 0) > now) return;
    if (this.announced.size > 10_000) this.announced.clear();
    this.announced.set(key, now + 60_000);
    this.logger?.warn(
      { client: key, surface, burst: this.throttle.burst, retryAfterS: wait },
      'authentication failures from one client over the limit: answering 429 until it slows down',
    );
  }
}
