/**
 * IXFR (RFC 1995) straight from the event log: the events of a zone between the batch that set the
 * client's serial and the current one, folded batch by batch into "deleted" and "added" RRs per
 * serial step (or condensed into one step).
 *
 * Only the changed records are looked at: the value a record had before a change is the newest
 * event of that record id at or before the client's serial (one indexed lookup per changed id),
 * so an IXFR of 100 changes in a zone of a million records reads about 100 rows plus the changes.
 * The answer falls back to AXFR when the client's serial is not one the zone ever had in its
 * current incarnation, or when the difference is larger than the zone itself.
 */
import type Database from 'better-sqlite3';
import { rowToEvent, type EventRow } from '../../events/log.ts';
import type { SoaParams, StoredEvent } from '../../events/types.ts';
import { serialCompare } from '../../projections/serial.ts';
import { soaValue, type ZoneState } from '../../projections/state.ts';
import type { RecordState } from '../../projections/trie.ts';
import type { WireRR } from '../wire.ts';
import { packMessages, soaWire, DEFAULT_MESSAGE_SIZE, type TransferQuestion } from './axfr.ts';
import { recordToWire } from './message.ts';
import { transferable } from '../oversized.ts';
import { servedWithin } from '../../projections/rrset-ttl.ts';

/** The changes from one serial to the next: RRs to delete (as they were) and RRs to add. */
export interface IxfrStep {
  fromSerial: number;
  toSerial: number;
  fromSoa: RecordState;
  toSoa: RecordState;
  deleted: RecordState[];
  added: RecordState[];
}

/** What to answer an IXFR with. */
export type IxfrPlan =
  | { kind: 'uptodate'; soa: RecordState }
  | { kind: 'axfr'; reason: string }
  | { kind: 'ixfr'; steps: IxfrStep[]; soa: RecordState; size: number };

/** How to build IXFR answers. */
export interface IxfrOptions {
  /** One step from the client's serial to the current one instead of one step per batch. */
  condense?: boolean;
}

function soaRecord(zone: string, soa: SoaParams, serial: number): RecordState {
  return { id: 'soa', name: zone, type: 'SOA', ttl: soa.ttl, value: soaValue(soa, serial) };
}

function sameRecord(a: RecordState | null, b: RecordState | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.name === b.name && a.type === b.type && a.value === b.value && a.ttl === b.ttl;
}

/**
 * Drop RRs that a condensed step both deletes and adds (a record deleted and another created with
 * the same content, as a restore or an import can do): on the wire they are the same RR.
 */
function cancelIdentical(step: { deleted: RecordState[]; added: RecordState[] }): void {
  const key = (r: RecordState): string => `${r.name}\u0000${r.type}\u0000${r.ttl}\u0000${r.value}`;
  const deleted = new Map<string, number>();
  for (const r of step.deleted) deleted.set(key(r), (deleted.get(key(r)) ?? 0) + 1);
  const cancelled = new Map<string, number>();
  step.added = step.added.filter((r) => {
    const k = key(r);
    const n = deleted.get(k) ?? 0;
    if (n === 0) return true;
    deleted.set(k, n - 1);
    cancelled.set(k, (cancelled.get(k) ?? 0) + 1);
    return false;
  });
  step.deleted = step.deleted.filter((r) => {
    const k = key(r);
    const n = cancelled.get(k) ?? 0;
    if (n === 0) return true;
    cancelled.set(k, n - 1);
    return false;
  });
}

/** Prepared statements over the events table, one set per database. */
class Queries {
  readonly serialSeq;
  readonly zoneEventsOfType;
  readonly recordAt;
  readonly zoneEvents;

  constructor(db: Database.Database) {
    // Newest first along the (zone, seq) index, so a recent serial is found after a few rows.
    this.serialSeq = db.prepare(
      "SELECT seq, json_extract(payload, '$.serial') AS serial FROM events WHERE zone = ? AND seq <= ? AND record_id IS NULL AND type = 'SerialBumped' ORDER BY seq DESC",
    );
    this.zoneEventsOfType = db.prepare(
      "SELECT * FROM events WHERE zone = ? AND seq > ? AND seq <= ? AND record_id IS NULL AND type IN ('ZoneCreated', 'ZoneUpdated', 'ZoneDeleted') ORDER BY seq",
    );
    this.recordAt = db.prepare('SELECT * FROM events WHERE zone = ? AND record_id = ? AND seq > ? AND seq <= ? ORDER BY seq DESC LIMIT 1');
    this.zoneEvents = db.prepare('SELECT * FROM events WHERE zone = ? AND seq > ? AND seq <= ? ORDER BY seq');
  }
}

const queries = new WeakMap<Database.Database, Queries>();

/**
 * The zone-level events of each zone (created / SOA updated / deleted), read once and then only
 * the new tail: finding the incarnation and the SOA at a serial otherwise means scanning every
 * event of the zone (about 50 ms for a zone of 100,000 records).
 */
