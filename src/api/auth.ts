/**
 * Authentication: who is calling. One adapter speaks the MCIAS contract of SPEC 4 (login, token
 * validation, logout) over HTTPS with the configured CA and a timeout, and caches validation results
 * keyed by the SHA-256 of the token (the token itself is never kept or logged): a valid token for
 * 30 s, an invalid one for 10 s, and concurrent validations of one token share one MCIAS call, so a
 * token repeated by a client costs MCIAS one call however often it is sent. A static
 * provider accepts one generated admin token for `mcns server --dev` only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { request } from 'node:https';
import { McnsError } from '../errors.ts';

/** A validated caller, as MCIAS describes it. */
export interface Identity {
  sub: string;
  username: string;
  accountType: 'human' | 'system';
  roles: string[];
  /** When the token stops being valid (ms since the epoch), when known. */
  expiresAt?: number;
  /** The API the caller came through (set by the adapter; recorded with each write for the history). */
  surface?: 'rest' | 'grpc';
}

/** Credentials for a login. */
export interface LoginRequest {
  username: string;
  password: string;
  totp_code?: string;
}

/** A token handed out by a login. */
export interface LoginResult {
  token: string;
  expires_at: string;
}

/** What both API surfaces use to authenticate: validate a bearer token, log in, log out. */
export interface IdentityProvider {
  /** The identity behind a token; throws unauthenticated (401) or upstream (502). */
  validate(token: string): Promise<Identity>;
  /** Exchange credentials for a token. */
  login(req: LoginRequest): Promise<LoginResult>;
  /** Invalidate a token (and forget its cached validation). */
  logout(token: string): Promise<void>;
  /**
   * What is already known about a token without asking anyone: its identity (valid, cached), null
   * (invalid, cached) or undefined (unknown: validating it would cost an MCIAS call).
   */
  peek?(token: string): Identity | null | undefined;
}

/** The `[mcias]` settings the adapter needs. */
export interface McIasOptions {
  serverUrl: string;
  /** PEM of the CA that signed MCIAS's certificate (`[mcias] ca_cert`); system roots when absent. */
  ca?: Buffer | string;
  serviceName?: string;
  tags?: string[];
  /** Per-request timeout in ms (default 5000): past it, the API answers 502. */
  timeoutMs?: number;
  /** How long a valid token's validation is reused, in ms (default 30000). */
  cacheMs?: number;
  /** How long an invalid token's refusal is reused, in ms (default 10000): short, so a revoked-then-fixed account recovers soon. */
  negativeCacheMs?: number;
  /** Called once per request sent to MCIAS, with the call and its HTTP status (0 when unreachable): the metrics hook. */
  onCall?: (call: 'validate' | 'login' | 'logout', status: number) => void;
  /** Injected clock (tests). */
  now?: () => number;
}

