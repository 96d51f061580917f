/**
 * The REST client the CLI's online commands share (`status`, `record …`, `zone … --addr`): HTTPS with
 * an optional CA file, a bearer token from --token or $MCNS_TOKEN, and one-line errors built from the
 * API's `{"error": "..."}` bodies.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { McnsError } from '../../errors.ts';
import { UsageError } from '../output.ts';

/** Connection settings common to every online command. */
export interface ClientOptions {
  addr: string;
  caCert?: string;
  token?: string;
  /** Give up after this many ms (default 30 s). */
  timeoutMs?: number;
}

/** An HTTP answer: status, headers and the body as text. */
export interface ClientResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Parse --addr into a base URL; a bad URL is a usage error (exit 2). */
export function baseUrl(addr: string): URL {
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new UsageError(`--addr must be a URL like https://localhost:8443, got "${addr}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--addr must be an https:// URL, got "${addr}"`);
  return url;
}

/** Explain a transport failure in the words an operator searches for (refused, TLS, timeout). */
export function describeNetError(err: NodeJS.ErrnoException, addr: string): string {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return `connection refused by ${addr}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host of ${addr}`;
  if (code === 'ETIMEDOUT' || code === 'TIMEOUT') return `no answer from ${addr} (timed out)`;
  if (code === 'ECONNRESET') return `connection to ${addr} was reset`;
  if (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|HOSTNAME|SSL/i.test(code) || /certificate|TLS|SSL/i.test(err.message)) {
    return `TLS error talking to ${addr}: ${err.message}${code ? ` (${code})` : ''}`;
  }
  return `cannot reach ${addr}: ${err.message}`;
}

/**
 * Send one request to the API; network and TLS failures become McnsError('unavailable'). A server that
 * refuses a request before reading its body (413, 401) answers and closes while we are still writing:
 * the answer wins over the EPIPE/ECONNRESET our write then gets.
 */
/** Callbacks for progress on long transfers (bytes sent of the body's total; bytes received). */
export interface TransferProgress {
  onUpload?: (sent: number, total: number) => void;
  onDownload?: (received: number) => void;
}

/** Bodies go out in pieces of this size, so an upload can report progress and honour back-pressure. */
const UPLOAD_CHUNK = 256 * 1024;

