/**
 * The serving index: every A and AAAA RRset that answerDirect would answer (a name that exists in
 * the zone that serves it, at no delegation and below none, spelled without escapes), held as
 * encoded answer bytes in a NameTable keyed by the wire name and type, and kept in step with the
 * projection.
 *
 * Why: the answer cache only helps names that are asked twice between two writes. On a zone of a
 * million names most questions are first sights, and answering one from the trie walks a dozen
 * scattered objects (the CHAMP levels, the node, its RRsets, the records, their text values); the
 * index answers it from one slot and one arena span, which is what keeps a 1,000,000-name zone
 * within 10% of a 10,000-name one.
 *
 * Keeping in step: the index is always exactly the index of one projection state. `sync(state)`
 * moves it to a newer state by diffing the zone tries, which share every untouched subtree by
 * reference, so a write costs about the size of the write. A change of the zone set (a zone created
 * or deleted changes which zone serves a name) or a diff too large to apply between two queries
 * (an import, a restore) starts a rebuild in slices between I/O callbacks instead; until it is done
 * `answer` declines and queries take the general path, so an answer never comes from another state.
 */
import { PMap } from '../projections/pmap.ts';
import type { LedgerState } from '../projections/state.ts';
import type { TrieNode } from '../projections/trie.ts';
import { DO_BIT, OUR_PAYLOAD_SIZE, RCODE, responseFlags } from './answer.ts';
import { hashKey, MAX_KEY, NameTable } from './name-table.ts';
import type { ParsedQuery } from './query.ts';
import { parseIPv4, parseIPv6 } from './wire.ts';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
/** Index changes applied in one sync before a rebuild is cheaper than going on (and keeps a query from waiting). */
const DIFF_BUDGET = 20_000;
/** Nodes indexed per slice of a rebuild. */
const REBUILD_SLICE = 4_000;

/** Thrown inside a diff walk to stop it once it is over budget. */
class OverBudget extends Error {}

/** Scratch for one key (wire name + type) and one answer section while indexing. */
const keyScratch = new Uint8Array(MAX_KEY + 2);
let valueScratch = new Uint8Array(4096);

/**
 * Writes the lowercase wire form of an absolute name without escapes into keyScratch, then `type`;
 * returns the key's length, or -1 when it does not fit a key.
 */
function writeKey(name: string, type: number): number {
  let w = 0;
  if (name !== '.') {
    let start = 0;
    for (;;) {
      const dot = name.indexOf('.', start);
      const len = dot - start;
      if (dot < 0 || len <= 0 || len > 63 || w + 1 + len > MAX_KEY - 3) return -1;
      keyScratch[w++] = len;
      for (let i = start; i < dot; i++) keyScratch[w++] = name.charCodeAt(i) & 0xff;
      start = dot + 1;
      if (start >= name.length) break;
    }
  }
  keyScratch[w++] = 0;
  keyScratch[w++] = type >> 8;
  keyScratch[w++] = type & 0xff;
  return w;
}

/**
 * Writes the answer section for the RRset of `type` at `node` into valueScratch (every record owned
 * by a pointer to the question); returns its length and record count, or undefined for no RRset.
 */
function writeAnswer(node: TrieNode, type: 'A' | 'AAAA'): { length: number; count: number } | undefined {
  const set = node.rrsets.get(type);
  if (!set || set.records.length === 0) return undefined;
  const code = type === 'A' ? TYPE_A : TYPE_AAAA;
  const rdlen = type === 'A' ? 4 : 16;
  const length = set.records.length * (12 + rdlen);
  if (length > valueScratch.length) valueScratch = new Uint8Array(length * 2);
  const out = valueScratch;
  let w = 0;
  for (const r of set.records) {
    const ttl = r.ttl >>> 0;
    out[w] = 0xc0;
    out[w + 1] = 12;
    out[w + 2] = 0;
    out[w + 3] = code;
    out[w + 4] = 0;
    out[w + 5] = CLASS_IN;
    out[w + 6] = ttl >>> 24;
    out[w + 7] = (ttl >>> 16) & 0xff;
    out[w + 8] = (ttl >>> 8) & 0xff;
    out[w + 9] = ttl & 0xff;
    out[w + 10] = 0;
    out[w + 11] = rdlen;
    const ok = type === 'A' ? parseIPv4(r.value, 0, r.value.length, out, w + 12) : parseIPv6(r.value, out, w + 12);
    // The projection holds canonical addresses only; one that is not is left to the general path.
    if (!ok) return undefined;
    w += 12 + rdlen;
  }
  return { length, count: set.records.length };
}

