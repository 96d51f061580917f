/**
 * The projection's state and `evolve`, the one function that folds an event into it. Live writes,
 * start-up replay, checkpoint tails, point-in-time reads and restores all go through `evolve`, so
 * they cannot disagree.
 */
import { PMap } from './pmap.ts';
import { evolveDnssec, type DnssecState } from './dnssec-state.ts';
import type { EventBody, SoaParams } from '../events/types.ts';
import { splitLabels } from '../records/names.ts';
import { StringTable } from '../zonefile/string-table.ts';
import { RepeatedIds } from './repeated-ids.ts';
import { finishApex, type NodeDraft } from './node-drafts.ts';
import { addRecord, emptyNode, findNode, removeRecord, replaceRecord, setApexRRset, TrieSession, type RecordState, type TrieNode } from './trie.ts';

/** One served zone, immutable. */
export interface ZoneState {
  /** Absolute lowercase apex name. */
  readonly name: string;
  /** Number of labels of the apex (for splitting query names). */
  readonly apexLabels: number;
  readonly soa: SoaParams;
  readonly serial: number;
  /** Seq of the newest event of this zone (the optimistic-concurrency version). */
  readonly version: number;
  /** User records by id (the SOA is synthesized and not among them). */
  readonly records: PMap<RecordState>;
  /** The zone trie rooted at the apex, including the synthesized SOA. */
  readonly tree: TrieNode;
  /** DNSSEC decisions and keys (public halves); absent for a zone that was never signed. */
  readonly dnssec?: DnssecState;
}

/** Every zone that ever existed: its newest seq and serial, so a re-created zone never reuses a serial. */
export interface ZoneHead {
  readonly seq: number;
  readonly serial: number;
  readonly deleted: boolean;
}

/** The whole projection at one point of the log. */
export interface LedgerState {
  /** Seq of the newest event applied. */
  readonly seq: number;
  readonly zones: PMap<ZoneState>;
  readonly heads: PMap<ZoneHead>;
}

/** The state of an empty log. */
export const EMPTY_STATE: LedgerState = { seq: 0, zones: PMap.empty(), heads: PMap.empty() };

/** The minimal event shape evolve needs (stored events and drafts being validated both fit). */
export interface Applicable {
  seq: number;
  zone: string;
  body: EventBody;
}

/** Labels of `name` below `zone`, outermost first: "a.b.example.com." in "example.com." -> ["b", "a"]. */
export function labelsBelow(name: string, apexLabels: number): string[] {
  const all = splitLabels(name);
  const n = all.length - apexLabels;
  const out = new Array<string>(n > 0 ? n : 0);
  for (let i = 0; i < n; i++) out[i] = all[n - 1 - i];
  return out;
}

/** Number of labels of an absolute name. */
export function labelCount(name: string): number {
  return splitLabels(name).length;
}

/** The SOA record text a zone serves. */
export function soaValue(soa: SoaParams, serial: number): string {
  return `${soa.primary_ns} ${soa.admin_email} ${serial} ${soa.refresh} ${soa.retry} ${soa.expire} ${soa.minimum}`;
}

/**
 * A bulk-replay session: trie nodes and record maps it creates are changed in place, then frozen
 * by `seal` before the state is published (see TrieSession).
 */
class ReplaySession {
  readonly trie = new TrieSession();
  /** Zones whose `records` map is a PMap transient owned by this session. */
  readonly transientRecords = new Set<string>();

  records(zone: ZoneState): PMap<RecordState> {
    if (this.transientRecords.has(zone.name)) return zone.records;
    this.transientRecords.add(zone.name);
    return zone.records.asMutable();
  }

  seal(state: LedgerState): LedgerState {
    this.trie.seal();
    let zones = state.zones;
    for (const name of this.transientRecords) {
      const z = zones.get(name);
      if (z) zones = zones.set(name, { ...z, records: z.records.asImmutable() });
    }
    this.transientRecords.clear();
    return { ...state, zones };
  }
}

function withSoa(zone: ZoneState, session?: ReplaySession): ZoneState {
  const record: RecordState = { id: 'soa', name: zone.name, type: 'SOA', ttl: zone.soa.ttl, value: soaValue(zone.soa, zone.serial) };
  return { ...zone, tree: setApexRRset(zone.tree, { type: 'SOA', records: [record] }, session?.trie) };
}

function newZone(name: string, soa: SoaParams, serial: number, seq: number): ZoneState {
  return withSoa({ name, apexLabels: labelCount(name), soa, serial, version: seq, records: PMap.empty(), tree: emptyNode(name) });
}

