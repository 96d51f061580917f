/**
 * The zone trie: an immutable, structurally shared tree of domain-name labels below a zone apex.
 *
 * A write copies only the nodes on the path from the apex to the changed name; every other node is
 * shared with the previous version, so a new version costs O(labels x log32(children)) and old
 * versions stay valid for readers that still hold them. Children live in a persistent hash map
 * (PMap, a compact CHAMP trie), which is what keeps a write to a 1,000,000-child apex cheap.
 */
import { PMap } from './pmap.ts';
import type { RRType } from '../records/types.ts';

/** One record as the projection holds it. `name` is absolute and lowercase; `value` is canonical text. */
export interface RecordState {
  readonly id: string;
  readonly name: string;
  readonly type: RRType;
  readonly ttl: number;
  readonly value: string;
}

/** The records of one name and type. */
export interface RRset {
  readonly type: RRType;
  readonly records: readonly RecordState[];
}

/** The RRsets of one node, read-only, by type. */
export type RRsets = ReadonlyMap<RRType, RRset>;

/**
 * An RRset as the trie holds it: the array of its records itself, its type read from its first
 * record (an RRset in the trie is never empty; removing its last record removes the type). A
 * `{type, records}` object beside its array costs a one-record RRset 40 bytes more (the realistic
 * 1M-name zone has 1.4 million RRsets). Identity is an RRset's identity: an RRset that does not
 * change stays the same array across versions, as the DNSSEC and serving-index diffs expect.
 * Arrays derived from it (map, filter, slice) are plain arrays.
 */
class RecordList extends Array<RecordState> implements RRset {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  get type(): RRType {
    return this[0].type;
  }

  get records(): readonly RecordState[] {
    return this;
  }
}

/**
 * The trie's RRset of `records[start..end)` (all of one type, at least one): an exact-size
 * RecordList, `records` not kept.
 */
export function rrsetOf(records: readonly RecordState[], start = 0, end = records.length): RRset {
  // Array literals for the common sizes: allocated old once they are seen to survive (see nodeOf).
  const n = end - start;
  return recordList(n === 1 ? [records[start]] : n === 2 ? [records[start], records[start + 1]] : records.slice(start, end));
}

/**
 * `fresh` (an array no one else holds, at least one record) made the trie's RRset. A plain array
 * given RecordList's prototype: as cheap to make as the array itself (constructing through the
 * subclass, Reflect.construct or `new RecordList(n)`, took 1.5-4 times as long per RRset, which
 * a checkpoint load does 1.4 million times).
 */
function recordList(fresh: RecordState[]): RecordList {
  if (fresh.length === 0) throw new Error('trie: an RRset holds at least one record');
  return Object.setPrototypeOf(fresh, RecordList.prototype) as RecordList;
}

/** `records` and then `record`, in an array of exactly that size. */
function withRecord(records: readonly RecordState[], record: RecordState): RecordState[] {
  const n = records.length;
  const out = new Array<RecordState>(n + 1);
  for (let i = 0; i < n; i++) out[i] = records[i];
  out[n] = record;
  return out;
}

/** `set` as the trie holds it (itself when it is one already: its identity is kept). */
function held(set: RRset): RecordList {
  return set instanceof RecordList ? set : recordList(set.records.slice());
}

/** A node of the trie: an owner name, its RRsets (possibly none: an empty non-terminal), its children. */
export interface TrieNode {
  /** Absolute lowercase owner name. */
  readonly name: string;
  /** The node's RRsets: a view of the node itself (no object of its own), so its identity is the node's. */
  readonly rrsets: RRsets;
  /** Keyed by lowercase presentation label. */
  readonly children: PMap<TrieNode>;
}

/**
 * A trie node. Its RRsets are held in two fields: `sets`, the first (undefined for an empty
 * non-terminal), and, on a node of two or more (a third of the realistic zone's names: A and
 * AAAA), `more`: the second, or an exact-size array of the second and the rest. The node itself is
 * the read-only map over them that `rrsets` returns. A list object per node (~40 bytes), an array
 * for two RRsets (~64) and a Map's own table (~200) would each be a large part of a node's memory
 * in a zone of a million names; a linear scan of one or two types beats hashing anyway.
 */