export function apiRequest(opts: ClientOptions, method: string, path: string, body?: { type: string; data: string }, progress: TransferProgress = {}): Promise<ClientResponse> {
  const base = baseUrl(opts.addr);
  const url = new URL(path.replace(/^\//, ''), base.href.endsWith('/') ? base.href : base.href + '/');
  let ca: Buffer | undefined;
  if (opts.caCert) {
    try {
      ca = readFileSync(opts.caCert);
    } catch (err) {
      throw new McnsError('invalid', `cannot read ${opts.caCert}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, '--ca-cert');
    }
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (body) {
    headers['content-type'] = body.type;
    headers['content-length'] = String(Buffer.byteLength(body.data));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolveRes, reject) => {
    let answered: ClientResponse | undefined;
    /** What has arrived of the answer so far (for a connection that dies after the status line). */
    let soFar = (): ClientResponse | undefined => answered;
    const req = send(url, { method, headers, ca, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      answered = { status: res.statusCode ?? 0, headers: res.headers, body: '' };
      // Joined once, at the end (or when the connection dies first): joining per chunk is quadratic.
      const text = (): string => Buffer.concat(chunks).toString('utf8');
      soFar = () => ({ ...answered!, body: text() });
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        received += c.length;
        progress.onDownload?.(received);
      });
      res.on('end', () => resolveRes({ status: res.statusCode ?? 0, headers: res.headers, body: text() }));
      res.on('error', (err) => (answered ? resolveRes(soFar()!) : reject(new McnsError('unavailable', describeNetError(err, opts.addr)))));
      res.on('aborted', () => answered && resolveRes(soFar()!));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return resolveRes(soFar()!);
      reject(Object.assign(new McnsError('unavailable', describeNetError(err, opts.addr)), { netCode: err.code }));
    });
    if (!body) {
      req.end();
      return;
    }
    const data = Buffer.from(body.data);
    let sent = 0;
    // Stops as soon as the server has answered (a 413 or 401 before the body): the rest would only meet a closed socket.
    const pump = (): void => {
      while (sent < data.length && !answered && !req.destroyed) {
        const piece = data.subarray(sent, sent + UPLOAD_CHUNK);
        sent += piece.length;
        progress.onUpload?.(sent, data.length);
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** The API's error text for a non-2xx answer ("404 zone x does not exist"). */
export function apiError(res: ClientResponse): McnsError {
  let message = res.body.trim().split('\n')[0];
  try {
    const parsed = JSON.parse(res.body) as { error?: unknown; message?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
    else if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: keep the first line of the body
  }
  return new McnsError(res.status === 401 ? 'unauthenticated' : res.status === 403 ? 'forbidden' : res.status === 404 ? 'not_found' : res.status >= 500 ? 'unavailable' : 'invalid', `HTTP ${res.status}: ${message || 'no details'}`);
}

/** Send a request and parse its JSON answer; non-2xx answers throw the API's error. */
export async function apiJson<T>(opts: ClientOptions, method: string, path: string, body?: unknown): Promise<T> {
  const res = await apiRequest(opts, method, path, body === undefined ? undefined : { type: 'application/json', data: JSON.stringify(body) });
  if (res.status < 200 || res.status > 299) throw apiError(res);
  if (res.status === 204 || res.body.trim() === '') return undefined as T;
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new McnsError('internal', `the API answered ${method} ${path} with something that is not JSON`);
  }
}

/** Client options from a command's --addr/--ca-cert/--token, falling back to $MCNS_ADDR, $MCNS_CA_CERT, $MCNS_TOKEN. */
export function clientOptions(opts: { addr?: string; caCert?: string; token?: string }, needToken = true): ClientOptions {
  const addr = opts.addr ?? process.env.MCNS_ADDR;
  if (!addr) throw new UsageError('--addr URL is required (or set MCNS_ADDR)');
  const token = opts.token ?? process.env.MCNS_TOKEN;
  if (needToken && !token) throw new UsageError('an API token is required: --token TOKEN or MCNS_TOKEN');
  return { addr, caCert: opts.caCert ?? (process.env.MCNS_CA_CERT || undefined), token };
}

/** Whether a command given these options goes through the API: --addr, or $MCNS_ADDR when --db is not given. */
export function wantsApi(opts: { addr?: string; db?: string }): boolean {
  return Boolean(opts.addr) || (!opts.db && Boolean(process.env.MCNS_ADDR));
}

/** The options every API command takes (the same names, help and environment fallbacks everywhere). */
export function withApiOptions(cmd: Command, opts: { output?: boolean } = { output: true }): Command {
  cmd
    .option('--addr <url>', 'REST API URL (default $MCNS_ADDR)')
    .option('--ca-cert <path>', 'CA certificate that signed the server certificate (default $MCNS_CA_CERT)')
    .option('--token <token>', 'API token (default $MCNS_TOKEN)');
  if (opts.output !== false) withOutput(cmd);
  return cmd;
}

/** `-o/--output table|json` (the one output option of every command that prints data). */
export function withOutput(cmd: Command, formats: readonly string[] = ['table', 'json'], dflt = 'table'): Command {
  return cmd.option('-o, --output <format>', formats.join(' or '), dflt);
}

/** Check an --output value against the formats a command supports (usage error otherwise). */
export function outputFormat(o: string): 'table' | 'json' {
  return outputFormatOf(o, ['table', 'json'] as const);
}

/** outputFormat for commands with other formats (replay: zone|json). */
export function outputFormatOf<F extends string>(o: string, formats: readonly F[]): F {
  if (!(formats as readonly string[]).includes(o)) throw new UsageError(`--output must be ${formats.join(' or ')}, got "${o}"`);
  return o as F;
}
