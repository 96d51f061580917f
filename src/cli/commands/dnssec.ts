/**
 * `mcns zone dnssec enable|disable|status|ds|rollover ZONE` (admin): through the REST API
 * (--addr/$MCNS_ADDR, --token, --ca-cert) or offline on a database file (--db), both through the
 * one implementation of src/api/dnssec.ts (offline: keys are made and stored in the database file
 * given, the decision is logged with --actor).
 */
import type { Command } from 'commander';
import { configureDnssec, DNSSEC_ALGORITHMS, DNSSEC_DENIALS, dnssecView, startRollover, type DnssecView } from '../../api/dnssec.ts';
import { Ledger } from '../../ledger.ts';
import { zoneName } from '../../projections/decide.ts';
import { McnsError } from '../../errors.ts';
import { table, UsageError } from '../output.ts';
import { apiJson, clientOptions, outputFormat, wantsApi, withApiOptions } from './client.ts';
import { keyOfflineWriter } from './offline.ts';

interface Opts {
  addr?: string;
  caCert?: string;
  token?: string;
  db?: string;
  actor: string;
  chainKeyFile?: string;
  output: string;
}

const enc = encodeURIComponent;

function options(cmd: Command): Command {
  return withApiOptions(cmd)
    .argument('<zone>', 'zone name')
    .option('--db <path>', 'work offline on this database file')
    .option('--actor <name>', 'actor recorded on the events (offline only)', 'cli')
    .option('--chain-key-file <path>', 'key of a keyed chain ([database] chain_key_file; offline only, default $MCNS_CHAIN_KEY_FILE)');
}

/** Run `write` (or just read, when absent) through the API or on the database file; the zone's DNSSEC view after it. */
async function run(zone: string, o: Opts, api: { method: string; path: string; body?: unknown }, offline?: (ledger: Ledger, name: string) => void): Promise<DnssecView> {
  if (wantsApi(o)) return apiJson<DnssecView>(clientOptions(o), api.method, `/v1/zones/${enc(zone)}/dnssec${api.path}`, api.body);
  if (!o.db) throw new UsageError('--db PATH or --addr URL (or MCNS_ADDR) is required');
  const ledger = Ledger.open({ path: o.db, create: false });
  try {
    const name = zoneName(zone);
    if (offline) {
      keyOfflineWriter(ledger, o.chainKeyFile ?? process.env.MCNS_CHAIN_KEY_FILE);
      offline(ledger, name);
    }
    const z = ledger.state.zones.get(name);
    if (!z) throw new McnsError('not_found', `zone ${name} does not exist`);
    return dnssecView(z);
  } finally {
    ledger.close();
  }
}

function print(v: DnssecView, o: Opts): void {
  if (outputFormat(o.output) === 'json') {
    process.stdout.write(JSON.stringify(v, null, 2) + '\n');
    return;
  }
  process.stdout.write(`${v.zone}: DNSSEC ${v.enabled ? `on (${v.algorithm}, ${v.denial})` : 'off'}\n`);
  const keys = v.keys.filter((k) => k.state !== 'removed');
  if (keys.length > 0) process.stdout.write(table(['TAG', 'ROLE', 'ALGORITHM', 'STATE', 'DS', 'SINCE', 'REPLACES'], keys.map((k) => [k.tag, k.role, k.algorithm, k.state, k.ds ? 'yes' : '', k.since, k.replaces ?? ''])));
  for (const ds of v.ds) process.stdout.write(`DS for the parent: ${v.zone}. IN DS ${ds}\n`);
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], option: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${option} must be ${allowed.join(' or ')}, got "${value}"`);
  return value as T;
}

/** Register `mcns zone dnssec ...` under `zone`. */
export function registerDnssec(zone: Command): void {
  const dnssec = zone.command('dnssec').description('DNSSEC signing of a zone (admin): enable, disable, status, ds, rollover');
  options(dnssec.command('enable').description('sign ZONE (new KSK and ZSK), or change the denial of a signed zone'))
    .option('--algorithm <name>', `${DNSSEC_ALGORITHMS.join(' or ')} (default ecdsap256sha256, or the zone's own)`)
    .option('--denial <mode>', `${DNSSEC_DENIALS.join(' or ')} (default nsec, or the zone's own)`)
    .action(async (name: string, o: Opts & { algorithm?: string; denial?: string }) => {
      const input = { enabled: true, algorithm: oneOf(o.algorithm, DNSSEC_ALGORITHMS, '--algorithm'), denial: oneOf(o.denial, DNSSEC_DENIALS, '--denial') };
      const body = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
      print(await run(name, o, { method: 'PUT', path: '', body }, (l, z) => configureDnssec(l, z, input, { actor: o.actor, surface: 'cli' })), o);
    });
  options(dnssec.command('disable').description('stop signing ZONE (every key removed); have the parent remove the DS first'))
    .action(async (name: string, o: Opts) => {
      print(await run(name, o, { method: 'PUT', path: '', body: { enabled: false } }, (l, z) => configureDnssec(l, z, { enabled: false }, { actor: o.actor, surface: 'cli' })), o);
    });
  options(dnssec.command('status').description("ZONE's DNSSEC settings and keys"))
    .action(async (name: string, o: Opts) => print(await run(name, o, { method: 'GET', path: '' }), o));
  options(dnssec.command('ds').description('the DS records to give the parent zone, one per line'))
    .action(async (name: string, o: Opts) => {
      const v = await run(name, o, { method: 'GET', path: '' });
      if (outputFormat(o.output) === 'json') process.stdout.write(JSON.stringify(v.ds) + '\n');
      else for (const ds of v.ds) process.stdout.write(`${v.zone}. IN DS ${ds}\n`);
      if (!v.enabled) process.stderr.write(`mcns: ${v.zone} is not signed: no DS\n`);
    });
  options(dnssec.command('rollover').description('start a rollover of the active key of a role; the server takes each step when it falls due'))
    .requiredOption('--role <role>', 'zsk, ksk or csk')
    .action(async (name: string, o: Opts & { role: string }) => {
      const role = oneOf(o.role, ['zsk', 'ksk', 'csk'] as const, '--role')!;
      print(await run(name, o, { method: 'POST', path: '/rollover', body: { role } }, (l, z) => startRollover(l, z, role, { actor: o.actor, surface: 'cli' })), o);
    });
}
