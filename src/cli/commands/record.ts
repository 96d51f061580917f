/**
 * `mcns record list|add|update|delete` and `mcns zone import|export --addr`: API clients over REST
 * (token from --token or $MCNS_TOKEN, --ca-cert for a private CA, --output table|json).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { McnsError } from '../../errors.ts';
import { progress, progressDone, table, UsageError } from '../output.ts';
import { apiError, apiJson, apiRequest, clientOptions, outputFormat, withApiOptions, type ClientOptions } from './client.ts';

/** A record as the API returns it. */
export interface ApiRecord {
  id: string;
  name: string;
  type: string;
  value: string;
  ttl: number;
}

interface CommonOpts {
  addr?: string;
  caCert?: string;
  token?: string;
  output: string;
}

const enc = encodeURIComponent;

const withCommon = (cmd: Command): Command => withApiOptions(cmd);

function recordsOf(body: unknown): ApiRecord[] {
  if (Array.isArray(body)) return body as ApiRecord[];
  const b = body as { records?: unknown; items?: unknown };
  if (Array.isArray(b?.records)) return b.records as ApiRecord[];
  if (Array.isArray(b?.items)) return b.items as ApiRecord[];
  return [];
}

function recordOf(body: unknown): ApiRecord {
  const b = body as { record?: ApiRecord } & ApiRecord;
  return b?.record ?? b;
}

/**
 * Print the lint warnings a write came back with ("warnings": [...] beside the 2xx) to stderr, one
 * `warning: ...` line each, so they reach the operator without disturbing --output json on stdout.
 */
export function printWarnings(body: unknown): void {
  const w = (body as { warnings?: unknown } | undefined)?.warnings;
  if (!Array.isArray(w)) return;
  for (const line of w) process.stderr.write(`warning: ${String(line)}\n`);
}

function printRecords(records: ApiRecord[], format: 'table' | 'json'): void {
  if (format === 'json') {
    process.stdout.write(JSON.stringify(records, null, 2) + '\n');
    return;
  }
  process.stdout.write(table(['ID', 'NAME', 'TTL', 'TYPE', 'VALUE'], records.map((r) => [r.id, r.name, r.ttl, r.type, r.value])));
}

function parseTtl(ttl: string | undefined): number | undefined {
  if (ttl === undefined) return undefined;
  if (!/^\d+$/.test(ttl)) throw new UsageError(`--ttl must be a whole number of seconds, got "${ttl}"`);
  return Number(ttl);
}

/** Register `mcns record …`. */
export function registerRecord(program: Command): void {
  const record = program.command('record').description('list and change records through the REST API');
  withCommon(record.command('list').description('records of ZONE (optionally one name and/or type)'))
    .argument('<zone>', 'zone name')
    .option('--name <name>', 'only this owner name (relative, "@" or absolute)')
    .option('--type <type>', 'only this record type')
    .option('--at <point>', 'as at a sequence number or RFC 3339 time')
    .action(async (zone: string, opts: CommonOpts & { name?: string; type?: string; at?: string }) => {
      const format = outputFormat(opts.output);
      const q = new URLSearchParams();
      if (opts.name) q.set('name', opts.name);
      if (opts.type) q.set('type', opts.type.toUpperCase());
      if (opts.at) q.set('at', opts.at);
      const qs = q.toString();
      const body = await apiJson<unknown>(clientOptions(opts), 'GET', `/v1/zones/${enc(zone)}/records${qs ? `?${qs}` : ''}`);
      printRecords(recordsOf(body), format);
    });
  withCommon(record.command('add').description('add a record (NAME relative to the zone, "@" = apex)'))
    .argument('<zone>', 'zone name')
    .argument('<name>', 'owner name')
    .argument('<type>', 'record type (A, AAAA, CNAME, MX, TXT, …)')
    .argument('<value...>', 'value in presentation format, e.g. "10 mail.example.com."')
    .option('--ttl <seconds>', 'TTL (default: the zone default)')
    .action(async (zone: string, name: string, type: string, value: string[], opts: CommonOpts & { ttl?: string }) => {
      const format = outputFormat(opts.output);
      const ttl = parseTtl(opts.ttl);
      const body = await apiJson<unknown>(clientOptions(opts), 'POST', `/v1/zones/${enc(zone)}/records`, {
        name,
        type: type.toUpperCase(),
        value: value.join(' '),
        ...(ttl === undefined ? {} : { ttl }),
      });
      printRecords([recordOf(body)], format);
      printWarnings(body);
    });
  withCommon(record.command('update').description('change the value and/or TTL of record ID'))
    .argument('<zone>', 'zone name')
    .argument('<id>', 'record id (see record list)')
    .option('--value <value>', 'new value')
    .option('--ttl <seconds>', 'new TTL')
    .action(async (zone: string, id: string, opts: CommonOpts & { value?: string; ttl?: string }) => {
      const format = outputFormat(opts.output);
      const ttl = parseTtl(opts.ttl);
      if (opts.value === undefined && ttl === undefined) throw new UsageError('record update needs --value and/or --ttl');
      const body = await apiJson<unknown>(clientOptions(opts), 'PUT', `/v1/zones/${enc(zone)}/records/${enc(id)}`, {
        ...(opts.value === undefined ? {} : { value: opts.value }),
        ...(ttl === undefined ? {} : { ttl }),
      });
      printRecords([recordOf(body)], format);
      printWarnings(body);
    });
  withCommon(record.command('delete').description('delete record ID'))
    .argument('<zone>', 'zone name')
    .argument('<id>', 'record id (see record list)')
    .action(async (zone: string, id: string, opts: CommonOpts) => {
      const format = outputFormat(opts.output);
      await apiJson<unknown>(clientOptions(opts), 'DELETE', `/v1/zones/${enc(zone)}/records/${enc(id)}`);
      process.stdout.write(format === 'json' ? JSON.stringify({ deleted: id }) + '\n' : `deleted ${id}\n`);
    });
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1);

