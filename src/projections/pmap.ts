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

/**
 * A node is one array, so a lookup touches one object per level (this is the hot path of DNS
 * answering in a large zone, bound by memory latency): [dataMap, nodeMap, owner, k0, v0, k1, v1,
 * …, child0, child1, …], pairs and children each in bit order. `dataMap` bits have an inline
 * key/value pair, `nodeMap` bits a child node; `owner` is the transient that may change the node in
 * place. A node with both maps 0 and pairs is a collision bucket: keys whose 32-bit hashes are
 * equal, searched linearly.
 */
type Node = unknown[];

const BITS = 5;
const MASK = 31;
/** Slots before the pairs: dataMap, nodeMap, owner. */
const H = 3;

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

function isCollision(n: Node): boolean {
  return n[0] === 0 && n[1] === 0 && n.length > H;
}

/**
 * `n` (a node just copied by `editable`, then grown or shrunk with push or splice) as it is kept: as
 * it is in a transient, which may edit it again; otherwise an exact copy. A splice or push that
 * grows an array leaves V8's growth slack in it (about half its size again, plus 16 slots), and
 * every node a write touched kept that slack: a map written key by key held 1.5 times the heap of
 * the same map built from arrays, tens of MB over an hour of writes to a 1M-entry map. The spliced copy
 * is young garbage, collected at the next scavenge.
 */
function sized(n: Node, owner: object | undefined): Node {
  return owner ? n : n.slice();
}

function editable(node: Node, owner: object | undefined): Node {
  if (owner && node[2] === owner) return node;
  const copy = node.slice();
  copy[2] = owner;
  return copy;
}

function getIn<V>(root: Node, key: string, hash: number): V | undefined {
  let node = root;
  for (let shift = 0; ; shift += BITS) {
    const dataMap = node[0] as number;
    const nodeMap = node[1] as number;
    if (dataMap === 0 && nodeMap === 0) {
      for (let i = H; i < node.length; i += 2) if (node[i] === key) return node[i + 1] as V;
      return undefined;
    }
    const bit = 1 << ((hash >>> shift) & MASK);
    if (dataMap & bit) {
      const i = H + 2 * popcount(dataMap & (bit - 1));
      return node[i] === key ? (node[i + 1] as V) : undefined;
    }
    if (!(nodeMap & bit)) return undefined;
    node = node[H + 2 * popcount(dataMap) + popcount(nodeMap & (bit - 1))] as Node;
  }
}

/** A node holding two pairs whose hashes agree below `shift`. */
function mergeTwo(k1: string, v1: unknown, h1: number, k2: string, v2: unknown, h2: number, shift: number, owner: object | undefined): Node {
  if (shift >= 32) return [0, 0, owner, k1, v1, k2, v2];
  const f1 = (h1 >>> shift) & MASK;
  const f2 = (h2 >>> shift) & MASK;
  // Literals of their exact size (a spread into a literal grows it as it goes, with slack).
  if (f1 !== f2) return f1 < f2 ? [(1 << f1) | (1 << f2), 0, owner, k1, v1, k2, v2] : [(1 << f1) | (1 << f2), 0, owner, k2, v2, k1, v1];
  return [0, 1 << f1, owner, mergeTwo(k1, v1, h1, k2, v2, h2, shift + BITS, owner)];
}

/** Result flags of one edit, so the map can keep its size without a second walk. */
interface Change {
  added: boolean;
  removed: boolean;
}

function setIn(node: Node, key: string, value: unknown, hash: number, shift: number, owner: object | undefined, ch: Change): Node {
  if (isCollision(node)) {
    for (let i = H; i < node.length; i += 2) {
      if (node[i] === key) {
        if (node[i + 1] === value) return node;
        const n = editable(node, owner);
        n[i + 1] = value;
        return n;
      }
    }
    const n = editable(node, owner);
    n.push(key, value);
    ch.added = true;
    return sized(n, owner);
  }
  const dataMap = node[0] as number;
  const nodeMap = node[1] as number;
  const bit = 1 << ((hash >>> shift) & MASK);
  if (dataMap & bit) {
    const i = H + 2 * popcount(dataMap & (bit - 1));
    const k0 = node[i] as string;
    if (k0 === key) {
      if (node[i + 1] === value) return node;
      const n = editable(node, owner);
      n[i + 1] = value;
      return n;
    }
    const sub = mergeTwo(k0, node[i + 1], hashOf(k0), key, value, hash, shift + BITS, owner);
    const n = editable(node, owner);
    n.splice(i, 2);
    const dm = dataMap & ~bit;
    const nm = nodeMap | bit;
    n[0] = dm;
    n[1] = nm;
    n.splice(H + 2 * popcount(dm) + popcount(nm & (bit - 1)), 0, sub);
    ch.added = true;
    return sized(n, owner);
  }
  if (nodeMap & bit) {
    const j = H + 2 * popcount(dataMap) + popcount(nodeMap & (bit - 1));
    const sub = node[j] as Node;
    const next = setIn(sub, key, value, hash, shift + BITS, owner, ch);
    if (next === sub) return node;
    const n = editable(node, owner);
    n[j] = next;
    return n;
  }
  const n = editable(node, owner);
  n.splice(H + 2 * popcount(dataMap & (bit - 1)), 0, key, value);
  n[0] = dataMap | bit;
  ch.added = true;
  return sized(n, owner);
}

