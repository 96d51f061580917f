/**
 * The serving index: for every name that answers A and AAAA questions plainly (a name that exists in
 * the zone that serves it, at no delegation and below none, without a CNAME, spelled without
 * escapes), its A and AAAA RRsets as encoded answer bytes and the list of its other types, held in
 * a NameTable keyed by the wire name and kept in step with the projection. A question for a type the
 * name lacks gets NODATA: the zone's negative SOA, from a per-zone template. Every other name that
 * exists outside a cut is held too (flagged), so a name the table lacks is NXDOMAIN when the closest
 * suffix it holds is neither a cut nor the parent of a wildcard. Together these are the questions
 * most clients ask (every dual-stack resolver asks A and AAAA, browsers ask HTTPS too, which most
 * names lack, and mistyped or random names do not exist); other RRsets, referrals, wildcards, CNAME
 * chains, ANY and DS are the general path's.
 *
 * Why: the answer cache only helps names that are asked twice between two writes. On a zone of a
 * million names most questions are first sights, and answering one from the trie walks a dozen
 * scattered objects (the CHAMP levels, the node, its RRsets, the records, their text values) and,
 * for NODATA, builds and encodes a message; the index answers either from one slot and one arena
 * span, which is what keeps a 1,000,000-name zone within 10% of a 10,000-name one.
 *
 * Keeping in step: the index is always exactly the index of one projection state. `sync(state)`
 * moves it to a newer state by diffing the zone tries, which share every untouched subtree by
 * reference, so a write costs about the size of the write. A change of the zone set (a zone created
 * or deleted changes which zone serves a name) or a diff too large to apply between two queries
 * (an import, a restore) starts a rebuild in slices between I/O callbacks instead; until it is done
 * `answer` declines and queries take the general path, so an answer never comes from another state.
 * Every answer is byte for byte what answerQuery + encodeMessage write (test/dns/serving-index.test.ts).
 */
import { PMap } from '../projections/pmap.ts';
import { nameToWire } from '../records/names.ts';
import { rrTypeCode } from '../records/types.ts';
import type { LedgerState } from '../projections/state.ts';
import type { TrieNode } from '../projections/trie.ts';
import { rrsetTtl } from '../projections/rrset-ttl.ts';
import { isPlainQuestion } from './answer.ts';
import { RCODE, writeOpt, writeResponseHeader } from './header.ts';
import { negativeTemplate, writeNegative, type NegativeTemplate } from './negative.ts';
import { hashKey, MAX_KEY, NameTable } from './name-table.ts';
import type { ParsedQuery } from './query.ts';
import { parseIPv4, parseIPv6 } from '../records/ip.ts';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
/** Index changes applied in one sync before a rebuild is cheaper than going on (and keeps a query from waiting). */
const DIFF_BUDGET = 20_000;
/** Nodes indexed per slice of a rebuild. */
const REBUILD_SLICE = 4_000;

/**
 * A name held like a cut: a delegation (NS below the apex) or a DNAME owner (RFC 6672 2.3: the
 * names below it are occluded and answered by substitution, not NXDOMAIN). The general path answers
 * at and below it; nothing below it is held.
 */
function hidesBelow(node: TrieNode, apex: boolean): boolean {
  return (!apex && node.rrsets.has('NS')) || node.rrsets.has('DNAME');
}

/** Thrown inside a diff walk to stop it once it is over budget. */
class OverBudget extends Error {}

/**
 * A value: zone id, A count, AAAA count, the number of other types and those types (u16 each),
 * then the A records and the AAAA records as answer-section bytes.
 */
const VALUE_HEADER = 8;
/** The largest value a NameTable entry holds (its length is a u16). */
const MAX_VALUE = 0xffff;
/** Entry flags (the table's tag): a cut or a DNAME owner (the general path's; nothing below is held, see hidesBelow). */
const FLAG_CUT = 1;
/** The name exists but is not answered here (a CNAME owner, an escaped name). */
const FLAG_NOT_HERE = 2;
/** The name has a wildcard child: a missing name below it may be synthesized, not NXDOMAIN. */
const FLAG_WILDCARD_BELOW = 4;
/** Header bits of the index's answers: all of them are authoritative. */
const AUTHORITATIVE = { aa: true } as const;
/** Questions the index never answers: ANY (RFC 8482 rules), DS (answered from the parent side), transfers. */
const TYPE_ANY = 255;
const TYPE_DS = 43;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
/** Bytes of one A / AAAA record in the answer section (owner pointer, type, class, TTL, rdlength, rdata). */
const A_RR = 16;
const AAAA_RR = 28;