/** The refusal of a zone file larger than the API's body limit, in the words that say what to do. */
export function tooLargeMessage(bytes: number, limit: number | undefined): string {
  return `zone file is ${mib(bytes)} MiB, the API accepts at most ${limit === undefined ? 'less' : `${mib(limit)} MiB`} ([server] max_body); use --db or raise the limit`;
}

/** The body limit a server announces in GET /v1/health (`max_body`), or undefined when it does not say. */
async function announcedBodyLimit(client: ClientOptions): Promise<number | undefined> {
  try {
    const res = await apiRequest({ ...client, timeoutMs: client.timeoutMs ?? 10_000 }, 'GET', '/v1/health');
    const limit = (JSON.parse(res.body) as { max_body?: unknown }).max_body;
    return typeof limit === 'number' && limit > 0 ? limit : undefined;
  } catch {
    return undefined; // the upload itself will say what is wrong with the server
  }
}

/** `mcns zone import ZONE FILE --addr URL`: POST the file to /v1/zones/{zone}/import. */
export async function onlineZoneImport(zone: string, file: string, opts: Record<string, string>): Promise<void> {
  const client = clientOptions(opts);
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  const bytes = Buffer.byteLength(text);
  // Checked before sending: a server refuses an oversized body by closing the connection mid-upload.
  const limit = await announcedBodyLimit(client);
  if (limit !== undefined && bytes > limit) throw new McnsError('invalid', tooLargeMessage(bytes, limit));
  progress(`uploading ${zone} (${bytes} bytes)…`);
  // The server says nothing until the whole import is written: a large zone takes minutes, not the default 30 s.
  const res = await apiRequest({ ...client, timeoutMs: 15 * 60_000 }, 'POST', `/v1/zones/${enc(zone)}/import`, { type: 'text/plain', data: text });
  progressDone();
  if (res.status === 413) throw new McnsError('invalid', tooLargeMessage(bytes, limit ?? bodyLimitOf(res.body)));
  if (res.status < 200 || res.status > 299) throw apiError(res);
  let summary: string;
  try {
    const b = JSON.parse(res.body) as {
      warnings?: string[]; zone?: { serial?: number }; batch?: { first_seq?: number; last_seq?: number }; created?: number; updated?: number; deleted?: number };
    const n = (b.created ?? 0) + (b.updated ?? 0) + (b.deleted ?? 0);
    summary =
      n === 0 && b.batch?.first_seq === undefined
        ? `nothing written (already equal), serial ${b.zone?.serial ?? '?'}`
        : `${b.created ?? 0} created, ${b.updated ?? 0} updated, ${b.deleted ?? 0} deleted (seq ${b.batch?.first_seq}..${b.batch?.last_seq}), serial ${b.zone?.serial ?? '?'}`;
    printWarnings(b);
  } catch {
    summary = '';
  }
  process.stdout.write(`${zone} imported${summary ? `: ${summary}` : ''}\n`);
}

/** The limit a 413 body names ("… at most 4194304 bytes …"), if it does. */
function bodyLimitOf(body: string): number | undefined {
  const m = /at most (\d+) bytes/.exec(body);
  return m ? Number(m[1]) : undefined;
}

/** `mcns zone export ZONE --addr URL [--at X]`: the zone file on stdout. */
export async function onlineZoneExport(zone: string, opts: Record<string, string>): Promise<void> {
  const q = opts.at ? `?at=${enc(opts.at)}` : '';
  const res = await apiRequest(clientOptions(opts), 'GET', `/v1/zones/${enc(zone)}/export${q}`);
  if (res.status < 200 || res.status > 299) throw apiError(res);
  process.stdout.write(res.body);
}