function deleteIn(node: Node, key: string, hash: number, shift: number, owner: object | undefined, ch: Change): Node {
  if (isCollision(node)) {
    for (let i = H; i < node.length; i += 2) {
      if (node[i] === key) {
        const n = editable(node, owner);
        n.splice(i, 2);
        ch.removed = true;
        return sized(n, owner);
      }
    }
    return node;
  }
  const dataMap = node[0] as number;
  const nodeMap = node[1] as number;
  const bit = 1 << ((hash >>> shift) & MASK);
  if (dataMap & bit) {
    const i = H + 2 * popcount(dataMap & (bit - 1));
    if (node[i] !== key) return node;
    const n = editable(node, owner);
    n.splice(i, 2);
    n[0] = dataMap & ~bit;
    ch.removed = true;
    return sized(n, owner);
  }
  if (!(nodeMap & bit)) return node;
  const j = H + 2 * popcount(dataMap) + popcount(nodeMap & (bit - 1));
  const sub = node[j] as Node;
  const next = deleteIn(sub, key, hash, shift + BITS, owner, ch);
  if (next === sub) return node;
  const n = editable(node, owner);
  const collision = isCollision(next);
  const pairs = collision ? (next.length - H) / 2 : popcount(next[0] as number);
  const kids = collision ? 0 : popcount(next[1] as number);
  if (pairs === 0 && kids === 0) {
    // The child emptied: drop it.
    n.splice(j, 1);
    n[1] = nodeMap & ~bit;
  } else if (pairs === 1 && kids === 0) {
    // A child with one pair left folds back into this node (keeps the trie canonical and small).
    n.splice(j, 1);
    const nm = nodeMap & ~bit;
    const dm = dataMap | bit;
    n[1] = nm;
    n[0] = dm;
    n.splice(H + 2 * popcount(dm & (bit - 1)), 0, next[H], next[H + 1]);
  } else {
    n[j] = next;
    return n;
  }
  return sized(n, owner);
}

function* pairsOf<V>(node: Node): Generator<[string, V]> {
  const dataEnd = isCollision(node) ? node.length : H + 2 * popcount(node[0] as number);
  for (let i = H; i < dataEnd; i += 2) yield [node[i] as string, node[i + 1] as V];
  for (let j = dataEnd; j < node.length; j++) yield* pairsOf<V>(node[j] as Node);
}

/** Receives one difference: `before` or `after` is undefined for a key only one side has. */
export type DiffVisitor<V> = (key: string, before: V | undefined, after: V | undefined) => void;

/** Reports the differences of two flat entry lists (the slow, general case: both are small). */
function diffEntries<V>(before: Array<[string, V]>, after: Array<[string, V]>, fn: DiffVisitor<V>): void {
  const old = new Map(before);
  for (const [k, v] of after) {
    const was = old.get(k);
    if (was === undefined) fn(k, undefined, v);
    else {
      old.delete(k);
      if (was !== v) fn(k, was, v);
    }
  }
  for (const [k, v] of old) fn(k, v, undefined);
}

/** The entries under one bit of a node: its inline pair, its child's entries, or none. */
function entriesAt<V>(node: Node, bit: number): Array<[string, V]> {
  const dataMap = node[0] as number;
  const nodeMap = node[1] as number;
  if (dataMap & bit) {
    const i = H + 2 * popcount(dataMap & (bit - 1));
    return [[node[i] as string, node[i + 1] as V]];
  }
  if (nodeMap & bit) return [...pairsOf<V>(node[H + 2 * popcount(dataMap) + popcount(nodeMap & (bit - 1))] as Node)];
  return [];
}

