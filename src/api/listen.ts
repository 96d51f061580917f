/**
 * Listen addresses as the config writes them: "127.0.0.1:8443", "[::1]:8443", or ":8443" (every
 * interface, as Go's net.Listen reads it).
 */
import { invalid } from '../errors.ts';

/** A parsed listen address; `host` is undefined for "every interface". */
export interface ListenAddress {
  host?: string;
  port: number;
}

/** Parse `host:port`, `[v6]:port` or `:port`; 400 naming `field` on anything else. */
export function parseListen(text: string, field = 'server.listen_addr'): ListenAddress {
  const t = text.trim();
  const m = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(t);
  if (!m) throw invalid(field, `must be host:port, [ipv6]:port or :port, got "${text}"`);
  const port = Number(m[3]);
  if (port > 65535) throw invalid(field, `port ${port} is out of range`);
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}
