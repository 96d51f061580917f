/**
 * `mcns history ZONE [NAME [TYPE]]` and `mcns zone history ZONE`: every change of a zone, newest
 * first (--oldest-first for the other way), from a database file (--db) or through the API (--addr /
 * $MCNS_ADDR). Both print the same rows and the same JSON (the API's history view, snake_case), page
 * in chunks (the API serves at most 10,000 entries a request) printing as they come, until --limit
 * entries, and then say how many are left: "N older entries, use --cursor SEQ".
 */
import { Option, type Command } from 'commander';
import type Database from 'better-sqlite3';
import { openDatabase } from '../../events/schema.ts';
import { zoneHistory } from '../../projections/history.ts';
import { zoneName } from '../../projections/decide.ts';
import { apiOwnerName } from '../../records/names.ts';
import { historyView, type HistoryView } from '../../api/views.ts';
import { McnsError } from '../../errors.ts';
import { TableWriter, UsageError } from '../output.ts';
import { apiJson, clientOptions, outputFormat, wantsApi, withApiOptions } from './client.ts';

/** Largest page one request asks for (the API's own maximum). */
const PAGE = 10_000;

interface HistoryOpts {
  db?: string;
  addr?: string;
  caCert?: string;
  token?: string;
  limit: string;
  cursor?: string;
  output: string;
  format?: string;
  oldestFirst?: boolean;
}

/** --limit: a whole number of entries, at least 1 (no upper bound: we page). */
export function parseLimit(text: string, option = '--limit'): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw new UsageError(`${option} must be a whole number of at least 1, got "${text}"`);
  return Number(text);
}

function parseCursor(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text)) throw new UsageError(`--cursor must be a sequence number (from "use --cursor N"), got "${text}"`);
  return Number(text);
}

/** One page source: offline (the database) or online (the API). `remaining`: entries after this page. */
type PageSource = (cursor: number | undefined, limit: number) => Promise<{ entries: HistoryView[]; next?: number; remaining?: number }>;

function offlineSource(db: Database.Database, zone: string, name: string | undefined, type: string | undefined, order: 'asc' | 'desc'): PageSource {
  // History outlives the zone, but a zone that never had an event is a typo, not an empty history.
  if (db.prepare('SELECT 1 FROM events WHERE zone = ? LIMIT 1').get(zone) === undefined) throw new McnsError('not_found', `zone ${zone.replace(/\.$/, '')} not found (no event in this database ever named it)`);
  const fqdn = name === undefined ? undefined : apiOwnerName(name, zone);
  return async (cursor, limit) => {
    const page = zoneHistory(db, zone, { name: fqdn, type, limit, cursor, order });
    return { entries: page.entries.map(historyView), next: page.nextCursor, remaining: page.remaining };
  };
}

function onlineSource(opts: HistoryOpts, zone: string, name: string | undefined, type: string | undefined, order: 'asc' | 'desc'): PageSource {
  const client = clientOptions(opts);
  return async (cursor, limit) => {
    const q = new URLSearchParams({ limit: String(limit), order });
    if (name !== undefined) q.set('name', name);
    if (type !== undefined) q.set('type', type.toUpperCase());
    if (cursor !== undefined) q.set('cursor', String(cursor));
    const body = await apiJson<{ entries: HistoryView[]; next_cursor?: number; remaining?: number }>(client, 'GET', `/v1/zones/${encodeURIComponent(zone)}/history?${q}`);
    return { entries: body.entries, next: body.next_cursor, remaining: body.remaining };
  };
}