/**
 * Reports every key whose value differs between two nodes at the same depth, skipping subtrees the
 * two share by reference: the cost is proportional to what changed, not to the map's size.
 */
function diffNodes<V>(a: Node, b: Node, fn: DiffVisitor<V>): void {
  if (a === b) return;
  if (isCollision(a) || isCollision(b)) return diffEntries([...pairsOf<V>(a)], [...pairsOf<V>(b)], fn);
  const aData = a[0] as number;
  const aNodes = a[1] as number;
  const bData = b[0] as number;
  const bNodes = b[1] as number;
  let bits = aData | aNodes | bData | bNodes;
  while (bits !== 0) {
    const bit = bits & -bits;
    bits ^= bit;
    if (aNodes & bNodes & bit) {
      const ca = a[H + 2 * popcount(aData) + popcount(aNodes & (bit - 1))] as Node;
      const cb = b[H + 2 * popcount(bData) + popcount(bNodes & (bit - 1))] as Node;
      diffNodes(ca, cb, fn);
    } else if (aData & bData & bit) {
      const i = H + 2 * popcount(aData & (bit - 1));
      const j = H + 2 * popcount(bData & (bit - 1));
      if (a[i] === b[j]) {
        if (a[i + 1] !== b[j + 1]) fn(a[i] as string, a[i + 1] as V, b[j + 1] as V);
      } else {
        fn(a[i] as string, a[i + 1] as V, undefined);
        fn(b[j] as string, undefined, b[j + 1] as V);
      }
    } else {
      diffEntries(entriesAt<V>(a, bit), entriesAt<V>(b, bit), fn);
    }
  }
}

function forEachIn<V>(node: Node, fn: (value: V, key: string) => void): void {
  const dataEnd = isCollision(node) ? node.length : H + 2 * popcount(node[0] as number);
  for (let i = H; i < dataEnd; i += 2) fn(node[i + 1] as V, node[i] as string);
  for (let j = dataEnd; j < node.length; j++) forEachIn(node[j] as Node, fn);
}

function valuesInto<V>(node: Node, out: V[]): void {
  const dataEnd = isCollision(node) ? node.length : H + 2 * popcount(node[0] as number);
  for (let i = H + 1; i < dataEnd; i += 2) out.push(node[i] as V);
  for (let j = dataEnd; j < node.length; j++) valuesInto(node[j] as Node, out);
}

const EMPTY_NODE: Node = [0, 0, undefined];

/**
 * Scratch of one bulk build: entry indexes and their hashes, kept side by side in bucket order so
 * the sort reads hashes sequentially (a million-entry map would otherwise miss the cache on every
 * hash), the same for the copy-back buffers, and one fragment-count table per trie level.
 */
interface Build {
  keys: readonly string[];
  values: readonly unknown[];
  idx: Uint32Array;
  hashes: Uint32Array;
  tmpIdx: Uint32Array;
  tmpHashes: Uint32Array;
  counts: Uint32Array[];
}

/**
 * The node holding entries `idx[lo..hi)` whose hashes agree below `shift`: the same shape a run of
 * `set`s would give (a sub-node only where two or more keys share a hash fragment, collision buckets
 * past 32 bits), but every node allocated once at its final size.
 */
function buildIn(b: Build, lo: number, hi: number, shift: number): Node {
  if (shift >= 32) return collisionNode(b, lo, hi);
  const { dataMap, nodeMap } = partition(b, lo, hi, shift);
  const ends = b.counts[shift / BITS];
  const kids: Node[] = [];
  let start = lo;
  for (let f = 0; f < 32; f++) {
    const end = lo + ends[f];
    if (nodeMap & (1 << f)) kids.push(buildIn(b, start, end, shift + BITS));
    start = end;
  }
  return nodeOf(b, lo, shift, dataMap, nodeMap, kids);
}

/**
 * {@link buildIn} in slices: a range of more than SLICE_ENTRIES entries is partitioned and its
 * sub-nodes built one after the other with `pause` between them, so no step holds the event loop
 * for more than a few milliseconds. Stops (undefined) when `stop()` says the result is no longer wanted.
 */
