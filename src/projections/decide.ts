/**
 * `decide`: check a command against the current state and turn it into the events of one batch.
 *
 * Every rule lives here and runs before anything is appended: names inside the zone, values that
 * parse for their type, TTL range, duplicates, CNAME exclusivity, zone existence. Each operation of a
 * batch is checked against the state left by the operations before it (by folding the drafted events
 * with the same `evolve` the projection uses), so a batch is valid exactly when replaying it is.
 */
import type { EventBody, EventDraft, SoaParams } from '../events/types.ts';
import { McnsError, conflict, invalid, notFound } from '../errors.ts';
import { isInZone, normalizeName } from '../records/names.ts';
import { formatRData, parseRData } from '../records/rdata.ts';
import { MAX_TTL, RR_TYPES, parseRRType, type RRType } from '../records/types.ts';
import { MAX_MESSAGE_BYTES, MAX_RDATA_BYTES, RESPONSE_RESERVE_BYTES, rdataWireLength, rrsetResponseLength } from '../records/wire-size.ts';
import { decideDnssec, refuseDerivedWrite, type DnssecChange } from './decide-dnssec.ts';
import { hasMixedTtls, rrsetTtl } from './rrset-ttl.ts';
import { nextSerial, nextSerialAfter, serialCompare } from './serial.ts';
import { DraftEvolver, labelsBelow, type LedgerState, type ZoneState } from './state.ts';
import { findNode, type RecordState, type TrieNode } from './trie.ts';
import { StringTable } from '../zonefile/string-table.ts';
import { ZoneFileRecord } from '../zonefile/reader.ts';
import { RepeatedIds } from './repeated-ids.ts';

/** Whether converge may create into an empty zone in bulk (see createAllIntoEmpty). */
let bulkCreates = true;

/** Turn the bulk creates off or on: only for the tests that prove them equal to the general path. */
export function setBulkCreates(enabled: boolean): void {
  bulkCreates = enabled;
}

/** Most notes a decision carries (the API's warnings beside a 2xx). */
const MAX_NOTES = 100;

/** Defaults for SOA parameters not given at zone creation (the values BIND and Knot examples use). */
export const SOA_DEFAULTS = { ttl: 300, refresh: 3600, retry: 600, expire: 86400, minimum: 300 } as const;

/** One operation of a change batch; names are absolute. */
export type RecordOp =
  | { op: 'create'; name: string; type: string; value: string; ttl?: number; id?: string }
  | { op: 'update'; id: string; value?: string; ttl?: number }
  | { op: 'delete'; id: string };

/** A record as an import or restore wants it to be. */
export interface DesiredRecord {
  id?: string;
  name: string;
  type: RRType;
  value: string;
  ttl: number;
}

/** Everything the ledger can be asked to do. */
export type Command =
  | { kind: 'createZone'; zone: string; soa: Partial<SoaParams> & Pick<SoaParams, 'primary_ns' | 'admin_email'>; records?: DesiredRecord[]; serial?: number }
  | { kind: 'updateZone'; zone: string; soa: Partial<SoaParams> }
  | { kind: 'deleteZone'; zone: string }
  | { kind: 'changeRecords'; zone: string; ops: RecordOp[] }
  | { kind: 'importZone'; zone: string; soa?: SoaParams; serial?: number; records: DesiredRecord[]; source?: string }
  | { kind: 'restoreZone'; zone: string; target: ZoneState | undefined; atSeq: number; at?: string }
  | { kind: 'dnssec'; zone: string; change: DnssecChange };

/** What decide needs from outside: the clock and the id generator (both injectable for tests). */
export interface DecideContext {
  now: number;
  newId: () => string;
  /**
   * Told of the batch's drafts so far, now and then while a large import is decided (every
   * {@link DRAFTS_EVERY} records of the bulk creates): the ledger streams them to the bulk append
   * worker while the rest is decided. The array only grows, except when the bulk creates give up
   * midway (the general path then drafts again): a caller must check that the drafts it took are
   * the very objects of the decision's (Ledger.executeInBulk does).
   */
  onDrafts?: (drafts: readonly EventDraft[]) => void;
}

/** Records between two DecideContext.onDrafts calls. */
export const DRAFTS_EVERY = 1024;

/** The decided batch: drafts for one zone and the version they were decided against. */
export interface Decision {
  zone: string;
  expectedVersion: number;
  drafts: EventDraft[];
  /**
   * What the batch did beyond what was asked, for the writer to see beside the 2xx (the API adds
   * them to its warnings): a TTL given to one record set the TTL of its whole RRset.
   */
  notes: string[];
}

/** Normalise a zone name from user input, naming the field on error. */
export function zoneName(input: string, field = 'zone'): string {
  try {
    return normalizeName(input);
  } catch (err) {
    throw invalid(field, (err as Error).message);
  }
}

