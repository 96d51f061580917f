/**
 * `[metrics] listen_addr`: GET /metrics on a listener of its own, so the Prometheus text (which
 * names every zone) can stay on loopback or a management network while the REST listener faces
 * clients. Plain HTTP unless `[metrics] tls` (then the server certificate, TLS 1.3 only). It serves
 * /metrics and nothing else; when it runs, the REST listener answers /metrics 404.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { McnsError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { parseListen } from './listen.ts';

/** What the metrics listener needs. */
export interface MetricsListenerOptions {
  /** `[metrics] listen_addr`: "127.0.0.1:9100", "[::1]:9100" or ":9100". */
  listen: string;
  metrics: Metrics;
  /** Serve HTTPS with this certificate (`[metrics] tls`); plain HTTP when absent. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  logger?: Logger;
}

/** A running metrics listener. */
export interface MetricsListener {
  address: AddressInfo;
  close(): Promise<void>;
}

/** Start the metrics listener; resolves once it listens. */
export async function startMetricsListener(opts: MetricsListenerOptions): Promise<MetricsListener> {
  const addr = parseListen(opts.listen, 'metrics.listen_addr');
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: `no route ${req.method} ${path}` }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json; charset=utf-8', allow: 'GET, HEAD' }).end(JSON.stringify({ error: `${req.method} is not allowed on /metrics` }));
      return;
    }
    let body: string;
    try {
      body = await opts.metrics.registry.render();
    } catch (err) {
      opts.metrics.apiRequests.inc({ surface: 'metrics', route: 'GET /metrics', status: '500' });
      opts.logger?.error({ err }, 'cannot render /metrics');
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: `cannot render metrics: ${(err as Error).message}` }));
      return;
    }
    opts.metrics.apiRequests.inc({ surface: 'metrics', route: 'GET /metrics', status: '200' });
    res.writeHead(200, { 'content-type': opts.metrics.registry.contentType, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.3' }, listener) : createHttpServer(listener);
  // Scrapers need nothing slow: a client that dawdles over its request line is dropped.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const listenOn = (host: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(addr.port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
  try {
    if (addr.host !== undefined) await listenOn(addr.host);
    else {
      try {
        await listenOn('::');
      } catch (err) {
        if (!['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
        await listenOn('0.0.0.0');
      }
    }
  } catch (err) {
    throw new McnsError('unavailable', `cannot listen on ${opts.listen}: ${(err as Error).message}`, 'metrics.listen_addr');
  }
  const address = server.address() as AddressInfo;
  opts.logger?.info({ metrics: `${address.address}:${address.port}`, tls: Boolean(opts.tls) }, 'metrics listener serving /metrics');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