/** A rebuild in progress: the nodes still to visit, depth first. */
interface Rebuild {
  target: LedgerState;
  table: NameTable;
  stack: TrieNode[];
  /** The zones' apex nodes (NS there is not a cut). */
  roots: Set<TrieNode>;
  /** The zones' names: a node at one of them inside another zone's trie belongs to that zone. */
  apexes: Set<string>;
  /** performance.now() at the start, for the log line. */
  started: number;
  timer?: NodeJS.Immediate;
}

/** What the index does when it is asked to follow a state (for tests and logs). */
export type SyncOutcome = 'current' | 'diffed' | 'rebuilding';

/** Tuning (tests make them small to exercise the rebuild paths). */
export interface ServingIndexOptions {
  /** Index changes one sync may apply before it gives up and rebuilds (default 20,000). */
  diffBudget?: number;
  /** Nodes indexed per slice of a rebuild (default 4,000). */
  rebuildSlice?: number;
}

/** See the module comment. */
export class ServingIndex {
  private table = new NameTable();
  /** The state the table is the index of (undefined before the first build completes). */
  private state: LedgerState | undefined;
  /** The zone set of the state being diffed into (a name at another zone's apex is that zone's). */
  private zones: LedgerState['zones'] | undefined;
  private budget = 0;
  private rebuild: Rebuild | undefined;
  private closed = false;
  private builtWaiters: Array<() => void> = [];
  private rebuilds = 0;

  private readonly diffBudget: number;
  private readonly rebuildSlice: number;

  constructor(opts: ServingIndexOptions = {}) {
    this.diffBudget = opts.diffBudget ?? DIFF_BUDGET;
    this.rebuildSlice = opts.rebuildSlice ?? REBUILD_SLICE;
  }

  /** Called after every completed rebuild with the entries held and how long it took (for logs). */
  onRebuilt?: (entries: number, ms: number) => void;

  /** Entries held (one per name and type). */
  get size(): number {
    return this.table.size;
  }

  /** Resolves once a rebuild has completed (or the index was closed): the index then serves. */
  whenBuilt(): Promise<void> {
    if (this.rebuilds > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.builtWaiters.push(resolve));
  }

  /** True when the index is exactly the index of `state` (after a sync). */
  isCurrent(state: LedgerState): boolean {
    return this.state === state;
  }

  /**
   * Brings the index to `state` where that is cheap (diffing from the state it holds), otherwise
   * starts (or continues) a rebuild for it. Answers may come from the index only when this
   * returned 'current' or 'diffed' for the state being served.
   */
  sync(state: LedgerState): SyncOutcome {
    if (this.state === state) return 'current';
    if (this.closed) return 'rebuilding';
    if (this.rebuild) {
      // A rebuild for an older state finishes first; the diff from it to this state follows.
      return 'rebuilding';
    }
    const from = this.state;
    if (from && sameKeys(from.zones, state.zones)) {
      this.zones = state.zones;
      this.budget = this.diffBudget;
      try {
        for (const [name, after] of state.zones) {
          const before = from.zones.get(name);
          if (before === after || !before || before.tree === after.tree) continue;
          this.diffNode(before.tree, after.tree, true, false, false);
        }
        this.state = state;
        return 'diffed';
      } catch (err) {
        // Over budget, the table is half-way between two states: drop it and build the new one
        // afresh. Anything else is a bug; the index stops answering rather than risk a wrong one.
        if (!(err instanceof OverBudget)) return this.fail(err);
      }
    }
    this.startRebuild(state);
    return this.state === state ? 'current' : 'rebuilding';
  }

