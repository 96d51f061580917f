/**
 * The one service layer of the management API. REST and gRPC only map transport to these methods:
 * every method authorizes the caller (authz.ts), parses its input with the shared zod schemas,
 * reads the projection or writes through `ledger.execute` with the caller as actor, and returns the
 * API views. Errors are McnsError; each surface maps their kind once.
 */
import type { Observable } from 'rxjs';
import { McnsError, conflict, invalid, notFound } from '../errors.ts';
import type { ChainHead } from '../events/chain-head.ts';
import { setZoneGroup } from '../catalog/maintainer.ts';
import type { StoredEvent } from '../events/types.ts';
import { parseLogPoint, type Ledger, type WriteResult } from '../ledger.ts';
import { zoneName, type RecordOp } from '../projections/decide.ts';
import { recordHistory, zoneHistory } from '../projections/history.ts';
import { lintNames, lintZone } from '../projections/lint.ts';
import type { LedgerState, ZoneState } from '../projections/state.ts';
import { readImport } from '../projections/zone-files.ts';
import { apiOwnerName, apiValueName, isInZone } from '../records/names.ts';
import { canonicalApiValue } from '../records/rdata.ts';
import { parseRRType } from '../records/types.ts';
import { answerAt, type AtAnswer, type AtQuery } from './at-answers.ts';
import type { Identity, IdentityProvider, LoginResult } from './auth.ts';
import { authorize, authorizeRecord, type Operation } from './authz.ts';
import * as S from './schemas.ts';
import { createSnapshot, defaultBackupDir, type SnapshotResult } from './snapshot.ts';
import { configureDnssec, dnssecView, DnssecConfigBody, DnssecRolloverBody, startRollover, type DnssecView } from './dnssec.ts';
import {
  batchView, displayZone, eventView, historyView, importCounts, recordView, zoneView,
  type BatchView, type EventView, type HistoryView, type RecordView, type ZoneView,
} from './views.ts';

/** Options of a write: the serial the caller decided against (If-Match). */
export interface WriteOpts {
  ifMatch?: number;
}

/** What the service needs: the ledger, the identity provider, where snapshots go. */
export interface ServiceOptions {
  ledger: Ledger;
  auth: IdentityProvider;
  /** Snapshot directory; default `backups/` beside the database. */
  backupDir?: string;
  /** Largest REST request body in bytes ([server] max_body), announced by health so clients can check first. */
  maxBody?: number;
  /** The catalog zone ([catalog] zone), hidden from the zone list unless asked for. */
  catalogZone?: string;
}

/** Parse an If-Match value (REST header or gRPC metadata): a serial, optionally quoted or weak. */
export function parseIfMatch(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = (Array.isArray(value) ? value[0] : value).trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (!/^\d{1,10}$/.test(v) || Number(v) > 4294967295) throw invalid('If-Match', `must be a zone serial, got "${value}"`);
  return Number(v);
}

/** Extract the bearer token from an Authorization value; undefined when absent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new McnsError('unauthenticated', 'Authorization must be "Bearer <token>"');
  return m[1];
}

/** The management API's use cases, shared by REST and gRPC. */
/** Start-up phases in GET /v1/health: the checkpoint used, the tail replayed, each phase's milliseconds (index build null while building). */
export interface StartupView {
  checkpoint_seq: number;
  replayed: number;
  checkpoint_load_ms: number;
  tail_replay_ms: number;
  index_build_ms: number | null;
  /** Restoring the serving index from the image saved at the last exit (src/dns/index-image.ts); null: not restored (built). */
  index_image_ms: number | null;
  /** DNS answering questions of its own before its listeners bound ([dns] warm_up, src/dns/warm-up.ts); null: none. */
  dns_warm_up_ms: number | null;
  /**
   * Reading the big zones below the apex, which the checkpoint load leaves for later: after DNS
   * binds, in the background (or before, without an image); null while not done (or none to read).
   */
  zones_read_ms: number | null;
  /**
   * The tail was applied after DNS bound (the serving index answered its end state from the image
   * meanwhile): tail_replay_ms is its time once applied. `tail_pending`: not applied yet.
   */
  tail_deferred: boolean;
  tail_pending: boolean;
}