/** Writes the lowercase wire form of an absolute name into `key` (MAX_KEY bytes); its length, or -1 when too long. */
function writeKey(name: string, key: Uint8Array): number {
  if (name.includes('\\')) {
    let wire: Uint8Array;
    try {
      wire = nameToWire(name);
    } catch {
      return -1;
    }
    if (wire.length > MAX_KEY) return -1;
    for (let k = 0; k < wire.length; k++) key[k] = wire[k] >= 65 && wire[k] <= 90 ? wire[k] | 0x20 : wire[k];
    return wire.length;
  }
  let w = 0;
  if (name !== '.') {
    let start = 0;
    for (;;) {
      const dot = name.indexOf('.', start);
      const len = dot - start;
      if (dot < 0 || len <= 0 || len > 63 || w + 1 + len > MAX_KEY - 1) return -1;
      key[w++] = len;
      for (let i = start; i < dot; i++) key[w++] = name.charCodeAt(i) & 0xff;
      start = dot + 1;
      if (start >= name.length) break;
    }
  }
  key[w++] = 0;
  return w;
}

/**
 * The value of one entry while it is written. It grows as records are appended, so every write goes
 * through it and nobody keeps a reference to its bytes across an append (a kept reference would
 * point at the old buffer after a growth, which is how a name with a large RRset once got the
 * counts of another name).
 */
class EntryWriter {
  private buf = new Uint8Array(4096);
  /** Bytes written so far. */
  length = 0;

  /** Starts a new entry. */
  reset(): void {
    this.length = 0;
  }