/** SHA-256 of a token, hex: the only form in which a token is kept in memory. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface CacheEntry {
  until: number;
  identity?: Identity;
}

/** The one MCIAS adapter: every call MCNS makes to MCIAS goes through here. */
export class McIasClient implements IdentityProvider {
  private readonly base: URL;
  private readonly cache = new Map<string, CacheEntry>();
  /** Validations in flight, by token key: concurrent requests with one token share one MCIAS call. */
  private readonly inflight = new Map<string, Promise<Identity>>();
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private readonly negativeCacheMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: McIasOptions) {
    try {
      this.base = new URL(opts.serverUrl);
    } catch {
      throw new McnsError('invalid', `not a URL: "${opts.serverUrl}"`, 'mcias.server_url');
    }
    if (this.base.protocol !== 'https:') throw new McnsError('invalid', 'must be an https:// URL', 'mcias.server_url');
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.cacheMs = opts.cacheMs ?? 30_000;
    this.negativeCacheMs = opts.negativeCacheMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** POST a JSON body to MCIAS; resolves with the status and parsed body, rejects 502 on any transport failure. */
  private async post(path: string, body: unknown, bearer?: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const call = path === '/v1/token/validate' ? 'validate' : path === '/v1/auth/login' ? 'login' : 'logout';
    try {
      const res = await this.send(path, body, bearer);
      this.opts.onCall?.(call, res.status);
      return res;
    } catch (err) {
      this.opts.onCall?.(call, 0);
      throw err;
    }
  }

  private send(path: string, body: unknown, bearer?: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = new URL(path.replace(/^\//, ''), this.base.href.endsWith('/') ? this.base : new URL(`${this.base.href}/`));
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          ca: this.opts.ca,
          timeout: this.timeoutMs,
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new McnsError('upstream', `MCIAS unreachable: ${err.message}`)));
          res.on('end', () => {
            clearTimeout(deadline);
            let parsed: Record<string, unknown> = {};
            try {
              const text = Buffer.concat(chunks).toString('utf8');
              parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              if ((res.statusCode ?? 500) < 300) return reject(new McnsError('upstream', `MCIAS ${path} answered invalid JSON`));
            }
            resolve({ status: res.statusCode ?? 500, body: parsed });
          });
        },
      );
      // `timeout` only covers socket idleness; this bounds the whole exchange.
      const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', (err) => {
        clearTimeout(deadline);
        reject(new McnsError('upstream', `MCIAS unreachable (${this.base.host}): ${err.message}`));
      });
      req.end(payload);
    });
  }

  /** The cached outcome for a token, if still fresh: identity, null (invalid) or undefined (unknown). */
  peek(token: string): Identity | null | undefined {
    if (!token) return undefined;
    const hit = this.cache.get(tokenKey(token));
    if (!hit || hit.until <= this.now()) return undefined;
    return hit.identity ?? null;
  }

  /** Validate a token with MCIAS, reusing a result younger than the cache period and sharing calls in flight. */
  async validate(token: string): Promise<Identity> {
    if (!token) throw new McnsError('unauthenticated', 'missing bearer token');
    const key = tokenKey(token);
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return this.fromEntry(hit);
    if (hit) this.cache.delete(key);
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = this.ask(token, key).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async ask(token: string, key: string): Promise<Identity> {
    const now = this.now();
    const res = await this.post('/v1/token/validate', { token });
    if (res.status >= 500) throw new McnsError('upstream', `MCIAS token validation failed with status ${res.status}`);
    if (res.status === 401 || res.status === 403 || (res.status < 300 && res.body.valid !== true)) {
      this.remember(key, { until: now + this.negativeCacheMs });
      throw new McnsError('unauthenticated', 'invalid or expired token');
    }
    if (res.status >= 300) throw new McnsError('upstream', `MCIAS token validation answered status ${res.status}`);
    const b = res.body;
    const identity: Identity = {
      sub: String(b.sub ?? b.username ?? ''),
      username: String(b.username ?? ''),
      accountType: b.account_type === 'system' ? 'system' : 'human',
      roles: Array.isArray(b.roles) ? b.roles.map(String) : [],
      expiresAt: typeof b.expires_at === 'string' && !Number.isNaN(Date.parse(b.expires_at)) ? Date.parse(b.expires_at) : undefined,
    };
    if (!identity.username) throw new McnsError('upstream', 'MCIAS validated the token but named no username');
    // Never cache past the token's own expiry.
    const until = Math.min(now + this.cacheMs, identity.expiresAt ?? Number.MAX_SAFE_INTEGER);
    this.remember(key, { until, identity });
    return identity;
  }

  private fromEntry(e: CacheEntry): Identity {
    if (!e.identity) throw new McnsError('unauthenticated', 'invalid or expired token');
    return e.identity;
  }

  private remember(key: string, e: CacheEntry): void {
    // Bound memory: drop expired entries when the map grows (tokens are short-lived anyway).
    if (this.cache.size > 10_000) {
      const now = this.now();
      for (const [k, v] of this.cache) if (v.until <= now) this.cache.delete(k);
      if (this.cache.size > 10_000) this.cache.clear();
    }
    this.cache.set(key, e);
  }

  /** Forward a login to MCIAS with this service's name and tags; MCIAS's 401/403 stay 401/403. */
  async login(req: LoginRequest): Promise<LoginResult> {
    const res = await this.post('/v1/auth/login', {
      username: req.username,
      password: req.password,
      ...(req.totp_code !== undefined ? { totp_code: req.totp_code } : {}),
      service_name: this.opts.serviceName ?? 'mcns',
      tags: this.opts.tags ?? [],
    });
    const why = typeof res.body.error === 'string' ? res.body.error : undefined;
    if (res.status === 401) throw new McnsError('unauthenticated', why ?? 'invalid credentials');
    if (res.status === 403) throw new McnsError('forbidden', why ?? 'login refused by MCIAS');
    if (res.status === 400) throw new McnsError('invalid', why ?? 'login refused as invalid by MCIAS');
    if (res.status >= 300) throw new McnsError('upstream', `MCIAS login answered status ${res.status}`);
    if (typeof res.body.token !== 'string') throw new McnsError('upstream', 'MCIAS login answered without a token');
    return { token: res.body.token, expires_at: String(res.body.expires_at ?? '') };
  }

  /** Forget the token's cached validation and tell MCIAS (a 404 means MCIAS has no logout: fine). */
  async logout(token: string): Promise<void> {
    this.cache.delete(tokenKey(token));
    const res = await this.post('/v1/auth/logout', {}, token);
    if (res.status === 401) throw new McnsError('unauthenticated', 'invalid or expired token');
    if (res.status >= 500) throw new McnsError('upstream', `MCIAS logout answered status ${res.status}`);
  }
}