export class ApiService {
  readonly ledger: Ledger;
  readonly auth: IdentityProvider;
  private readonly backupDir: string;
  private readonly maxBody?: number;
  private readonly catalogZone?: string;
  /** The chain head of the served projection, read once per seq (health is public and polled). */
  private servedHead?: ChainHead;

  constructor(opts: ServiceOptions) {
    this.ledger = opts.ledger;
    this.auth = opts.auth;
    this.backupDir = opts.backupDir ?? defaultBackupDir(opts.ledger.db.name);
    this.maxBody = opts.maxBody;
    this.catalogZone = opts.catalogZone || undefined;
  }

  /** Who is calling: validate the Authorization value (401 when absent or bad, 502 when MCIAS is down). */
  async identify(authorization: string | undefined): Promise<Identity> {
    const token = bearerToken(authorization);
    if (!token) throw new McnsError('unauthenticated', 'missing bearer token (Authorization: Bearer <token>)');
    return this.auth.validate(token);
  }

  /**
   * GET /v1/health: public liveness, plus the log position and the chain head being served (the
   * head is what operators record outside the host to prove later that history was not rewritten;
   * it is a hash, so public like the seq).
   */
  health(): { status: 'ok'; seq: number; chain_head: ChainHead; max_body?: number; startup: StartupView } {
    // The seq DNS serves (a liveness probe must not apply a deferred tail: Ledger.servingState).
    const seq = this.ledger.servingState.seq;
    if (this.servedHead?.seq !== seq) this.servedHead = { seq, hash: this.ledger.log.hashAt(seq) ?? '' };
    // Start-up phases (issue 17), so `mcns status` can say why a start was slow.
    const st = this.ledger.startup;
    const startup: StartupView = {
      checkpoint_seq: st.checkpointSeq ?? 0,
      replayed: st.replayed,
      checkpoint_load_ms: st.phases.checkpointLoadMs,
      tail_replay_ms: st.phases.tailReplayMs,
      index_build_ms: st.phases.indexBuildMs ?? null,
      index_image_ms: st.phases.indexImageMs ?? null,
      dns_warm_up_ms: st.phases.warmUpMs ?? null,
      zones_read_ms: st.phases.zonesReadMs ?? null,
      tail_deferred: st.tailDeferred === true,
      tail_pending: this.ledger.tailPending,
    };
    return { status: 'ok', seq, chain_head: this.servedHead, ...(this.maxBody !== undefined ? { max_body: this.maxBody } : {}), startup };
  }

  /** POST /v1/auth/login: forwarded to MCIAS. */
  async login(body: unknown): Promise<LoginResult> {
    authorize(undefined, 'auth.login');
    const req = S.parseInput(S.LoginBody, body);
    return this.auth.login(req);
  }

  /** POST /v1/auth/logout: revoke the caller's token. */
  async logout(id: Identity, authorization: string | undefined): Promise<{ status: 'ok' }> {
    authorize(id, 'auth.logout');
    await this.auth.logout(bearerToken(authorization) ?? '');
    return { status: 'ok' };
  }

  // ---- zones ----------------------------------------------------------------------------------

  /**
   * Answer a read from the current projection, or (with `at`) from the projection at that point of
   * the log. Past points are folded by the point-in-time worker, never on this thread (which answers
   * DNS); both go through answerAt, so they answer alike.
   */
  private async readAt<Q extends AtQuery>(at: string | number | undefined, query: Q): Promise<Exclude<AtAnswer<Q['kind']>, { missing: true }>['value']> {
    let answer: AtAnswer<Q['kind']>;
    if (at === undefined) answer = answerAt(this.ledger.state, query);
    else {
      const point = parseLogPoint(String(at), 'at');
      const newest = this.ledger.state.seq;
      if ('seq' in point && point.seq > newest) throw invalid('at', `seq ${point.seq} is after the newest event (${newest})`);
      const seq = Math.min(this.ledger.log.seqAt(point), newest);
      answer = seq === newest ? answerAt(this.ledger.state, query) : await this.ledger.pointInTime.read(seq, query);
    }
    if (answer.missing) {
      const zone = displayZone((query as { zone: string }).zone);
      throw notFound(at === undefined ? `zone ${zone} does not exist` : `zone ${zone} did not exist at ${at}`);
    }
    return answer.value;
  }

