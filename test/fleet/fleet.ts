/**
 * A fleet on loopback for the issue 13 tests and bench/fleet: an MCNS primary started in-process from
 * an mcns.toml (REST with the fake MCIAS, DNS, [transfer], [catalog], a TSIG key), and real Knot,
 * BIND and NSD secondaries each started with exactly what `mcns secondary-config` printed for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { startMcIasFake, type McIasFake } from '../helpers/mcias-fake.ts';
import { makeTestTls } from '../helpers/tls.ts';
import { freePort } from '../helpers/ports.ts';
import { mcns } from '../cli/run.ts';
import { answerKeys, makeQuery, rcodeOf, udpExchange } from '../transfer/helpers.ts';

/** The transfer key of the fleet. */
export const FLEET_KEY = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: Buffer.from('fleet transfer key secret, 32 b!').toString('base64') };
/** The catalog zone. */
export const CATALOG = 'catalog.mcns.invalid.';

/** The secondaries. */
export type Kind = 'knot' | 'bind' | 'nsd';

/** A running primary. */
export interface Primary {
  server: RunningServer;
  mcias: McIasFake;
  config: string;
  dnsPort: number;
  restPort: number;
  ca: Buffer;
  token: string;
  /** Every JSON log line the server wrote so far. */
  logs: Array<Record<string, unknown>>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  stop(): Promise<void>;
}

/** What the primary's mcns.toml says besides the basics. */
export interface PrimaryOptions {
  dir: string;
  /** Ports of the secondaries to notify (all zones), and those that carry the catalog (Knot, BIND). */
  notify: Partial<Record<Kind, number>>;
  catalog?: boolean;
  /** The DNS port (default: a free one; a restart passes the same). */
  dnsPort?: number;
  /** The database file (default dir/mcns.db). */
  db?: string;
  /** More [dns] lines. */
  dns?: string[];
  /** [log] level (default info; bench/fleet --trace sets debug). */
  logLevel?: string;
}

/** Write the primary's mcns.toml to `opts.dir` (see {@link PrimaryOptions}); its path, DNS port and TLS. */
export async function writePrimaryConfig(opts: PrimaryOptions, mcias: McIasFake): Promise<{ config: string; dnsPort: number; tls: ReturnType<typeof makeTestTls> }> {
  const tls = makeTestTls();
  const dnsPort = opts.dnsPort ?? (await freePort(true));
  const targets = Object.values(opts.notify).map((p) => `"127.0.0.1:${p}"`);
  const catalogTargets = (['knot', 'bind'] as const).filter((k) => opts.notify[k]).map((k) => `"127.0.0.1:${opts.notify[k]}"`);
  const config = join(opts.dir, 'mcns.toml');
  writeFileSync(
    config,
    [
      '[server]',
      'listen_addr = "127.0.0.1:0"',
      'grpc_addr = "127.0.0.1:0"',
      `tls_cert = "${tls.certPath}"`,
      `tls_key = "${tls.keyPath}"`,
      'shutdown_timeout = "10s"',
      '[database]',
      `path = "${opts.db ?? join(opts.dir, 'mcns.db')}"`,
      '[dns]',
      `listen_addr = "127.0.0.1:${dnsPort}"`,
      ...(opts.dns ?? []),
      ...(opts.logLevel ? ['[log]', `level = "${opts.logLevel}"`] : []),
      '[mcias]',
      `server_url = "${mcias.url}"`,
      `ca_cert = "${mcias.tls.caPath}"`,
      '[transfer]',
      // Only the key admits the secondaries: nothing by address.
      'allow_from = []',
      `allow_keys = ["${FLEET_KEY.name}"]`,
      `notify = [${targets.join(', ')}]`,
      `notify_key = "${FLEET_KEY.name}"`,
      ...(opts.catalog ? ['[transfer.zone_notify]', `"${CATALOG}" = [${catalogTargets.join(', ')}]`, '[catalog]', `zone = "${CATALOG}"`] : []),
      `[tsig.keys.${FLEET_KEY.name}]`,
      `algorithm = "${FLEET_KEY.algorithm}"`,
      `secret = "${FLEET_KEY.secret}"`,
      '',
    ].join('\n'),
  );
  return { config, dnsPort, tls };
}

