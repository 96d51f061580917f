/**
 * The gRPC surface: grpc-js over TLS 1.3, services from proto/mcns/v1 (loaded with proto-loader),
 * server reflection (so grpcurl works without the protos), and a wrapper around every method that
 * authenticates, authorizes through an explicit method map (a method missing from it is denied),
 * calls the shared service layer and maps McnsError kinds to status codes.
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { SecureServerOptions } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Subscription } from 'rxjs';
import { McnsError } from '../errors.ts';
import type { Identity } from './auth.ts';
import { AuthGate } from './auth-gate.ts';
import { addLazyReflection } from './grpc-reflection.ts';
import { OPERATIONS, authorize, type Operation } from './authz.ts';
import { grpcError } from './errors-map.ts';
import { parseListen } from './listen.ts';
import type { ApiOptions } from './rest.ts';
import { ApiService, parseIfMatch, type WriteOpts } from './service.ts';
import { eventView, type HistoryView } from './views.ts';
import { apiWriteTurns } from './write-turns.ts';

/** Directory holding `mcns/v1/*.proto`. */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));
/** The proto files of the API, relative to {@link PROTO_ROOT}. */
export const PROTO_FILES = ['mcns/v1/common.proto', 'mcns/v1/auth.proto', 'mcns/v1/zone.proto', 'mcns/v1/record.proto', 'mcns/v1/admin.proto', 'mcns/v1/dnssec.proto'];
/** proto-loader options: snake_case fields as in REST JSON; absent optional fields stay absent. */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: false, includeDirs: [PROTO_ROOT] };

/** Load the API's package definition (servers and test clients share it). */
export function loadProtos(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
}

/**
 * The authorization map: every RPC and the operation it performs. The wrapper consults only this
 * map; an RPC that is not listed is refused with PERMISSION_DENIED whatever its implementation.
 */
export const GRPC_METHODS: Readonly<Record<string, Operation>> = {
  '/mcns.v1.AuthService/Login': 'auth.login',
  '/mcns.v1.AuthService/Logout': 'auth.logout',
  '/mcns.v1.ZoneService/ListZones': 'zones.list',
  '/mcns.v1.ZoneService/GetZone': 'zones.get',
  '/mcns.v1.ZoneService/CreateZone': 'zones.create',
  '/mcns.v1.ZoneService/UpdateZone': 'zones.update',
  '/mcns.v1.ZoneService/DeleteZone': 'zones.delete',
  '/mcns.v1.ZoneService/ZoneHistory': 'zones.history',
  '/mcns.v1.ZoneService/ExportZone': 'zones.export',
  '/mcns.v1.ZoneService/ImportZone': 'zones.import',
  '/mcns.v1.ZoneService/RestoreZone': 'zones.restore',
  '/mcns.v1.RecordService/ListRecords': 'records.list',
  '/mcns.v1.RecordService/GetRecord': 'records.get',
  '/mcns.v1.RecordService/CreateRecord': 'records.create',
  '/mcns.v1.RecordService/UpdateRecord': 'records.update',
  '/mcns.v1.RecordService/DeleteRecord': 'records.delete',
  '/mcns.v1.RecordService/ApplyChanges': 'records.changes',
  '/mcns.v1.RecordService/RecordHistory': 'records.history',
  '/mcns.v1.AdminService/Health': 'health',
  '/mcns.v1.AdminService/ListEvents': 'events.list',
  '/mcns.v1.AdminService/WatchEvents': 'events.watch',
  '/mcns.v1.AdminService/Snapshot': 'snapshots.create',
  '/mcns.v1.DnssecService/GetDnssec': 'dnssec.get',
  '/mcns.v1.DnssecService/SetDnssec': 'dnssec.configure',
  '/mcns.v1.DnssecService/StartRollover': 'dnssec.rollover',
};

type Req = Record<string, any>;
interface CallCtx {
  id?: Identity;
  write: WriteOpts;
  authorization?: string;
}
type UnaryImpl = (svc: ApiService, c: CallCtx, req: Req) => unknown;

const me = (c: CallCtx): Identity => c.id as Identity;
/** A history page as HistoryResponse: the REST entry with its payload as JSON text (old, new, surface as they are). */
const history = (h: { entries: HistoryView[]; next_cursor?: number; remaining?: number }): Req => ({
  entries: h.entries.map(({ payload, ...e }) => ({ ...e, payload_json: JSON.stringify(payload) })),
  next_cursor: h.next_cursor,
  remaining: h.remaining,
});
/** Split the path-like `zone` (and `id`) off a request, leaving the body fields. */
const rest = (req: Req, ...keys: string[]): Req => Object.fromEntries(Object.entries(req).filter(([k]) => !keys.includes(k)));