  /**
   * The answer in `state` to an A or AAAA question for a name the index holds, as the same bytes
   * answerDirect writes (the client's question spelling, AA, the RRset owned by a pointer to the
   * question, OPT when the query had one). Undefined means "not here" (or the index is still being
   * rebuilt for `state`): the caller takes the general path.
   */
  answer(state: LedgerState, q: ParsedQuery, raw: Uint8Array, limit: number): Buffer | undefined {
    const qtype = q.qtype;
    if ((qtype !== TYPE_A && qtype !== TYPE_AAAA) || q.opcode !== 0 || q.qclass !== CLASS_IN) return undefined;
    if (this.state !== state && this.sync(state) === 'rebuilding') return undefined;
    const edns = q.edns;
    if (edns && edns.version !== 0) return undefined;
    const questionEnd = q.questionEnd;
    // Only an uncompressed question (the key is its bytes; ours is written uncompressed too).
    let p = 12;
    while (p < questionEnd && raw[p] !== 0) {
      if (raw[p] & 0xc0) return undefined;
      p += raw[p] + 1;
    }
    if (p + 5 !== questionEnd) return undefined;
    const keyEnd = questionEnd - 2;
    const table = this.table;
    const off = table.find(raw, 12, keyEnd, hashKey(raw, 12, keyEnd));
    if (off < 0) return undefined;
    const valueLen = table.valueLength(off);
    const size = questionEnd + valueLen + (edns ? 11 : 0);
    if (size > limit) return undefined;
    const out = Buffer.allocUnsafe(size);
    out.writeUInt16BE(q.id, 0);
    out.writeUInt16BE(responseFlags(q, true, RCODE.NOERROR), 2);
    out.writeUInt16BE(1, 4);
    out.writeUInt16BE(table.tag(off), 6);
    out.writeUInt16BE(0, 8);
    out.writeUInt16BE(edns ? 1 : 0, 10);
    for (let k = 12; k < questionEnd; k++) out[k] = raw[k];
    const start = table.valueStart(off);
    out.set(table.data.subarray(start, start + valueLen), questionEnd);
    if (edns) {
      const w = questionEnd + valueLen;
      out[w] = 0;
      out.writeUInt16BE(41, w + 1);
      out.writeUInt16BE(OUR_PAYLOAD_SIZE, w + 3);
      out.writeUInt32BE(edns.do ? DO_BIT : 0, w + 5);
      out.writeUInt16BE(0, w + 9);
    }
    return out;
  }

  /** Every key held, as "name/type" text (tests compare it with a fresh build). */
  *entries(): IterableIterator<string> {
    for (const key of this.table.keys()) {
      const labels: string[] = [];
      let p = 0;
      while (key[p] !== 0) {
        labels.push(Buffer.from(key.subarray(p + 1, p + 1 + key[p])).toString('latin1'));
        p += key[p] + 1;
      }
      yield `${labels.length ? labels.join('.') + '.' : '.'}/${(key[p + 1] << 8) | key[p + 2]}`;
    }
  }

  /** The error that switched the index off, if one did (every query then takes the general path). */
  failure: unknown;

  private fail(err: unknown): SyncOutcome {
    this.failure = err;
    this.close();
    return 'rebuilding';
  }

  /** Stops a rebuild in progress; the index then never answers again. */
  close(): void {
    this.closed = true;
    if (this.rebuild?.timer) clearImmediate(this.rebuild.timer);
    this.rebuild = undefined;
    this.state = undefined;
    for (const resolve of this.builtWaiters.splice(0)) resolve();
  }