async function buildInSlices(b: Build, lo: number, hi: number, shift: number, pause: () => Promise<void>, stop: () => boolean): Promise<Node | undefined> {
  if (hi - lo <= SLICE_ENTRIES || shift >= 32) {
    const node = buildIn(b, lo, hi, shift);
    await pause();
    return stop() ? undefined : node;
  }
  const { dataMap, nodeMap } = partition(b, lo, hi, shift);
  // The sub-builds reuse deeper levels' counts only: this level's run ends stay valid meanwhile.
  const ends = b.counts[shift / BITS];
  const kids: Node[] = [];
  let start = lo;
  for (let f = 0; f < 32; f++) {
    const end = lo + ends[f];
    if (nodeMap & (1 << f)) {
      const kid = await buildInSlices(b, start, end, shift + BITS, pause, stop);
      if (kid === undefined) return undefined;
      kids.push(kid);
    }
    start = end;
  }
  return nodeOf(b, lo, shift, dataMap, nodeMap, kids);
}

function hashKeys(keys: readonly string[], hashes: Uint32Array, idx: Uint32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    hashes[i] = hashOf(keys[i]);
    idx[i] = i;
  }
}

/** Entries per slice of {@link buildInSlices}: about a millisecond of building. */
const SLICE_ENTRIES = 2048;

/** A bucket of entries whose 32-bit hashes are equal. */
function collisionNode(b: Build, lo: number, hi: number): Node {
  const n: Node = [0, 0, undefined];
  for (let i = lo; i < hi; i++) n.push(b.keys[b.idx[i]], b.values[b.idx[i]]);
  return n.slice();
}

/**
 * Sorts `idx[lo..hi)` (and their hashes) by the hash fragment at `shift` (counting sort, stable),
 * leaving the end of each fragment's run, relative to `lo`, in this level's counts; returns which
 * fragments hold one entry (dataMap) and which more (nodeMap).
 */
function partition(b: Build, lo: number, hi: number, shift: number): { dataMap: number; nodeMap: number } {
  const { idx, hashes } = b;
  const counts = b.counts[shift / BITS];
  counts.fill(0);
  for (let i = lo; i < hi; i++) counts[((hashes[i] >>> shift) & MASK) + 1]++;
  let dataMap = 0;
  let nodeMap = 0;
  for (let f = 0; f < 32; f++) {
    const c = counts[f + 1];
    if (c === 1) dataMap |= 1 << f;
    else if (c > 1) nodeMap |= 1 << f;
    counts[f + 1] += counts[f];
  }
  // Counting sort of this range by fragment (stable), through the scratch buffers and back.
  const { tmpIdx, tmpHashes } = b;
  for (let i = lo; i < hi; i++) {
    const h = hashes[i];
    const to = lo + counts[(h >>> shift) & MASK]++;
    tmpIdx[to] = idx[i];
    tmpHashes[to] = h;
  }
  idx.set(tmpIdx.subarray(lo, hi), lo);
  hashes.set(tmpHashes.subarray(lo, hi), lo);
  // counts[f] is now the end of fragment f's run.
  return { dataMap, nodeMap };
}

/**
 * The node of a partitioned range: its single entries in fragment order, then its sub-nodes.
 * Pushed then sliced: the node ends up a packed array of exactly its size (a holey or
 * over-allocated one would cost every lookup on the DNS path, or memory).
 */
function nodeOf(b: Build, lo: number, shift: number, dataMap: number, nodeMap: number, kids: Node[]): Node {
  const { keys, values, idx } = b;
  const ends = b.counts[shift / BITS];
  const node: Node = [dataMap, nodeMap, undefined];
  let start = lo;
  for (let f = 0; f < 32; f++) {
    if (dataMap & (1 << f)) node.push(keys[idx[start]], values[idx[start]]);
    start = lo + ends[f];
  }
  for (const k of kids) node.push(k);
  return node.slice();
}

/** The scratch of a bulk build of `keys[i] -> values[i]`, its hashes computed (unless `hashed` is false: hashKeys). */
function newBuild(keys: readonly string[], values: readonly unknown[], hashed = true): Build {
  const n = keys.length;
  const hashes = new Uint32Array(n);
  const idx = new Uint32Array(n);
  if (hashed) hashKeys(keys, hashes, idx, 0, n);
  const counts = Array.from({ length: 7 }, () => new Uint32Array(33));
  return { keys, values, idx, hashes, tmpIdx: new Uint32Array(n), tmpHashes: new Uint32Array(n), counts };
}