class Node implements TrieNode, RRsets {
  // Made by nodeOf and its siblings, never by `new` (see there).
  declare readonly name: string;
  declare sets: RecordList | undefined;
  /** Present on nodes made with room for it (multiNodeOf, sessionNodeOf): a node of one RRset has no such field. */
  declare more?: RecordList | RecordList[] | undefined;
  declare children: PMap<TrieNode>;

  get rrsets(): RRsets {
    return this;
  }

  get size(): number {
    if (this.sets === undefined) return 0;
    const more = this.more;
    return more === undefined ? 1 : more instanceof RecordList ? 2 : 1 + more.length;
  }

  get(type: RRType): RRset | undefined {
    const first = this.sets;
    if (first === undefined) return undefined;
    if (first[0].type === type) return first;
    const more = this.more;
    if (more === undefined) return undefined;
    if (more instanceof RecordList) return more[0].type === type ? more : undefined;
    for (let i = 0; i < more.length; i++) if (more[i][0].type === type) return more[i];
    return undefined;
  }

  has(type: RRType): boolean {
    return this.get(type) !== undefined;
  }

  values(): MapIterator<RRset> {
    return setsOf(this).values() as MapIterator<RRset>;
  }

  keys(): MapIterator<RRType> {
    return setsOf(this).map((x) => x.type).values() as MapIterator<RRType>;
  }

  entries(): MapIterator<[RRType, RRset]> {
    return setsOf(this).map((x): [RRType, RRset] => [x.type, x]).values() as MapIterator<[RRType, RRset]>;
  }

  [Symbol.iterator](): MapIterator<[RRType, RRset]> {
    return this.entries();
  }

  /** In order, with no array made (the checkpoint writer walks a million nodes' RRsets). */
  forEach(fn: (value: RRset, key: RRType, map: RRsets) => void): void {
    const first = this.sets;
    if (first === undefined) return;
    fn(first, first[0].type, this);
    const more = this.more;
    if (more === undefined) return;
    if (more instanceof RecordList) fn(more, more[0].type, this);
    else for (let i = 0; i < more.length; i++) fn(more[i], more[i][0].type, this);
  }
}

/** A node created by a TrieSession: changed in place while `owner` is that session (see own). */
class SessionNode extends Node {
  declare owner: TrieSession | undefined;
}

/**
 * A node of at most one RRset: an object literal given Node's prototype. Not `new Node`: V8
 * allocates an object literal straight into the old generation once its allocation site is seen to
 * survive (every node of a checkpoint load does), while a constructed object is always allocated
 * young and copied twice by the scavenger; the 1M-zone checkpoint load took 10-20% more CPU with `new`.
 */
function nodeOf(name: string, sets: RecordList | undefined, children: PMap<TrieNode>): Node {
  return Object.setPrototypeOf({ name, sets, children }, Node.prototype) as Node;
}

/** A node with room for more RRsets (`more` may be undefined): several RRsets, or a copy being changed. */
function multiNodeOf(name: string, sets: RecordList | undefined, more: RecordList | RecordList[] | undefined, children: PMap<TrieNode>): Node {
  return Object.setPrototypeOf({ name, sets, more, children }, Node.prototype) as Node;
}

function sessionNodeOf(name: string, sets: RecordList | undefined, more: RecordList | RecordList[] | undefined, children: PMap<TrieNode>, owner: TrieSession): SessionNode {
  return Object.setPrototypeOf({ name, sets, more, children, owner }, SessionNode.prototype) as SessionNode;
}

/** A node's RRsets in order, in a new array. */
function setsOf(node: Node): RecordList[] {
  const first = node.sets;
  if (first === undefined) return [];
  const more = node.more;
  return more === undefined ? [first] : more instanceof RecordList ? [first, more] : [first, ...more];
}

/**
 * Make `list` (RRsets in order) the RRsets of `node`, which has room for `more` (own gives every
 * node it changes that room). Arrays stored in `more` are never changed afterwards, so copies of a
 * node share them.
 */