/**
 * The record of an event's payload as the projection holds it: a copy whose name is its node's own
 * string when the node exists already (the same text), so an owner's records share one name string,
 * as a checkpoint load makes them (~40 bytes a record otherwise: 570,000 records of the realistic
 * 1M-name zone are at a name that has another).
 */
function withOwnerName(payload: RecordState, tree: TrieNode, labels: readonly string[]): RecordState {
  const node = findNode(tree, labels);
  return node !== undefined && node.name === payload.name ? { ...payload, name: node.name } : { ...payload };
}

function evolveZone(zone: ZoneState, e: Applicable, session?: ReplaySession): ZoneState {
  const t = session?.trie;
  const b = e.body;
  switch (b.type) {
    case 'ZoneUpdated':
      return withSoa({ ...zone, soa: { ...zone.soa, ...b.payload }, version: e.seq }, session);
    case 'SerialBumped':
      return withSoa({ ...zone, serial: b.payload.serial, version: e.seq }, session);
    case 'RecordCreated': {
      const labels = labelsBelow(b.payload.name, zone.apexLabels);
      const r = withOwnerName(b.payload, zone.tree, labels);
      return {
        ...zone,
        version: e.seq,
        // addNew: ids are never reused, so a map a checkpoint left unbuilt stays so (a start's tail replay).
        records: (session ? session.records(zone) : zone.records).addNew(r.id, r),
        tree: addRecord(zone.tree, labels, r, t),
      };
    }
    case 'RecordUpdated': {
      const old = zone.records.get(b.payload.id);
      if (!old) return { ...zone, version: e.seq };
      const labels = labelsBelow(b.payload.name, zone.apexLabels);
      const r = withOwnerName(b.payload, zone.tree, labels);
      const tree =
        old.name === r.name && old.type === r.type
          ? replaceRecord(zone.tree, labels, r, t)
          : addRecord(removeRecord(zone.tree, labelsBelow(old.name, zone.apexLabels), old.type, old.id, t), labels, r, t);
      return { ...zone, version: e.seq, records: (session ? session.records(zone) : zone.records).set(r.id, r), tree };
    }
    case 'RecordDeleted': {
      const old = zone.records.get(b.payload.id);
      if (!old) return { ...zone, version: e.seq };
      return {
        ...zone,
        version: e.seq,
        records: (session ? session.records(zone) : zone.records).delete(old.id),
        tree: removeRecord(zone.tree, labelsBelow(old.name, zone.apexLabels), old.type, old.id, t),
      };
    }
    case 'DnssecConfigured':
    case 'DnssecKeyCreated':
    case 'DnssecKeyChanged':
      return { ...zone, version: e.seq, dnssec: evolveDnssec(zone.dnssec, b) };
    default:
      // Markers (ZoneRestored, ZoneImported) change nothing by themselves: the events after them do.
      return { ...zone, version: e.seq };
  }
}

/** Fold one event into the state. Events are trusted here: they were validated before append. */
export function evolve(state: LedgerState, e: Applicable): LedgerState {
  return evolveIn(state, e);
}

function evolveIn(state: LedgerState, e: Applicable, session?: ReplaySession): LedgerState {
  const b = e.body;
  const head = state.heads.get(e.zone);
  let zones = state.zones;
  if (b.type === 'ZoneCreated') {
    zones = zones.set(e.zone, newZone(e.zone, b.payload, head?.serial ?? 0, e.seq));
    session?.transientRecords.delete(e.zone);
  } else if (b.type === 'ZoneDeleted') {
    zones = zones.delete(e.zone);
    session?.transientRecords.delete(e.zone);
  } else {
    const zone = zones.get(e.zone);
    if (zone) zones = zones.set(e.zone, evolveZone(zone, e, session));
  }
  return { seq: e.seq, zones, heads: state.heads.set(e.zone, headAfter(head, e)) };
}

/** A zone's head after `e` (every zone that ever existed keeps one: its newest seq and serial). */
function headAfter(head: ZoneHead | undefined, e: Applicable): ZoneHead {
  const b = e.body;
  return { seq: e.seq, serial: b.type === 'SerialBumped' ? b.payload.serial : (head?.serial ?? 0), deleted: b.type === 'ZoneDeleted' };
}

/**
 * The heads after `events`, without folding anything else: what evolveAll would leave in
 * `heads` (the stand-in of a deferred tail's end state carries them: Ledger.servingState).
 */