/**
 * The `--dev` identity provider: accepts exactly one admin token (generated at start-up) and nothing
 * else. It is constructed only by `mcns server --dev`; no configuration key can enable it.
 */
export class StaticIdentityProvider implements IdentityProvider {
  private readonly key: Buffer;

  constructor(adminToken: string, private readonly username = 'dev-admin') {
    if (adminToken.length < 16) throw new McnsError('invalid', 'the dev admin token must be at least 16 characters', 'token');
    this.key = Buffer.from(tokenKey(adminToken), 'hex');
  }

  /** The admin identity for the dev token; 401 for anything else. */
  async validate(token: string): Promise<Identity> {
    if (!token) throw new McnsError('unauthenticated', 'missing bearer token');
    if (!timingSafeEqual(Buffer.from(tokenKey(token), 'hex'), this.key)) throw new McnsError('unauthenticated', 'invalid token');
    return { sub: this.username, username: this.username, accountType: 'human', roles: ['admin'] };
  }

  /** There is no MCIAS in dev mode: login is refused with a pointer to the printed token. */
  async login(_req: LoginRequest): Promise<LoginResult> {
    throw new McnsError('unauthenticated', 'dev mode has no MCIAS login: use the admin token printed at start-up (.mcns-dev/admin.token)');
  }

  /** The dev token cannot be revoked (it lives as long as the dev server). */
  async logout(token: string): Promise<void> {
    await this.validate(token);
  }
}

/** The MCIAS identity provider from `[mcias]` settings (the server composition calls this). */
export function createMciasAuth(opts: {
  serverUrl: string;
  caCert?: Buffer | string;
  serviceName?: string;
  tags?: string[];
  timeoutMs?: number;
  negativeCacheMs?: number;
  onCall?: McIasOptions['onCall'];
}): IdentityProvider {
  if (!opts.serverUrl) throw new McnsError('invalid', 'is required (the MCIAS base URL) outside --dev', 'mcias.server_url');
  return new McIasClient({
    serverUrl: opts.serverUrl,
    ca: opts.caCert,
    serviceName: opts.serviceName,
    tags: opts.tags,
    timeoutMs: opts.timeoutMs,
    negativeCacheMs: opts.negativeCacheMs,
    onCall: opts.onCall,
  });
}

/** The `--dev` identity provider: the generated admin token and nothing else. */
export function createDevAuth(opts: { token: string; username?: string }): IdentityProvider {
  return new StaticIdentityProvider(opts.token, opts.username);
}
