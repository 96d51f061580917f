/**
 * The REST surface: fastify over HTTPS (TLS 1.3 only). Each route of routes.ts authenticates when
 * its operation is not public, hands the request to the service layer and maps McnsError kinds to
 * statuses (errors-map.ts). One log line per request, with the actor and the outcome.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Ledger } from '../ledger.ts';
import type { Metrics } from '../metrics.ts';
import type { Identity, IdentityProvider } from './auth.ts';
import { AuthGate, RateLimitedError } from './auth-gate.ts';
import { OPERATIONS, authorize } from './authz.ts';
import { httpError } from './errors-map.ts';
import { parseListen } from './listen.ts';
import { buildOpenApi } from './openapi.ts';
import { ROUTES, type Route } from './routes.ts';
import { ApiService, parseIfMatch } from './service.ts';
import { apiWriteTurns } from './write-turns.ts';
import { registerEventFeed } from './events-feed.ts';
import { registerConsole } from '../ui/serve.ts';
import { McnsError } from '../errors.ts';

/** What both API listeners are started with. */
export interface ApiOptions {
  ledger: Ledger;
  tls: { cert: Buffer | string; key: Buffer | string };
  /** "127.0.0.1:8443", "[::1]:8443" or ":8443" (every interface). */
  listen: string;
  auth: IdentityProvider;
  logger?: Logger;
  metrics?: Metrics;
  /** Snapshot directory; default `backups/` beside the database. */
  backupDir?: string;
  /** Largest request body in bytes (default 4 MiB); larger is 413. */
  bodyLimit?: number;
  /**
   * Token validation with per-client failure limits; share one between REST and gRPC so failures on
   * one count on the other. Default: a gate over `auth` with the default limits.
   */
  authGate?: AuthGate;
  /** Serve GET /metrics here (default true); false when `[metrics] listen_addr` gives it its own listener. */
  serveMetrics?: boolean;
  /** The catalog zone ([catalog] zone), hidden from the zone list unless asked for. */
  catalogZone?: string;
}

/** Largest body of a public route (login): an anonymous client cannot make us buffer more. */
export const PUBLIC_BODY_LIMIT = 64 * 1024;

/** A running REST listener. */
export interface RestServer {
  address: AddressInfo;
  /** Stop accepting and wait for in-flight requests. */
  close(): Promise<void>;
}