function store(node: Node, list: RecordList[]): void {
  node.sets = list[0];
  node.more = list.length === 2 ? list[1] : list.length > 2 ? list.slice(1) : undefined;
}

/** Put `set` in place of the RRset of its type (or add it). Owned nodes only. */
function putSet(node: Node, set: RecordList): void {
  const type = set[0].type;
  if (node.sets === undefined || node.sets[0].type === type) {
    node.sets = set;
    return;
  }
  const list = setsOf(node);
  const i = list.findIndex((x) => x[0].type === type);
  if (i >= 0) list[i] = set;
  else list.push(set);
  store(node, list);
}

/** Remove the RRset of `type`. Owned nodes only. */
function removeSet(node: Node, type: RRType): void {
  const list = setsOf(node);
  const i = list.findIndex((x) => x[0].type === type);
  if (i < 0) return;
  list.splice(i, 1);
  store(node, list);
}

const NO_CHILDREN: PMap<TrieNode> = PMap.empty();

/**
 * A node from its finished parts (checkpoint loading builds each node once, bottom-up): the RRsets
 * (any objects: they are held as RecordLists, an RRset of this trie as itself), the children map
 * already built. `sets` is not kept: the caller may reuse it.
 */
export function makeNode(name: string, sets: readonly RRset[], children: PMap<TrieNode>): TrieNode {
  const kids = children.size === 0 ? NO_CHILDREN : children;
  const n = sets.length;
  if (n <= 1) return nodeOf(name, n === 0 ? undefined : held(sets[0]), kids);
  const more = n === 2 ? held(sets[1]) : sets.slice(1).map((x) => held(x));
  return multiNodeOf(name, held(sets[0]), more, kids);
}

/** A node with no records and no children. */
export function emptyNode(name: string): TrieNode {
  return nodeOf(name, undefined, NO_CHILDREN);
}

function childName(parent: string, label: string): string {
  return parent === '.' ? `${label}.` : `${label}.${parent}`;
}

/**
 * A transient editing session for bulk replay: nodes created inside it are changed in place (their
 * children maps are PMap transients) instead of being copied for every event, which cuts
 * replay garbage several-fold. `seal` freezes them; nothing from an unsealed session is ever
 * published. Outside a session every write copies its path, as the module doc says.
 */
export class TrieSession {
  /** Nodes created by this session, sealed together. */
  readonly owned: SessionNode[] = [];

  /** Freeze every node of the session; afterwards they are ordinary immutable nodes. */
  seal(): void {
    for (const n of this.owned) {
      n.children = n.children.asImmutable();
      n.owner = undefined;
    }
    this.owned.length = 0;
  }
}

/** The node itself when the session owns it, else a copy that the session (if any) owns. */
function own(node: TrieNode, session: TrieSession | undefined): Node {
  const m = node as Node;
  if (session && (m as SessionNode).owner === session) return m;
  // With room for `more`: the copy is about to be changed.
  if (!session) return multiNodeOf(m.name, m.sets, m.more, m.children);
  const copy = sessionNodeOf(m.name, m.sets, m.more, m.children.asMutable(), session);
  session.owned.push(copy);
  return copy;
}

/**
 * Change the node at `labels` (relative to `node`, outermost label first) with `fn`, copying (or,
 * in a session, owning) the path to it; a node left with neither records nor children is pruned.
 */
function updatePath(
  node: TrieNode,
  labels: readonly string[],
  i: number,
  fn: (node: Node) => void,
  session: TrieSession | undefined,
  leafName?: string,
): TrieNode | null {
  let next: Node;
  if (i === labels.length) {
    next = own(node, session);
    fn(next);
  } else {
    const label = labels[i];
    const child = node.children.get(label) ?? emptyNode(i + 1 === labels.length && leafName ? leafName : childName(node.name, label));
    const updated = updatePath(child, labels, i + 1, fn, session, leafName);
    if (updated === child && node.children.get(label) === child) return node;
    next = own(node, session);
    next.children = updated ? next.children.set(label, updated) : next.children.delete(label);
  }
  return next.sets === undefined && next.children.size === 0 ? null : next;
}

