/** An mcns.toml for a server started in-process on loopback (port 0 everywhere), with test TLS. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestTls } from './tls.ts';

/**
 * Write `dir/mcns.toml` and return its path. `dns` lines go into [dns]; `tail` lines (more
 * sections, e.g. [transfer] or [update]) are appended. MCIAS points at a closed port: these
 * servers are driven over DNS and by the ledger, not the authenticated API.
 */
export function writeServerConfig(dir: string, opts: { dns?: string[]; tail?: string[] } = {}): string {
  const tls = makeTestTls();
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
      `path = "${dir}/mcns.db"`,
      '[dns]',
      'listen_addr = "127.0.0.1:0"',
      ...(opts.dns ?? []),
      '[mcias]',
      'server_url = "https://127.0.0.1:9"',
      ...(opts.tail ?? []),
      '',
    ].join('\n'),
  );
  return cfg;
}
