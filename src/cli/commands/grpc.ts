/**
 * `mcns grpc [METHOD] [JSON]`: a generic gRPC client for the API (grpcurl has no Debian package).
 * Services and messages come from the project's own proto files; the request is JSON with the
 * proto's snake_case field names; the answer is printed as JSON. Without METHOD, it lists the
 * methods. Server-streaming methods (WatchEvents) print one JSON line per message until interrupted.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import type * as Grpc from '@grpc/grpc-js';
import { McnsError } from '../../errors.ts';
import { UsageError } from '../output.ts';

interface GrpcOpts {
  grpcAddr?: string;
  addr?: string;
  caCert?: string;
  token?: string;
  ifMatch?: string;
}

/** Where gRPC listens: --grpc-addr, $MCNS_GRPC_ADDR, else the host of --addr/$MCNS_ADDR on the default port 9443. */
export function grpcTarget(opts: GrpcOpts): string {
  const explicit = opts.grpcAddr ?? process.env.MCNS_GRPC_ADDR;
  if (explicit) {
    if (!/^(\[[0-9a-f:]+\]|[^\s:/]+):\d{1,5}$/i.test(explicit)) throw new UsageError(`--grpc-addr must be HOST:PORT, got "${explicit}"`);
    return explicit;
  }
  const rest = opts.addr ?? process.env.MCNS_ADDR;
  if (!rest) throw new UsageError('--grpc-addr HOST:PORT is required (or MCNS_GRPC_ADDR, or MCNS_ADDR for its host on port 9443)');
  let host: string;
  try {
    host = new URL(rest).hostname;
  } catch {
    throw new UsageError(`--addr must be a URL like https://localhost:8443, got "${rest}"`);
  }
  return `${host}:9443`;
}


/** Register `mcns grpc`. */
export function registerGrpc(program: Command): void {
  program
    .command('grpc')
    .description('call a gRPC method of the API with a JSON request (no METHOD: list the methods)')
    .argument('[method]', 'Service/Method, e.g. ZoneService/ListZones (mcns.v1. may be left out)')
    .argument('[json]', 'the request message as JSON, e.g. \'{"zone": "example.com"}\'', '{}')
    .option('--grpc-addr <host:port>', 'gRPC address (default $MCNS_GRPC_ADDR, else the host of $MCNS_ADDR on port 9443)')
    .option('--addr <url>', 'REST API URL whose host is used (default $MCNS_ADDR)')
    .option('--ca-cert <path>', 'CA certificate that signed the server certificate (default $MCNS_CA_CERT)')
    .option('--token <token>', 'API token (default $MCNS_TOKEN)')
    .option('--if-match <serial>', 'if-match metadata for writes')
    .action(async (method: string | undefined, json: string, opts: GrpcOpts) => {
      // Loaded here: the other commands should not pay for loading gRPC or parsing the protos.
      const grpc = await import('@grpc/grpc-js');
      const { loadProtos } = await import('../../api/grpc.ts');
      /** A gRPC status code by name, for errors ("NOT_FOUND"). */
      const codeName = (code: number): string => grpc.status[code] ?? String(code);
      const pkgDef = loadProtos();
      const methods = new Map<string, { service: string; name: string; def: Grpc.MethodDefinition<object, object> }>();
      for (const [full, def] of Object.entries(pkgDef)) {
        if (!full.startsWith('mcns.v1.') || 'format' in def) continue;
        for (const [name, m] of Object.entries(def as Grpc.ServiceDefinition)) methods.set(`${full.slice('mcns.v1.'.length)}/${name}`, { service: full, name, def: m as Grpc.MethodDefinition<object, object> });
      }
      if (method === undefined) {
        for (const [k, m] of [...methods].sort(([a], [b]) => (a < b ? -1 : 1))) process.stdout.write(`${k}${m.def.responseStream ? ' (stream)' : ''}\n`);
        return;
      }
      const key = method.replace(/^\/?mcns\.v1\./, '').replace('.', '/');
      const target = methods.get(key);
      if (!target) throw new UsageError(`no gRPC method "${method}" (mcns grpc lists them)`);
      let request: unknown;
      try {
        request = JSON.parse(json);
      } catch (err) {
        throw new UsageError(`the request must be JSON: ${(err as Error).message}`);
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new UsageError('the request must be a JSON object');
      // Token and CA as every API command takes them; the REST URL is not needed when --grpc-addr is given.
      const c = { token: opts.token ?? process.env.MCNS_TOKEN, caCert: opts.caCert ?? (process.env.MCNS_CA_CERT || undefined) };
      if (!c.token && !key.endsWith('/Health') && !key.endsWith('/Login')) throw new UsageError('an API token is required: --token TOKEN or MCNS_TOKEN');
      const addr = grpcTarget(opts);
      let ca: Buffer | undefined;
      if (c.caCert) {
        try {
          ca = readFileSync(c.caCert);
        } catch (err) {
          throw new McnsError('invalid', `cannot read ${c.caCert}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, '--ca-cert');
        }
      }
      // grpc-js sends the target host as the TLS server name even when it is an IP address, which
      // Node answers with a deprecation warning on stderr (DEP0123); the certificate is still
      // checked against the address. Not an operator's concern: keep stderr for what is.
      if (isIP(addr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')) !== 0) process.noDeprecation = true;
      const Client = grpc.makeGenericClientConstructor({ [target.name]: target.def }, target.service);
      const client = new Client(addr, grpc.credentials.createSsl(ca));
      const md = new grpc.Metadata();
      if (c.token) md.set('authorization', `Bearer ${c.token}`);
      if (opts.ifMatch !== undefined) md.set('if-match', opts.ifMatch);
      const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[target.name].bind(client);
      const fail = (err: Grpc.ServiceError): McnsError =>
        new McnsError(err.code === grpc.status.UNAVAILABLE ? 'unavailable' : err.code === grpc.status.NOT_FOUND ? 'not_found' : 'invalid', `gRPC ${codeName(err.code)}: ${err.details || err.message}`);
      try {
        if (target.def.responseStream) {
          const stream = fn(request, md) as Grpc.ClientReadableStream<object>;
          await new Promise<void>((resolve, reject) => {
            stream.on('data', (m: object) => process.stdout.write(JSON.stringify(m) + '\n'));
            stream.on('error', (err: Grpc.ServiceError) => (err.code === grpc.status.CANCELLED ? resolve() : reject(fail(err))));
            stream.on('end', () => resolve());
            process.once('SIGINT', () => stream.cancel());
          });
          return;
        }
        const res = await new Promise<object>((resolve, reject) => {
          fn(request, md, { deadline: Date.now() + 60_000 }, (err: Grpc.ServiceError | null, r: object) => (err ? reject(fail(err)) : resolve(r)));
        });
        process.stdout.write(JSON.stringify(res, null, 2) + '\n');
      } finally {
        client.close();
      }
    });
}
