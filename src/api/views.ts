/**
 * How ledger objects look on the API: the JSON shapes REST returns and gRPC messages mirror
 * (snake_case; zone names without the trailing dot, record names relative to the zone plus the fqdn).
 */
import type { StoredEvent } from '../events/types.ts';
import type { HistoryEntry } from '../projections/history.ts';
import type { ZoneState } from '../projections/state.ts';
import type { RecordState } from '../projections/trie.ts';
import type { WriteResult } from '../ledger.ts';
import { relativeName } from '../records/names.ts';
import { invalid } from '../errors.ts';

/** A zone on the API. */
export interface ZoneView {
  name: string;
  serial: number;
  primary_ns: string;
  admin_email: string;
  ttl: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
  record_count: number;
}

/** A record on the API. */
export interface RecordView {
  id: string;
  name: string;
  fqdn: string;
  type: string;
  value: string;
  ttl: number;
}

/** The batch a write appended (no id when the write changed nothing). */
export interface BatchView {
  batch_id?: string;
  first_seq?: number;
  last_seq?: number;
  serial?: number;
}

/** One history entry on the API. */
export interface HistoryView {
  seq: number;
  time: string;
  actor: string;
  zone: string;
  batch_id: string;
  event: string;
  payload: Record<string, unknown>;
  /** How the change came in as far as the log tells (api, import, offline, restore). */
  surface?: string;
  /** The value before (updated or deleted record, changed SOA fields). */
  old?: Record<string, unknown>;
  /** The value after (created or updated record, SOA fields set). */
  new?: Record<string, unknown>;
  /** For entries of a restore batch: the point restored to. */
  restored_to?: { seq: number; at?: string };
}

/** One raw event on the API (admin). */
export interface EventView extends Omit<HistoryView, 'surface' | 'old' | 'new' | 'restored_to'> {
  version: number;
  hash: string;
}

/** A zone name for display: "example.com." -> "example.com" (the root stays "."). */
export function displayZone(name: string): string {
  return name === '.' ? '.' : name.slice(0, -1);
}

/** The API view of a zone. */
export function zoneView(z: ZoneState): ZoneView {
  return { name: displayZone(z.name), serial: z.serial, ...z.soa, record_count: z.records.size };
}

/** The API view of a record of `zone`. */
export function recordView(zone: string, r: RecordState): RecordView {
  return { id: r.id, name: relativeName(r.name, zone), fqdn: r.name, type: r.type, value: r.value, ttl: r.ttl };
}

/** The API view of a write's batch. */
export function batchView(w: WriteResult): BatchView {
  return { batch_id: w.batchId, first_seq: w.firstSeq, last_seq: w.lastSeq, serial: w.serial };
}

/** The API view of a history entry. */
export function historyView(e: HistoryEntry): HistoryView {
  return {
    seq: e.seq,
    time: e.time,
    actor: e.actor,
    zone: displayZone(e.zone),
    batch_id: e.batchId,
    event: e.event,
    payload: { ...e.payload },
    surface: e.surface,
    ...(e.old ? { old: { ...e.old } } : {}),
    ...(e.new ? { new: { ...e.new } } : {}),
    ...(e.restoredTo ? { restored_to: e.restoredTo } : {}),
  };
}

/** The API view of a stored event. */
export function eventView(e: StoredEvent): EventView {
  return {
    seq: e.seq,
    time: new Date(e.ts).toISOString(),
    actor: e.actor,
    zone: displayZone(e.zone),
    batch_id: e.batchId,
    event: e.body.type,
    payload: { ...e.body.payload },
    version: e.version,
    hash: e.hash,
  };
}

/** Records sorted for listing: by name, type, value. */
export function sortRecords(rs: RecordView[]): RecordView[] {
  return rs.sort((a, b) => compareKeys(listKey(a.fqdn, a), listKey(b.fqdn, b)));
}

/** A record's place in a listing: name, type, value, then id (unique, so pages never overlap). */
type ListKey = readonly [name: string, type: string, value: string, id: string];

function listKey(name: string, r: { type: string; value: string; id: string }): ListKey {
  return [name, r.type, r.value, r.id];
}