function checkTtl(ttl: unknown, field = 'ttl'): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
    throw invalid(field, `must be an integer from 0 to ${MAX_TTL}, got ${JSON.stringify(ttl)}`);
  }
  return ttl;
}

function checkType(type: string): RRType {
  const t = parseRRType(type);
  if (t === undefined) {
    throw invalid('type', `unsupported record type "${type}" (supported: ${RR_TYPES.join(', ')}, and TYPEnnn for any other data type, RFC 3597)`);
  }
  if (t === 'SOA') throw invalid('type', 'the SOA record belongs to the zone: change it with the zone update');
  return t;
}

/** A checked value: its canonical text and the length of its rdata on the wire. */
interface CheckedValue {
  value: string;
  rdataLength: number;
}

/**
 * A value that parses for its type and whose rdata fits a resource record (RDLENGTH is 16 bits):
 * anything longer could be stored but never answered nor transferred.
 */
function checkValue(type: RRType, value: unknown): CheckedValue {
  if (typeof value !== 'string' || value.trim() === '') throw invalid('value', 'must be a non-empty string');
  let rdata;
  try {
    rdata = parseRData(type, value.trim());
  } catch (err) {
    throw invalid('value', (err as Error).message);
  }
  const rdataLength = rdataWireLength(rdata);
  if (rdataLength > MAX_RDATA_BYTES) {
    throw invalid('value', `the ${type} record data would be ${rdataLength} bytes on the wire; a DNS record holds at most ${MAX_RDATA_BYTES} (RFC 1035 3.2.1)`);
  }
  return { value: formatRData(rdata), rdataLength };
}

/**
 * The RDATA length of a desired record whose value is already parsed and canonical, or undefined.
 * The zone-file reader parses every value of an import once (it must, to resolve relative names);
 * checking the canonical text again would parse a million values twice. Such a record is one of the
 * reader's own ZoneFileRecords (readonly, and readImport hands them over as they are), so nothing
 * that arrives as data (JSON bodies, restores, copies) can claim to be checked. decide takes its
 * value as it is; the limits of checkValue still apply.
 */
function precheckedLength(d: DesiredRecord): number | undefined {
  return d instanceof ZoneFileRecord ? d.rdataLength : undefined;
}

/** Wire length of a stored (canonical) value's rdata. */
function storedRdataLength(type: RRType, value: string): number {
  try {
    return rdataWireLength(parseRData(type, value));
  } catch {
    return value.length;
  }
}

/** "hostmaster.x@example.com" -> "hostmaster\\.x.example.com" (dots of the local part escaped). */
function mailboxToName(mailbox: string): string {
  const at = mailbox.lastIndexOf('@');
  return `${mailbox.slice(0, at).replace(/\./g, '\\.')}.${mailbox.slice(at + 1)}`;
}