  private zoneIn(state: LedgerState, zone: string, label = 'now'): ZoneState {
    const z = state.zones.get(zone);
    if (!z) throw notFound(label === 'now' ? `zone ${displayZone(zone)} does not exist` : `zone ${displayZone(zone)} did not exist ${label}`);
    return z;
  }

  /** GET /v1/zones. */
  async listZones(id: Identity, query?: unknown): Promise<{ zones: ZoneView[] }> {
    authorize(id, 'zones.list');
    const q = S.parseInput(S.ZoneListQuery, query);
    const list = await this.readAt(q.at, { kind: 'zones' });
    // The catalog is MCNS's own bookkeeping for the secondaries: listed only when asked for.
    if (!this.catalogZone || q.catalog === 'true') return list;
    const hidden = displayZone(this.catalogZone);
    return { ...list, zones: list.zones.filter((z) => z.name !== hidden) };
  }

  /** GET /v1/zones/{zone} (?at=). */
  async getZone(id: Identity, zone: string, query?: unknown): Promise<{ zone: ZoneView }> {
    authorize(id, 'zones.get');
    const name = zoneName(zone);
    const q = S.parseInput(S.AtQuery, query);
    return this.readAt(q.at, { kind: 'zone', zone: name });
  }

  private write(id: Identity, cmd: Parameters<Ledger['execute']>[0], opts: WriteOpts): WriteResult {
    return this.ledger.execute(cmd, { actor: id.username, ifMatch: opts.ifMatch, surface: id.surface });
  }

  /** POST /v1/zones (admin). */
  createZone(id: Identity, body: unknown, opts: WriteOpts = {}): { zone: ZoneView; batch: BatchView } {
    authorize(id, 'zones.create');
    const b = S.parseInput(S.ZoneCreateBody, body);
    const name = zoneName(b.name, 'name');
    const { name: _n, ...soa } = b;
    const w = this.write(id, { kind: 'createZone', zone: name, soa }, opts);
    return { zone: zoneView(this.zoneIn(this.ledger.state, name)), batch: batchView(w) };
  }

  /** PUT /v1/zones/{zone} (admin): SOA parameters. */
  updateZone(id: Identity, zone: string, body: unknown, opts: WriteOpts = {}): { zone: ZoneView; batch: BatchView } {
    authorize(id, 'zones.update');
    const name = zoneName(zone);
    const { group, ...soa } = S.parseInput(S.ZoneUpdateBody, body);
    this.zoneIn(this.ledger.state, name);
    // The group lives in the catalog zone (its own batch there); the SOA parameters in this zone's.
    if (group !== undefined) setZoneGroup(this.ledger, this.catalogZone ?? '', name, group ?? undefined, id.username);
    const w = this.write(id, { kind: 'updateZone', zone: name, soa }, opts);
    return { zone: zoneView(this.zoneIn(this.ledger.state, name)), batch: batchView(w) };
  }

  /** DELETE /v1/zones/{zone} (admin): gone from DNS, history kept. */
  deleteZone(id: Identity, zone: string, opts: WriteOpts = {}): { batch: BatchView } {
    authorize(id, 'zones.delete');
    const name = zoneName(zone);
    this.zoneIn(this.ledger.state, name);
    return { batch: batchView(this.write(id, { kind: 'deleteZone', zone: name }, opts)) };
  }

  // ---- records --------------------------------------------------------------------------------

  private recordName(zone: string, input: string, field = 'name'): string {
    let abs: string;
    try {
      abs = apiOwnerName(input, zone);
    } catch (err) {
      throw invalid(field, (err as Error).message);
    }
    if (!isInZone(abs, zone)) throw invalid(field, `${abs} is not inside zone ${displayZone(zone)}`);
    return abs;
  }