/** A new trie with `record` added at `labels` below the apex. The apex node itself never disappears. */
export function addRecord(apex: TrieNode, labels: readonly string[], record: RecordState, session?: TrieSession): TrieNode {
  return (
    updatePath(apex, labels, 0, (m) => {
      const set = m.get(record.type);
      putSet(m, recordList(set ? withRecord(set.records, record) : [record]));
    }, session, record.name) ?? emptyNode(apex.name)
  );
}

/** A new trie with the record of id `id` and type `type` removed from `labels`. */
export function removeRecord(apex: TrieNode, labels: readonly string[], type: RRType, id: string, session?: TrieSession): TrieNode {
  return (
    updatePath(apex, labels, 0, (m) => {
      const set = m.get(type);
      if (!set) return;
      const records = set.records.filter((r) => r.id !== id);
      if (records.length === 0) removeSet(m, type);
      else putSet(m, recordList(records));
    }, session) ?? emptyNode(apex.name)
  );
}

/** A new trie with the record of the same id replaced (same name and type). */
export function replaceRecord(apex: TrieNode, labels: readonly string[], record: RecordState, session?: TrieSession): TrieNode {
  return (
    updatePath(apex, labels, 0, (m) => {
      const set = m.get(record.type);
      if (!set) return;
      putSet(m, recordList(set.records.map((r) => (r.id === record.id ? record : r))));
    }, session) ?? emptyNode(apex.name)
  );
}

/** A new trie whose apex has exactly `rrset` for its type (used for the synthesized SOA). */
export function setApexRRset(apex: TrieNode, rrset: RRset, session?: TrieSession): TrieNode {
  const next = own(apex, session);
  putSet(next, held(rrset));
  return next;
}

/** The node at `labels` below the apex, or undefined. */
export function findNode(apex: TrieNode, labels: readonly string[]): TrieNode | undefined {
  let node: TrieNode | undefined = apex;
  for (let i = 0; i < labels.length && node; i++) node = node.children.get(labels[i]);
  return node;
}

/** What DNS answering needs to know about a name, found in one walk of O(labels) steps. */
export interface TrieLookup {
  /** The node for the name when it exists (it may be an empty non-terminal). */
  exact?: TrieNode;
  /** The closest encloser: the deepest existing node on the path (the exact node when it exists). */
  encloser: TrieNode;
  /** How many labels below the apex the closest encloser is. */
  encloserDepth: number;
  /** A zone cut on the path: the first node strictly below the apex that owns an NS RRset. */
  cut?: TrieNode;
  /** The wildcard `*` child of the closest encloser, when the name itself does not exist. */
  wildcard?: TrieNode;
}

/**
 * Walk from the apex toward `labels`, stopping at a delegation (a referral answers everything at and
 * below a cut) or at the first missing label.
 */
export function lookup(apex: TrieNode, labels: readonly string[]): TrieLookup {
  let node = apex;
  let depth = 0;
  for (; depth < labels.length; depth++) {
    const child = node.children.get(labels[depth]);
    if (!child) break;
    node = child;
    if (child.rrsets.has('NS')) return { exact: depth + 1 === labels.length ? child : undefined, encloser: child, encloserDepth: depth + 1, cut: child };
  }
  if (depth === labels.length) return { exact: node, encloser: node, encloserDepth: depth };
  return { encloser: node, encloserDepth: depth, wildcard: node.children.get('*') };
}

/** Every record in the trie, in no particular order. */
export function* allRecords(node: TrieNode): IterableIterator<RecordState> {
  for (const set of node.rrsets.values()) yield* set.records;
  for (const child of node.children.values()) yield* allRecords(child);
}

/**
 * Build a trie in one pass from a list of records (checkpoint loading), through one transient
 * session: every node is created once and changed in place, then sealed. `labelsOf` gives a
 * record's labels below the apex, outermost first.
 */
export function buildTrie(apexName: string, records: Iterable<RecordState>, labelsOf: (name: string) => string[]): TrieNode {
  const session = new TrieSession();
  let apex = emptyNode(apexName);
  for (const r of records) apex = addRecord(apex, labelsOf(r.name), r, session);
  session.seal();
  return apex;
}