export function headsAfter(heads: PMap<ZoneHead>, events: readonly Applicable[]): PMap<ZoneHead> {
  let out = heads;
  for (const e of events) out = out.set(e.zone, headAfter(out.get(e.zone), e));
  return out;
}

/**
 * Folds events one at a time into a private, never-published state, changing what it created in
 * place instead of copying a path per event: what `decide` needs to check each operation of a
 * batch against the state the previous ones left. For an import of a million records that is the
 * difference between a million path copies of the zone trie and one build. The states `apply`
 * returns share structure with the input only through nodes they copied first, so the input (the
 * published projection) is never changed; they themselves must never be published.
 */
export class DraftEvolver {
  private readonly session = new ReplaySession();

  /** `state` with `e` applied (see the class comment: only for states that stay private). */
  apply(state: LedgerState, e: Applicable): LedgerState {
    return evolveIn(state, e, this.session);
  }
}

/**
 * Fold a whole sequence of events: the same as calling `evolve` for each, but long runs (replay,
 * catch-up) share one transient session, so the intermediate versions are never allocated.
 */
export function evolveAll(state: LedgerState, events: Iterable<Applicable>): LedgerState {
  const list = Array.isArray(events) ? (events as Applicable[]) : [...events];
  if (list.length < 16) {
    let s = state;
    for (const e of list) s = evolve(s, e);
    return s;
  }
  const session = new ReplaySession();
  // The zone and head maps are transients for the run too, sealed with the rest.
  let s: LedgerState = { ...state, zones: state.zones.asMutable(), heads: state.heads.asMutable() };
  for (let i = 0; i < list.length; ) {
    const end = createRunEnd(s, list, i);
    if (end > i) {
      s = foldCreateRun(s, list, i, end, session);
      i = end;
    } else {
      s = evolveIn(s, list[i], session);
      i++;
    }
  }
  s = session.seal(s);
  return { ...s, zones: s.zones.asImmutable(), heads: s.heads.asImmutable() };
}

/**
 * labelsBelow(name, zone.apexLabels) for a name one plain label below the zone's apex (no dot or
 * backslash in that label) without splitting the whole name: the bulk fold takes the labels of a
 * million such names (test/ledger/bulk-fold.test.ts checks it against labelsBelow).
 */
export function labelsBelowZone(name: string, zone: Pick<ZoneState, 'name' | 'apexLabels'>): string[] {
  const apex = zone.name;
  const cut = name.length - apex.length - 1;
  if (apex !== '.' && cut > 0 && name.charCodeAt(cut) === 0x2e && name.endsWith(apex)) {
    let plain = true;
    for (let i = 0; i < cut && plain; i++) {
      const c = name.charCodeAt(i);
      plain = c !== 0x2e && c !== 0x5c;
    }
    if (plain) return [name.slice(0, cut)];
  }
  return labelsBelow(name, zone.apexLabels);
}

/**
 * The trie addRecord would give, record after record, for a zone whose apex has no children yet:
 * built bottom-up, each node once and each child map at once (PMap.fromArrays, which gives the
 * shape a run of sets gives), instead of a million path updates and random inserts into the apex's
 * map. Node names, the order of RRsets (first appearance of a type) and of records, and the order
 * children were added are addRecord's. A record at a name that has one already is replaced in
 * `records` by a copy holding the node's name string, as evolve makes it (withOwnerName). The nodes
 * below the apex are made when the apex's children map is first read (node-drafts.ts): an offline
 * import writes its checkpoint from the drafts and never reads them.
 */
function buildBelowApex(zone: ZoneState, records: RecordState[]): TrieNode {
  const apex: NodeDraft = { name: zone.name, sets: [...zone.tree.rrsets.values()].map((x) => ({ type: x.type, records: x.records as RecordState[], kept: x })), labels: undefined, kids: undefined };
  for (let k = 0; k < records.length; k++) {
    let r = records[k];
    const labels = labelsBelowZone(r.name, zone);
    let node = apex;
    let created = false;
    for (let d = 0; d < labels.length; d++) {
      const label = labels[d];
      // The child added last first: the records of one name mostly follow each other.
      const kidLabels = node.labels;
      let child = kidLabels !== undefined && kidLabels[kidLabels.length - 1] === label ? node.kids![kidLabels.length - 1] : node.index?.get(label);
      if (!child) {
        // addRecord names a node it creates after the record when it is the record's own, else after its parent.
        const name = d + 1 === labels.length ? r.name : node.name === '.' ? `${label}.` : `${label}.${node.name}`;
        child = { name, sets: [], labels: undefined, kids: undefined };
        (node.index ??= node === apex ? new StringTable<NodeDraft>() : new Map<string, NodeDraft>()).set(label, child);
        (node.labels ??= []).push(label);
        (node.kids ??= []).push(child);
        created = d + 1 === labels.length;
      }
      node = child;
    }
    if (!created && node.name === r.name) {
      // A name that has a record already: this one shares its string (see withOwnerName).
      r = { ...r, name: node.name };
      records[k] = r;
    }
    const set = node.sets.find((x) => x.type === r.type);
    if (!set) {
      node.sets.push({ type: r.type, records: [r] });
    } else {
      if (set.kept) {
        set.records = [...set.records];
        set.kept = undefined;
      }
      set.records.push(r);
    }
  }
  return finishApex(apex);
}

