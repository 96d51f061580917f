/** An mcns.toml for a server started in-process or by bin/mcns on loopback, with test TLS. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestTls, type TestTls } from './tls.ts';

/** What a test or benchmark varies in the config; everything else is the loopback default. */
export interface ServerConfigOptions {
  /** More lines for [dns]. */
  dns?: string[];
  /** More sections after [mcias] (e.g. [transfer], [update], [log]). */
  tail?: string[];
  /** The database file (default `dir/mcns.db`). */
  db?: string;
  /** [dns] listen_addr (default "127.0.0.1:0": a free port). */
  dnsListen?: string;
  /** The [mcias] lines (default: a closed port; these servers are driven over DNS and by the ledger). */
  mcias?: string[];
  /** The server certificate (default: a fresh test CA and certificate). */
  tls?: TestTls;
}

/**
 * Write `dir/mcns.toml` and return its path. REST and gRPC listen on free loopback ports; `dns`
 * lines go into [dns]; `tail` lines (more sections) are appended.
 */
export function writeServerConfig(dir: string, opts: ServerConfigOptions = {}): string {
  const tls = opts.tls ?? makeTestTls();
  const cfg = join(dir, 'mcns.toml');
  writeFileSync(
    cfg,
    [
      '[server]',
      'listen_addr = "127.0.0.1:0"',
      'grpc_addr = "127.0.0.1:0"',
      `tls_cert = "${tls.certPath}"`,
      `tls_key = "${tls.keyPath}"`,
      '[database]',
      `path = "${opts.db ?? `${dir}/mcns.db`}"`,
      '[dns]',
      `listen_addr = "${opts.dnsListen ?? '127.0.0.1:0'}"`,
      ...(opts.dns ?? []),
      '[mcias]',
      ...(opts.mcias ?? ['server_url = "https://127.0.0.1:9"']),
      ...(opts.tail ?? []),
      '',
    ].join('\n'),
  );
  return cfg;
}
