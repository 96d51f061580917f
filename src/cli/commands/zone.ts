/**
 * `mcns zone list|create|update|delete|restore` and `mcns events`: API clients over REST, with the
 * options of every API command (--addr/$MCNS_ADDR, --token/$MCNS_TOKEN, --ca-cert/$MCNS_CA_CERT,
 * -o table|json).
 */
import type { Command } from 'commander';
import type { BatchView, EventView, ZoneView } from '../../api/views.ts';
import { McnsError } from '../../errors.ts';
import { table, TableWriter, UsageError } from '../output.ts';
import { apiJson, clientOptions, outputFormat, withApiOptions } from './client.ts';
import { printWarnings } from './record.ts';
import { describeChange, parseLimit } from './history.ts';

interface ApiOpts {
  addr?: string;
  caCert?: string;
  token?: string;
  output: string;
}

const enc = encodeURIComponent;

/** SOA options shared by create and update (whole numbers; TTLs in seconds). */
const SOA_NUMBERS = ['ttl', 'refresh', 'retry', 'expire', 'minimum'] as const;
type SoaOpts = { primaryNs?: string; adminEmail?: string } & Partial<Record<(typeof SOA_NUMBERS)[number], string>>;

function soaOptions(cmd: Command): Command {
  return cmd
    .option('--primary-ns <name>', 'primary name server (SOA MNAME)')
    .option('--admin-email <name>', 'responsible person (SOA RNAME, e.g. hostmaster.example.com)')
    .option('--ttl <seconds>', 'default TTL of the zone')
    .option('--refresh <seconds>', 'SOA refresh')
    .option('--retry <seconds>', 'SOA retry')
    .option('--expire <seconds>', 'SOA expire')
    .option('--minimum <seconds>', 'SOA minimum (negative-caching TTL)');
}

function soaBody(o: SoaOpts): Record<string, string | number> {
  const body: Record<string, string | number> = {};
  if (o.primaryNs !== undefined) body.primary_ns = o.primaryNs;
  if (o.adminEmail !== undefined) body.admin_email = o.adminEmail;
  for (const k of SOA_NUMBERS) {
    const v = o[k];
    if (v === undefined) continue;
    if (!/^\d{1,10}$/.test(v)) throw new UsageError(`--${k} must be a whole number of seconds, got "${v}"`);
    body[k] = Number(v);
  }
  return body;
}

function printZones(zones: ZoneView[], format: 'table' | 'json'): void {
  if (format === 'json') {
    process.stdout.write(JSON.stringify(zones, null, 2) + '\n');
    return;
  }
  process.stdout.write(table(['NAME', 'SERIAL', 'RECORDS', 'PRIMARY NS', 'ADMIN', 'TTL'], zones.map((z) => [z.name, z.serial, z.record_count, z.primary_ns, z.admin_email, z.ttl])));
}

function batchLine(b: BatchView | undefined): string {
  return b?.first_seq === undefined ? 'nothing written' : `seq ${b.first_seq}..${b.last_seq}${b.serial !== undefined ? `, serial ${b.serial}` : ''}`;
}