  /**
   * A name for a new record. A relative name that reads as a name in another zone we serve
   * ("www.other.test" given to newco.test) is most likely a forgotten trailing dot: refused with
   * the hint, unless the caller says it is meant relative (`relative: true`, `--relative`).
   */
  private newRecordName(zone: string, input: string, relative: boolean | undefined, field = 'name'): string {
    const abs = this.recordName(zone, input, field);
    const raw = input.trim();
    if (relative === true || raw.endsWith('.') || raw === '@' || abs === zone) return abs;
    const literal = `${raw.toLowerCase()}.`;
    if (isInZone(literal, zone)) return abs; // already ends in the zone's own name: absolute
    const other = this.servingZoneOf(literal);
    if (other !== undefined && other !== zone && other !== '.') {
      throw invalid(
        field,
        `"${raw}" is relative to ${displayZone(zone)} (${abs}), but it looks like a name in zone ${displayZone(other)} that this server also serves: write "${raw}." for that name, or set "relative": true if ${abs} is meant`,
      );
    }
    return abs;
  }

  /** The zone (closest enclosing) that serves `name` now, if any. */
  private servingZoneOf(name: string): string | undefined {
    const zones = this.ledger.state.zones;
    for (let n = name; ; ) {
      if (zones.has(n)) return n;
      if (n === '.') return undefined;
      const dot = n.indexOf('.');
      n = dot === n.length - 1 ? '.' : n.slice(dot + 1);
    }
  }

  /**
   * Names inside a value are absolute (trailing dot optional), except "@" and single labels, which
   * are relative to the zone ("10 mail" is mail.<zone>); see apiValueName. Resolved here because the
   * ledger's rules take values as absolute presentation text.
   */
  private resolveValue(zone: string, type: string, value: string, field: string): string {
    const t = parseRRType(type);
    if (t === undefined) return value; // decide names the bad type
    try {
      return canonicalApiValue(t, value.trim(), (raw) => apiValueName(raw, zone));
    } catch (err) {
      throw invalid(field, (err as Error).message);
    }
  }

  /** GET /v1/zones/{zone}/records (?name= &type= &at=). */
  async listRecords(id: Identity, zone: string, query?: unknown): Promise<{ records: RecordView[]; next_cursor?: string }> {
    authorize(id, 'records.list');
    const name = zoneName(zone);
    const q = S.parseInput(S.RecordsQuery, query);
    const want = q.name === undefined ? undefined : this.recordName(name, q.name);
    return this.readAt(q.at, { kind: 'records', zone: name, name: want, type: q.type?.toUpperCase(), limit: q.limit, cursor: q.cursor });
  }

  /** GET /v1/zones/{zone}/records/{id}. */
  getRecord(id: Identity, zone: string, recordId: string): { record: RecordView } {
    authorize(id, 'records.get');
    const name = zoneName(zone);
    const r = this.zoneIn(this.ledger.state, name).records.get(recordId);
    if (!r) throw notFound(`record ${recordId} does not exist in zone ${displayZone(name)}`);
    return { record: recordView(name, r) };
  }

  private recordAfter(zone: string, recordId: string): RecordView {
    const r = this.zoneIn(this.ledger.state, zone).records.get(recordId);
    if (!r) throw new McnsError('internal', `record ${recordId} missing after its write`);
    return recordView(zone, r);
  }

  /**
   * Turn validated changes into ledger ops, checking the caller's name scope on each: creates by
   * their new name, updates and deletes by the name of the record they touch.
   */
  private toOps(id: Identity, op: Operation, zone: ZoneState, changes: Array<import('zod').output<typeof S.Change>>): RecordOp[] {
    return changes.map((c, i) => {
      const field = changes.length > 1 ? `changes.${i}.name` : 'name';
      const valueField = changes.length > 1 ? `changes.${i}.value` : 'value';
      const typeField = changes.length > 1 ? `changes.${i}.type` : 'type';
      if (c.op === 'create') {
        const abs = this.newRecordName(zone.name, c.name, c.relative, field);
        authorizeRecord(id, op, zone.name, abs, c.type, { name: field, type: typeField });
        return { op: 'create', name: abs, type: c.type, value: this.resolveValue(zone.name, c.type, c.value, valueField), ttl: c.ttl };
      }
      const existing = zone.records.get(c.id);
      if (!existing) throw notFound(`${changes.length > 1 ? `change ${i}: ` : ''}record ${c.id} does not exist in zone ${displayZone(zone.name)}`);
      authorizeRecord(id, op, zone.name, existing.name, existing.type, { name: field, type: typeField });
      if (c.op === 'delete') return { op: 'delete', id: c.id };
      return { op: 'update', id: c.id, value: c.value === undefined ? undefined : this.resolveValue(zone.name, existing.type, c.value, valueField), ttl: c.ttl };
    });
  }

