/**
 * Node drafts: the trie below a zone's apex as the bulk fold builds it (state.ts, buildBelowApex),
 * before it is made of trie nodes. The apex's children map is made of them lazily
 * (PMap.lazyFromArrays): each draft becomes its trie node, with everything below it, the first time
 * the map is read. Until then a checkpoint writer walks the drafts themselves (`unbuiltDrafts`).
 *
 * Why: the offline import of a million names folds its batch, serializes the checkpoint and exits.
 * Making a million trie nodes, RRsets and a hash map of a million labels that nobody reads was
 * ~1.5 s of its fold and most of its garbage collection; and the writer's walk of the drafts reads
 * them in the order they were allocated (the file's), where a walk of the built map goes in hash
 * order, a cache miss per node. A server reads the map at its first use, as before.
 *
 * The checkpoint holds the same nodes either way; only the order of the apex's children differs
 * (the drafts': the order names first appeared; the built map's: hash order), which a load does not
 * depend on (test/ledger/bulk-fold.test.ts checks that a blob written from drafts loads into the
 * state the event-by-event fold gives).
 */
import { PMap } from './pmap.ts';
import { makeNode, rrsetOf, type RecordState, type RRset, type TrieNode } from './trie.ts';

/** A trie node being built by the bulk fold. */
export interface NodeDraft {
  name: string;
  /**
   * Its RRsets in the order their types first appeared, each with its records in order. `kept`: the
   * apex's RRset as it was, while no record joined it (addRecord keeps such an RRset as is).
   */
  sets: Array<{ type: RecordState['type']; records: RecordState[]; kept?: RRset }>;
  /**
   * The children's labels and drafts, in the order they were added; made with the first child (a
   * million leaves of a big zone have none: two million empty arrays less to allocate and promote).
   */
  labels?: string[];
  kids?: NodeDraft[];
  /**
   * Children by label, while the fold adds them: at the apex an open-addressing table, as a Map of
   * the million labels under a big zone's apex is mostly cache misses (~0.9 s of the 1M import's
   * fold); elsewhere a Map (a table's arrays are 12 KB from the start, and a deep zone has a node
   * with children per name).
   */
  index?: { get(label: string): NodeDraft | undefined; set(label: string, child: NodeDraft): unknown };
}

/** The drafts a lazy children map (draftChildren) is still to be made of, until it is built. */
export interface UnbuiltDrafts {
  readonly labels: readonly string[];
  readonly drafts: readonly NodeDraft[];
}

/** The drafts behind each draftChildren map, keyed by the array the map is built from (shared by its transient copies). */
const draftsByNodes = new WeakMap<readonly TrieNode[], UnbuiltDrafts>();

/** A draft's RRsets as the trie holds them. */
function rrsetsOf(n: NodeDraft): RRset[] {
  return n.sets.map((x) => x.kept ?? rrsetOf(x.records));
}

/** The trie node of a draft, with everything below it, as addRecord would have made it. */
function finishDraft(n: NodeDraft): TrieNode {
  return makeNode(n.name, rrsetsOf(n), n.kids === undefined ? PMap.empty() : PMap.fromArrays(n.labels!, n.kids.map(finishDraft)));
}

/** The apex's trie node now; the nodes below it when its children map is first read (draftChildren). */
export function finishApex(apex: NodeDraft): TrieNode {
  return makeNode(apex.name, rrsetsOf(apex), apex.kids === undefined ? PMap.empty() : draftChildren(apex.labels!, apex.kids));
}

/**
 * A children map of `labels[i] -> drafts[i]` made into trie nodes on first use (see the module
 * comment). The drafts are let go once made.
 */
function draftChildren(labels: string[], drafts: NodeDraft[]): PMap<TrieNode> {
  const nodes = new Array<TrieNode>(drafts.length);
  const unbuilt: UnbuiltDrafts = { labels, drafts };
  draftsByNodes.set(nodes, unbuilt);
  return PMap.lazyFromArrays(labels, nodes, () => {
    // Called by every build of a map that shares `nodes` (a transient copy's too): once is enough.
    if (!draftsByNodes.has(nodes)) return;
    for (let i = 0; i < drafts.length; i++) nodes[i] = finishDraft(drafts[i]);
    draftsByNodes.delete(nodes);
  });
}

/** The drafts `children` is still to be made of, when it is a draftChildren map not yet built. */
export function unbuiltDrafts(children: PMap<TrieNode>): UnbuiltDrafts | undefined {
  const source = children.unbuiltSource;
  return source === undefined ? undefined : draftsByNodes.get(source.values);
}
