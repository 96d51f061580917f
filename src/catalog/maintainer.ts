/**
 * Keeps the catalog zone (`[catalog] zone`) equal to the zones MCNS serves. The catalog is an
 * ordinary zone of the log: when zones are created or deleted (through any surface, or by another
 * process on the same database) the maintainer appends one batch to the catalog zone with the
 * difference, so its serial moves, IXFR serves the change from the log and NOTIFY goes out like
 * for any zone. At start-up it creates the catalog zone if needed and catches up with everything
 * that happened while it was not running.
 *
 * Writes happen on a later event-loop turn than the change that caused them (never inside the
 * projection's notification, which runs within the other write), coalesced: a burst of zone
 * creations makes few catalog batches.
 */
import type { Subscription } from 'rxjs';
import type { Ledger } from '../ledger.ts';
import type { RecordOp } from '../projections/decide.ts';
import type { ZoneState } from '../projections/state.ts';
import { McnsError } from '../errors.ts';
import { CATALOG_SOA, catalogRecords, checkGroup, groupOwner, memberId, type CatalogMember } from './catalog.ts';

/** The logging calls used (pino's signature). */
export interface CatalogLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The actor of the catalog's batches. */
export const CATALOG_ACTOR = 'system';

type LedgerLike = Pick<Ledger, 'state' | 'state$' | 'db' | 'execute'>;

/** The ZoneCreated events of the log, followed incrementally: zone -> hash of the newest one. */
class CreatedIndex {
  private readonly hashes = new Map<string, string>();
  private scanned = 0;

  constructor(private readonly db: LedgerLike['db']) {}

  /** Read the zone-level events after the last scan; true when a zone was created or deleted since. */
  update(): boolean {
    const rows = this.db
      .prepare("SELECT seq, zone, type, hash FROM events WHERE seq > ? AND record_id IS NULL AND type IN ('ZoneCreated', 'ZoneDeleted') ORDER BY seq")
      .all(this.scanned) as Array<{ seq: number; zone: string; type: string; hash: string }>;
    for (const r of rows) {
      if (r.type === 'ZoneCreated') this.hashes.set(r.zone, r.hash);
      this.scanned = r.seq;
    }
    const head = this.db.prepare('SELECT MAX(seq) AS seq FROM events').get() as { seq: number | null };
    this.scanned = Math.max(this.scanned, head.seq ?? 0);
    return rows.length > 0;
  }

  hash(zone: string): string | undefined {
    return this.hashes.get(zone);
  }
}

/** The group of each member, as the catalog holds them now: member ID -> group. */
function currentGroups(catalog: ZoneState | undefined): Map<string, string> {
  const groups = new Map<string, string>();
  if (!catalog) return groups;
  const suffix = `.zones.${catalog.name}`;
  for (const r of catalog.records.values()) {
    if (r.type !== 'TXT' || !r.name.startsWith('group.') || !r.name.endsWith(suffix)) continue;
    const id = r.name.slice('group.'.length, r.name.length - suffix.length);
    const m = /^"((?:[^"\\]|\\.)*)"$/.exec(r.value);
    if (m && !id.includes('.')) groups.set(id, m[1].replace(/\\(.)/g, '$1'));
  }
  return groups;
}

/** The operations that make `zone`'s records equal to `want` (compared by name, type and value). */
function difference(zone: ZoneState, want: ReturnType<typeof catalogRecords>): RecordOp[] {
  const key = (r: { name: string; type: string; value: string }): string => `${r.name}|${r.type}|${r.value}`;
  const have = new Map<string, string>();
  for (const r of zone.records.values()) have.set(key(r), r.id);
  const ops: RecordOp[] = [];
  const wanted = new Set<string>();
  for (const r of want) {
    const k = key(r);
    wanted.add(k);
    if (!have.has(k)) ops.push({ op: 'create', name: r.name, type: r.type, value: r.value, ttl: r.ttl });
  }
  for (const [k, id] of have) if (!wanted.has(k)) ops.unshift({ op: 'delete', id });
  return ops;
}

/** Follows the ledger and keeps the catalog zone current; start() subscribes, stop() ends it. */
export class CatalogMaintainer {
  private readonly created: CreatedIndex;
  private sub?: Subscription;
  private pending?: NodeJS.Immediate;
  /** Batches written to the catalog so far (tests). */
  writes = 0;

