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

/**
 * The RRsets of one node: a read-only Map interface over a small array. A node holds one or two
 * types, so a linear scan beats hashing, and a JS Map's own table (~200 bytes) would be most of a
 * node's memory in a zone of a million names.
 */
export class RRsetList implements ReadonlyMap<RRType, RRset> {
  /** The first RRset (undefined only when the list is empty): most names have exactly one. */
  private one: RRset | undefined;
  /** The others, when there are any; no array is allocated for the common single-RRset node. */
  private more: RRset[] | undefined;

  constructor(sets: readonly RRset[] = []) {
    this.one = sets[0];
    this.more = sets.length > 1 ? sets.slice(1) : undefined;
  }

  get size(): number {
    return this.one === undefined ? 0 : 1 + (this.more?.length ?? 0);
  }

  get(type: RRType): RRset | undefined {
    if (this.one?.type === type) return this.one;
    const more = this.more;
    if (more) for (let i = 0; i < more.length; i++) if (more[i].type === type) return more[i];
    return undefined;
  }

  has(type: RRType): boolean {
    return this.get(type) !== undefined;
  }

  /** Put `set` in place of the RRset of its type (or add it). Trie-internal: owned nodes only. */
  put(set: RRset): void {
    if (this.one === undefined || this.one.type === set.type) {
      this.one = set;
      return;
    }
    const more = (this.more ??= []);
    const i = more.findIndex((x) => x.type === set.type);
    if (i >= 0) more[i] = set;
    else more.push(set);
  }

  /** Remove the RRset of `type`. Trie-internal: owned nodes only. */
  remove(type: RRType): void {
    if (this.one?.type === type) {
      this.one = this.more?.shift();
    } else if (this.more) {
      const i = this.more.findIndex((x) => x.type === type);
      if (i >= 0) this.more.splice(i, 1);
    }
    if (this.more?.length === 0) this.more = undefined;
  }

  /** A copy that can be changed without touching this one. */
  clone(): RRsetList {
    const c = new RRsetList();
    c.one = this.one;
    c.more = this.more?.slice();
    return c;
  }

  private list(): RRset[] {
    if (this.one === undefined) return [];
    return this.more ? [this.one, ...this.more] : [this.one];
  }

  values(): MapIterator<RRset> {
    return this.list().values() as MapIterator<RRset>;
  }

  keys(): MapIterator<RRType> {
    return this.list().map((x) => x.type).values() as MapIterator<RRType>;
  }

  entries(): MapIterator<[RRType, RRset]> {
    return this.list().map((x): [RRType, RRset] => [x.type, x]).values() as MapIterator<[RRType, RRset]>;
  }

  [Symbol.iterator](): MapIterator<[RRType, RRset]> {
    return this.entries();
  }

  forEach(fn: (value: RRset, key: RRType, map: ReadonlyMap<RRType, RRset>) => void): void {
    for (const x of this.list()) fn(x, x.type, this);
  }
}

/** A node of the trie: an owner name, its RRsets (possibly none: an empty non-terminal), its children. */
export interface TrieNode {
  /** Absolute lowercase owner name. */
  readonly name: string;
  readonly rrsets: RRsetList;
  /** Keyed by lowercase presentation label. */
  readonly children: PMap<TrieNode>;
}

const NO_RRSETS = new RRsetList();
const NO_CHILDREN: PMap<TrieNode> = PMap.empty();

/**
 * A node from its finished parts (checkpoint loading builds each node once, bottom-up): the RRsets
 * in an exact-size list, the children map already built.
 */
export function makeNode(name: string, sets: readonly RRset[], children: PMap<TrieNode>): TrieNode {
  return { name, rrsets: sets.length === 0 ? NO_RRSETS : new RRsetList(sets), children: children.size === 0 ? NO_CHILDREN : children };
}

/** A node with no records and no children. */
export function emptyNode(name: string): TrieNode {
  return { name, rrsets: NO_RRSETS, children: NO_CHILDREN };
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
  readonly owned: MutableNode[] = [];

  /** Freeze every node of the session; afterwards they are ordinary immutable nodes. */
  seal(): void {
    for (const n of this.owned) {
      n.children = n.children.asImmutable();
      n.owner = undefined;
    }
    this.owned.length = 0;
  }
}

interface MutableNode {
  name: string;
  rrsets: RRsetList;
  children: PMap<TrieNode>;
  owner?: TrieSession;
}

/** The node itself when the session owns it, else a copy that the session (if any) owns. */
function own(node: TrieNode, session: TrieSession | undefined): MutableNode {
  const m = node as MutableNode;
  if (session && m.owner === session) return m;
  const copy: MutableNode = {
    name: node.name,
    rrsets: node.rrsets.clone(),
    children: session ? node.children.asMutable() : node.children,
  };
  if (session) {
    copy.owner = session;
    session.owned.push(copy);
  }
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
  fn: (rrsets: RRsetList) => void,
  session: TrieSession | undefined,
  leafName?: string,
): TrieNode | null {
  let next: MutableNode;
  if (i === labels.length) {
    next = own(node, session);
    fn(next.rrsets);
  } else {
    const label = labels[i];
    const child = node.children.get(label) ?? emptyNode(i + 1 === labels.length && leafName ? leafName : childName(node.name, label));
    const updated = updatePath(child, labels, i + 1, fn, session, leafName);
    if (updated === child && node.children.get(label) === child) return node;
    next = own(node, session);
    next.children = updated ? next.children.set(label, updated) : next.children.delete(label);
  }
  return next.rrsets.size === 0 && next.children.size === 0 ? null : (next as TrieNode);
}

/** A new trie with `record` added at `labels` below the apex. The apex node itself never disappears. */
export function addRecord(apex: TrieNode, labels: readonly string[], record: RecordState, session?: TrieSession): TrieNode {
  return (
    updatePath(apex, labels, 0, (m) => {
      const set = m.get(record.type);
      m.put({ type: record.type, records: set ? [...set.records, record] : [record] });
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
      if (records.length === 0) m.remove(type);
      else m.put({ type, records });
    }, session) ?? emptyNode(apex.name)
  );
}

/** A new trie with the record of the same id replaced (same name and type). */
export function replaceRecord(apex: TrieNode, labels: readonly string[], record: RecordState, session?: TrieSession): TrieNode {
  return (
    updatePath(apex, labels, 0, (m) => {
      const set = m.get(record.type);
      if (!set) return;
      m.put({ type: record.type, records: set.records.map((r) => (r.id === record.id ? record : r)) });
    }, session) ?? emptyNode(apex.name)
  );
}

/** A new trie whose apex has exactly `rrset` for its type (used for the synthesized SOA). */
export function setApexRRset(apex: TrieNode, rrset: RRset, session?: TrieSession): TrieNode {
  const next = own(apex, session);
  next.rrsets.put(rrset);
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