/** An entry added to a map not yet built (PMap.addNew), newest first. */
interface Added<V> {
  readonly key: string;
  readonly value: V;
  readonly next: Added<V> | undefined;
}

/** A persistent map from strings to values; see the module comment. */
export class PMap<V> {
  private node: Node;
  private count: number;
  private owner: object | undefined;
  /** Builds the root on first use (see {@link PMap.lazy}); undefined once built. */
  private build: (() => Node) | undefined;
  /** The entries of a {@link PMap.lazyFromArrays} map not yet built (for buildInSlices). */
  private source: { keys: readonly string[]; values: readonly V[]; fill?: () => void } | undefined;
  /** Entries {@link PMap.addNew} put in a map not yet built, newest first: applied once it is built. */
  private added: Added<V> | undefined;

  private constructor(root: Node, count: number, owner?: object) {
    this.node = root;
    this.count = count;
    this.owner = owner;
    this.build = undefined;
    this.source = undefined;
    this.added = undefined;
  }

  private get root(): Node {
    if (this.build !== undefined) {
      // A build that throws leaves the map unbuilt (the next read tries again and throws again),
      // never built and empty.
      const root = this.build();
      this.build = undefined;
      this.source = undefined;
      this.node = this.withAdded(root);
    }
    return this.node;
  }

  /** `root` (the built entries) with the entries added before the build, oldest first. */
  private withAdded(root: Node): Node {
    const list: Array<Added<V>> = [];
    for (let a = this.added; a !== undefined; a = a.next) list.push(a);
    this.added = undefined;
    if (list.length === 0) return root;
    const owner = {};
    for (let i = list.length - 1; i >= 0; i--) {
      const ch: Change = { added: false, removed: false };
      root = setIn(root, list[i].key, list[i].value, hashOf(list[i].key), 0, owner, ch);
      // A key that was there after all (addNew's promise broken): the count follows the entries.
      if (!ch.added) this.count--;
    }
    // The nodes the edits made are owned by a throwaway owner: no one can edit them in place again.
    return root;
  }

  private set root(root: Node) {
    this.node = root;
  }

  /**
   * A map of `count` entries built by `build` the first time it is read (any method but `size`).
   * Checkpoint loading: a zone's records-by-id map is needed by the first write, not by DNS, and
   * building 1.5 million entries at start-up delayed serving by about half a second.
   */
  static lazy<V>(count: number, build: () => PMap<V>): PMap<V> {
    if (count === 0) return PMap.empty<V>();
    const m = new PMap<V>(EMPTY_NODE, count);
    m.build = () => {
      const built = build();
      if (built.size !== count) throw new Error(`PMap.lazy: built ${built.size} entries, expected ${count}`);
      return built.root;
    };
    return m;
  }

  /**
   * A map with `key`, which the caller knows is not in it (a record id the log creates: ids are
   * never reused), set to `value`. The same as {@link PMap.set}, except on a {@link PMap.lazy} map
   * not yet built: the entry is noted and put in when the map is built, instead of building it now.
   * Why: a start whose tail holds writes folded them into the checkpoint's records-by-id map, which
   * built that map (a second of CPU and ~40 MiB at once for 1.5M records) before DNS was served.
   */
  addNew(key: string, value: V): PMap<V> {
    if (this.build === undefined) return this.set(key, value);
    if (this.owner) {
      this.added = { key, value, next: this.added };
      this.count++;
      return this;
    }
    const m = new PMap<V>(EMPTY_NODE, this.count + 1);
    m.build = this.build;
    m.source = this.source;
    m.added = { key, value, next: this.added };
    return m;
  }

  /**
   * The arrays a {@link PMap.lazyFromArrays} map is to be built from, while it is not built and
   * nothing was added to it (else undefined): a checkpoint writer can walk them in their own order
   * without building the map (see node-drafts.ts). Read only: the map is built from them later.
   */
  get unbuiltSource(): { readonly keys: readonly string[]; readonly values: readonly V[] } | undefined {
    return this.build !== undefined && this.added === undefined ? this.source : undefined;
  }

  /** True when the map's entries are built (a {@link PMap.lazy} map once read). */
  get built(): boolean {
    return this.build === undefined;
  }

  /** The empty map. */
  static empty<V>(): PMap<V> {
    return new PMap<V>(EMPTY_NODE, 0);
  }