/** Start the REST API; resolves once it listens. */
export async function startRest(opts: ApiOptions): Promise<RestServer> {
  const bodyLimit = opts.bodyLimit ?? 4 * 1024 * 1024;
  const service = new ApiService({ ledger: opts.ledger, auth: opts.auth, backupDir: opts.backupDir, maxBody: bodyLimit, catalogZone: opts.catalogZone });
  const gate = opts.authGate ?? new AuthGate({ auth: opts.auth, metrics: opts.metrics, logger: opts.logger });
  const addr = parseListen(opts.listen, 'server.listen_addr');
  const app = Fastify({
    https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.3' },
    bodyLimit,
    // Our onResponse hook writes the one line per request (with the actor); fastify's own are off.
    logController: new LogController({ disableRequestLogging: true }),
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    return503OnClosing: true,
  });
  // An empty JSON body (clients that always send the header, e.g. on POST /v1/snapshots) is no body;
  // malformed JSON is a 400 naming the body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new McnsError('invalid', `not valid JSON (${(err as Error).message})`, 'body'), undefined);
    }
  });
  // Zone files arrive as text/plain (handled by fastify) or text/dns.
  app.addContentTypeParser('text/dns', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const actors = new WeakMap<FastifyRequest, string>();
  const routeOf = new WeakMap<FastifyRequest, Route>();
  const identities = new WeakMap<FastifyRequest, Identity>();
  /** Requests refused before their body was read: the connection is closed rather than drained. */
  const refusedEarly = new WeakSet<FastifyRequest>();
  const routes = ROUTES.filter((r) => opts.serveMetrics !== false || r.op !== 'metrics');
  let openapiDoc: unknown;
  const openapi = (): unknown => (openapiDoc ??= buildOpenApi(routes));
  const metricsText = async (): Promise<string> => (opts.metrics ? opts.metrics.registry.render() : '');

  const sendError = (req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply => {
    const { status, body, internal } = httpError(err);
    // Say what the limit is and where it is set, so a client can tell its operator what to change.
    if (status === 413 && !refusedEarly.has(req)) body.error = `request body is too large: the API accepts at most ${req.routeOptions.bodyLimit ?? bodyLimit} bytes${(req.routeOptions.bodyLimit ?? bodyLimit) === bodyLimit ? ' ([server] max_body)' : ' on this public route'}`;
    if (internal) req.log.error({ err }, 'internal error');
    if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds));
    // Refused before the body was read: close instead of reading (and discarding) up to bodyLimit bytes.
    if (refusedEarly.has(req) && hasBody(req)) reply.header('connection', 'close');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  };

  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendError(req, reply, new McnsError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));

  /**
   * Authenticate in onRequest, before fastify reads the body: an unknown token costs one MCIAS call
   * (then the negative cache) and a throttled client none, and neither costs reading or parsing up to
   * bodyLimit bytes. Public routes that call MCIAS (login) are refused here when the client is throttled.
   */
  const authenticate = async (req: FastifyRequest, op: Route['op'] | undefined): Promise<void> => {
    try {
      if (op !== undefined && OPERATIONS[op] === 'public') {
        if (op === 'auth.login') gate.admitPublic(req.ip, 'rest');
        return;
      }
      // Routes outside the table (the event feed, the console) authenticate in their handlers; a
      // token they carry is checked here first, so they too cost no body and count failures.
      if (op === undefined && req.headers.authorization === undefined) return;
      const id = await gate.identify(req.headers.authorization, req.ip, 'rest');
      // A copy that says it came through REST (the cached identity is shared with gRPC).
      identities.set(req, { ...id, surface: 'rest' });
      actors.set(req, id.username);
      // The role check too (name scopes come later, with the body): a read-only caller cannot make
      // us read and parse a body for a write it may not do.
      if (op !== undefined) authorize(id, op);
    } catch (err) {
      refusedEarly.add(req);
      throw err;
    }
  };
  app.addHook('onRequest', async (req) => {
    // Routes of the table authenticate in their own onRequest (below); 404s need no identity.
    if ((req.routeOptions.config as { op?: string } | undefined)?.op !== undefined || req.routeOptions.url === undefined) return;
    await authenticate(req, undefined);
  });

  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      config: { op: route.op },
      ...(OPERATIONS[route.op] === 'public' ? { bodyLimit: Math.min(PUBLIC_BODY_LIMIT, opts.bodyLimit ?? PUBLIC_BODY_LIMIT) } : {}),
      onRequest: async (req) => {
        routeOf.set(req, route);
        await authenticate(req, route.op);
      },
      handler: async (req, reply) => {
        const id = OPERATIONS[route.op] === 'public' ? undefined : identities.get(req);
        if (OPERATIONS[route.op] !== 'public' && !id) throw new McnsError('unauthenticated', 'missing bearer token (Authorization: Bearer <token>)');
        if (route.op === 'auth.login') {
          // A refused login costs MCIAS a call, like an unknown token: it counts against the address.
          return reply.code(route.status ?? 200).send(await gate.login(req.ip, 'rest', () => service.login(req.body)));
        }
        // Right after a restart, what reads or writes the projection first waits for its background
        // preparation (the big zones' read), rather than doing it at once while DNS waits.
        if (OPERATIONS[route.op] !== 'public') await opts.ledger.recordMapsReady();
        // A write waits for a turn of the event loop of its own (write-turns.ts: keeps DNS reading and accepting during write bursts).
        if (route.method !== 'GET') await apiWriteTurns.next();
        const result = await route.handler(service, {
          id,
          params: req.params as Record<string, string>,
          query: req.query,
          body: req.body,
          write: { ifMatch: route.conditional ? parseIfMatch(req.headers['if-match']) : undefined },
          authorization: req.headers.authorization,
          metricsText,
          openapi,
        });
        reply.code(route.status ?? 200);
        if (route.produces) return reply.type(`${route.produces}; charset=utf-8`).send(result);
        return reply.send(result);
      },
    });
  }

  // The live feed (server-sent events) and the web console share this listener and its TLS.
  registerEventFeed(app, service, opts.ledger);
  registerConsole(app);

  app.addHook('onResponse', async (req, reply) => {
    const route = routeOf.get(req);
    const status = reply.statusCode;
    opts.metrics?.apiRequests.inc({ surface: 'rest', route: route ? `${route.method} ${route.url}` : 'unmatched', status: String(status) });
    if (route?.op === 'metrics' || route?.op === 'health') return; // scrapes and probes would drown the log
    req.log.info(
      { surface: 'rest', method: req.method, route: route?.url, url: req.url.split('?')[0], actor: actors.get(req) ?? '-', status, ms: Math.round(reply.elapsedTime * 10) / 10 },
      status < 400 ? 'request ok' : 'request failed',
    );
  });

  const listenOn = async (host: string): Promise<void> => {
    await app.listen({ host, port: addr.port });
  };
  if (addr.host !== undefined) await listenOn(addr.host);
  else {
    try {
      await listenOn('::');
    } catch (err) {
      // Hosts without IPv6 (some containers): every IPv4 interface instead.
      if (!['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await listenOn('0.0.0.0');
    }
  }
  const address = app.server.address() as AddressInfo;
  return { address, close: () => app.close() };
}

/** Whether a request announced a body (it may not have arrived yet). */
function hasBody(req: FastifyRequest): boolean {
  const h = req.headers;
  return (h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined;
}