/** Implementations of the unary RPCs: request message -> service call -> response message. */
const UNARY: Record<string, UnaryImpl> = {
  '/mcns.v1.AuthService/Login': (s, _c, r) => s.login(r),
  '/mcns.v1.AuthService/Logout': (s, c) => s.logout(me(c), c.authorization),
  '/mcns.v1.ZoneService/ListZones': (s, c, r) => s.listZones(me(c), r),
  '/mcns.v1.ZoneService/GetZone': (s, c, r) => s.getZone(me(c), r.zone ?? '', rest(r, 'zone')),
  '/mcns.v1.ZoneService/CreateZone': (s, c, r) => s.createZone(me(c), r, c.write),
  '/mcns.v1.ZoneService/UpdateZone': (s, c, r) => s.updateZone(me(c), r.zone ?? '', rest(r, 'zone'), c.write),
  '/mcns.v1.ZoneService/DeleteZone': (s, c, r) => s.deleteZone(me(c), r.zone ?? '', c.write),
  '/mcns.v1.ZoneService/ZoneHistory': (s, c, r) => history(s.zoneHistory(me(c), r.zone ?? '', rest(r, 'zone'))),
  '/mcns.v1.ZoneService/ExportZone': async (s, c, r) => ({ zone_file: await s.exportZone(me(c), r.zone ?? '', rest(r, 'zone')) }),
  '/mcns.v1.ZoneService/ImportZone': (s, c, r) => s.importZone(me(c), r.zone ?? '', r.zone_file ?? '', c.write),
  '/mcns.v1.ZoneService/RestoreZone': (s, c, r) => s.restoreZone(me(c), r.zone ?? '', rest(r, 'zone'), c.write),
  '/mcns.v1.RecordService/ListRecords': (s, c, r) => s.listRecords(me(c), r.zone ?? '', rest(r, 'zone')),
  '/mcns.v1.RecordService/GetRecord': (s, c, r) => s.getRecord(me(c), r.zone ?? '', r.id ?? ''),
  '/mcns.v1.RecordService/CreateRecord': (s, c, r) => s.createRecord(me(c), r.zone ?? '', rest(r, 'zone'), c.write),
  '/mcns.v1.RecordService/UpdateRecord': (s, c, r) => s.updateRecord(me(c), r.zone ?? '', r.id ?? '', rest(r, 'zone', 'id'), c.write),
  '/mcns.v1.RecordService/DeleteRecord': (s, c, r) => s.deleteRecord(me(c), r.zone ?? '', r.id ?? '', c.write),
  '/mcns.v1.RecordService/ApplyChanges': (s, c, r) => s.changes(me(c), r.zone ?? '', r.changes ?? [], c.write),
  '/mcns.v1.RecordService/RecordHistory': (s, c, r) => history(s.recordHistory(me(c), r.zone ?? '', r.id ?? '')),
  '/mcns.v1.AdminService/Health': (s) => s.health(),
  '/mcns.v1.AdminService/ListEvents': (s, c, r) => {
    const out = s.listEvents(me(c), r);
    return { events: out.events.map(({ payload, ...e }) => ({ ...e, payload_json: JSON.stringify(payload) })), next_after: out.next_after };
  },
  '/mcns.v1.AdminService/Snapshot': (s, c) => s.snapshot(me(c)),
  '/mcns.v1.DnssecService/GetDnssec': (s, c, r) => s.getDnssec(me(c), r.zone ?? ''),
  '/mcns.v1.DnssecService/SetDnssec': (s, c, r) => s.putDnssec(me(c), r.zone ?? '', rest(r, 'zone'), c.write),
  '/mcns.v1.DnssecService/StartRollover': (s, c, r) => s.rolloverDnssec(me(c), r.zone ?? '', rest(r, 'zone'), c.write),
};

/** The unary RPCs that write to the ledger (each runs in a turn of the event loop of its own). */
const WRITES = new Set(
  Object.keys(UNARY).filter((path) => /\/(Create|Update|Delete|Import|Restore|ApplyChanges|SetDnssec|StartRollover)/.test(path)),
);

/**
 * Server credentials that refuse anything older than TLS 1.3. grpc-js's createSsl has no version
 * option, but passes its context options to http2.createSecureServer, so `minVersion` set here
 * is enforced by Node's TLS stack.
 */