  /** A map of the given entries (built as one transient). */
  static from<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    return PMap.empty<V>().withMutations((m) => {
      for (const [k, v] of entries) m.set(k, v);
    });
  }

  /**
   * A map of `keys[i] -> values[i]` built in one pass, each node allocated once (checkpoint loading:
   * no transient edits, no over-allocated arrays). Keys must be distinct.
   */
  static fromArrays<V>(keys: readonly string[], values: readonly V[]): PMap<V> {
    const n = keys.length;
    if (n === 0) return PMap.empty<V>();
    return new PMap<V>(buildIn(newBuild(keys, values), 0, n, 0), n);
  }

  /**
   * A map of `keys[i] -> values[i]` (distinct keys) built on first use, like {@link PMap.lazy}, or
   * before that by {@link PMap.buildInSlices}. `fill`, when given, is called before either build
   * reads the arrays (it may still be filling them: a checkpoint zone's deferred decode), and must
   * leave them complete; it is called again by later builds of maps that share them, so it must be
   * cheap once done.
   */
  static lazyFromArrays<V>(keys: readonly string[], values: readonly V[], fill?: () => void): PMap<V> {
    const m = PMap.lazy(keys.length, () => {
      fill?.();
      return PMap.fromArrays(keys, values);
    });
    m.source = { keys, values, fill };
    return m;
  }

  /**
   * Builds a {@link PMap.lazyFromArrays} map now, in slices of about a millisecond with `pause`
   * between them (the server, once its DNS index is built, so the first write does not stall
   * answers for the second a 1.5M-entry build takes). A read meanwhile builds it at once, and this
   * stops. Nothing to do for any other map.
   */
  async buildInSlices(pause: () => Promise<void>): Promise<void> {
    const source = this.source;
    if (this.build === undefined || source === undefined) return;
    const stop = (): boolean => this.build === undefined;
    await pause();
    if (stop()) return;
    // Arrays still to be filled (a checkpoint zone whose decode was deferred) are filled now, at once.
    source.fill?.();
    const n = source.keys.length;
    const b = newBuild(source.keys, source.values, false);
    for (let from = 0; from < n; from += 8 * SLICE_ENTRIES) {
      hashKeys(source.keys, b.hashes, b.idx, from, Math.min(n, from + 8 * SLICE_ENTRIES));
      await pause();
      if (stop()) return;
    }
    const root = await buildInSlices(b, 0, n, 0, pause, stop);
    if (root === undefined || stop()) return;
    this.build = undefined;
    this.source = undefined;
    this.node = this.withAdded(root);
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** The value of `key`, or undefined. */
  get(key: string): V | undefined {
    return getIn<V>(this.root, key, hashOf(key));
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

  private next(root: Node, count: number): PMap<V> {
    if (this.owner) {
      this.root = root;
      this.count = count;
      return this;
    }
    return root === this.root ? this : new PMap(root, count);
  }

  /** A transient copy: edits change it in place until `asImmutable`. */
  asMutable(): PMap<V> {
    if (this.owner) return this;
    if (this.build !== undefined) {
      // Not built yet: a transient that is still lazy (addNew then notes entries in place).
      const m = new PMap<V>(EMPTY_NODE, this.count, {});
      m.build = this.build;
      m.source = this.source;
      m.added = this.added;
      return m;
    }
    return new PMap(this.root, this.count, {});
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

  /**
   * Calls `fn` for every key whose value differs between `before` and `after` (by reference), and
   * for every key only one of them has. Subtrees the two maps share are skipped, so comparing a map
   * with its edited successor costs about the size of the edit.
   */
  static diff<V>(before: PMap<V>, after: PMap<V>, fn: DiffVisitor<V>): void {
    diffNodes(before.root, after.root, fn);
  }

  /** Every [key, value], in hash order. */
  entries(): IterableIterator<[string, V]> {
    return pairsOf<V>(this.root);
  }

  /** Calls `fn` for every entry, in hash order (no iterator objects: the bulk walks use it). */
  forEach(fn: (value: V, key: string) => void): void {
    if (this.count > 0) forEachIn(this.root, fn);
  }

  /** Appends every value to `out`, in hash order (no callback per entry: a rebuild's walk pushes a million children). */
  valuesInto(out: V[]): void {
    if (this.count > 0) valuesInto(this.root, out);
  }

  /** Every key, in hash order. */
  *keys(): IterableIterator<string> {
    for (const [k] of pairsOf<V>(this.root)) yield k;
  }

  /** Every value, in hash order. */
  *values(): IterableIterator<V> {
    for (const [, v] of pairsOf<V>(this.root)) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}