  /** Lint warnings (CNAME loops, address targets) for the names `ops` touched, against the state after the write. */
  private lint(before: ZoneState, ops: RecordOp[]): string[] {
    const names = ops.map((op) => (op.op === 'create' ? op.name : before.records.get(op.id)?.name)).filter((n): n is string => n !== undefined);
    return lintNames(this.ledger.state, names);
  }

  /** POST /v1/zones/{zone}/records. */
  createRecord(id: Identity, zone: string, body: unknown, opts: WriteOpts = {}): { record: RecordView; batch: BatchView; warnings: string[] } {
    authorize(id, 'records.create');
    const name = zoneName(zone);
    const b = S.parseInput(S.RecordCreateBody, body);
    const z = this.zoneIn(this.ledger.state, name);
    const ops = this.toOps(id, 'records.create', z, [{ op: 'create', ...b }]);
    const w = this.write(id, { kind: 'changeRecords', zone: name, ops }, opts);
    const created = w.events.find((e) => e.body.type === 'RecordCreated');
    if (!created || created.body.type !== 'RecordCreated') throw new McnsError('internal', 'record create appended no RecordCreated');
    return { record: this.recordAfter(name, created.body.payload.id), batch: batchView(w), warnings: [...(w.notes ?? []), ...this.lint(z, ops)] };
  }

  /** PUT /v1/zones/{zone}/records/{id}. */
  updateRecord(id: Identity, zone: string, recordId: string, body: unknown, opts: WriteOpts = {}): { record: RecordView; batch: BatchView; warnings: string[] } {
    authorize(id, 'records.update');
    const name = zoneName(zone);
    const b = S.parseInput(S.RecordUpdateBody, body);
    const z = this.zoneIn(this.ledger.state, name);
    const ops = this.toOps(id, 'records.update', z, [{ op: 'update', id: recordId, ...b }]);
    const w = this.write(id, { kind: 'changeRecords', zone: name, ops }, opts);
    return { record: this.recordAfter(name, recordId), batch: batchView(w), warnings: [...(w.notes ?? []), ...this.lint(z, ops)] };
  }

  /** DELETE /v1/zones/{zone}/records/{id}. */
  deleteRecord(id: Identity, zone: string, recordId: string, opts: WriteOpts = {}): { batch: BatchView } {
    authorize(id, 'records.delete');
    const name = zoneName(zone);
    const z = this.zoneIn(this.ledger.state, name);
    const ops = this.toOps(id, 'records.delete', z, [{ op: 'delete', id: recordId }]);
    return { batch: batchView(this.write(id, { kind: 'changeRecords', zone: name, ops }, opts)) };
  }

  /** POST /v1/zones/{zone}/changes: one atomic batch, one serial bump. */
  changes(id: Identity, zone: string, body: unknown, opts: WriteOpts = {}): { batch: BatchView; records: RecordView[]; warnings: string[] } {
    authorize(id, 'records.changes');
    const name = zoneName(zone);
    const changes = S.parseInput(S.ChangesBody, body, 'changes');
    const z = this.zoneIn(this.ledger.state, name);
    const ops = this.toOps(id, 'records.changes', z, changes);
    const w = this.write(id, { kind: 'changeRecords', zone: name, ops }, opts);
    const now = this.zoneIn(this.ledger.state, name);
    const touched = new Set<string>();
    for (const e of w.events) {
      if (e.body.type === 'RecordCreated' || e.body.type === 'RecordUpdated') touched.add(e.body.payload.id);
    }
    const records = [...touched].flatMap((rid) => {
      const r = now.records.get(rid);
      return r ? [recordView(name, r)] : [];
    });
    return { batch: batchView(w), records, warnings: [...(w.notes ?? []), ...this.lint(z, ops)] };
  }