/** A run of at least this many record creations into a zone without records is folded in bulk. */
const BULK_CREATE_RUN = 1000;

/**
 * The end of the run of RecordCreated events of one zone starting at `i`, when the zone exists,
 * holds no records and the run is long enough to fold in bulk (an import of a new zone); else `i`.
 */
function createRunEnd(state: LedgerState, list: readonly Applicable[], i: number): number {
  const first = list[i];
  if (first.body.type !== 'RecordCreated' || list.length - i < BULK_CREATE_RUN) return i;
  const zone = state.zones.get(first.zone);
  if (!zone || zone.records.size !== 0) return i;
  let end = i + 1;
  while (end < list.length && list[end].body.type === 'RecordCreated' && list[end].zone === first.zone) end++;
  return end - i >= BULK_CREATE_RUN ? end : i;
}

/**
 * Fold list[i..end), record creations into a zone without records (createRunEnd), as evolveIn
 * would one by one, but with the zone's records-by-id map built at once (PMap.fromArrays, in hash
 * order) instead of a million random inserts, and only when first read (PMap.lazyFromArrays, as a
 * loaded checkpoint's): what follows a bulk fold mostly reads the trie, not the ids. The offline
 * import serializes its checkpoint (which counts the records and never looks one up by id) and
 * exits: the 1M zone's map, ~2 s of the fold with its garbage, was built for nothing. A
 * server builds it at the first write or record read of the zone, or in slices after a start's
 * replay (Ledger.prepareRecordMaps). So are the nodes below the apex: made when first read
 * (buildBelowApex, node-drafts.ts). A run that repeats an id (no decided batch does) is folded one
 * by one, so a later creation replaces an earlier one exactly as evolveIn does.
 * Equal to the one-by-one fold: test/ledger/bulk-fold.test.ts compares their checkpoints byte for
 * byte, and the checkpoint written from the drafts by what it loads into.
 */
function foldCreateRun(state: LedgerState, list: readonly Applicable[], i: number, end: number, session: ReplaySession): LedgerState {
  const name = list[i].zone;
  const zone = state.zones.get(name)!;
  const n = end - i;
  const ids = new Array<string>(n);
  const records = new Array<RecordState>(n);
  // Ids in ascending order (the ledger draws them so) repeat none, and need no set (RepeatedIds).
  const seen = new RepeatedIds();
  for (let k = 0; k < n; k++) {
    const b = list[i + k].body as Extract<EventBody, { type: 'RecordCreated' }>;
    // The payload itself, as evolveIn makes it the record (events are never changed): no second
    // object for each of a million records.
    const r: RecordState = b.payload;
    if (seen.repeats(r.id, ids, k)) {
      let s = state;
      for (let j = i; j < end; j++) s = evolveIn(s, list[j], session);
      return s;
    }
    ids[k] = r.id;
    records[k] = r;
  }
  let tree: TrieNode;
  if (zone.tree.children.size === 0) {
    tree = buildBelowApex(zone, records);
  } else {
    tree = zone.tree;
    for (let k = 0; k < n; k++) {
      const labels = labelsBelow(records[k].name, zone.apexLabels);
      records[k] = withOwnerName(records[k], tree, labels);
      tree = addRecord(tree, labels, records[k], session.trie);
    }
  }
  // The map is immutable: a later write in this session takes a transient of it as of any other.
  session.transientRecords.delete(name);
  const last = list[end - 1];
  const head = state.heads.get(name);
  return {
    seq: last.seq,
    zones: state.zones.set(name, { ...zone, version: last.seq, records: PMap.lazyFromArrays(ids, records), tree }),
    heads: state.heads.set(name, headAfter(head, last)),
  };
}
