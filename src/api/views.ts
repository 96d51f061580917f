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
  return rs.sort((a, b) => (a.fqdn < b.fqdn ? -1 : a.fqdn > b.fqdn ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