/** What a history row says changed: old -> new for updates, the removed value for deletes, the restored point. */
export function describeChange(e: HistoryView): string {
  const side = (s: Record<string, unknown> | undefined): string =>
    s === undefined ? '' : s.value !== undefined ? [s.type, s.ttl, s.value].filter((x) => x !== undefined).join(' ') : Object.entries(s).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const p = e.payload;
  const name = typeof p.name === 'string' ? `${p.name} ` : typeof e.old?.name === 'string' ? `${String(e.old.name)} ` : '';
  if (e.event === 'ZoneRestored') return `to seq ${String(p.at_seq)}${p.at ? ` (${String(p.at)})` : ''}`;
  const by = e.restored_to ? ` (restore to seq ${e.restored_to.seq})` : '';
  if (e.old && e.new) return `${name}${side(e.old)} -> ${side(e.new)}${by}`;
  if (e.old) return `${name}removed ${side(e.old)}${by}`;
  if (e.new) return `${name}${side(e.new)}${by}`;
  if (e.event === 'SerialBumped') return `serial ${String(p.serial)}`;
  // DNSSEC decisions and key lifecycle steps (public key fields are left to -o json).
  if (e.event === 'DnssecConfigured') return p.enabled ? `signing on (${String(p.algorithm)}, ${String(p.denial)})` : 'signing off';
  if (e.event === 'DnssecKeyCreated') return `${String(p.role).toUpperCase()} ${String(p.tag)} created ${String(p.state)}${p.ds ? ', DS wanted at the parent' : ''}${p.replaces !== undefined ? `, replaces ${String(p.replaces)}` : ''}`;
  if (e.event === 'DnssecKeyChanged') return `key ${String(p.tag)} ${String(p.state)}${p.ds ? ', DS wanted at the parent' : ''}: ${String(p.reason)}`;
  if (e.event === 'ZoneImported') return `zone file of ${String(p.records)} records${typeof p.source === 'string' ? ` (${p.source})` : ''}`;
  return [p.name, p.type, p.ttl, p.value].filter((x) => x !== undefined).join(' ');
}

async function run(zoneArg: string, name: string | undefined, type: string | undefined, opts: HistoryOpts): Promise<void> {
  const format = outputFormat(opts.format ?? opts.output);
  const limit = parseLimit(opts.limit);
  let cursor = parseCursor(opts.cursor);
  const zone = zoneName(zoneArg);
  const online = wantsApi(opts);
  if (!online && !opts.db) throw new UsageError('--db PATH or --addr URL (or MCNS_ADDR) is required');
  const db = online ? undefined : openDatabase(opts.db!, { create: false });
  const order = opts.oldestFirst ? 'asc' : 'desc';
  try {
    const source = db ? offlineSource(db, zone, name, type, order) : onlineSource(opts, zoneArg, name, type, order);
    const out = new TableWriter(['SEQ', 'TIME', 'ACTOR', 'SURFACE', 'EVENT', 'CHANGE']);
    let left = limit;
    let more: number | undefined;
    let remaining: number | undefined;
    do {
      const page = await source(cursor, Math.min(left, PAGE));
      if (format === 'json') {
        if (page.entries.length > 0) process.stdout.write(page.entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
      } else out.write(page.entries.map((e) => [e.seq, e.time, e.actor, e.surface ?? '', e.event, describeChange(e)]));
      left -= page.entries.length;
      cursor = page.next;
      more = page.next;
      remaining = page.remaining;
    } while (left > 0 && more !== undefined);
    if (format === 'table') out.end();
    if (more !== undefined) {
      const which = order === 'desc' ? 'older' : 'newer';
      process.stderr.write(`${remaining === undefined ? 'more' : remaining} ${which} ${remaining === 1 ? 'entry' : 'entries'}, use --cursor ${more}\n`);
    }
  } finally {
    db?.close();
  }
}

function options(cmd: Command): Command {
  return withApiOptions(cmd)
    .argument('<zone>', 'zone name')
    .argument('[name]', 'owner name (relative to the zone, "@" for the apex, or absolute)')
    .argument('[type]', 'record type')
    .option('--db <path>', 'read this database file instead of the API')
    .option('--limit <n>', 'at most this many entries', '1000')
    .option('--cursor <seq>', 'continue from this sequence number (printed when --limit cut the list)')
    .option('--oldest-first', 'oldest change first (default: newest first)')
    .action((zone: string, name: string | undefined, type: string | undefined, opts: HistoryOpts) => run(zone, name, type, opts));
}

/** Register `mcns history` (top level) and `mcns zone history`. */
export function registerHistory(program: Command, zone: Command): void {
  const top = options(program.command('history').description('every change of a zone, a name, or a name and type: who, when, through what, old -> new'));
  // The old spelling of -o, still accepted so existing scripts keep working.
  top.addOption(new Option('--format <format>', 'same as --output').hideHelp());
  options(zone.command('history').description('every change of ZONE (same as mcns history)'));
}