/** Register `mcns zone list|create|update|delete|restore` on the `zone` command. */
export function registerZoneApi(zone: Command): void {
  withApiOptions(zone.command('list').description('the zones the server serves'))
    .option('--at <point>', 'as at a sequence number or RFC 3339 time')
    .action(async (opts: ApiOpts & { at?: string }) => {
      const format = outputFormat(opts.output);
      const body = await apiJson<{ zones: ZoneView[] }>(clientOptions(opts), 'GET', `/v1/zones${opts.at ? `?at=${enc(opts.at)}` : ''}`);
      printZones(body.zones, format);
    });
  soaOptions(withApiOptions(zone.command('create').description('create ZONE (admin)')))
    .argument('<zone>', 'zone name')
    .action(async (name: string, opts: ApiOpts & SoaOpts) => {
      const format = outputFormat(opts.output);
      const soa = soaBody(opts);
      if (soa.primary_ns === undefined || soa.admin_email === undefined) throw new UsageError('zone create needs --primary-ns NAME and --admin-email NAME');
      const body = await apiJson<{ zone: ZoneView; batch: BatchView }>(clientOptions(opts), 'POST', '/v1/zones', { name, ...soa });
      printZones([body.zone], format);
    });
  soaOptions(withApiOptions(zone.command('update').description("change ZONE's SOA parameters (admin); only those given change")))
    .argument('<zone>', 'zone name')
    .action(async (name: string, opts: ApiOpts & SoaOpts) => {
      const format = outputFormat(opts.output);
      const soa = soaBody(opts);
      if (Object.keys(soa).length === 0) throw new UsageError('zone update needs at least one of --primary-ns, --admin-email, --ttl, --refresh, --retry, --expire, --minimum');
      const body = await apiJson<{ zone: ZoneView; batch: BatchView }>(clientOptions(opts), 'PUT', `/v1/zones/${enc(name)}`, soa);
      printZones([body.zone], format);
    });
  withApiOptions(zone.command('delete').description('delete ZONE from DNS (admin); its history stays and it can be restored'))
    .argument('<zone>', 'zone name')
    .action(async (name: string, opts: ApiOpts) => {
      const format = outputFormat(opts.output);
      const body = await apiJson<{ batch: BatchView }>(clientOptions(opts), 'DELETE', `/v1/zones/${enc(name)}`);
      process.stdout.write(format === 'json' ? JSON.stringify(body) + '\n' : `deleted zone ${name} (${batchLine(body.batch)})\n`);
    });
  withApiOptions(zone.command('restore').description('make ZONE equal to its state at a point of the log (admin); history is kept'))
    .argument('<zone>', 'zone name')
    .requiredOption('--at <point>', 'sequence number or RFC 3339 time to restore to')
    .option('--allow-delete', 'allow a restore to a point before the zone existed (it deletes the zone)')
    .action(async (name: string, opts: ApiOpts & { at: string; allowDelete?: boolean }) => {
      const format = outputFormat(opts.output);
      const at = /^\d+$/.test(opts.at) ? Number(opts.at) : opts.at;
      const body = await apiJson<{ zone: ZoneView | null; batch: BatchView; restored_to_seq: number }>(clientOptions(opts), 'POST', `/v1/zones/${enc(name)}/restore`, {
        at,
        ...(opts.allowDelete ? { allow_delete: true } : {}),
      }).catch((err: unknown) => {
        // The API's hint names its JSON field; on the command line it is an option.
        if (err instanceof McnsError && err.message.includes('"allow_delete": true')) throw new McnsError(err.kind, `${err.message} (--allow-delete)`);
        throw err;
      });
      if (format === 'json') {
        process.stdout.write(JSON.stringify(body) + '\n');
        return;
      }
      const what = body.batch.first_seq === undefined ? `nothing written: ${name} is already as it was at seq ${body.restored_to_seq}` : body.zone === null ? `${name} deleted (it did not exist at seq ${body.restored_to_seq})` : `${name} restored to seq ${body.restored_to_seq}`;
      process.stdout.write(`${what}${body.batch.first_seq === undefined ? '' : ` (${batchLine(body.batch)})`}\n`);
      printWarnings(body);
    });
}

/** Register `mcns events` (GET /v1/events, admin): the raw log, paged by --after. */
export function registerEvents(program: Command): void {
  withApiOptions(program.command('events').description('the raw event log after a sequence number (admin)'))
    .option('--after <seq>', 'only events after this sequence number', '0')
    .option('--limit <n>', 'at most this many events', '100')
    .action(async (opts: ApiOpts & { after: string; limit: string }) => {
      const format = outputFormat(opts.output);
      if (!/^\d{1,15}$/.test(opts.after)) throw new UsageError(`--after must be a sequence number, got "${opts.after}"`);
      let left = parseLimit(opts.limit);
      let after = Number(opts.after);
      const client = clientOptions(opts);
      const out = new TableWriter(['SEQ', 'TIME', 'ACTOR', 'ZONE', 'EVENT', 'CHANGE']);
      let more: number | undefined;
      do {
        const page = await apiJson<{ events: EventView[]; next_after?: number }>(client, 'GET', `/v1/events?after=${after}&limit=${Math.min(left, 1000)}`);
        if (format === 'json') {
          if (page.events.length > 0) process.stdout.write(page.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
        } else out.write(page.events.map((e) => [e.seq, e.time, e.actor, e.zone, e.event, describeChange(e)]));
        left -= page.events.length;
        more = page.next_after;
        if (more !== undefined) after = more;
      } while (left > 0 && more !== undefined);
      if (format === 'table') out.end();
      if (more !== undefined) process.stderr.write(`more events after seq ${more}: use --after ${more}\n`);
    });
}