/** Start MCNS in-process from an mcns.toml written to `opts.dir`. */
export async function startPrimary(opts: PrimaryOptions, mciasIn?: McIasFake): Promise<Primary> {
  const mcias = mciasIn ?? (await startMcIasFake());
  const { config, dnsPort, tls } = await writePrimaryConfig(opts, mcias);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const server = await startServer(loadConfig({ path: config, env: {} }), { logger: pino({ level: 'info' }, sink) });
  const token = mcias.tokenFor('alice');
  const restPort = Number(server.rest.split(':').pop());
  const api = (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? '' : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port: restPort,
          method,
          path,
          ca: tls.ca,
          servername: 'localhost',
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }) },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  return {
    server,
    mcias,
    config,
    dnsPort,
    restPort,
    ca: tls.ca,
    token,
    logs,
    api,
    stop: async () => {
      await server.stop('test');
      if (!mciasIn) await mcias.close();
    },
  };
}

/** A running secondary. */
export interface Secondary {
  kind: Kind;
  port: number;
  dir: string;
  /** The configuration it runs with, as `mcns secondary-config` printed it. */
  config: string;
  log(): string;
  stop(): Promise<void>;
}

/** `mcns secondary-config --for kind` for this primary, run as the CLI (bin/mcns). */
export async function generatedConfig(kind: Kind, primary: { config: string; dnsPort: number }, port: number, dir: string, source?: string): Promise<string> {
  const r = await mcns(['secondary-config', '--for', kind, '--config', primary.config, '--addr', `127.0.0.1:${primary.dnsPort}`, '--key', FLEET_KEY.name, '--listen', `127.0.0.1:${port}`, '--dir', dir, ...(source ? ['--source', source] : [])]);
  if (r.code !== 0) throw new Error(`secondary-config --for ${kind} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Start `kind` with exactly the configuration `mcns secondary-config` printed. */
export async function startSecondary(kind: Kind, primary: { config: string; dnsPort: number }, port: number, dir: string, opts: { debug?: boolean; source?: string } = {}): Promise<Secondary> {
  mkdirSync(dir, { recursive: true });
  // NSD drops to its own user (the printed config keeps the package default): let it reach and write its directory.
  chmodSync(dirname(dir), 0o755);
  chmodSync(dir, 0o777);
  const config = await generatedConfig(kind, primary, port, dir, opts.source);
  const file = join(dir, `${kind}.conf`);
  // Debug logging (bench/fleet --trace) is the one departure from the printed configuration.
  writeFileSync(file, opts.debug && kind === 'knot' ? config.replace(/^(\s+any:) info$/m, '$1 debug') : config);
  const debug = opts.debug ? (kind === 'bind' ? ['-d', '1'] : kind === 'nsd' ? ['-V', '5'] : []) : [];
  const [cmd, args] =
    kind === 'knot' ? ['knotd', ['-c', file]] : kind === 'bind' ? ['named', ['-g', '-c', file, '-n', '1', ...debug]] : ['nsd', ['-d', '-c', file, ...debug]];
  let out = '';
  const child: ChildProcess = spawn(cmd, args as string[], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    kind,
    port,
    dir,
    config,
    log: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** The SOA serial `port` serves for `zone` with AA (undefined: not served). */
export async function servedSerial(port: number, zone: string): Promise<number | undefined> {
  try {
    const msg = await udpExchange(port, makeQuery(zone, 'SOA', { id: Math.floor(Math.random() * 65535) }), 500);
    if (rcodeOf(msg) !== 0 || !(msg[2] & 0x04)) return undefined;
    const soa = answerKeys(msg).find((k) => k.includes(' SOA '));
    return soa ? Number(soa.split(' ')[5]) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a file exists in a secondary's directory (diagnostics). */
export function fileIn(dir: string, name: string): string | undefined {
  const p = join(dir, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}
