/**
 * A compact persistent hash map from strings to values (a CHAMP trie: Steindorfer & Vinju, 2015).
 *
 * Why not immutable.js here: the zone trie's child maps and a zone's record index hold one entry per
 * name or record, a million of them in a large zone. immutable.js spends an object and an entry
 * array per key (~165 bytes); CHAMP keeps keys and values inline in each node's array (~40 bytes),
 * which is what keeps a 1,000,000-record zone under the memory target. Same contract: `set` and
 * `delete` return a new map sharing all untouched nodes; a transient (`asMutable`) edits nodes it
 * owns in place, for bulk loading and replay, and `asImmutable` freezes it again.
 */

/** A node: `dataMap` bits have an inline key/value pair, `nodeMap` bits a child node. */
// The value type only ties a node to its map; the array holds it untyped.
interface Node<_V> {
  dataMap: number;
  nodeMap: number;
  /** [k0, v0, k1, v1, …, child0, child1, …], pairs and children each in bit order. */
  arr: unknown[];
  /** Set while a transient owns the node (it may then be changed in place). */
  owner?: object;
  /** A bucket of keys whose 32-bit hashes are equal: `arr` holds pairs only, searched linearly. */
  collision?: true;
}

const BITS = 5;
const MASK = 31;

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** FNV-1a over UTF-16 code units: cheap for the short labels and ids this map holds (exported for tests). */
export function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function editable<V>(node: Node<V>, owner: object | undefined): Node<V> {
  if (owner && node.owner === owner) return node;
  const copy: Node<V> = { dataMap: node.dataMap, nodeMap: node.nodeMap, arr: node.arr.slice() };
  if (node.collision) copy.collision = true;
  if (owner) copy.owner = owner;
  return copy;
}

function getIn<V>(root: Node<V>, key: string, hash: number): V | undefined {
  let node = root;
  for (let shift = 0; ; shift += BITS) {
    if (node.collision) {
      for (let i = 0; i < node.arr.length; i += 2) if (node.arr[i] === key) return node.arr[i + 1] as V;
      return undefined;
    }
    const bit = 1 << ((hash >>> shift) & MASK);
    if (node.dataMap & bit) {
      const i = 2 * popcount(node.dataMap & (bit - 1));
      return node.arr[i] === key ? (node.arr[i + 1] as V) : undefined;
    }
    if (!(node.nodeMap & bit)) return undefined;
    node = node.arr[2 * popcount(node.dataMap) + popcount(node.nodeMap & (bit - 1))] as Node<V>;
  }
}

/** A node holding two pairs whose hashes agree below `shift`. */
function mergeTwo<V>(k1: string, v1: V, h1: number, k2: string, v2: V, h2: number, shift: number, owner: object | undefined): Node<V> {
  let node: Node<V>;
  if (shift >= 32) {
    node = { dataMap: 0, nodeMap: 0, arr: [k1, v1, k2, v2], collision: true };
  } else {
    const f1 = (h1 >>> shift) & MASK;
    const f2 = (h2 >>> shift) & MASK;
    if (f1 !== f2) {
      node = { dataMap: (1 << f1) | (1 << f2), nodeMap: 0, arr: f1 < f2 ? [k1, v1, k2, v2] : [k2, v2, k1, v1] };
    } else {
      node = { dataMap: 0, nodeMap: 1 << f1, arr: [mergeTwo(k1, v1, h1, k2, v2, h2, shift + BITS, owner)] };
    }
  }
  if (owner) node.owner = owner;
  return node;
}

/** Result flags of one edit, so the map can keep its size without a second walk. */
interface Change {
  added: boolean;
  removed: boolean;
}

function setIn<V>(node: Node<V>, key: string, value: V, hash: number, shift: number, owner: object | undefined, ch: Change): Node<V> {
  if (node.collision) {
    for (let i = 0; i < node.arr.length; i += 2) {
      if (node.arr[i] === key) {
        if (node.arr[i + 1] === value) return node;
        const n = editable(node, owner);
        n.arr[i + 1] = value;
        return n;
      }
    }
    const n = editable(node, owner);
    n.arr.push(key, value);
    ch.added = true;
    return n;
  }
  const bit = 1 << ((hash >>> shift) & MASK);
  if (node.dataMap & bit) {
    const i = 2 * popcount(node.dataMap & (bit - 1));
    const k0 = node.arr[i] as string;
    if (k0 === key) {
      if (node.arr[i + 1] === value) return node;
      const n = editable(node, owner);
      n.arr[i + 1] = value;
      return n;
    }
    const sub = mergeTwo(k0, node.arr[i + 1] as V, hashOf(k0), key, value, hash, shift + BITS, owner);
    const n = editable(node, owner);
    n.arr.splice(i, 2);
    n.dataMap &= ~bit;
    n.nodeMap |= bit;
    n.arr.splice(2 * popcount(n.dataMap) + popcount(n.nodeMap & (bit - 1)), 0, sub);
    ch.added = true;
    return n;
  }
  if (node.nodeMap & bit) {
    const j = 2 * popcount(node.dataMap) + popcount(node.nodeMap & (bit - 1));
    const sub = node.arr[j] as Node<V>;
    const next = setIn(sub, key, value, hash, shift + BITS, owner, ch);
    if (next === sub) return node;
    const n = editable(node, owner);
    n.arr[j] = next;
    return n;
  }
  const n = editable(node, owner);
  n.arr.splice(2 * popcount(node.dataMap & (bit - 1)), 0, key, value);
  n.dataMap |= bit;
  ch.added = true;
  return n;
}