  /**
   * Applies the differences between two versions of the node at one name. `apex`: the zone's own
   * apex (NS there is not a cut). `hiddenBefore`/`hiddenAfter`: an ancestor is a cut (so neither
   * this node nor anything below is answered directly) in the old and new tree.
   */
  private diffNode(before: TrieNode | undefined, after: TrieNode | undefined, apex: boolean, hiddenBefore: boolean, hiddenAfter: boolean): void {
    if (before === after && hiddenBefore === hiddenAfter) return;
    const node = (after ?? before) as TrieNode;
    const otherZone = !apex && this.zones?.has(node.name) === true;
    const hidB = hiddenBefore || otherZone || (!apex && before?.rrsets.has('NS') === true);
    const hidA = hiddenAfter || otherZone || (!apex && after?.rrsets.has('NS') === true);
    // Hidden on both sides: nothing here or below was in the index, and nothing will be.
    if (hidB && hidA) return;
    if (before?.rrsets !== after?.rrsets || hidB !== hidA) {
      this.unindex(this.table, node.name);
      if (after && !hidA) this.index(this.table, after);
    }
    const kidsB = before?.children;
    const kidsA = after?.children;
    if (hidB === hidA && kidsB && kidsA) {
      PMap.diff(kidsB, kidsA, (_label, b, a) => this.diffNode(b, a, false, hidB, hidA));
      return;
    }
    // One side is missing or the cut above the children moved: every child changes.
    if (kidsB) for (const [label, b] of kidsB) this.diffNode(b, kidsA?.get(label), false, hidB, hidA);
    if (kidsA) for (const [label, a] of kidsA) if (!kidsB?.has(label)) this.diffNode(undefined, a, false, hidB, hidA);
  }

  private rebuilt(ms: number): void {
    this.rebuilds++;
    this.onRebuilt?.(this.table.size, ms);
    for (const resolve of this.builtWaiters.splice(0)) resolve();
  }

  private spend(): void {
    if (--this.budget < 0) throw new OverBudget();
  }

  private unindex(table: NameTable, name: string): void {
    if (name.includes('\\')) return;
    this.spend();
    for (const type of [TYPE_A, TYPE_AAAA]) {
      const n = writeKey(name, type);
      if (n > 0) table.delete(keyScratch.subarray(0, n));
    }
  }

  private index(table: NameTable, node: TrieNode): void {
    // Escaped names are left to the general path (their presentation and wire forms differ).
    if (node.name.includes('\\')) return;
    for (const type of ['A', 'AAAA'] as const) {
      const answer = writeAnswer(node, type);
      if (!answer) continue;
      this.spend();
      const n = writeKey(node.name, type === 'A' ? TYPE_A : TYPE_AAAA);
      if (n > 0) table.set(keyScratch.subarray(0, n), valueScratch.subarray(0, answer.length), answer.count);
    }
  }

  private startRebuild(target: LedgerState): void {
    let expected = 0;
    for (const z of target.zones.values()) expected += z.records.size;
    this.state = undefined;
    const roots = [...target.zones.values()].map((z) => z.tree);
    this.rebuild = {
      target,
      table: new NameTable(expected),
      stack: roots.slice(),
      roots: new Set(roots),
      apexes: new Set(target.zones.keys()),
      started: performance.now(),
    };
    this.step();
  }

  /** Indexes one slice of the rebuild; schedules the next, or installs the table when done. */
  private step(): void {
    const job = this.rebuild;
    if (!job || this.closed) return;
    job.timer = undefined;
    this.budget = Infinity;
    try {
      const { stack, roots, apexes } = job;
      const push = (child: TrieNode): void => {
        stack.push(child);
      };
      for (let n = 0; n < this.rebuildSlice; n++) {
        const node = stack.pop();
        if (node === undefined) {
          this.table = job.table;
          this.state = job.target;
          this.rebuild = undefined;
          this.rebuilt(performance.now() - job.started);
          return;
        }
        // Not at or below a cut, nor another zone's apex (that zone answers for the name).
        if (!roots.has(node) && (node.rrsets.has('NS') || apexes.has(node.name))) continue;
        this.index(job.table, node);
        if (node.children.size > 0) node.children.forEach(push);
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    // Not unref'd: an unref'd immediate lets the loop block in poll until the next I/O or timer,
    // which turned a 3 s rebuild into minutes. close() cancels it.
    job.timer = setImmediate(() => this.step());
  }
}

/** True when two zone maps have the same names. */
function sameKeys(a: LedgerState['zones'], b: LedgerState['zones']): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const k of b.keys()) if (!a.has(k)) return false;
  return true;
}