class ZoneEventsCache {
  private readonly zones = new Map<string, { scanned: number; events: StoredEvent[] }>();

  /** Zone-level events of `zone` with seq <= `until`, oldest first. */
  get(q: Queries, zone: string, until: number): StoredEvent[] {
    let entry = this.zones.get(zone);
    if (!entry) {
      entry = { scanned: 0, events: [] };
      this.zones.set(zone, entry);
    }
    if (until > entry.scanned) {
      for (const row of q.zoneEventsOfType.iterate(zone, entry.scanned, until) as IterableIterator<EventRow>) entry.events.push(rowToEvent(row));
      entry.scanned = until;
    }
    return entry.events.filter((e) => e.seq <= until);
  }
}

const zoneEventCaches = new WeakMap<Database.Database, ZoneEventsCache>();

function queriesFor(db: Database.Database): Queries {
  let q = queries.get(db);
  if (!q) {
    q = new Queries(db);
    queries.set(db, q);
  }
  return q;
}

/**
 * Plan the answer to an IXFR for `zone` (the state being served) from a client at `clientSerial`,
 * reading the event log in `db`.
 */
export function planIxfr(db: Database.Database, zone: ZoneState, clientSerial: number, opts: IxfrOptions = {}): IxfrPlan {
  const current = soaRecord(zone.name, zone.soa, zone.serial);
  const cmp = serialCompare(clientSerial, zone.serial);
  // RFC 1995 section 2: a client at (or, by serial arithmetic, beyond) our version gets the single SOA.
  if (cmp === 0 || cmp > 0) return { kind: 'uptodate', soa: current };
  if (Number.isNaN(cmp)) return { kind: 'axfr', reason: `serial ${clientSerial} is not comparable with ${zone.serial} (RFC 1982)` };

  const q = queriesFor(db);
  let start: number | undefined;
  for (const row of q.serialSeq.iterate(zone.name, zone.version) as IterableIterator<{ seq: number; serial: number }>) {
    if (row.serial === clientSerial) {
      start = row.seq;
      break;
    }
    // Serials only grow (RFC 1982): past an older one, the client's serial cannot come any more.
    if (serialCompare(row.serial, clientSerial) < 0) break;
  }
  if (start === undefined) return { kind: 'axfr', reason: `serial ${clientSerial} is not in the history of ${zone.name}` };
  let cache = zoneEventCaches.get(db);
  if (!cache) {
    cache = new ZoneEventsCache();
    zoneEventCaches.set(db, cache);
  }
  const zoneEvents = cache.get(q, zone.name, zone.version);
  let incarnation = 0;
  for (const e of zoneEvents) if (e.body.type === 'ZoneCreated') incarnation = e.seq;
  if (start < incarnation) return { kind: 'axfr', reason: `serial ${clientSerial} predates the re-creation of ${zone.name}` };

  // SOA parameters at the client's serial: the zone's creation plus the updates up to then.
  let soa: SoaParams | undefined;
  for (const e of zoneEvents) {
    if (e.seq < incarnation || e.seq > start) continue;
    if (e.body.type === 'ZoneCreated') soa = { ...e.body.payload };
    else if (e.body.type === 'ZoneUpdated' && soa) soa = { ...soa, ...e.body.payload };
  }
  if (!soa) return { kind: 'axfr', reason: `no SOA found for ${zone.name} at serial ${clientSerial}` };

  const limit = zone.records.size + 1;
  // Value of each touched record id as of the fold point (null: absent).
  const known = new Map<string, RecordState | null>();
  const valueOf = (id: string): RecordState | null => {
    if (known.has(id)) return known.get(id)!;
    const row = q.recordAt.get(zone.name, id, incarnation, start) as EventRow | undefined;
    let v: RecordState | null = null;
    if (row) {
      const e = rowToEvent(row);
      if (e.body.type === 'RecordCreated' || e.body.type === 'RecordUpdated') v = { ...e.body.payload };
    }
    known.set(id, v);
    return v;
  };
  const initial = new Map<string, RecordState | null>(); // for condensing: value at the client's serial

  const steps: IxfrStep[] = [];
  let fromSerial = clientSerial;
  let fromSoa = soaRecord(zone.name, soa, clientSerial);
  let batchBefore = new Map<string, RecordState | null>();
  let size = 0;
  for (const row of q.zoneEvents.iterate(zone.name, start, zone.version) as IterableIterator<EventRow>) {
    const e: StoredEvent = rowToEvent(row);
    const b = e.body;
    switch (b.type) {
      case 'ZoneCreated':
      case 'ZoneDeleted':
        return { kind: 'axfr', reason: `${zone.name} was deleted or re-created since serial ${clientSerial}` };
      case 'ZoneUpdated':
        soa = { ...soa, ...b.payload };
        break;
      case 'RecordCreated':
      case 'RecordUpdated':
      case 'RecordDeleted': {
        const id = b.payload.id;
        const before = valueOf(id);
        if (!batchBefore.has(id)) batchBefore.set(id, before);
        if (!initial.has(id)) initial.set(id, before);
        known.set(id, b.type === 'RecordDeleted' ? null : { ...b.payload });
        break;
      }
      case 'SerialBumped': {
        const toSoa = soaRecord(zone.name, soa, b.payload.serial);
        const step: IxfrStep = { fromSerial, toSerial: b.payload.serial, fromSoa, toSoa, deleted: [], added: [] };
        // Records as served: an RRset with mixed TTLs (an older log) went out with its lowest.
        const servedBefore = servedWithin(batchBefore.values());
        const servedAfter = servedWithin([...batchBefore.keys()].map((id) => known.get(id)));
        for (const [id, stored] of batchBefore) {
          const before = stored && servedBefore(stored);
          const storedAfter = known.get(id)!;
          const after = storedAfter && servedAfter(storedAfter);
          if (sameRecord(before, after)) continue;
          if (before) step.deleted.push(before);
          if (after) step.added.push(after);
        }
        steps.push(step);
        size += step.deleted.length + step.added.length + 2;
        fromSerial = b.payload.serial;
        fromSoa = toSoa;
        batchBefore = new Map();
        // Bound the work for very old serials: this many distinct changed records cannot condense below the zone's size.
        if (initial.size > 4 * limit + 1000) return { kind: 'axfr', reason: `serial ${clientSerial} is too old: ${initial.size} records changed since` };
        break;
      }
      default:
        break;
    }
  }
  if (steps.length === 0 || fromSerial !== zone.serial) {
    return { kind: 'axfr', reason: `the log does not lead from serial ${clientSerial} to ${zone.serial}` };
  }
  if (opts.condense || size > limit) {
    const step: IxfrStep = { fromSerial: clientSerial, toSerial: zone.serial, fromSoa: steps[0].fromSoa, toSoa: current, deleted: [], added: [] };
    const servedBefore = servedWithin(initial.values());
    const servedAfter = servedWithin([...initial.keys()].map((id) => known.get(id)));
    for (const [id, stored] of initial) {
      const before = stored && servedBefore(stored);
      const storedAfter = known.get(id)!;
      const after = storedAfter && servedAfter(storedAfter);
      if (sameRecord(before, after)) continue;
      if (before) step.deleted.push(before);
      if (after) step.added.push(after);
    }
    cancelIdentical(step);
    const condensed = step.deleted.length + step.added.length + 2;
    if (condensed > limit) return { kind: 'axfr', reason: `difference from serial ${clientSerial} is larger than the zone` };
    return { kind: 'ixfr', steps: [step], soa: current, size: condensed };
  }
  return { kind: 'ixfr', steps, soa: current, size };
}

