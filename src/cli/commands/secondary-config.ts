/**
 * `mcns secondary-config --for knot|bind|nsd --config PATH [--addr HOST:PORT] [--key NAME]`: print a
 * ready configuration for a secondary of this server (src/catalog/secondary-config.ts): the primary's
 * address, the TSIG key, and the catalog zone (Knot, BIND) or the zones served now (NSD, read from
 * the database). `--listen` and `--dir` set where the secondary answers and keeps its files.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { loadConfig, splitHostPort, type McnsConfig } from '../../config.ts';
import { Ledger } from '../../ledger.ts';
import { DEFAULT_DIRS, SECONDARY_KINDS, secondaryConfig, type HostPort, type SecondaryKind } from '../../catalog/secondary-config.ts';
import { UsageError } from '../output.ts';

/** "192.0.2.1:53", "[2001:db8::1]:53" or "192.0.2.1" (port 53), naming the option on error. */
function hostPort(text: string, option: string): HostPort {
  const split = splitHostPort(text);
  const hp = split ?? { host: text.replace(/^\[|\]$/g, ''), port: 53 };
  if (!isIP(hp.host)) throw new UsageError(`${option} must be an IP address with an optional port (e.g. 192.0.2.1:53), got "${text}"`);
  return hp;
}

/** The primary's address as secondaries reach it: --addr, else the first [dns] listen_addr if it names one address. */
function primaryAddress(config: McnsConfig, addr: string | undefined): HostPort {
  if (addr) return hostPort(addr, '--addr');
  const first = config.dns.listen_addr[0];
  const hp = first ? splitHostPort(first) : undefined;
  if (!hp || !isIP(hp.host) || hp.host === '0.0.0.0' || hp.host === '::') {
    throw new UsageError(`--addr HOST:PORT is needed: [dns] listen_addr "${first ?? ''}" does not say which address secondaries reach this server at`);
  }
  return hp;
}

/** The key: --key, else [transfer] notify_key, else none (the secondary is then admitted by address). */
function transferKey(config: McnsConfig, name: string | undefined): { name: string; algorithm: string; secret: string } | undefined {
  const wanted = name ?? config.transfer.notify_key;
  if (!wanted) return undefined;
  const k = config.tsig.keys[wanted.toLowerCase().replace(/\.?$/, '.')];
  if (!k) throw new UsageError(`--key "${wanted}" is not defined under [tsig.keys] in ${config.source}`);
  return { name: k.name, algorithm: k.algorithm, secret: k.secret };
}

/** The zones the server serves now (the catalog zone left out). */
function servedZones(config: McnsConfig): string[] {
  const ledger = Ledger.open({ path: config.database.path, create: false });
  try {
    return [...ledger.state.zones.keys()].filter((z) => z !== config.catalog.zone).sort();
  } finally {
    ledger.close();
  }
}

/** Register `mcns secondary-config`. */
export function registerSecondaryConfig(program: Command): void {
  program
    .command('secondary-config')
    .description('print a ready configuration for a Knot, BIND or NSD secondary of this server (Knot and BIND follow the catalog zone; NSD gets the zones served now)')
    .requiredOption('--for <kind>', `the secondary: ${SECONDARY_KINDS.join(', ')}`)
    .requiredOption('--config <path>', 'mcns.toml of the server')
    .option('--addr <host:port>', "the primary's DNS address as the secondary reaches it (default: [dns] listen_addr when it names one address)")
    .option('--key <name>', 'TSIG key (under [tsig.keys]) for transfers and NOTIFY (default: [transfer] notify_key; none: by address)')
    .option('--listen <host:port>', 'where the secondary answers', '0.0.0.0:53')
    .option('--dir <path>', "the secondary's working directory (default: the Debian package's)")
    .option('--source <addr>', "the secondary's own address it reaches the primary from, when it has several (default: the system's choice)")
    .action((opts: { for: string; config: string; addr?: string; key?: string; listen: string; dir?: string; source?: string }) => {
      const kind = opts.for.toLowerCase() as SecondaryKind;
      if (!SECONDARY_KINDS.includes(kind)) throw new UsageError(`--for must be one of ${SECONDARY_KINDS.join(', ')}, got "${opts.for}"`);
      const config = loadConfig({ path: opts.config });
      const catalog = config.catalog.zone || undefined;
      // Options first (usage errors), then the database.
      const primary = primaryAddress(config, opts.addr);
      const key = transferKey(config, opts.key);
      const listen = hostPort(opts.listen, '--listen');
      if (opts.source !== undefined && !isIP(opts.source)) throw new UsageError(`--source must be an IP address, got "${opts.source}"`);
      // Knot and BIND need only the catalog; NSD (and any secondary when there is no catalog) the zone list.
      const zones = kind === 'nsd' || !catalog ? servedZones(config) : [];
      process.stdout.write(secondaryConfig({ kind, primary, key, catalog, zones, listen, dir: opts.dir ?? DEFAULT_DIRS[kind], source: opts.source, primaryTcpPerClient: config.dns.tcp_max_per_client }));
    });
}