class Tls13ServerCredentials extends grpc.ServerCredentials {
  constructor(cert: Buffer, key: Buffer) {
    super({ requestCert: false, minVersion: 'TLSv1.3' } as SecureServerOptions, { cert, key, minVersion: 'TLSv1.3' });
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/** A running gRPC listener. */
export interface GrpcServer {
  port: number;
  /** End watch streams, stop accepting, wait for in-flight calls (forcing after 10 s). */
  close(): Promise<void>;
}

/** Options of {@link startGrpc}: those of REST, plus the method map (replaceable so tests can prove deny-by-default). */
export interface GrpcOptions extends ApiOptions {
  methodMap?: Readonly<Record<string, Operation>>;
}

/** Start the gRPC API; resolves once it listens. */
export async function startGrpc(opts: GrpcOptions): Promise<GrpcServer> {
  const methodMap = opts.methodMap ?? GRPC_METHODS;
  const service = new ApiService({ ledger: opts.ledger, auth: opts.auth, backupDir: opts.backupDir, catalogZone: opts.catalogZone });
  const gate = opts.authGate ?? new AuthGate({ auth: opts.auth, metrics: opts.metrics, logger: opts.logger });
  const addr = parseListen(opts.listen, 'server.grpc_addr');
  const pkg = loadProtos();
  // Identities (and client addresses) established by the interceptor, keyed by the call's metadata
  // object, which grpc-js hands unchanged to the method handler as call.metadata.
  const verified = new WeakMap<grpc.Metadata, Identity>();
  const clients = new WeakMap<grpc.Metadata, string>();
  /**
   * Authenticate on the metadata, before the request message is read: grpc-js reads the message only
   * once the metadata listener passes on, so an unknown token or a throttled client costs neither the
   * message (up to max_receive_message_length) nor, past the limits, an MCIAS call.
   */
  const authenticateFirst: grpc.ServerInterceptor = (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const started = performance.now();
            const client = call.getConnectionInfo().remoteAddress;
            if (client) clients.set(metadata, client);
            const op = methodMap[method.path];
            const authorization = metadata.get('authorization')[0] as string | undefined;
            let actor: string | undefined;
            (async () => {
              if (op === undefined) return; // refused by the handler (deny by default)
              if (OPERATIONS[op] === 'public') {
                if (op === 'auth.login') gate.admitPublic(client, 'grpc');
                return;
              }
              const id = await gate.identify(authorization, client, 'grpc');
              verified.set(metadata, id);
              actor = id.username;
              authorize(id, op); // the role check before the message is read, as on REST
            })().then(
              () => pass(metadata),
              (err: unknown) => {
                const g = grpcError(err);
                log(method.path, actor, g.code, started);
                const trailer = new grpc.Metadata();
                const retry = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
                if (retry !== undefined) trailer.set('retry-after', String(retry));
                call.sendStatus({ code: g.code, details: g.details, metadata: trailer });
              },
            );
          },
        });
      },
    });
  const server = new grpc.Server({ 'grpc.max_receive_message_length': opts.bodyLimit ?? 4 * 1024 * 1024, interceptors: [authenticateFirst] });
  const watches = new Set<{ sub?: Subscription; call: grpc.ServerWritableStream<Req, Req> }>();

  const log = (path: string, actor: string | undefined, code: number, started: number): void => {
    opts.metrics?.apiRequests.inc({ surface: 'grpc', route: path, status: grpc.status[code] ?? String(code) });
    if (path.endsWith('/Health')) return;
    opts.logger?.info(
      { surface: 'grpc', method: path, actor: actor ?? '-', code: grpc.status[code] ?? code, ms: Math.round((performance.now() - started) * 10) / 10 },
      code === grpc.status.OK ? 'request ok' : 'request failed',
    );
  };

  /** Authenticate and authorize a call by the method map; resolves the context or throws. */
  const admit = async (path: string, metadata: grpc.Metadata, who: { actor?: string } = {}): Promise<CallCtx> => {
    const op = methodMap[path];
    if (!op) throw new McnsError('forbidden', `${path} is not in the authorization map`);
    const authorization = metadata.get('authorization')[0] as string | undefined;
    const known = OPERATIONS[op] === 'public' ? undefined : (verified.get(metadata) ?? (await gate.identify(authorization, clients.get(metadata), 'grpc')));
    // A copy that says it came through gRPC (the cached identity is shared with REST).
    const id = known && { ...known, surface: 'grpc' as const };
    who.actor = id?.username; // known before authorization, so refusals are logged with the actor
    authorize(id, op);
    const ifMatch = metadata.get('if-match')[0] as string | undefined;
    return { id, authorization, write: { ifMatch: parseIfMatch(ifMatch) } };
  };

  const unaryHandler = (path: string): grpc.handleUnaryCall<Req, Req> => (call, callback) => {
    const started = performance.now();
    const who: { actor?: string } = {};
    (async () => {
      const ctx = await admit(path, call.metadata, who);
      const impl = UNARY[path];
      // Every RPC of the protos has a handler (tested); this only guards a proto edited without one.
      if (!impl) throw Object.assign(new Error(`no handler for ${path}`), { grpcCode: grpc.status.UNIMPLEMENTED });
      // A refused login costs MCIAS a call, like an unknown token: it counts against the address.
      if (path === '/mcns.v1.AuthService/Login') return gate.login(clients.get(call.metadata), 'grpc', async () => impl(service, ctx, call.request ?? {}));
      // What reads or writes the projection first waits for its background preparation, as over REST.
      if (OPERATIONS[methodMap[path]] !== 'public') await opts.ledger.recordMapsReady();
      // A write waits for a turn of the event loop of its own, as over REST (write-turns.ts).
      if (WRITES.has(path)) await apiWriteTurns.next();
      return impl(service, ctx, call.request ?? {});
    })().then(
      (res) => {
        log(path, who.actor, grpc.status.OK, started);
        callback(null, res as Req);
      },
      (err: unknown) => {
        const g = (err as { grpcCode?: number }).grpcCode ? { code: (err as { grpcCode: number }).grpcCode, details: `no handler for ${path}`, internal: false } : grpcError(err);
        if (g.internal) opts.logger?.error({ err, method: path }, 'internal error');
        log(path, who.actor, g.code, started);
        callback({ code: g.code, details: g.details });
      },
    );
  };

  const watchHandler = (path: string): grpc.handleServerStreamingCall<Req, Req> => (call) => {
    const started = performance.now();
    const w: { sub?: Subscription; call: typeof call } = { call };
    watches.add(w);
    const fail = (err: unknown, actor?: string): void => {
      const g = grpcError(err);
      log(path, actor, g.code, started);
      watches.delete(w);
      call.emit('error', { code: g.code, details: g.details });
    };
    call.on('cancelled', () => {
      w.sub?.unsubscribe();
      watches.delete(w);
    });
    const who: { actor?: string } = {};
    admit(path, call.metadata, who).then((ctx) => {
      if (call.cancelled) return;
      try {
        const after = Number(call.request?.after ?? 0);
        w.sub = service.watchEvents(me(ctx), after).subscribe({
          next: (batch) => {
            for (const e of batch) {
              const { payload, ...v } = eventView(e);
              call.write({ ...v, payload_json: JSON.stringify(payload) });
            }
          },
          error: (err) => fail(err, ctx.id?.username),
        });
        log(path, ctx.id?.username, grpc.status.OK, started);
      } catch (err) {
        fail(err, ctx.id?.username);
      }
    }, (err) => fail(err, who.actor));
  };

  const denied = (path: string) => (call: { emit?: unknown }, callback?: grpc.sendUnaryData<Req>): void => {
    const err = { code: grpc.status.PERMISSION_DENIED, details: `${path} is not in the authorization map` };
    log(path, undefined, err.code, performance.now());
    if (callback) callback(err);
    else (call as grpc.ServerWritableStream<Req, Req>).emit('error', err);
  };

  for (const [name, def] of Object.entries(pkg)) {
    if (!name.startsWith('mcns.v1.') || 'format' in def) continue; // messages, not services
    const methods = def as grpc.ServiceDefinition;
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [method, m] of Object.entries(methods)) {
      if (!m || typeof m !== 'object' || !('path' in m)) continue;
      const path = m.path;
      if (!methodMap[path]) impl[method] = denied(path) as never;
      else if (m.responseStream && !m.requestStream) impl[method] = watchHandler(path);
      else if (!m.responseStream && !m.requestStream) impl[method] = unaryHandler(path);
      else impl[method] = denied(path) as never;
    }
    if (Object.keys(impl).length > 0) server.addService(methods, impl);
  }
  addLazyReflection(server, pkg);

  const creds = new Tls13ServerCredentials(Buffer.from(opts.tls.cert), Buffer.from(opts.tls.key));
  const host = addr.host === undefined ? '[::]' : addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${addr.port}`, creds, (err, p) => (err ? reject(new McnsError('unavailable', `cannot listen on ${opts.listen}: ${err.message}`, 'server.grpc_addr')) : resolve(p)));
  });

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of watches) {
          w.sub?.unsubscribe();
          w.call.end();
        }
        watches.clear();
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 10_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