  // ---- history, export/import, restore ---------------------------------------------------------

  private knownZone(zone: string): void {
    // History outlives the zone: any zone that ever had an event has a history.
    if (!this.ledger.state.heads.has(zone)) throw notFound(`zone ${displayZone(zone)} has no history`);
  }

  private timeFilter(text: string | undefined, field: string): number | undefined {
    if (text === undefined) return undefined;
    const p = parseLogPoint(text, field);
    if (!('time' in p)) throw invalid(field, 'must be an RFC 3339 time (use cursor for sequence numbers)');
    return p.time;
  }

  /** GET /v1/zones/{zone}/history: every change with actor, time, seq and batch; paged by cursor. */
  zoneHistory(id: Identity, zone: string, query?: unknown): { entries: HistoryView[]; next_cursor?: number; remaining?: number } {
    authorize(id, 'zones.history');
    const name = zoneName(zone);
    const q = S.parseInput(S.HistoryQuery, query);
    this.knownZone(name);
    let recordName: string | undefined;
    if (q.name !== undefined) {
      try {
        recordName = apiOwnerName(q.name, name);
      } catch (err) {
        throw invalid('name', (err as Error).message);
      }
    }
    const page = zoneHistory(this.ledger.db, name, {
      name: recordName,
      type: q.type,
      since: this.timeFilter(q.since, 'since'),
      until: this.timeFilter(q.until, 'until'),
      batchId: q.batch_id ?? q.batch,
      actor: q.actor,
      order: q.order,
      limit: q.limit,
      cursor: q.cursor,
    });
    return {
      entries: page.entries.map(historyView),
      ...(page.nextCursor !== undefined ? { next_cursor: page.nextCursor, remaining: page.remaining } : {}),
    };
  }

  /** GET /v1/zones/{zone}/records/{id}/history: every version of one record (outlives the record). */
  recordHistory(id: Identity, zone: string, recordId: string): { entries: HistoryView[] } {
    authorize(id, 'records.history');
    const name = zoneName(zone);
    const entries = recordHistory(this.ledger.db, name, recordId);
    if (entries.length === 0) throw notFound(`record ${recordId} has no history in zone ${displayZone(name)}`);
    return { entries: entries.map(historyView) };
  }

  /** GET /v1/zones/{zone}/export (?at=): the zone as an RFC 1035 zone file. */
  async exportZone(id: Identity, zone: string, query?: unknown): Promise<string> {
    authorize(id, 'zones.export');
    const name = zoneName(zone);
    const q = S.parseInput(S.AtQuery, query);
    return this.readAt(q.at, { kind: 'export', zone: name, note: q.at !== undefined ? `at=${q.at}` : '' });
  }

  /** POST /v1/zones/{zone}/import (admin): create the zone or make it equal to the file; all or nothing. */
  importZone(id: Identity, zone: string, text: unknown, opts: WriteOpts = {}): { zone: ZoneView; batch: BatchView; created: number; updated: number; deleted: number; warnings: string[] } {
    authorize(id, 'zones.import');
    const name = zoneName(zone);
    if (typeof text !== 'string' || text.trim() === '') throw invalid('zone file', 'the body must be a non-empty RFC 1035 zone file (text/plain)');
    // No path: an API import is one self-contained file, so $INCLUDE is refused with the reason.
    const { command, warnings: fileWarnings } = readImport(name, text, { source: 'api' });
    const w = this.write(id, command, opts);
    return {
      zone: zoneView(this.zoneIn(this.ledger.state, name)),
      batch: batchView(w),
      ...importCounts(w.events),
      warnings: [...fileWarnings, ...(w.notes ?? []), ...lintZone(this.ledger.state, name)],
    };
  }