/**
 * The records of an IXFR answer (RFC 1995 section 4): SOA, per step old SOA, deletions, new SOA,
 * additions; SOA. A record that cannot fit a message is left out of both its additions and its
 * deletions (AXFR leaves it out too, so no secondary ever holds it) and pushed onto `skipped`.
 */
export function* ixfrRecords(plan: Extract<IxfrPlan, { kind: 'ixfr' }>, skipped?: RecordState[]): Generator<WireRR> {
  const zone = plan.soa.name;
  const current = recordToWire(plan.soa);
  yield current;
  for (const s of plan.steps) {
    yield recordToWire(s.fromSoa);
    for (const r of s.deleted) {
      if (transferable(r, zone)) yield recordToWire(r);
      else skipped?.push(r);
    }
    yield recordToWire(s.toSoa);
    for (const r of s.added) {
      if (transferable(r, zone)) yield recordToWire(r);
      else skipped?.push(r);
    }
  }
  yield current;
}

/** The messages of an IXFR answer (unsigned); see ixfrRecords for `skipped`. */
export function ixfrMessages(plan: Extract<IxfrPlan, { kind: 'ixfr' }>, q: TransferQuestion, maxSize = DEFAULT_MESSAGE_SIZE, skipped?: RecordState[]): Generator<Buffer> {
  return packMessages(q, ixfrRecords(plan, skipped), maxSize);
}

/** The single-SOA answer (up to date, or IXFR over UDP: "ask again over TCP"). */
export function singleSoaMessage(zone: ZoneState, q: TransferQuestion): Buffer {
  const [msg] = packMessages(q, [soaWire(zone)]);
  return msg;
}

/**
 * Apply an IXFR's steps to a set of records (keys "name type value", TTL as value): the check the
 * randomized tests and the benchmark run, the same way a secondary applies the answer.
 */
export function applyIxfr(records: Map<string, number>, plan: Extract<IxfrPlan, { kind: 'ixfr' }>): Map<string, number> {
  const out = new Map(records);
  for (const s of plan.steps) {
    for (const r of s.deleted) {
      const k = `${r.name} ${r.type} ${r.value}`;
      if (!out.has(k)) throw new Error(`IXFR deletes ${k}, which is not in the zone`);
      out.delete(k);
    }
    for (const r of s.added) out.set(`${r.name} ${r.type} ${r.value}`, r.ttl);
  }
  return out;
}