  constructor(
    private readonly ledger: LedgerLike,
    /** The catalog zone's name, absolute and lowercase. */
    readonly zone: string,
    private readonly logger?: CatalogLogger,
  ) {
    this.created = new CreatedIndex(ledger.db);
  }

  /** Bring the catalog up to date now, then after every change of the log. */
  start(): void {
    if (this.sub) return;
    this.created.update();
    this.reconcile();
    this.sub = this.ledger.state$.subscribe(() => this.schedule());
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      if (!this.ledger.db.open) return;
      const changed = this.created.update();
      if (changed || !this.ledger.state.zones.has(this.zone)) this.reconcile();
    });
  }

  /** The members the catalog should list now: every zone served but itself. */
  members(): CatalogMember[] {
    const out: CatalogMember[] = [];
    for (const name of [...this.ledger.state.zones.keys()].sort()) {
      if (name === this.zone) continue;
      const createdHash = this.created.hash(name);
      if (createdHash) out.push({ zone: name, createdHash });
    }
    return out;
  }

  /** Write the difference between the catalog and the zones served (nothing when equal). */
  reconcile(): void {
    try {
      const state = this.ledger.state;
      const catalog = state.zones.get(this.zone);
      const want = catalogRecords(this.zone, this.members(), currentGroups(catalog));
      if (!catalog) {
        this.ledger.execute({ kind: 'createZone', zone: this.zone, soa: CATALOG_SOA, records: want }, { actor: CATALOG_ACTOR, surface: 'system' });
        this.writes++;
        this.logger?.info({ catalog: this.zone, members: want.length - 2 }, 'catalog zone created');
        return;
      }
      const ops = difference(catalog, want);
      if (ops.length === 0) return;
      const r = this.ledger.execute({ kind: 'changeRecords', zone: this.zone, ops }, { actor: CATALOG_ACTOR, surface: 'system' });
      this.writes++;
      this.logger?.info({ catalog: this.zone, serial: r.serial, added: ops.filter((o) => o.op === 'create').length, removed: ops.filter((o) => o.op === 'delete').length }, 'catalog zone updated');
    } catch (err) {
      // Another writer may have changed it first: the next change of the log tries again.
      this.logger?.warn({ catalog: this.zone, err: (err as Error).message }, 'catalog zone update failed');
    }
  }

  /** Stop following the ledger. */
  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.pending) clearImmediate(this.pending);
    this.pending = undefined;
  }
}

/**
 * Set (or with `group` undefined, clear) the catalog `group` property of `zone` (RFC 9432 4.4.2):
 * one batch on the catalog zone. Consumers may map groups to their own settings (Knot: the
 * catalog-template of that name; BIND: none yet).
 */
export function setZoneGroup(ledger: Pick<Ledger, 'state' | 'db' | 'execute'>, catalogZone: string, zone: string, group: string | undefined, actor: string): { serial?: number } {
  const name = zone.toLowerCase().replace(/\.?$/, '.');
  if (!catalogZone) throw new McnsError('invalid', 'no catalog zone is configured ([catalog] zone)', 'group');
  if (name === catalogZone) throw new McnsError('invalid', 'the catalog zone has no group', 'group');
  if (!ledger.state.zones.has(name)) throw new McnsError('not_found', `zone ${name} does not exist`);
  const catalog = ledger.state.zones.get(catalogZone);
  const row = ledger.db.prepare("SELECT hash FROM events WHERE zone = ? AND record_id IS NULL AND type = 'ZoneCreated' ORDER BY seq DESC LIMIT 1").get(name) as { hash: string } | undefined;
  if (!catalog || !row) throw new McnsError('unavailable', `the catalog zone ${catalogZone} does not list ${name} yet`, 'group');
  if (group !== undefined) {
    try {
      checkGroup(group);
    } catch (err) {
      throw new McnsError('invalid', (err as Error).message, 'group');
    }
  }
  const owner = groupOwner(catalogZone, memberId(row.hash));
  const ops: RecordOp[] = [];
  for (const r of catalog.records.values()) if (r.name === owner && r.type === 'TXT') ops.push({ op: 'delete', id: r.id });
  if (group !== undefined) ops.push({ op: 'create', name: owner, type: 'TXT', value: `"${group.replace(/["\\]/g, (c) => `\\${c}`)}"`, ttl: 0 });
  if (ops.length === 0) return { serial: catalog.serial };
  const r = ledger.execute({ kind: 'changeRecords', zone: catalogZone, ops }, { actor, surface: 'system' });
  return { serial: r.serial };
}