  /** Makes room for `n` more bytes and returns the buffer to write them into (valid until the next call). */
  room(n: number): Uint8Array {
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
    }
    return this.buf;
  }

  /** Appends a big-endian u16. */
  u16(v: number): void {
    const b = this.room(2);
    b[this.length++] = (v >> 8) & 0xff;
    b[this.length++] = v & 0xff;
  }

  /** Overwrites the u16 at `at` (inside what was written). */
  setU16(at: number, v: number): void {
    this.buf[at] = (v >> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  /** Forgets everything after `length` bytes. */
  truncate(length: number): void {
    this.length = length;
  }

  /** The bytes written (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Appends the records of the RRset of `type` at `node` to `out` as answer-section bytes (each owned
 * by a pointer to the question); returns the count, or -1 for a value the projection should never
 * hold (left to the general path).
 */
function writeRecords(node: TrieNode, type: 'A' | 'AAAA', out: EntryWriter): number {
  const set = node.rrsets.get(type);
  if (!set) return 0;
  const code = type === 'A' ? TYPE_A : TYPE_AAAA;
  const rdlen = type === 'A' ? 4 : 16;
  // One TTL per RRset: an older log's mixed TTLs are served with the lowest (rrset-ttl.ts).
  const ttl = rrsetTtl(set.records) >>> 0;
  for (const r of set.records) {
    const b = out.room(12 + rdlen);
    const w = out.length;
    b[w] = 0xc0;
    b[w + 1] = 12;
    b[w + 2] = 0;
    b[w + 3] = code;
    b[w + 4] = 0;
    b[w + 5] = CLASS_IN;
    b[w + 6] = ttl >>> 24;
    b[w + 7] = (ttl >>> 16) & 0xff;
    b[w + 8] = (ttl >>> 8) & 0xff;
    b[w + 9] = ttl & 0xff;
    b[w + 10] = 0;
    b[w + 11] = rdlen;
    const ok = type === 'A' ? parseIPv4(r.value, 0, r.value.length, b, w + 12) : parseIPv6(r.value, b, w + 12);
    if (!ok) return -1;
    out.truncate(w + 12 + rdlen);
  }
  return set.records.length;
}

/** A rebuild in progress: the nodes still to visit, depth first. */
interface Rebuild {
  target: LedgerState;
  table: NameTable;
  stack: TrieNode[];
  /** The zone id of each node on the stack. */
  stackZone: number[];
  /** Zone ids (the index of the zone's NODATA template) and templates of the target state. */
  zoneIds: Map<string, number>;
  templates: Array<NegativeTemplate | undefined>;
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
  /** Index changes one sync may apply before it gives up and rebuilds (default 20,000, or an eighth of the index when that is more). */
  diffBudget?: number;
  /** Nodes indexed per slice of a rebuild (default 4,000). */
  rebuildSlice?: number;
}

/** See the module comment. */
export class ServingIndex {
  private table = new NameTable();
  /** Zone name -> id, and each zone's NODATA template by id (valid with the table). */
  private zoneIds = new Map<string, number>();
  private templates: Array<NegativeTemplate | undefined> = [];
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
  /** The key and the value of the entry being indexed (this index's own, never shared). */
  private readonly key = new Uint8Array(MAX_KEY);
  private readonly entry = new EntryWriter();

  constructor(opts: ServingIndexOptions = {}) {
    this.diffBudget = opts.diffBudget ?? DIFF_BUDGET;
    this.rebuildSlice = opts.rebuildSlice ?? REBUILD_SLICE;
  }

  /** Called after every completed rebuild with the entries held and how long it took (for logs). */
  onRebuilt?: (entries: number, ms: number) => void;

  /** Names held. */
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
      // A diff up to an eighth of the index is still far cheaper than rebuilding it (and the pause
      // stays short); a fixed budget could make a large zone under a steady write load rebuild
      // forever, each rebuild too slow to catch up with the writes made during it.
      this.budget = Math.max(this.diffBudget, this.table.size >> 3);
      try {
        for (const [name, after] of state.zones) {
          const before = from.zones.get(name);
          if (before === after || !before) continue;
          const id = this.zoneIds.get(name) as number;
          // A write bumps the serial: the negative SOA changes with every one.
          this.templates[id] = negativeTemplate(after);
          if (before.tree !== after.tree) this.diffNode(before.tree, after.tree, true, false, false, id);
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
   * The answer in `state` to a question for a name the index holds: its A or AAAA RRset, or NODATA
   * with the zone's SOA for a type it lacks, byte for byte as answerQuery + encodeMessage write it (the client's
   * question spelling, AA, owners compressed to the question, OPT when the query had one).
   * Undefined means "not here" (or the index is still being rebuilt for `state`): the caller takes
   * the general path.
   */
  answer(state: LedgerState, q: ParsedQuery, raw: Uint8Array, limit: number): Buffer | undefined {
    const qtype = q.qtype;
    if (qtype === TYPE_ANY || qtype === TYPE_DS || qtype === TYPE_IXFR || qtype === TYPE_AXFR) return undefined;
    // The key is the question name's bytes, so only an uncompressed one qualifies.
    if (!isPlainQuestion(q, raw)) return undefined;
    if (this.state !== state && this.sync(state) === 'rebuilding') return undefined;
    const edns = q.edns;
    const questionEnd = q.questionEnd;
    const nameEnd = questionEnd - 4;
    const table = this.table;
    const off = table.find(raw, 12, nameEnd, hashKey(raw, 12, nameEnd));
    if (off < 0) return this.nxdomain(q, raw, limit);
    if (table.tag(off) & (FLAG_CUT | FLAG_NOT_HERE)) return undefined;
    const data = table.data;
    const v = table.valueStart(off);
    const others = (data[v + 6] << 8) | data[v + 7];
    if (qtype !== TYPE_A && qtype !== TYPE_AAAA) {
      // Another type: NODATA when the name lacks it; its RRset is the general path's to encode.
      for (let i = 0, t = v + VALUE_HEADER; i < others; i++, t += 2) if (((data[t] << 8) | data[t + 1]) === qtype) return undefined;
      return this.negative((data[v] << 8) | data[v + 1], q, raw, limit, RCODE.NOERROR);
    }
    const aCount = (data[v + 2] << 8) | data[v + 3];
    const count = qtype === TYPE_A ? aCount : (data[v + 4] << 8) | data[v + 5];
    if (count === 0) return this.negative((data[v] << 8) | data[v + 1], q, raw, limit, RCODE.NOERROR);
    const start = v + VALUE_HEADER + 2 * others + (qtype === TYPE_A ? 0 : aCount * A_RR);
    const len = count * (qtype === TYPE_A ? A_RR : AAAA_RR);
    const size = questionEnd + len + (edns ? 11 : 0);
    if (size > limit) return undefined;
    const out = Buffer.allocUnsafe(size);
    writeResponseHeader(out, q, raw, RCODE.NOERROR, AUTHORITATIVE, count, 0);
    out.set(data.subarray(start, start + len), questionEnd);
    if (edns) writeOpt(out, questionEnd + len, edns.do);
    return out;
  }

  /**
   * NXDOMAIN for a name the table does not hold: walking up its suffixes, the first one held is the
   * closest encloser (every name that exists outside a cut is held). Declined when that is a cut (a
   * referral) or has a wildcard child (synthesis), and when no suffix is held (not our zone).
   */
  private nxdomain(q: ParsedQuery, raw: Uint8Array, limit: number): Buffer | undefined {
    const table = this.table;
    const nameEnd = q.questionEnd - 4;
    let p = 12;
    while (raw[p] !== 0) {
      p += raw[p] + 1;
      const off = table.find(raw, p, nameEnd, hashKey(raw, p, nameEnd));
      if (off < 0) continue;
      if (table.tag(off) & (FLAG_CUT | FLAG_WILDCARD_BELOW)) return undefined;
      const v = table.valueStart(off);
      return this.negative((table.data[v] << 8) | table.data[v + 1], q, raw, limit, RCODE.NXDOMAIN);
    }
    return undefined;
  }

  /** NODATA or NXDOMAIN for the question in `raw` from the negative template of zone `id`; undefined when it cannot be used. */
  private negative(id: number, q: ParsedQuery, raw: Uint8Array, limit: number, rcode: number): Buffer | undefined {
    const t = this.templates[id];
    return t ? writeNegative(t, q, raw, limit, rcode) : undefined;
  }

  /** Every name held, with its A and AAAA record counts, other types and flags: "name/A/AAAA/types/flags" (tests compare it with a fresh build). */
  *entries(): IterableIterator<string> {
    for (const key of this.table.keys()) {
      const labels: string[] = [];
      let p = 0;
      while (key[p] !== 0) {
        labels.push(Buffer.from(key.subarray(p + 1, p + 1 + key[p])).toString('latin1'));
        p += key[p] + 1;
      }
      const off = this.table.find(key, 0, key.length, hashKey(key, 0, key.length));
      const v = this.table.valueStart(off);
      const d = this.table.data;
      const types: number[] = [];
      for (let i = 0; i < ((d[v + 6] << 8) | d[v + 7]); i++) types.push((d[v + VALUE_HEADER + 2 * i] << 8) | d[v + VALUE_HEADER + 2 * i + 1]);
      const counts = `${(d[v + 2] << 8) | d[v + 3]}/${(d[v + 4] << 8) | d[v + 5]}`;
      yield `${labels.length ? labels.join('.') + '.' : '.'}/${counts}/${types.sort((x, y) => x - y).join(',')}/${this.table.tag(off)}`;
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
   * Applies the differences between two versions of the node at one name of zone `zoneId`. `apex`:
   * the zone's own apex (NS there is not a cut). `hiddenBefore`/`hiddenAfter`: an ancestor is a cut
   * (so neither this node nor anything below is answered directly) in the old and new tree.
   */
  private diffNode(before: TrieNode | undefined, after: TrieNode | undefined, apex: boolean, hiddenBefore: boolean, hiddenAfter: boolean, zoneId: number): void {
    if (before === after && hiddenBefore === hiddenAfter) return;
    const node = (after ?? before) as TrieNode;
    // Another zone's apex: that zone's entry (from its own tree) stands for the name.
    const otherZone = !apex && this.zones?.has(node.name) === true;
    const goneB = hiddenBefore || otherZone;
    const goneA = hiddenAfter || otherZone;
    // Gone on both sides: nothing here or below was in the index, and nothing will be.
    if (goneB && goneA) return;
    // A cut is held (as a cut) but hides everything below it.
    const hidB = goneB || (before !== undefined && hidesBelow(before, apex));
    const hidA = goneA || (after !== undefined && hidesBelow(after, apex));
    const wildB = before?.children.has('*') === true;
    const wildA = after?.children.has('*') === true;
    if (before?.rrsets !== after?.rrsets || goneB !== goneA || hidB !== hidA || !before !== !after || wildB !== wildA) {
      this.unindex(this.table, node.name);
      if (after && !goneA) this.index(this.table, after, zoneId, apex);
    }
    if (hidB && hidA) return;
    const kidsB = before?.children;
    const kidsA = after?.children;
    if (hidB === hidA && kidsB && kidsA) {
      PMap.diff(kidsB, kidsA, (_label, b, a) => this.diffNode(b, a, false, hidB, hidA, zoneId));
      return;
    }
    // One side is missing or the cut above the children moved: every child changes.
    if (kidsB) for (const [label, b] of kidsB) this.diffNode(b, kidsA?.get(label), false, hidB, hidA, zoneId);
    if (kidsA) for (const [label, a] of kidsA) if (!kidsB?.has(label)) this.diffNode(undefined, a, false, hidB, hidA, zoneId);
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
    this.spend();
    const n = writeKey(name, this.key);
    if (n > 0) table.delete(this.key.subarray(0, n));
  }

  /**
   * Puts a node in the table. A name that answers plainly gets its A and AAAA answers (either may
   * be empty: NODATA) and its other types (any type not among them: NODATA). Every other name that
   * exists (a cut, a CNAME owner, an escaped name) is held too, flagged as not answered here: a
   * question below it then finds it walking up, so a name missing from the table and from every
   * suffix up to the closest one held is known not to exist (NXDOMAIN). So is a name whose answers
   * are too large for an entry: it must still be found, or it would read as NXDOMAIN.
   */
  private index(table: NameTable, node: TrieNode, zoneId: number, apex: boolean): void {
    this.spend();
    const key = this.key;
    const n = writeKey(node.name, key);
    // Every valid name fits a key; one that did not would make a missing entry look like NXDOMAIN,
    // so the index switches itself off instead (fail()).
    if (n < 0) throw new Error(`serving index: no key for ${JSON.stringify(node.name)}`);
    let flags = node.children.has('*') ? FLAG_WILDCARD_BELOW : 0;
    if (hidesBelow(node, apex)) flags |= FLAG_CUT;
    // Escaped names' answers spell labels the index cannot compare; CNAME owners answer chains.
    if (node.name.includes('\\') || node.rrsets.has('CNAME')) flags |= FLAG_NOT_HERE;
    const out = this.entry;
    out.reset();
    out.u16(zoneId);
    // A count, AAAA count and the number of other types: filled in below.
    out.u16(0);
    out.u16(0);
    out.u16(0);
    if (!(flags & (FLAG_CUT | FLAG_NOT_HERE))) {
      let others = 0;
      for (const type of node.rrsets.keys()) {
        if (type === 'A' || type === 'AAAA') continue;
        out.u16(rrTypeCode(type));
        others++;
      }
      const a = writeRecords(node, 'A', out);
      const aaaa = a < 0 ? -1 : writeRecords(node, 'AAAA', out);
      if (a < 0 || aaaa < 0 || out.length > MAX_VALUE) {
        // Left to the general path: a value it should never hold, or answers too large for an entry.
        flags |= FLAG_NOT_HERE;
        out.truncate(VALUE_HEADER);
      } else {
        out.setU16(2, a);
        out.setU16(4, aaaa);
        out.setU16(6, others);
      }
    }
    if (!table.set(key.subarray(0, n), out.bytes(), flags)) {
      // Both sizes were checked above, so this is a bug; the index stops rather than answer NXDOMAIN for the name.
      throw new Error(`serving index: entry for ${JSON.stringify(node.name)} refused`);
    }
  }

  private startRebuild(target: LedgerState): void {
    let expected = 0;
    for (const z of target.zones.values()) expected += z.records.size;
    this.state = undefined;
    const zones = [...target.zones.values()];
    const roots = zones.map((z) => z.tree);
    this.rebuild = {
      target,
      table: new NameTable(expected),
      stack: roots.slice(),
      stackZone: zones.map((_, i) => i),
      zoneIds: new Map(zones.map((z, i) => [z.name, i])),
      templates: zones.map((z) => negativeTemplate(z)),
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
      const { stack, stackZone, roots, apexes } = job;
      let zoneId = 0;
      const push = (child: TrieNode): void => {
        stack.push(child);
        stackZone.push(zoneId);
      };
      for (let n = 0; n < this.rebuildSlice; n++) {
        const node = stack.pop();
        zoneId = stackZone.pop() as number;
        if (node === undefined) {
          this.table = job.table;
          this.zoneIds = job.zoneIds;
          this.templates = job.templates;
          this.state = job.target;
          this.rebuild = undefined;
          this.rebuilt(performance.now() - job.started);
          return;
        }
        const root = roots.has(node);
        // Another zone's apex: that zone's own tree stands for the name.
        if (!root && apexes.has(node.name)) continue;
        this.index(job.table, node, zoneId, root);
        // Nothing below a cut is held (a question there finds the cut walking up).
        if (hidesBelow(node, root)) continue;
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