function compareKeys(a: ListKey, b: ListKey): number {
  for (let i = 0; i < 4; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

/**
 * The records of one zone version in listing order, sorted once per version: zone states are
 * immutable, so every page of a walk over a 160,000-record zone reuses one sort (the array holds
 * references to the records, not copies).
 */
const sortedByVersion = new WeakMap<ZoneState['records'], RecordState[]>();

function sortedRecords(z: ZoneState): RecordState[] {
  let sorted = sortedByVersion.get(z.records);
  if (!sorted) {
    sorted = [...z.records.values()].sort((a, b) => compareKeys(listKey(a.name, a), listKey(b.name, b)));
    sortedByVersion.set(z.records, sorted);
  }
  return sorted;
}

/** The opaque `cursor` of a listing: the key of the last record of the page before. */
export function encodeRecordCursor(r: { name: string; type: string; value: string; id: string }): string {
  return Buffer.from(JSON.stringify(listKey(r.name, r))).toString('base64url');
}

/** Read a cursor back; a malformed one is a 400 naming `cursor`. */
export function decodeRecordCursor(cursor: string): ListKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== 4 || !key.every((k) => typeof k === 'string')) throw invalid('cursor', 'is not a cursor this API gave out (use the next_cursor of the previous page)');
  return key as unknown as ListKey;
}

/** What a record listing asks for: absolute name and upper-case type filters, a page size and where to start. */
export interface RecordListQuery {
  zone: string;
  name?: string;
  type?: string;
  limit?: number;
  cursor?: string;
}

/**
 * One page of a zone's records in listing order (name, type, value, id), after `cursor`; every
 * matching record when no `limit` is given. `next_cursor` is present when more records follow.
 * A page costs a binary search plus the records it holds (and, unfiltered, nothing more).
 */
export function recordPage(z: ZoneState, q: RecordListQuery): { records: RecordView[]; next_cursor?: string } {
  const sorted = sortedRecords(z);
  let i = 0;
  if (q.cursor !== undefined) {
    const after = decodeRecordCursor(q.cursor);
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(listKey(sorted[mid].name, sorted[mid]), after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
  }
  const limit = q.limit ?? Number.POSITIVE_INFINITY;
  const records: RecordView[] = [];
  let last: RecordState | undefined;
  for (; i < sorted.length; i++) {
    const r = sorted[i];
    if (q.name !== undefined && r.name !== q.name) continue;
    if (q.type !== undefined && r.type !== q.type) continue;
    if (records.length === limit) return { records, next_cursor: encodeRecordCursor(last!) };
    records.push(recordView(q.zone, r));
    last = r;
  }
  return { records };
}

/** The one header line of every zone file MCNS writes (API and CLI exports alike): the zone-file writer's. */
export { exportHeader } from '../zonefile/writer.ts';

/** What an import changed, counted from its batch (one summary for every path: REST, gRPC, CLI offline). */
export interface ImportCounts {
  created: number;
  updated: number;
  deleted: number;
}

/** Count an import batch's record events. */
export function importCounts(events: ReadonlyArray<{ body: { type: string } }>): ImportCounts {
  const c: ImportCounts = { created: 0, updated: 0, deleted: 0 };
  for (const e of events) {
    if (e.body.type === 'RecordCreated') c.created++;
    else if (e.body.type === 'RecordUpdated') c.updated++;
    else if (e.body.type === 'RecordDeleted') c.deleted++;
  }
  return c;
}

/** The one-line import summary every import path prints ("3 created, 1 updated, 0 deleted (seq 5..9), serial 7"). */
export function importSummary(zone: string, c: ImportCounts & { first_seq?: number; last_seq?: number; serial?: number }): string {
  const z = displayZone(zone.endsWith('.') ? zone : `${zone}.`);
  if (c.first_seq === undefined) return `${z} imported: nothing written (already equal), serial ${c.serial ?? '?'}`;
  return `${z} imported: ${c.created} created, ${c.updated} updated, ${c.deleted} deleted (seq ${c.first_seq}..${c.last_seq}), serial ${c.serial ?? '?'}`;
}
