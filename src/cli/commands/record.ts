/**
 * `mcns record list|add|update|delete` and `mcns zone import|export --addr`: API clients over REST
 * (token from --token or $MCNS_TOKEN, --ca-cert for a private CA, --output table|json).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { McnsError } from '../../errors.ts';
import { JsonArrayWriter, TableWriter, UsageError } from '../output.ts';
import { colorsFor, Progress } from '../terminal.ts';
import { importSummary } from '../../api/views.ts';
import { parseLimit } from './history.ts';
import { apiError, apiJson, apiRequest, clientOptions, outputFormat, withApiOptions, type ClientOptions } from './client.ts';

/** A record as the API returns it. */
export interface ApiRecord {
  id: string;
  name: string;
  /** The full name (absent from servers older than the field). */
  fqdn?: string;
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
  const c = colorsFor(process.stderr);
  for (const line of w) process.stderr.write(`${c.yellow('warning:')} ${String(line)}\n`);
}

/** Columns of a record table: the full name, so a record reads the same whatever zone it was asked of. */
const RECORD_HEADER = ['ID', 'NAME', 'TTL', 'TYPE', 'VALUE'];
const recordRow = (r: ApiRecord): Array<string | number> => [r.id, r.fqdn ?? r.name, r.ttl, r.type, r.value];

/** A listing printed page by page (table or JSON array). */
function recordPrinter(format: 'table' | 'json'): { write(rs: ApiRecord[]): void; end(): void } {
  if (format === 'json') return new JsonArrayWriter();
  const t = new TableWriter(RECORD_HEADER);
  return { write: (rs) => t.write(rs.map(recordRow)), end: () => t.end() };
}

function printRecords(records: ApiRecord[], format: 'table' | 'json'): void {
  const p = recordPrinter(format);
  p.write(records);
  p.end();
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
    .option('--page-size <n>', 'records asked for per request (the listing pages through the zone, printing as it goes)', '1000')
    .action(async (zone: string, opts: CommonOpts & { name?: string; type?: string; at?: string; pageSize: string }) => {
      const format = outputFormat(opts.output);
      const pageSize = parseLimit(opts.pageSize, '--page-size');
      if (pageSize > 10_000) throw new UsageError(`--page-size must be at most 10000 (the API's largest page), got "${opts.pageSize}"`);
      const client = clientOptions(opts);
      const q = new URLSearchParams({ limit: String(pageSize) });
      if (opts.name) q.set('name', opts.name);
      if (opts.type) q.set('type', opts.type.toUpperCase());
      // Pages follow each other by the last record's key: a write during the walk neither repeats nor skips a record it did not touch.
      if (opts.at) q.set('at', opts.at);
      const out = recordPrinter(format);
      let cursor: string | undefined;
      do {
        if (cursor !== undefined) q.set('cursor', cursor);
        const body = await apiJson<{ records?: ApiRecord[]; next_cursor?: string }>(client, 'GET', `/v1/zones/${enc(zone)}/records?${q}`);
        out.write(recordsOf(body));
        cursor = typeof body?.next_cursor === 'string' ? body.next_cursor : undefined;
      } while (cursor !== undefined);
      out.end();
    });
  withCommon(record.command('add').description('add a record (NAME relative to the zone, "@" = apex)'))
    .argument('<zone>', 'zone name')
    .argument('<name>', 'owner name')
    .argument('<type>', 'record type (A, AAAA, CNAME, MX, TXT, …)')
    .argument('<value...>', 'value in presentation format, e.g. "10 mail.example.com."')
    .option('--ttl <seconds>', 'TTL (default: the zone default)')
    .option('--relative', 'NAME is relative to ZONE even if it looks like a name in another zone this server serves')
    .action(async (zone: string, name: string, type: string, value: string[], opts: CommonOpts & { ttl?: string; relative?: boolean }) => {
      const format = outputFormat(opts.output);
      const ttl = parseTtl(opts.ttl);
      const body = await apiJson<unknown>(clientOptions(opts), 'POST', `/v1/zones/${enc(zone)}/records`, {
        name,
        type: type.toUpperCase(),
        value: value.join(' '),
        ...(ttl === undefined ? {} : { ttl }),
        ...(opts.relative ? { relative: true } : {}),
      }).catch((err: unknown) => {
        // The API's hint names its JSON field; on the command line it is an option.
        if (err instanceof McnsError) throw new McnsError(err.kind, err.message.replace('set "relative": true', 'pass --relative'));
        throw err;
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
  const bar = new Progress(`import ${zone}`, 'bytes');
  let res;
  try {
    // The server says nothing until the whole import is written: a large zone takes minutes, not the default 30 s.
    res = await apiRequest({ ...client, timeoutMs: 15 * 60_000 }, 'POST', `/v1/zones/${enc(zone)}/import`, { type: 'text/plain', data: text }, {
      onUpload: (sent, total) => (sent < total ? bar.update(sent, total) : bar.step('uploaded; the server is importing…')),
    });
  } finally {
    bar.stop();
  }
  if (res.status === 413) throw new McnsError('invalid', tooLargeMessage(bytes, limit ?? bodyLimitOf(res.body)));
  if (res.status < 200 || res.status > 299) throw apiError(res);
  let b: { warnings?: string[]; zone?: { serial?: number }; batch?: { first_seq?: number; last_seq?: number }; created?: number; updated?: number; deleted?: number };
  try {
    b = JSON.parse(res.body) as typeof b;
  } catch {
    throw new McnsError('internal', `the API answered the import of ${zone} with something that is not JSON`);
  }
  process.stdout.write(importSummary(zone, { created: b.created ?? 0, updated: b.updated ?? 0, deleted: b.deleted ?? 0, first_seq: b.batch?.first_seq, last_seq: b.batch?.last_seq, serial: b.zone?.serial }) + '\n');
  printWarnings(b);
}

/** The limit a 413 body names ("… at most 4194304 bytes …"), if it does. */
function bodyLimitOf(body: string): number | undefined {
  const m = /at most (\d+) bytes/.exec(body);
  return m ? Number(m[1]) : undefined;
}

/** `mcns zone export ZONE --addr URL [--at X]`: the zone file on stdout. */
export async function onlineZoneExport(zone: string, opts: Record<string, string>): Promise<void> {
  const q = opts.at ? `?at=${enc(opts.at)}` : '';
  const bar = new Progress(`export ${zone}`, 'bytes');
  let res;
  try {
    res = await apiRequest({ ...clientOptions(opts), timeoutMs: 15 * 60_000 }, 'GET', `/v1/zones/${enc(zone)}/export${q}`, undefined, { onDownload: (got) => bar.update(got) });
  } finally {
    bar.stop();
  }
  if (res.status < 200 || res.status > 299) throw apiError(res);
  process.stdout.write(res.body);
}
