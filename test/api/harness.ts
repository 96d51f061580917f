/**
 * The API test harness: a real ledger in a temp dir, a real HTTPS MCIAS fake with its own CA, the
 * REST and gRPC servers in-process over real TLS on 127.0.0.1, and small clients for both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { McIasClient } from '../../src/api/auth.ts';
import { loadProtos, startGrpc } from '../../src/api/grpc.ts';
import { startRest } from '../../src/api/rest.ts';
import { Ledger } from '../../src/ledger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { startMcIasFake, type McIasFake } from '../helpers/mcias-fake.ts';
import { makeTestTls, type TestTls } from '../helpers/tls.ts';

/** A REST response. */
export interface RestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

/** A gRPC outcome: the status code (0 = OK) and the response or the error details. */
export interface GrpcResponse {
  code: number;
  body?: any;
  details?: string;
}

/** Everything a test needs. */
export interface Harness {
  dir: string;
  ledger: Ledger;
  mcias: McIasFake;
  auth: McIasClient;
  tls: TestTls;
  metrics: Metrics;
  restPort: number;
  grpcPort: number;
  /** Tokens by account name (alice admin, bob user, gus guest, mcp-agent, mcq system). */
  tokens: Record<string, string>;
  rest(method: string, path: string, opts?: { token?: string; body?: unknown; text?: string; contentType?: string; headers?: Record<string, string> }): Promise<RestResponse>;
  grpc(service: string, method: string, req?: unknown, opts?: { token?: string; ifMatch?: number | string }): Promise<GrpcResponse>;
  /** A raw client for one service (streams). */
  client(service: string): grpc.Client & Record<string, any>;
  close(): Promise<void>;
}

/** Options of the harness. */
export interface HarnessOptions {
  timeoutMs?: number;
  bodyLimit?: number;
  clock?: () => number;
  logger?: import('pino').Logger;
  /** Writes the database before the harness opens its ledger on it (e.g. a checkpoint to start from). */
  seedDatabase?: (path: string) => void;
}

/** Start ledger, MCIAS fake, REST and gRPC. */
export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-api-'));
  o.seedDatabase?.(join(dir, 'mcns.db'));
  const ledger = Ledger.open({ path: join(dir, 'mcns.db'), clock: o.clock });
  const mcias = await startMcIasFake();
  const auth = new McIasClient({ serverUrl: mcias.url, ca: mcias.tls.ca, serviceName: 'mcns', tags: ['env:test'], timeoutMs: o.timeoutMs ?? 1500 });
  const tls = makeTestTls();
  const metrics = createMetrics();
  const common = { ledger, tls: { cert: tls.cert, key: tls.key }, auth, metrics, backupDir: join(dir, 'backups'), bodyLimit: o.bodyLimit, logger: o.logger };
  const restSrv = await startRest({ ...common, listen: '127.0.0.1:0' });
  const grpcSrv = await startGrpc({ ...common, listen: '127.0.0.1:0' });
  const tokens: Record<string, string> = {};
  for (const u of ['alice', 'bob', 'gus', 'mcp-agent', 'mcq']) tokens[u] = mcias.tokenFor(u);

  const pkg = grpc.loadPackageDefinition(loadProtos()) as any;
  const creds = grpc.credentials.createSsl(tls.ca);
  const clients = new Map<string, any>();
  const client = (service: string): any => {
    let c = clients.get(service);
    if (!c) {
      // The certificate names localhost; connecting by IP keeps everything on 127.0.0.1.
      c = new pkg.mcns.v1[service](`127.0.0.1:${grpcSrv.port}`, creds, { 'grpc.ssl_target_name_override': 'localhost' });
      clients.set(service, c);
    }
    return c;
  };

  const h: Harness = {
    dir,
    ledger,
    mcias,
    auth,
    tls,
    metrics,
    restPort: restSrv.address.port,
    grpcPort: grpcSrv.port,
    tokens,
    rest: (method, path, ro = {}) =>
      new Promise((resolve, reject) => {
        const payload = ro.text !== undefined ? Buffer.from(ro.text) : ro.body !== undefined ? Buffer.from(JSON.stringify(ro.body)) : undefined;
        const headers: Record<string, string | number> = { ...(ro.headers ?? {}) };
        if (ro.token) headers.authorization = `Bearer ${ro.token}`;
        if (payload) {
          headers['content-type'] = ro.contentType ?? (ro.text !== undefined ? 'text/plain' : 'application/json');
          headers['content-length'] = payload.length;
        }
        const req = request({ host: '127.0.0.1', port: restSrv.address.port, method, path, ca: tls.ca, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: any;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
          });
        });
        req.on('error', reject);
        req.end(payload);
      }),
    grpc: (service, method, req = {}, go = {}) =>
      new Promise((resolve) => {
        const md = new grpc.Metadata();
        if (go.token) md.set('authorization', `Bearer ${go.token}`);
        if (go.ifMatch !== undefined) md.set('if-match', String(go.ifMatch));
        client(service)[method](req, md, (err: grpc.ServiceError | null, res: any) => {
          if (err) resolve({ code: err.code, details: err.details });
          else resolve({ code: 0, body: res });
        });
      }),
    client,
    close: async () => {
      for (const c of clients.values()) c.close();
      await restSrv.close();
      await grpcSrv.close();
      await mcias.close();
      ledger.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(tls.dir, { recursive: true, force: true });
      rmSync(mcias.tls.dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Create the example zone as alice and return its name. */
export async function seedZone(h: Harness, name = 'example.com'): Promise<string> {
  const r = await h.rest('POST', '/v1/zones', { token: h.tokens.alice, body: { name, primary_ns: `ns1.${name}`, admin_email: `hostmaster@${name}` } });
  if (r.status !== 201) throw new Error(`seed zone ${name}: ${r.status} ${r.text}`);
  return name;
}

/** Try a TLS handshake capped at `max`; resolves the negotiated protocol or the error code. */
export function handshake(port: number, ca: Buffer, max: 'TLSv1.2' | 'TLSv1.3', alpn?: string[]): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: max, ALPNProtocols: alpn }, () => {
      resolve(s.getProtocol() ?? 'unknown');
      s.end();
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
  });
}