function checkSoa(soa: Partial<SoaParams>): Partial<SoaParams> {
  const out: Partial<SoaParams> = {};
  for (const key of ['primary_ns', 'admin_email'] as const) {
    const v = soa[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') throw invalid(key, 'must be a domain name');
    // An e-mail address is written with its "@" as the first label separator (RFC 1035 8).
    const text = key === 'admin_email' && v.includes('@') ? mailboxToName(v) : v;
    try {
      out[key] = normalizeName(text);
    } catch (err) {
      throw invalid(key, (err as Error).message);
    }
  }
  if (soa.ttl !== undefined) out.ttl = checkTtl(soa.ttl, 'ttl');
  for (const key of ['refresh', 'retry', 'expire', 'minimum'] as const) {
    const v = soa[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4294967295) {
      throw invalid(key, `must be an integer from 0 to 4294967295, got ${JSON.stringify(v)}`);
    }
    out[key] = v;
  }
  return out;
}

/** Builds a batch for one zone, checking each operation against the state the previous ones left. */
class BatchBuilder {
  readonly drafts: EventDraft[] = [];
  private state: LedgerState;
  /** Folds this batch's drafts in place (the state stays private to the batch: never published). */
  private readonly drafting = new DraftEvolver();
  private readonly initial: LedgerState;
  private readonly zone: string;
  /** RRsets a create or update of this batch added to or changed ("name\0type"), checked for size at the end. */
  private readonly grown = new Map<string, { name: string; type: RRType }>();
  /**
   * Rdata lengths of the values checked in this batch, by the id of the record given the value (no
   * "type+value" string per record), so the RRset check does not parse them again. The value is kept
   * with it: the same id holds another value in the state before the batch.
   */
  private readonly rdataLengths = new Map<string, CheckedValue>();
  /** Notes by subject, the last one kept: an RRset whose TTL a write of another of its records set ("ttl\0name\0type"). */
  private readonly noteMap = new Map<string, string>();

  /** DecideContext.onDrafts. */
  private readonly onDrafts?: (drafts: readonly EventDraft[]) => void;

  constructor(state: LedgerState, zone: string, onDrafts?: (drafts: readonly EventDraft[]) => void) {
    this.state = state;
    this.initial = state;
    this.zone = zone;
    this.onDrafts = onDrafts;
  }

  /** `raw` checked for `type` (see checkValue); `prechecked`: its rdata length when already checked (precheckedLength). */
  private checked(type: RRType, raw: unknown, prechecked?: number): CheckedValue {
    if (prechecked !== undefined && typeof raw === 'string' && raw !== '' && raw.trim() === raw && prechecked <= MAX_RDATA_BYTES) {
      return { value: raw, rdataLength: prechecked };
    }
    return checkValue(type, raw);
  }

  private rdataLength(r: RecordState): number {
    const c = this.rdataLengths.get(r.id);
    return c !== undefined && c.value === r.value ? c.rdataLength : storedRdataLength(r.type, r.value);
  }

  /**
   * Size of the response that carries the whole RRset `name`/`type` of `zone` (0 when there is none).
   * With `boundBelow`, an upper bound of it is returned instead when that bound is at most
   * `boundBelow` (the check then knows enough without encoding the owner name for every RRset).
   */
  private rrsetLength(zone: ZoneState | undefined, name: string, type: RRType, boundBelow?: number): number {
    if (!zone) return 0;
    const set = findNode(zone.tree, labelsBelow(name, zone.apexLabels))?.rrsets.get(type);
    if (!set || set.records.length === 0) return 0;
    const lengths = set.records.map((r) => this.rdataLength(r));
    if (boundBelow !== undefined) {
      // An owner's wire length is at most its presentation length + 2 (escapes only shorten it),
      // and a question at most 255 bytes (or that bound): rrsetResponseLength can be no more than this.
      let bound = 12 + Math.max(255, name.length + 2) + 4 + RESPONSE_RESERVE_BYTES;
      for (const len of lengths) bound += name.length + 2 + 10 + len;
      if (bound <= boundBelow) return bound;
    }
    return rrsetResponseLength(name, lengths);
  }

  /**
   * Every RRset this batch grew must fit one DNS message over TCP with its owner as the question
   * (RFC 2181 9: an RRset is never split across responses). An RRset already too large in an old
   * log is not made a reason to refuse deletions from it: only growing past the limit is refused.
   */
  checkRRsetSizes(): void {
    for (const { name, type } of this.grown.values()) {
      const after = this.rrsetLength(this.current, name, type, MAX_MESSAGE_BYTES);
      if (after <= MAX_MESSAGE_BYTES) continue;
      const before = this.rrsetLength(this.initial.zones.get(this.zone), name, type);
      if (after <= before) continue;
      throw invalid(
        'value',
        `the ${type} RRset of ${name} would need a ${after}-byte response (header, question, every record, room for EDNS and TSIG); ` +
          `one DNS message over TCP holds at most ${MAX_MESSAGE_BYTES} bytes: use fewer or shorter values`,
      );
    }
  }

  get current(): ZoneState | undefined {
    return this.state.zones.get(this.zone);
  }

  emit(body: EventBody): void {
    this.drafts.push({ zone: this.zone, body });
    this.state = this.drafting.apply(this.state, { seq: this.state.seq + 1, zone: this.zone, body });
  }

  private mustZone(): ZoneState {
    const z = this.current;
    if (!z) throw notFound(`zone ${this.zone} does not exist`);
    return z;
  }

  /** The records of RRset `name`/`type` now (as the batch so far left them). */
  private rrset(name: string, type: RRType): readonly RecordState[] {
    const zone = this.current;
    if (!zone) return [];
    return findNode(zone.tree, labelsBelow(name, zone.apexLabels))?.rrsets.get(type)?.records ?? [];
  }

  /**
   * One TTL per RRset (RFC 2181 5.2): after a write of record `changed` with `ttl`, every other
   * record of its RRset gets that TTL in the same batch, each by its own RecordUpdated (so history
   * and IXFR show every record whose served TTL changed), as BIND and RFC 2136 do. `before` is the
   * RRset as it was before the write. An RRset an older log left with mixed TTLs (served with the
   * lowest) gets an event for every record, even one already holding `ttl`: IXFR then sees the
   * whole RRset change from the TTL it was served with (src/projections/rrset-ttl.ts).
   */
  private unifyTtl(name: string, type: RRType, changed: string | undefined, ttl: number, before: readonly RecordState[]): void {
    const mixed = hasMixedTtls(before);
    const served = before.length > 0 ? rrsetTtl(before) : ttl;
    let others = 0;
    for (const r of this.rrset(name, type)) {
      if (r.id === changed || (r.ttl === ttl && !mixed)) continue;
      this.emit({ type: 'RecordUpdated', payload: { id: r.id, name: r.name, type: r.type, value: r.value, ttl } });
      others++;
    }
    if (others > 0 && served !== ttl) {
      const records = others === 1 ? '1 other record' : `${others} other records`;
      this.noteMap.set(
        `ttl\u0000${name}\u0000${type}`,
        `${name} ${type}: the TTL of the whole RRset is now ${ttl} (was ${served}); ${records} changed with it (one TTL per RRset, RFC 2181 5.2)`,
      );
    }
  }

  /** The notes of the batch (see Decision.notes). */
  get notes(): string[] {
    const all = [...this.noteMap.values()];
    // An import of a large zone could note thousands: the first ones say what is going on.
    return all.length > MAX_NOTES ? [...all.slice(0, MAX_NOTES), `... and ${all.length - MAX_NOTES} more like these`] : all;
  }

  /**
   * RFC 6672 2.3: "Resource records MUST NOT exist at any subdomain of the owner of a DNAME RR." A
   * record below a DNAME would never be served, and Knot refuses a zone holding one (as a
   * secondary, the whole transfer): refused here, like a DNAME placed above existing names.
   */
  private checkNotOccluded(zone: ZoneState, name: string, type: RRType, labels: readonly string[] = labelsBelow(name, zone.apexLabels)): void {
    let node: TrieNode | undefined = zone.tree;
    for (let depth = 0; node && depth < labels.length; depth++) {
      if (node.rrsets.has('DNAME')) {
        throw conflict(`${name} is below the DNAME at ${node.name}; no record can be below a DNAME (RFC 6672 2.3): it would never be served`, 'name');
      }
      node = node.children.get(labels[depth]);
    }
    if (type === 'DNAME' && node && node.children.size > 0) {
      let below: TrieNode = node;
      while (below.rrsets.size === 0 && below.children.size > 0) below = below.children.values().next().value as TrieNode;
      throw conflict(`${name} has records below it (${below === node ? 'at' : 'such as'} ${below.name}); a DNAME cannot be placed above records (RFC 6672 2.3): they would never be served`, 'name');
    }
  }

  /** The records at `name` (`node`: the node of `name`, when the caller already looked it up). */
  private existing(name: string, zone: ZoneState, node: TrieNode | null | undefined = findNode(zone.tree, labelsBelow(name, zone.apexLabels))): RecordState[] {
    if (!node || node.rrsets.size === 0) return [];
    return [...node.rrsets.values()].flatMap((s) => s.records);
  }

  /**
   * The rules a record must satisfy to be added next to what is already at its name. `node`: the
   * node of its name when the caller already looked it up (null: there is none).
   */
  private checkAddable(zone: ZoneState, r: { id: string; name: string; type: RRType; value: string }, node?: TrieNode | null): void {
    const others = (node === undefined ? this.existing(r.name, zone) : this.existing(r.name, zone, node)).filter((o) => o.id !== r.id);
    if (others.some((o) => o.type === r.type && o.value === r.value)) {
      throw conflict(`${r.name} ${r.type} ${r.value} already exists`);
    }
    if (r.type === 'CNAME') {
      if (r.name === zone.name) throw conflict('a CNAME cannot be at the zone apex (the apex has SOA and NS records)', 'name');
      const clash = others.find((o) => o.type !== 'CNAME' || o.value !== r.value);
      if (clash) {
        throw conflict(
          clash.type === 'CNAME'
            ? `${r.name} already has a CNAME; a name has at most one (RFC 1034 3.6.2)`
            : `${r.name} already has ${clash.type} records; a CNAME must be the only record at its name (RFC 1034 3.6.2, RFC 2181 10.1)`,
          'name',
        );
      }
    } else if (others.some((o) => o.type === 'CNAME')) {
      throw conflict(`${r.name} has a CNAME; no other record can be at that name (RFC 1034 3.6.2, RFC 2181 10.1)`, 'name');
    }
    if (r.type === 'DNAME' && others.some((o) => o.type === 'DNAME')) {
      throw conflict(`${r.name} already has a DNAME; a name has at most one (RFC 6672 2.4)`, 'name');
    }
  }

  /** `prechecked`: the rdata length of a value already checked (precheckedLength). */
  create(op: { name: string; type: string; value: string; ttl?: number; id?: string }, newId: () => string, prechecked?: number): void {
    const zone = this.mustZone();
    let name: string;
    try {
      name = normalizeName(op.name);
    } catch (err) {
      throw invalid('name', (err as Error).message);
    }
    if (!isInZone(name, zone.name)) throw invalid('name', `${name} is not inside zone ${zone.name}`);
    const type = checkType(op.type);
    refuseDerivedWrite(zone, type);
    const checkedValue = this.checked(type, op.value, prechecked);
    const value = checkedValue.value;
    // The name's node is looked up once for every check below (an import creates a million records).
    const labels = labelsBelow(name, zone.apexLabels);
    const node = findNode(zone.tree, labels) ?? null;
    const before = node?.rrsets.get(type)?.records ?? [];
    // Without a TTL a record joins its RRset at the RRset's TTL; a new RRset takes the zone default.
    const ttl = op.ttl !== undefined ? checkTtl(op.ttl) : before.length > 0 ? rrsetTtl(before) : zone.soa.ttl;
    const id = op.id ?? newId();
    if (zone.records.has(id)) throw conflict(`record id ${id} already exists`, 'id');
    this.checkAddable(zone, { id, name, type, value }, node);
    this.checkNotOccluded(zone, name, type, labels);
    this.rdataLengths.set(id, checkedValue);
    this.grown.set(`${name}\u0000${type}`, { name, type });
    this.emit({ type: 'RecordCreated', payload: { id, name, type, value, ttl } });
    // unifyTtl has nothing to do when every record already there holds this TTL (a new RRset, or
    // an import's next record of one): skipped, it would only look the RRset up again.
    if (before.length > 0 && (hasMixedTtls(before) || before[0].ttl !== ttl)) this.unifyTtl(name, type, id, ttl, before);
  }

  /** `prechecked`: as for create. */
  update(op: { id: string; value?: string; ttl?: number }, prechecked?: number): void {
    const zone = this.mustZone();
    const old = zone.records.get(op.id);
    if (!old) throw notFound(`record ${op.id} does not exist in zone ${zone.name}`);
    refuseDerivedWrite(zone, old.type);
    const checkedValue = op.value === undefined ? undefined : this.checked(old.type, op.value, prechecked);
    const value = checkedValue === undefined ? old.value : checkedValue.value;
    const before = this.rrset(old.name, old.type);
    // Without a TTL the record keeps the TTL its RRset is served with (an older log's mixed RRset: the lowest).
    const ttl = op.ttl === undefined ? rrsetTtl(before) : checkTtl(op.ttl);
    const mixed = hasMixedTtls(before);
    if (value === old.value && ttl === old.ttl && !mixed) return;
    this.checkAddable(zone, { id: old.id, name: old.name, type: old.type, value });
    if (checkedValue !== undefined) this.rdataLengths.set(old.id, checkedValue);
    if (value !== old.value) this.grown.set(`${old.name}\u0000${old.type}`, { name: old.name, type: old.type });
    // A record of a mixed RRset is written even when it keeps its value and TTL (see unifyTtl).
    this.emit({ type: 'RecordUpdated', payload: { id: old.id, name: old.name, type: old.type, value, ttl } });
    this.unifyTtl(old.name, old.type, old.id, ttl, before);
  }

  delete(id: string): void {
    const zone = this.mustZone();
    const old = zone.records.get(id);
    if (!old) throw notFound(`record ${id} does not exist in zone ${zone.name}`);
    const before = this.rrset(old.name, old.type);
    this.emit({ type: 'RecordDeleted', payload: { id: old.id, name: old.name, type: old.type } });
    // What an older log left mixed is made one TTL when next written, deletions included: the
    // records left keep the TTL the RRset was served with.
    if (hasMixedTtls(before)) this.unifyTtl(old.name, old.type, old.id, rrsetTtl(before), before);
  }

  /** Make the zone's records equal to `desired`: deletions first (so CNAME swaps pass), then the rest. */
  converge(desired: DesiredRecord[], newId: () => string, matchById: boolean): void {
    const zone = this.mustZone();
    // Into a zone that holds no records (a new zone: most large imports) the creates are first
    // tried in bulk; when the bulk path cannot vouch for its result (an error, a DNAME, a TTL to
    // unify, a duplicate written two ways, an RRset near the size limit) the general path below
    // runs, drawing the same ids.
    const drawn: string[] = [];
    if (bulkCreates && !matchById && this.isEmptyZone() && this.createAllIntoEmpty(desired, newId, drawn)) return;
    let replay = 0;
    const ids = drawn.length === 0 ? newId : (): string => (replay < drawn.length ? drawn[replay++] : newId());
    const key = (r: { name: string; type: string; value: string }): string => `${r.name}\u0000${r.type}\u0000${r.value}`;
    const want = new Map<string, DesiredRecord>();
    for (const d of oneTtlPerRRset(desired)) want.set(matchById && d.id ? d.id : key(d), d);
    const keep = new Set<string>();
    const updates: Array<{ id: string; ttl: number; value: string; prechecked?: number }> = [];
    for (const r of zone.records.values()) {
      const k = matchById ? r.id : key(r);
      const d = want.get(k);
      if (!d) {
        this.delete(r.id);
      } else {
        keep.add(k);
        if (d.ttl !== r.ttl || d.value !== r.value || d.name !== r.name || d.type !== r.type) {
          if (d.name !== r.name || d.type !== r.type) {
            this.delete(r.id);
            keep.delete(k);
          } else {
            updates.push({ id: r.id, ttl: d.ttl, value: d.value, prechecked: precheckedLength(d) });
          }
        }
      }
    }
    for (const u of updates) this.update(u, u.prechecked);
    for (const [k, d] of want) {
      if (!keep.has(k)) this.create({ ...d, id: matchById ? d.id : undefined }, ids, precheckedLength(d));
    }
  }

  /** The zone holds no records (its trie is the apex with the synthesized SOA alone). */
  private isEmptyZone(): boolean {
    const zone = this.current;
    return zone !== undefined && zone.records.size === 0 && zone.tree.children.size === 0 && zone.tree.rrsets.size <= 1;
  }

  /**
   * converge (not by id) into a zone without records: every desired record is created, checked
   * against an index of this batch's own records by name instead of being folded into the draft
   * state, and without converge's maps keyed by record text (for a million-record import those
   * were most of decide's time and memory). It drafts exactly the RecordCreated events converge
   * would, in the same order with the same ids, and returns true; it returns false, having drafted
   * nothing, whenever converge would refuse a record or do more than draft it (a DNAME, whose
   * checks need the trie; TTLs to unify; a record repeated in another spelling; an RRset that may
   * not fit one message), so that the general path runs and says why. The ids it drew are left in
   * `drawn`, for the general path to draw again. Proven equal to the general path by
   * test/zonefile/import-fast-path.test.ts. Its drafts go to the batch as they are made (onDrafts
   * sees them), and are taken back when it gives up.
   */
  private createAllIntoEmpty(desired: readonly DesiredRecord[], newId: () => string, drawn: string[]): boolean {
    const before = this.drafts.length;
    let done = false;
    try {
      done = this.draftAllIntoEmpty(desired, newId, drawn);
    } finally {
      if (!done) this.drafts.length = before;
    }
    return done;
  }

  /** createAllIntoEmpty's work: drafts into this.drafts, false when it gives up (the caller takes them back). */
  private draftAllIntoEmpty(desired: readonly DesiredRecord[], newId: () => string, drawn: string[]): boolean {
    const zone = this.mustZone();
    /**
     * The first RRset created at each name so far; the others follow through `next`, in the order
     * create's trie node would list them. One object per RRset (its first record inline, more only
     * for the RRsets that get them), and its records are the drafts' payloads: a million-record
     * import made five objects per record here before, all live until the end of decide.
     */
    const byName = new StringTable<NewRRset>();
    /** The name of the record before and its first RRset (byName's entry for it). */
    let lastName: string | undefined;
    let lastHead: NewRRset | undefined;
    // Ids drawn in ascending order (the ledger's recordIdSequence) are unique without a set of them.
    const ids = new RepeatedIds();
    const drafts = this.drafts;
    const onDrafts = this.onDrafts;
    let sinceTold = 0;
    for (const d of desired) {
      let name: string;
      let type: RRType;
      let checkedValue: CheckedValue;
      try {
        // The zone-file reader's owner names are normalized already (a million regex tests less).
        name = d instanceof ZoneFileRecord ? d.name : normalizeName(d.name);
        type = checkType(d.type);
        refuseDerivedWrite(zone, type);
        checkedValue = this.checked(type, d.value, precheckedLength(d));
        checkTtl(d.ttl);
      } catch {
        return false;
      }
      if (type === 'DNAME' || !isInZone(name, zone.name)) return false;
      const value = checkedValue.value;
      const ttl = d.ttl;
      // Records of one name mostly follow each other: the name before is not looked up again
      // (a lookup in a map of a million names is mostly cache misses).
      let head: NewRRset | undefined;
      if (name === lastName) head = lastHead;
      else {
        head = byName.get(name);
        lastName = name;
        lastHead = head;
      }
      let set = head;
      let last = head;
      while (set && set.type !== type) {
        last = set;
        set = set.next;
      }
      if (set) {
        // A TTL another record of the RRset does not have: converge would unify them.
        if (set.first.ttl !== ttl) return false;
        const first = set.first.value === value ? set.firstDesired : set.more?.find((m) => m.record.value === value)?.desired;
        if (first) {
          // The same record again: converge keeps one (its map is keyed by name, type and value as
          // written); written another way, converge would refuse the second as a duplicate.
          if (first.name === d.name && first.type === d.type && first.value === d.value) continue;
          return false;
        }
      }
      const id = newId();
      drawn.push(id);
      if (ids.repeats(id, drawn, drawn.length - 1)) return false;
      // checkAddable: no duplicate; a CNAME alone at its name (never at the apex); no DNAME here.
      if (type === 'CNAME' && name === zone.name) return false;
      for (let x = head; x; x = x.next) {
        if (type === 'CNAME' ? x.type !== 'CNAME' || someValue(x, (v) => v !== value) : x.type === 'CNAME') return false;
        if (x.type === type && someValue(x, (v) => v === value)) return false;
      }
      const payload = { id, name, type, value, ttl };
      if (set) (set.more ??= []).push({ record: payload, length: checkedValue.rdataLength, desired: d });
      else {
        const created: NewRRset = { type, first: payload, firstLength: checkedValue.rdataLength, firstDesired: d, more: undefined, next: undefined };
        if (last) last.next = created;
        else {
          byName.set(name, created);
          lastHead = created;
        }
      }
      drafts.push({ zone: this.zone, body: { type: 'RecordCreated', payload } });
      if (onDrafts && ++sinceTold === DRAFTS_EVERY) {
        sinceTold = 0;
        onDrafts(drafts);
      }
    }
    // checkRRsetSizes for every RRset created (the zone had none before the batch).
    for (const [name, head] of byName.entries()) {
      for (let set: NewRRset | undefined = head; set; set = set.next) {
        const per = name.length + 2 + 10;
        let bound = 12 + Math.max(255, name.length + 2) + 4 + RESPONSE_RESERVE_BYTES + per + set.firstLength;
        if (set.more) for (const m of set.more) bound += per + m.length;
        if (bound > MAX_MESSAGE_BYTES && rrsetResponseLength(name, [set.firstLength, ...(set.more ?? []).map((m) => m.length)]) > MAX_MESSAGE_BYTES) return false;
      }
    }
    return true;
  }

  /**
   * Close the batch with its serial: the next one after every serial the zone ever had and, when
   * given, after `atLeast` (an imported file's serial, which secondaries may hold: serial.ts).
   */
  bumpSerial(now: number, atLeast?: number): void {
    // The head before this batch: a zone this batch creates has no serial yet (evolve gives it 0).
    const prev = this.initial.heads.get(this.zone)?.serial;
    const serial = atLeast === undefined ? nextSerial(prev ?? 0, now) : nextSerialAfter(prev, atLeast, now);
    if (serial === undefined) {
      throw conflict(`serial ${atLeast} is 2^31 away from the zone's serial ${prev}: no serial comes after both (RFC 1982); use a serial after ${prev}`, 'serial');
    }
    this.emit({ type: 'SerialBumped', payload: { serial } });
  }
}

/** An RRset createAllIntoEmpty created: its first record inline, the others in `more`; the next RRset at its name. */
interface NewRRset {
  type: RRType;
  first: RecordState;
  firstLength: number;
  firstDesired: DesiredRecord;
  more: Array<{ record: RecordState; length: number; desired: DesiredRecord }> | undefined;
  next: NewRRset | undefined;
}

/** Whether any record value of a created RRset satisfies `test`. */
function someValue(set: NewRRset, test: (value: string) => boolean): boolean {
  return test(set.first.value) || (set.more !== undefined && set.more.some((m) => test(m.record.value)));
}

/**
 * Desired records with one TTL per RRset: an RRset whose records differ (a restore to a state an
 * older log held, or an import that did not settle it) takes its lowest, the TTL it was served with.
 */
function oneTtlPerRRset(desired: DesiredRecord[]): DesiredRecord[] {
  // The common case first, without an index array per RRset: every RRset already has one TTL.
  const firstTtl = new Map<string, number>();
  let mixed = false;
  for (let i = 0; i < desired.length && !mixed; i++) {
    const d = desired[i];
    const k = `${d.name}\u0000${d.type}`;
    const ttl = firstTtl.get(k);
    if (ttl === undefined) firstTtl.set(k, d.ttl);
    else mixed = ttl !== d.ttl;
  }
  if (!mixed) return desired;
  const sets = new Map<string, number[]>();
  for (const [i, d] of desired.entries()) {
    const k = `${d.name}\u0000${d.type}`;
    const set = sets.get(k);
    if (set) set.push(i);
    else sets.set(k, [i]);
  }
  let out: DesiredRecord[] | undefined;
  for (const set of sets.values()) {
    const records = set.map((i) => desired[i]);
    if (!hasMixedTtls(records)) continue;
    out ??= desired.slice();
    const ttl = rrsetTtl(records);
    for (const i of set) out[i] = { ...desired[i], ttl };
  }
  return out ?? desired;
}

function soaDiff(from: SoaParams, to: Partial<SoaParams>): Partial<SoaParams> {
  const diff: Partial<SoaParams> = {};
  for (const [k, v] of Object.entries(to) as Array<[keyof SoaParams, never]>) {
    if (v !== undefined && from[k] !== v) diff[k] = v;
  }
  return diff;
}

function completeSoa(soa: Partial<SoaParams> & Pick<SoaParams, 'primary_ns' | 'admin_email'>): SoaParams {
  return { ...SOA_DEFAULTS, ...checkSoa(soa) } as SoaParams;
}

/**
 * Decide a command against `state`: the events of one batch (ending with the serial bump when the
 * zone's content changed), or an McnsError naming the rule and field. A command that changes
 * nothing decides an empty batch.
 */
export function decide(state: LedgerState, cmd: Command, ctx: DecideContext): Decision {
  const zone = zoneName(cmd.zone);
  const b = new BatchBuilder(state, zone, ctx.onDrafts);
  const expectedVersion = state.heads.get(zone)?.seq ?? 0;
  switch (cmd.kind) {
    case 'createZone': {
      if (b.current) throw conflict(`zone ${zone} already exists`, 'name');
      if (!cmd.soa.primary_ns) throw invalid('primary_ns', 'is required');
      if (!cmd.soa.admin_email) throw invalid('admin_email', 'is required');
      const soa = completeSoa(cmd.soa);
      b.emit({ type: 'ZoneCreated', payload: soa });
      if (cmd.records) b.converge(cmd.records, ctx.newId, false);
      else b.create({ name: zone, type: 'NS', value: soa.primary_ns }, ctx.newId);
      b.bumpSerial(ctx.now, cmd.serial);
      break;
    }
    case 'updateZone': {
      const z = b.current;
      if (!z) throw notFound(`zone ${zone} does not exist`);
      const diff = soaDiff(z.soa, checkSoa(cmd.soa));
      if (Object.keys(diff).length === 0) break;
      b.emit({ type: 'ZoneUpdated', payload: diff });
      b.bumpSerial(ctx.now);
      break;
    }
    case 'deleteZone': {
      if (!b.current) throw notFound(`zone ${zone} does not exist`);
      b.emit({ type: 'ZoneDeleted', payload: {} });
      break;
    }
    case 'changeRecords': {
      if (!b.current) throw notFound(`zone ${zone} does not exist`);
      if (cmd.ops.length === 0) throw invalid('changes', 'a batch needs at least one change');
      for (const [i, op] of cmd.ops.entries()) {
        try {
          if (op.op === 'create') b.create(op, ctx.newId);
          else if (op.op === 'update') b.update(op);
          else if (op.op === 'delete') b.delete(op.id);
          else throw invalid('op', `must be create, update or delete`);
        } catch (err) {
          if (err instanceof McnsError && cmd.ops.length > 1) {
            throw new McnsError(err.kind, `change ${i}: ${err.message}`, undefined);
          }
          throw err;
        }
      }
      if (b.drafts.length > 0) b.bumpSerial(ctx.now);
      break;
    }
    case 'importZone': {
      const existing = b.current;
      if (!existing && !cmd.soa) throw invalid('zone file', `has no SOA record for ${zone}; one is needed to create the zone`);
      b.emit({ type: 'ZoneImported', payload: { records: cmd.records.length, ...(cmd.source ? { source: cmd.source } : {}) } });
      if (!existing) {
        b.emit({ type: 'ZoneCreated', payload: completeSoa(cmd.soa!) });
      } else if (cmd.soa) {
        const diff = soaDiff(existing.soa, checkSoa(cmd.soa));
        if (Object.keys(diff).length > 0) b.emit({ type: 'ZoneUpdated', payload: diff });
      }
      b.converge(cmd.records, ctx.newId, false);
      // Nothing changed: nothing to write, unless the file's serial is ahead of ours (secondaries
      // holding it would otherwise take our next serials as older).
      const fileAhead = existing !== undefined && cmd.serial !== undefined && serialCompare(cmd.serial, existing.serial) > 0;
      if (b.drafts.length === 1 && !fileAhead) return { zone, expectedVersion, drafts: [], notes: [] };
      b.bumpSerial(ctx.now, cmd.serial);
      break;
    }
    case 'dnssec':
      decideDnssec(b, cmd.change, ctx.now);
      if (b.drafts.length === 0) return { zone, expectedVersion, drafts: [], notes: [] };
      break;
    case 'restoreZone': {
      const current = b.current;
      const target = cmd.target;
      b.emit({ type: 'ZoneRestored', payload: { at_seq: cmd.atSeq, ...(cmd.at ? { at: cmd.at } : {}) } });
      if (!target) {
        if (!current) return { zone, expectedVersion, drafts: [], notes: [] }; // already absent: nothing to write
        b.emit({ type: 'ZoneDeleted', payload: {} });
        break;
      }
      if (!current) b.emit({ type: 'ZoneCreated', payload: target.soa });
      else {
        const diff = soaDiff(current.soa, target.soa);
        if (Object.keys(diff).length > 0) b.emit({ type: 'ZoneUpdated', payload: diff });
      }
      b.converge([...target.records.values()], ctx.newId, true);
      // Already equal to the target: a restore that changes nothing writes nothing (like import).
      if (current && b.drafts.length === 1) return { zone, expectedVersion, drafts: [], notes: [] };
      b.bumpSerial(ctx.now);
      break;
    }
  }
  b.checkRRsetSizes();
  return { zone, expectedVersion, drafts: b.drafts, notes: b.notes };
}