function deleteIn<V>(node: Node<V>, key: string, hash: number, shift: number, owner: object | undefined, ch: Change): Node<V> {
  if (node.collision) {
    for (let i = 0; i < node.arr.length; i += 2) {
      if (node.arr[i] === key) {
        const n = editable(node, owner);
        n.arr.splice(i, 2);
        ch.removed = true;
        return n;
      }
    }
    return node;
  }
  const bit = 1 << ((hash >>> shift) & MASK);
  if (node.dataMap & bit) {
    const i = 2 * popcount(node.dataMap & (bit - 1));
    if (node.arr[i] !== key) return node;
    const n = editable(node, owner);
    n.arr.splice(i, 2);
    n.dataMap &= ~bit;
    ch.removed = true;
    return n;
  }
  if (!(node.nodeMap & bit)) return node;
  const j = 2 * popcount(node.dataMap) + popcount(node.nodeMap & (bit - 1));
  const sub = node.arr[j] as Node<V>;
  const next = deleteIn(sub, key, hash, shift + BITS, owner, ch);
  if (next === sub) return node;
  const n = editable(node, owner);
  const pairs = next.collision ? next.arr.length / 2 : popcount(next.dataMap);
  const kids = next.collision ? 0 : popcount(next.nodeMap);
  if (pairs === 0 && kids === 0) {
    // The child emptied: drop it.
    n.arr.splice(j, 1);
    n.nodeMap &= ~bit;
  } else if (pairs === 1 && kids === 0) {
    // A child with one pair left folds back into this node (keeps the trie canonical and small).
    n.arr.splice(j, 1);
    n.nodeMap &= ~bit;
    n.dataMap |= bit;
    n.arr.splice(2 * popcount(n.dataMap & (bit - 1)), 0, next.arr[0], next.arr[1]);
  } else {
    n.arr[j] = next;
  }
  return n;
}

function* pairsOf<V>(node: Node<V>): Generator<[string, V]> {
  const dataLen = node.collision ? node.arr.length : 2 * popcount(node.dataMap);
  for (let i = 0; i < dataLen; i += 2) yield [node.arr[i] as string, node.arr[i + 1] as V];
  for (let j = dataLen; j < node.arr.length; j++) yield* pairsOf(node.arr[j] as Node<V>);
}

const EMPTY_NODE: Node<never> = { dataMap: 0, nodeMap: 0, arr: [] };

/** A persistent map from strings to values; see the module comment. */
export class PMap<V> {
  private root: Node<V>;
  private count: number;
  private owner: object | undefined;

  private constructor(root: Node<V>, count: number, owner?: object) {
    this.root = root;
    this.count = count;
    this.owner = owner;
  }

  /** The empty map. */
  static empty<V>(): PMap<V> {
    return new PMap<V>(EMPTY_NODE as Node<V>, 0);
  }

  /** A map of the given entries (built as one transient). */
  static from<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    return PMap.empty<V>().withMutations((m) => {
      for (const [k, v] of entries) m.set(k, v);
    });
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** The value of `key`, or undefined. */
  get(key: string): V | undefined {
    return getIn(this.root, key, hashOf(key));
  }

  /** True when `key` has a value. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A map with `key` set to `value` (this map itself when it is a transient). */
  set(key: string, value: V): PMap<V> {
    const ch: Change = { added: false, removed: false };
    const root = setIn(this.root, key, value, hashOf(key), 0, this.owner, ch);
    return this.next(root, this.count + (ch.added ? 1 : 0));
  }

  /** A map without `key` (this map itself when it is a transient). */
  delete(key: string): PMap<V> {
    const ch: Change = { added: false, removed: false };
    const root = deleteIn(this.root, key, hashOf(key), 0, this.owner, ch);
    return this.next(root, this.count - (ch.removed ? 1 : 0));
  }

  private next(root: Node<V>, count: number): PMap<V> {
    if (this.owner) {
      this.root = root;
      this.count = count;
      return this;
    }
    return root === this.root ? this : new PMap(root, count);
  }

  /** A transient copy: edits change it in place until `asImmutable`. */
  asMutable(): PMap<V> {
    return this.owner ? this : new PMap(this.root, this.count, {});
  }

  /** Freeze a transient; it must not be edited through another reference afterwards. */
  asImmutable(): PMap<V> {
    this.owner = undefined;
    return this;
  }

  /** Apply several edits through one transient and return the frozen result. */
  withMutations(fn: (m: PMap<V>) => void): PMap<V> {
    const m = this.asMutable();
    fn(m);
    return m.asImmutable();
  }

  /** Every [key, value], in hash order. */
  entries(): IterableIterator<[string, V]> {
    return pairsOf(this.root);
  }

  /** Every key, in hash order. */
  *keys(): IterableIterator<string> {
    for (const [k] of pairsOf(this.root)) yield k;
  }

  /** Every value, in hash order. */
  *values(): IterableIterator<V> {
    for (const [, v] of pairsOf(this.root)) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}