  /** POST /v1/zones/{zone}/restore (admin): one batch making the zone equal to its state at `at`. */
  restoreZone(id: Identity, zone: string, body: unknown, opts: WriteOpts = {}): { zone: ZoneView | null; batch: BatchView; restored_to_seq: number } {
    authorize(id, 'zones.restore');
    const name = zoneName(zone);
    const b = S.parseInput(S.RestoreBody, body);
    this.knownZone(name);
    const point = parseLogPoint(String(b.at), 'at');
    const atSeq = this.ledger.log.seqAt(point);
    if (atSeq > this.ledger.state.seq) throw invalid('at', `seq ${atSeq} is after the newest event (${this.ledger.state.seq})`);
    const target = this.ledger.stateAt({ seq: atSeq }).zones.get(name);
    if (!target && this.ledger.state.zones.has(name) && b.allow_delete !== true) {
      throw conflict(`zone ${displayZone(name)} did not exist at ${b.at} (seq ${atSeq}): restoring to that point would delete it; send "allow_delete": true to do that`, 'at');
    }
    const w = this.write(id, { kind: 'restoreZone', zone: name, target, atSeq, at: typeof b.at === 'string' ? b.at : undefined }, opts);
    const now = this.ledger.state.zones.get(name);
    return { zone: now ? zoneView(now) : null, batch: batchView(w), restored_to_seq: atSeq };
  }

  // ---- admin ----------------------------------------------------------------------------------

  /** GET /v1/events (admin): the raw log after a seq. */
  listEvents(id: Identity, query?: unknown): { events: EventView[]; next_after?: number } {
    authorize(id, 'events.list');
    const q = S.parseInput(S.EventsQuery, query);
    const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
    const events = this.ledger.log.read(q.after ?? 0, limit).map(eventView);
    return { events, ...(events.length === limit ? { next_after: events[events.length - 1].seq } : {}) };
  }

  /** gRPC WatchEvents (admin): every event after `after`, then every new one, as batches. */
  watchEvents(id: Identity, after: number): Observable<StoredEvent[]> {
    authorize(id, 'events.watch');
    if (!Number.isInteger(after) || after < 0) throw invalid('after', 'must be a non-negative integer');
    return this.ledger.log.follow(after);
  }

  // ---- DNSSEC (admin) ---------------------------------------------------------------------------

  /** GET /v1/zones/{zone}/dnssec: settings, keys (public halves) and the DS set for the parent. */
  getDnssec(id: Identity, zone: string): DnssecView {
    authorize(id, 'dnssec.get');
    return dnssecView(this.zoneIn(this.ledger.state, zoneName(zone)));
  }

  /** PUT /v1/zones/{zone}/dnssec: sign the zone (new KSK and ZSK), change its denial, or stop signing. */
  putDnssec(id: Identity, zone: string, body: unknown, opts: WriteOpts = {}): DnssecView & { batch: BatchView } {
    authorize(id, 'dnssec.configure');
    const name = zoneName(zone);
    const w = configureDnssec(this.ledger, name, S.parseInput(DnssecConfigBody, body), { actor: id.username, ifMatch: opts.ifMatch, surface: id.surface });
    return { ...dnssecView(this.zoneIn(this.ledger.state, name)), batch: batchView(w) };
  }

  /** POST /v1/zones/{zone}/dnssec/rollover: a new key of the role; the driver takes the steps as they fall due. */
  rolloverDnssec(id: Identity, zone: string, body: unknown, opts: WriteOpts = {}): DnssecView & { batch: BatchView } {
    authorize(id, 'dnssec.rollover');
    const name = zoneName(zone);
    const { role } = S.parseInput(DnssecRolloverBody, body);
    const w = startRollover(this.ledger, name, role, { actor: id.username, ifMatch: opts.ifMatch, surface: id.surface });
    return { ...dnssecView(this.zoneIn(this.ledger.state, name)), batch: batchView(w) };
  }

  /** POST /v1/snapshots (admin): checkpoint + VACUUM INTO the backup directory. */
  snapshot(id: Identity): SnapshotResult {
    authorize(id, 'snapshots.create');
    return createSnapshot(this.ledger, this.backupDir);
  }
}
