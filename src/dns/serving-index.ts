/**
 * The serving index: for every name that exists outside a cut (in the zone that serves it, spelled
 * without escapes), its answers as encoded bytes, one per question type it can answer, held in a
 * NameTable keyed by the wire name and kept in step with the projection:
 *  - A and AAAA RRsets, written here directly (the common questions; fast to build);
 *  - every other RRset of the name (MX, TXT, SRV, HTTPS, CAA, any type), with the additional data
 *    the general path adds (MX/SRV/NS/SVCB/HTTPS targets' addresses), and at a CNAME owner the whole
 *    chain for each type its final target holds: these are the general path's own bytes
 *    (answerQuery + encodeMessage for the lowercase question, without EDNS), taken once when the name
 *    is indexed, so they cannot differ from it;
 *  - a question for a type the name lacks gets NODATA: the zone's negative SOA, from a per-zone
 *    template (negative.ts); at a CNAME owner, one answer held for every type the chain's end lacks
 *    (the chain, then NODATA or NXDOMAIN with the SOA of the zone it ends in, whose TTL and numbers
 *    are copied from that zone's template when answering: CHAIN_DEFAULT, SOA_TAIL);
 *  - a name the table lacks is NXDOMAIN when the closest suffix it holds is neither a cut nor the
 *    parent of a wildcard.
 * A name below a wildcard gets the wildcard's answer when its bytes name nothing but the owner (A,
 * AAAA, TXT, CAA and the like: VERBATIM), or NODATA. A name at or below a delegation gets its
 * referral: the general path's bytes for the cut, their compression pointers moved by the extra
 * length of the name asked (`referral`). DNAME, ANY, DS, a wildcard's CNAME,
 * MX and the like, a chain that ends below a cut or at a wildcard, and an answer too large for the
 * client's UDP limit are the general path's.
 *
 * Why: the answer cache only helps names that are asked twice between two writes. On a zone of a
 * million names most questions are first sights, and answering one from the trie walks a dozen
 * scattered objects (the CHAMP levels, the node, its RRsets, the records, their text values) and
 * builds and encodes a message; the index answers from one slot and one arena span, which is what
 * keeps a 1,000,000-name zone within 10% of a 10,000-name one, and a first-sight MX or CNAME as fast
 * as a first-sight A.
 *
 * Why the client's question can be answered with bytes encoded for another spelling: the index
 * answers only uncompressed questions, so the question has the length of the lowercase one and
 * every name written after it is compressed against the same offsets (the encoder compares names
 * with letters folded); the header (id, RD, CD, counts) and the OPT are written per query.
 *
 * Keeping in step: the index is always exactly the index of one projection state. `sync(state)`
 * moves it to a newer state by diffing the zone tries, which share every untouched subtree by
 * reference, so a write costs about the size of the write. An answer that reads other names (a CNAME
 * chain, additional addresses) is re-taken when one of those names changes: the index keeps, per
 * name read, the names whose answers read it (`dependents`). A change of the zone set (a zone created
 * or deleted changes which zone serves a name) or a diff too large to apply between two queries
 * (an import, a restore) starts a rebuild in slices between I/O callbacks instead; until it is done
 * `answer` declines and queries take the general path, so an answer never comes from another state.
 * Every answer is byte for byte what answerQuery + encodeMessage write (test/dns/serving-index.test.ts).
 */
import { PMap } from '../projections/pmap.ts';
import { nameToWire, splitLabels } from '../records/names.ts';
import { rrTypeCode } from '../records/types.ts';
import { labelsBelow, type LedgerState } from '../projections/state.ts';
import { lookup, type RRset, type TrieNode } from '../projections/trie.ts';
import { SCAN_ALL, SCAN_NODE, SCAN_SKIP, unreadBelow, type DeferredChildren } from '../projections/checkpoint.ts';
import { rrsetTtl } from '../projections/rrset-ttl.ts';
import { answerQuery, isPlainQuestion, type Answer } from './answer.ts';
import { pushRRset } from './answer-rrset.ts';
import { RCODE, responseFlags, writeOpt, writeResponseHeader } from './header.ts';
import { negativeSoa, negativeTemplate, riskyUnderApex, writeNegative, type NegativeTemplate } from './negative.ts';
import { hashKey, MAX_KEY, NameTable, type NameTableImage } from './name-table.ts';
import type { ParsedQuery } from './query.ts';
import { parseIPv4, parseIPv6 } from '../records/ip.ts';
import { recordData } from './record-data.ts';
import { encodeMessage, type WireMessage, type WireRR } from './wire.ts';
import { encodingOnce } from './encode-once.ts';
import { findZone } from './zones.ts';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_CNAME = 5;
const TYPE_DNAME = 39;
const CLASS_IN = 1;
/** Index changes applied in one sync before a rebuild is cheaper than going on (and keeps a query from waiting). */
const DIFF_BUDGET = 20_000;
/** Nodes indexed per slice of a rebuild, at most. */
const REBUILD_SLICE = 4_000;
/**
 * Milliseconds one slice may take, at most: a slice holds the event loop, and the queries that
 * arrive meanwhile wait for it (a large zone's rebuild answered 35 queries/s with count-only slices
 * on a loaded machine). The second pass runs its slices at most every FILL_PAUSE_MS while queries
 * are being answered, so they get about 95% of the time (a 1M zone's second pass at 2 ms per 6 ms took
 * its rate from 0.9 to 0.16 of Knot's for its 17 s); on an idle server it runs flat out.
 */
const SLICE_MS = 4;
const FILL_SLICE_MS = 1;
const FILL_PAUSE_MS = 20;
/** CNAMEs followed when collecting the names an answer reads (the general path follows at most 5). */
const MAX_CHAIN_WALK = 8;
/** Most answers one entry holds (types at one name); a name with more is the general path's. */
const MAX_TYPES = 64;

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
 * A value: zone id (u16), the number of answers (u16), one descriptor per answer, then the answers'
 * bytes (the answer, authority and additional sections as written after the question, before any OPT).
 */
const VALUE_HEADER = 4;
/** A descriptor: qtype, start of its bytes in the value, their length, ANCOUNT, NSCOUNT, ARCOUNT, header bits (AA). */
const DESCRIPTOR = 14;
/** The descriptor type of a cut's referral (no question has type 0). */
const REFERRAL = 0;
/**
 * The descriptor type, at a CNAME owner, of the answer to every type the chain's end does not hold
 * (it is the same for all of them: the chain, then NODATA or NXDOMAIN with the SOA of the zone where
 * it ends, or the chain alone when it leaves our zones). A question of type 0 gets it too, which is
 * what the general path answers for it. Cuts hold REFERRAL and never this, so the two never meet.
 */
const CHAIN_DEFAULT = 0;
/** A descriptor's length for a type the name holds but the index does not answer (the general path's). */
const DECLINED = 0xffff;
/** The largest value a NameTable entry holds (its length is a u16). */
const MAX_VALUE = 0xffff;
/** Entry flags (the table's tag): a cut or a DNAME owner (the general path's; nothing below is held, see hidesBelow). */
const FLAG_CUT = 1;
/** The name exists but is not answered here (an escaped name, answers too large for an entry). */
const FLAG_NOT_HERE = 2;
/** The name has a wildcard child: a missing name below it may be synthesized, not NXDOMAIN. */
const FLAG_WILDCARD_BELOW = 4;
/** A type without a descriptor is not NODATA here (a CNAME owner: the chain decides): the general path's. */
const FLAG_ONLY_LISTED = 8;
/** Header bits of the index's answers: all of them are authoritative. */
const AUTHORITATIVE = { aa: true } as const;
/** The AA bit of a response's flags word. */
const AA_BIT = 0x0400;
/**
 * A descriptor bit (beside AA): the bytes hold no name but the owner, a pointer to the question, so
 * they answer any name spelled there: a wildcard's answer for a name it stands for (RFC 4592).
 */
const VERBATIM = 0x0001;
/**
 * A descriptor bit: the answer ends with a zone's negative SOA (a CNAME chain's negative end). Its
 * bytes are held without the SOA's last 20 (its five numbers), and followed by the zone id (u16) and
 * the offset of the SOA's TTL in the answer (u16). The TTL and the numbers are copied at answer time
 * from the zone's newest negative template, because the serial changes with every write; the SOA's
 * names are the template's `shape`, which entries holding them are re-taken for when it changes
 * (soaReadKey).
 */
const SOA_TAIL = 0x0002;
/** A descriptor bit: the answer's rcode is NXDOMAIN (a CNAME chain that ends at a name that does not exist). */
const RCODE_NXDOMAIN = 0x0004;
/** First type code tried as a type the end of a chain does not hold (the private-use range, RFC 6895). */
const PROBE_TYPE = 65280;
/** Types whose rdata holds no domain name (so no compression pointer): their answers can be VERBATIM. */
const NAMELESS = new Set([1, 28, 13 /* HINFO */, 16 /* TXT */, 29 /* LOC */, 37 /* CERT */, 43 /* DS */, 44 /* SSHFP */, 48 /* DNSKEY */, 52 /* TLSA */, 53 /* SMIMEA */, 59 /* CDS */, 60 /* CDNSKEY */, 61 /* OPENPGPKEY */, 256 /* URI */, 257 /* CAA */]);
/** Questions the index never answers: ANY (RFC 8482 rules), DS (answered from the parent side), transfers, DNSSEC records. */
const TYPE_ANY = 255;
const TYPE_DS = 43;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
const NEVER_HERE = new Set([TYPE_ANY, TYPE_DS, TYPE_IXFR, TYPE_AXFR, 46 /* RRSIG */, 47 /* NSEC */, 50 /* NSEC3 */, 41 /* OPT */]);

/** The dependents key of a zone's negative SOA names: entries holding that SOA after a chain are re-taken when they change. */
function soaReadKey(zone: string): string {
  return `\0soa ${zone}`;
}

/** Notes that the answers of `owner` read each name of `reads` (its dependents). */
function addReads(dependents: Dependents, reads: readonly string[], owner: string): void {
  for (const r of reads) {
    const list = dependents.get(r);
    if (list === undefined) dependents.set(r, owner);
    else if (typeof list === 'string') {
      if (list !== owner) dependents.set(r, [list, owner]);
    } else if (!Array.isArray(list)) list.add(owner);
    else if (list[list.length - 1] !== owner && !list.includes(owner)) {
      // A long list becomes a set: a zone's SOA key is read by every CNAME owner of the zone, and
      // includes() over 50,000 of them per owner took 17 s of a 1M-name zone's second pass.
      if (list.length >= DEPENDENTS_AS_SET) dependents.set(r, new Set(list).add(owner));
      else list.push(owner);
    }
  }
}

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

  /** The buffer written into (its first `length` bytes; valid until the next write). */
  get buffer(): Uint8Array {
    return this.buf;
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

/** A question for `name` (lowercase, unescaped) as readQuery would parse it, without EDNS: what the index takes the general path's bytes for. */
function indexQuestion(name: string, qtype: number, nameWireLength: number): ParsedQuery {
  return {
    kind: 'query',
    id: 0,
    flags: 0,
    opcode: 0,
    rd: false,
    cd: false,
    qname: name,
    qnameKey: name,
    qtype,
    qclass: CLASS_IN,
    questionEnd: 12 + nameWireLength + 4,
    qdcount: 1,
    ancount: 0,
    nscount: 0,
    arcount: 0,
    hasTsig: false,
  };
}

/** Offset after the (possibly compressed) name at `p` of `b`. */
function skipName(b: Uint8Array, p: number): number {
  for (;;) {
    const l = b[p];
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2;
    p += l + 1;
  }
}

/** True when each of the `count` records from `p` of `b` is owned by a pointer to the question name (offset 12). */
function ownedByQuestion(b: Uint8Array, p: number, count: number): boolean {
  for (let i = 0; i < count; i++) {
    if (b[p] !== 0xc0 || b[p + 1] !== 12) return false;
    p += 12 + ((b[p + 10] << 8) | b[p + 11]);
  }
  return true;
}

/** True when one of the `count` records from `p` of `b` has type `type`. */
function hasRecordOfType(b: Uint8Array, p: number, count: number, type: number): boolean {
  for (let i = 0; i < count; i++) {
    p = skipName(b, p);
    if (((b[p] << 8) | b[p + 1]) === type) return true;
    p += 10 + ((b[p + 8] << 8) | b[p + 9]);
  }
  return false;
}

/** The absolute names in one record's rdata (MX exchange, SRV/NS/CNAME/SVCB target, ...): every string field that is one. */
function namesIn(data: object, into: string[]): void {
  for (const v of Object.values(data)) if (typeof v === 'string' && v.endsWith('.') && v.length > 0) into.push(v);
}

/**
 * Name read -> the names whose answers read it: the one name itself (most targets are read by one
 * owner: 86,000 of 93,000 on the realistic 1M zone, where an array each cost ~56 bytes more), a
 * list, or a set once it is long.
 */
export type Dependents = Map<string, string | string[] | Set<string>>;
/** Dependents of one name held in a list up to this many (a scan is cheaper than a set for a few). */
export const DEPENDENTS_AS_SET = 32;

/** A rebuild in progress: the nodes still to visit, depth first. */
interface Rebuild {
  target: LedgerState;
  table: NameTable;
  dependents: Dependents;
  /** Nodes whose other answers the second pass takes (undefined: a small rebuild takes them at once). */
  pending: TrieNode[] | undefined;
  /** For each pending node, its zone id times two, plus one at a zone's apex. */
  pendingWhere: number[];
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
  /**
   * Names put aside by a scan of a big zone's bytes (scanBelow): the second pass takes them by name,
   * CNAME owners and cuts first, once the zone is read (`scanned`).
   */
  scannedFirst: string[];
  scannedRest: string[];
  /** The CNAME owners the scans met, by name: their chains can be answered before the zones are read (composeChain). */
  chains: Map<string, RRset>;
  /** The zones scanned instead of walked: their reads, and their apexes' children maps. */
  scanned: ScannedZone[];
  /** performance.now() at the start, for the log line. */
  started: number;
  timer?: NodeJS.Immediate;
}

/** A big zone the first pass scanned from the checkpoint's bytes (DeferredChildren.scan): the second pass waits for its trie. */
interface ScannedZone {
  deferred: DeferredChildren;
  children: PMap<unknown>;
}

/** The second pass of a rebuild in progress (fillStep). */
interface Fill {
  /** The nodes to index in full, in the state the rebuild built (`built`), and their names. */
  nodes: TrieNode[];
  names: string[];
  /** Per node: its zone id times two, plus one at a zone's apex. */
  where: number[];
  /**
   * The state the first pass indexed: while the index still holds it, a node is indexed as it is,
   * with no lookup. Undefined after a scan: every name is looked up (`nodes` is empty).
   */
  built: LedgerState | undefined;
  /** Zones the first pass scanned: nothing is indexed until each is read and its apex's children map built. */
  waitFor: ScannedZone[];
  /**
   * While it waits: the CNAME owners the scans met (holding nothing else), with their CNAME RRsets
   * as the scans made them. The first question for one is answered from its target's entry
   * (composeChain) while the index holds `chainsOf`, the state the first pass indexed, instead of
   * waiting for the zone's read. Zone names by id for it: `chainZones`.
   */
  chains: Map<string, RRset>;
  chainsOf: LedgerState | undefined;
  chainZones: string[] | undefined;
  next: number;
  started: number;
  answeredBefore: number;
  /** The next step, after I/O (an immediate) or after a pause (a timeout, while DNS is busy). */
  timer?: { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout };
}

/**
 * Everything a complete index of one state holds that its answers need, for a serving-index image
 * (index-image.ts): the table's arrays, the dependents, the zone ids the values refer to, and the
 * zones' negative templates by zone id. The templates are a function of the state
 * (negativeTemplate), but are kept so that an image can be restored before the state it was taken
 * of is at hand (a deferred tail: Ledger.servingState).
 */
export interface ServingIndexImage {
  table: NameTableImage;
  dependents: ReadonlyMap<string, string | readonly string[] | ReadonlySet<string>>;
  zoneIds: ReadonlyMap<string, number>;
  templates: ReadonlyArray<NegativeTemplate | undefined>;
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
  /**
   * Name read by an answer -> the names whose answers read it (CNAME chains, additional data): when
   * the first changes, the others are indexed again. Entries are never removed between rebuilds; a
   * stale one costs a needless re-index, never a wrong answer.
   */
  private dependents: Dependents = new Map();
  /** Zone name -> id, and each zone's NODATA template by id (valid with the table). */
  private zoneIds = new Map<string, number>();
  private templates: Array<NegativeTemplate | undefined> = [];
  /** The state the table is the index of (undefined before the first build completes). */
  private state: LedgerState | undefined;
  /** The state being indexed (a rebuild's target, or the state a sync diffs into): answers are taken from it. */
  private target: LedgerState | undefined;
  /** The zone set of the state being diffed into (a name at another zone's apex is that zone's). */
  private zones: LedgerState['zones'] | undefined;
  /** Names indexed again during one sync because a name their answers read changed. */
  private redone = new Set<string>();
  /** The second pass of a rebuild in progress (fillStep). */
  private fill: Fill | undefined;
  /** Questions asked of the index (the second pass slows down while there are any). */
  private answered = 0;
  private budget = 0;
  private rebuild: Rebuild | undefined;
  private closed = false;
  /** The state the index was the complete index of when it was closed (imageOf). */
  private completeAtClose: LedgerState | undefined;
  private builtWaiters: Array<() => void> = [];
  private rebuilds = 0;

  private readonly diffBudget: number;
  private readonly rebuildSlice: number;
  /** The key and the value of the entry being indexed (this index's own, never shared). */
  private readonly key = new Uint8Array(MAX_KEY);
  /** The key of the wildcard a question is synthesized from (query time). */
  private readonly wildKey = new Uint8Array(MAX_KEY + 2);
  /** A CNAME target's key (composeChain; `key` holds the owner's). */
  private readonly targetKey = new Uint8Array(MAX_KEY);
  /** Label offsets of a question's name and of a CNAME target's key (spliceChain). */
  private readonly ownerLabels = new Int32Array(128);
  private readonly targetLabels = new Int32Array(128);
  /** Answers spliceChain gave, and those of them that end in NODATA (tests check that their property test reaches both). */
  chainsSpliced = 0;
  chainsSplicedNodata = 0;
  private readonly entry = new EntryWriter();
  private readonly bodies = new EntryWriter();

  constructor(opts: ServingIndexOptions = {}) {
    this.diffBudget = opts.diffBudget ?? DIFF_BUDGET;
    this.rebuildSlice = opts.rebuildSlice ?? REBUILD_SLICE;
  }

  /** Called after every completed rebuild with the entries held and how long it took (for logs). */
  onRebuilt?: (entries: number, ms: number) => void;

  /** Called when a rebuild's second pass has given every name all its answers (names done, ms). */
  onFilled?: (names: number, ms: number) => void;

  /** True while a rebuild's second pass is still to give some names their other answers. */
  get filling(): boolean {
    return this.fill !== undefined;
  }

  /** Names held. */
  get size(): number {
    return this.table.size;
  }

  /** Up to `max` of the names held, as lowercased wire names, spread over the table (NameTable.keys' order). */
  sampleNames(max: number): Uint8Array[] {
    const names: Uint8Array[] = [];
    for (const key of this.table.keys()) {
      if (names.length >= max) break;
      names.push(key);
    }
    return names;
  }

  /** Bytes held in typed arrays (for the benchmark notes and metrics). */
  get bytes(): number {
    return this.table.bytes;
  }

  /** Resolves once a rebuild has completed (or the index was closed): the index then serves. */
  whenBuilt(): Promise<void> {
    if (this.rebuilds > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.builtWaiters.push(resolve));
  }

  /**
   * The index's contents for an image, when it is exactly and completely the index of `state`: the
   * state is the one it holds, no rebuild or second pass is under way, and it never failed. A
   * closed index still gives them for the state it held when it was closed (the server writes the
   * image at exit, after the listeners closed). Views of the live arrays: write them before
   * anything changes the index.
   */
  imageOf(state: LedgerState): ServingIndexImage | undefined {
    const held = this.closed ? this.completeAtClose : this.state;
    if (held !== state || this.rebuild || this.fill || this.failure !== undefined) return undefined;
    return { table: this.table.imageParts(), dependents: this.dependents, zoneIds: this.zoneIds, templates: this.templates };
  }

  /**
   * Makes this index the index of `state` from an image's contents (index-image.ts checked that the
   * image was taken of this very state: the log's seq and hash, the build's fingerprint). The
   * table and templates are used as they are, no copy: only the zone names are read from `state`,
   * which may be a stand-in for it (Ledger.servingState). Throws, leaving the index as it was, when
   * the zone ids do not name exactly the state's zones or the templates do not match them.
   */
  restoreImage(state: LedgerState, table: NameTable, dependents: Dependents, zoneIds: Map<string, number>, templates: Array<NegativeTemplate | undefined>): void {
    if (this.closed) throw new Error('serving index: closed');
    if (zoneIds.size !== state.zones.size) throw new Error(`serving index image: ${zoneIds.size} zones, the state has ${state.zones.size}`);
    if (templates.length !== zoneIds.size) throw new Error(`serving index image: ${templates.length} negative templates for ${zoneIds.size} zones`);
    const seen = new Set<number>();
    for (const [name, id] of zoneIds) {
      if (!state.zones.has(name)) throw new Error(`serving index image: zone ${JSON.stringify(name)} is not in the state`);
      if (!Number.isInteger(id) || id < 0 || id >= zoneIds.size || seen.has(id)) throw new Error(`serving index image: bad zone id ${id}`);
      seen.add(id);
    }
    if (this.rebuild?.timer) clearImmediate(this.rebuild.timer);
    this.rebuild = undefined;
    this.stopFill();
    this.table = table;
    this.dependents = dependents;
    this.zoneIds = zoneIds;
    this.templates = templates;
    this.state = state;
    this.target = state;
    this.rebuilds++;
    for (const resolve of this.builtWaiters.splice(0)) resolve();
  }

  /**
   * `standIn` and `state` are the same state of the log (Ledger.whenSettled: the stand-in the index
   * was restored for, and the projection the deferred tail ended at): an index of the one is the
   * index of the other, and is bound to `state` without a diff. Nothing when the index is not at
   * `standIn` (sync diffs it from where it is, as for any newer state).
   */
  rebind(standIn: LedgerState, state: LedgerState): void {
    if (this.state !== standIn || this.rebuild || standIn.seq !== state.seq) return;
    this.state = state;
    this.target = state;
    this.zones = state.zones;
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
      this.target = state;
      this.redone.clear();
      // A diff up to an eighth of the index is still far cheaper than rebuilding it (and the pause
      // stays short); a fixed budget could make a large zone under a steady write load rebuild
      // forever, each rebuild too slow to catch up with the writes made during it.
      this.budget = Math.max(this.diffBudget, this.table.size >> 3);
      try {
        for (const [name, after] of state.zones) {
          const before = from.zones.get(name);
          if (before === after || !before) continue;
          const id = this.zoneIds.get(name) as number;
          // A write bumps the serial: the negative SOA changes with every one. Every zone's first,
          // so answers taken during the diffs read the new ones.
          const old = this.templates[id];
          const t = negativeTemplate(after);
          this.templates[id] = t;
          // Its names changed: the answers that hold it after a CNAME chain are taken again. Each
          // is the general path's work (tens of microseconds): many of them (every CNAME owner of
          // a large zone) are a rebuild's, in slices between queries, not one long pause here.
          if (old?.shape !== t?.shape) {
            const readers = this.dependents.get(soaReadKey(name));
            const n = readers === undefined ? 0 : typeof readers === 'string' ? 1 : Array.isArray(readers) ? readers.length : readers.size;
            if (n > this.diffBudget >> 3) throw new OverBudget();
            this.touch(soaReadKey(name));
          }
        }
        for (const [name, after] of state.zones) {
          const before = from.zones.get(name);
          if (before === after || !before) continue;
          const id = this.zoneIds.get(name) as number;
          if (before.tree !== after.tree) this.diffNode(before.tree, after.tree, true, false, false, id);
        }
        this.state = state;
        this.redone.clear();
        // The entries the diff replaced are garbage in the arena: compacted once they are an eighth
        // of it, so a long run of writes does not leave the arena's pages full of them (NameTable.tidy).
        // Not during the second pass, which replaces entries by the million and trims when done.
        if (!this.fill) this.table.tidy();
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
   * The answer in `state` to a question for a name the index holds: the bytes held for its type, or
   * NODATA with the zone's SOA for a type it lacks, byte for byte as answerQuery + encodeMessage
   * write it (the client's question spelling, owners compressed to the question, OPT when the query
   * had one). Undefined means "not here" (or the index is still being rebuilt for `state`): the
   * caller takes the general path.
   */
  answer(state: LedgerState, q: ParsedQuery, raw: Uint8Array, limit: number): Buffer | undefined {
    this.answered++;
    const qtype = q.qtype;
    if (NEVER_HERE.has(qtype)) return undefined;
    // The key is the question name's bytes, so only an uncompressed one qualifies.
    if (!isPlainQuestion(q, raw)) return undefined;
    if (this.state !== state && this.sync(state) === 'rebuilding') return undefined;
    const questionEnd = q.questionEnd;
    const nameEnd = questionEnd - 4;
    const table = this.table;
    const off = table.find(raw, 12, nameEnd, hashKey(raw, 12, nameEnd));
    if (off < 0) return this.nxdomain(q, raw, limit);
    const tag = table.tag(off);
    if (tag & FLAG_NOT_HERE) return undefined;
    if (tag & FLAG_CUT) return this.referralAnswer(q, raw, limit, off, 12);
    const data = table.data;
    const v = table.valueStart(off);
    const d = this.descriptor(v, qtype);
    if (d < 0) {
      // A type the name lacks: NODATA; at a CNAME owner, what the chain's end answers for it.
      if (!(tag & FLAG_ONLY_LISTED)) return this.negative((data[v] << 8) | data[v + 1], q, raw, limit, RCODE.NOERROR);
      const chained = this.descriptor(v, CHAIN_DEFAULT);
      if (chained >= 0) return this.respond(q, raw, limit, v, chained);
      // A CNAME owner of a zone still unread, met by the first pass's scan: A and AAAA through the
      // chain from the target's entry as it is (spliceChain); other types, and what that declines,
      // from an entry made once from it (composeChain), then asked again. Neither waits for the read.
      if (((data[v + 2] << 8) | data[v + 3]) === 0 && table.valueLength(off) > VALUE_HEADER) {
        const spliced = this.spliceChain(q, raw, limit, v, v + table.valueLength(off));
        if (spliced !== undefined) return spliced;
      }
      if (this.fill === undefined || this.fill.chains.size === 0) return undefined;
      return this.composeFor(q.qnameKey) ? this.answer(state, q, raw, limit) : undefined;
    }
    return this.respond(q, raw, limit, v, d);
  }

  /** The answer of descriptor `d` of the value at `v` for the question in `raw`; undefined when it is declined or too large. */
  private respond(q: ParsedQuery, raw: Uint8Array, limit: number, v: number, d: number): Buffer | undefined {
    const data = this.table.data;
    const len = (data[d + 4] << 8) | data[d + 5];
    if (len === DECLINED) return undefined;
    const start = v + ((data[d + 2] << 8) | data[d + 3]);
    const edns = q.edns;
    const questionEnd = q.questionEnd;
    const size = questionEnd + len + (edns ? 11 : 0);
    // Too large for the client: the general path drops additional data or truncates.
    if (size > limit) return undefined;
    const bits = (data[d + 12] << 8) | data[d + 13];
    let template: NegativeTemplate | undefined;
    // Bytes held: all of the answer, or all but the SOA's numbers.
    let held = len;
    if (bits & SOA_TAIL) {
      held = len - 20;
      template = this.templates[(data[start + held] << 8) | data[start + held + 1]];
      if (!template) return undefined;
    }
    const out = Buffer.allocUnsafe(size);
    writeResponseHeader(out, q, raw, bits & RCODE_NXDOMAIN ? RCODE.NXDOMAIN : RCODE.NOERROR, bits & AA_BIT ? AUTHORITATIVE : {}, (data[d + 6] << 8) | data[d + 7], (data[d + 8] << 8) | data[d + 9]);
    const ar = (data[d + 10] << 8) | data[d + 11];
    if (ar > 0) out.writeUInt16BE(ar + (edns ? 1 : 0), 10);
    // A short answer is copied byte by byte: a subarray view costs more than the copy.
    if (held <= 32) for (let k = 0; k < held; k++) out[questionEnd + k] = data[start + k];
    else out.set(data.subarray(start, start + held), questionEnd);
    if (template) {
      // The SOA's TTL and numbers as they are now (the names are the same: see SOA_TAIL).
      const rr = template.rr;
      const ttlAt = questionEnd + ((data[start + held + 2] << 8) | data[start + held + 3]);
      for (let k = 0; k < 4; k++) out[ttlAt + k] = rr[template.ttlAt + k];
      const numbers = questionEnd + held;
      for (let k = 0, from = rr.length - 20; k < 20; k++) out[numbers + k] = rr[from + k];
    }
    if (edns) writeOpt(out, questionEnd + len, edns.do);
    return out;
  }

  /** The descriptor for `qtype` in the value at `v`, or -1. */
  private descriptor(v: number, qtype: number): number {
    const data = this.table.data;
    const n = (data[v + 2] << 8) | data[v + 3];
    for (let i = 0, d = v + VALUE_HEADER; i < n; i++, d += DESCRIPTOR) if (((data[d] << 8) | data[d + 1]) === qtype) return d;
    return -1;
  }

  /**
   * The answer for a name that does not exist below `encloser` (an offset into `raw`: the closest
   * encloser, which has a wildcard child): the wildcard's answer with the name asked as owner (RFC
   * 4592), when the wildcard's bytes hold no other name (VERBATIM), or NODATA when it lacks the type.
   */
  private wildcard(q: ParsedQuery, raw: Uint8Array, limit: number, encloser: number): Buffer | undefined {
    const nameEnd = q.questionEnd - 4;
    const key = this.wildKey;
    const len = 2 + nameEnd - encloser;
    if (len > MAX_KEY) return undefined;
    key[0] = 1;
    key[1] = 0x2a;
    // Byte by byte: a subarray view per question costs more than copying a name.
    for (let k = encloser; k < nameEnd; k++) key[2 + k - encloser] = raw[k];
    const table = this.table;
    const off = table.find(key, 0, len, hashKey(key, 0, len));
    if (off < 0 || table.tag(off) & (FLAG_CUT | FLAG_NOT_HERE | FLAG_ONLY_LISTED)) return undefined;
    const v = table.valueStart(off);
    const data = table.data;
    const d = this.descriptor(v, q.qtype);
    if (d < 0) return this.negative((data[v] << 8) | data[v + 1], q, raw, limit, RCODE.NOERROR);
    if (!(((data[d + 12] << 8) | data[d + 13]) & VERBATIM)) return undefined;
    return this.respond(q, raw, limit, v, d);
  }

  /**
   * NXDOMAIN for a name the table does not hold: walking up its suffixes, the first one held is the
   * closest encloser (every name that exists outside a cut is held). Declined when no suffix is held
   * (not our zone); when it is a cut, the referral it holds answers (`referralAnswer`), and when it
   * has a wildcard child, the wildcard (`wildcard`).
   */
  private nxdomain(q: ParsedQuery, raw: Uint8Array, limit: number): Buffer | undefined {
    const table = this.table;
    const nameEnd = q.questionEnd - 4;
    let p = 12;
    while (raw[p] !== 0) {
      p += raw[p] + 1;
      const off = table.find(raw, p, nameEnd, hashKey(raw, p, nameEnd));
      if (off < 0) continue;
      const tag = table.tag(off);
      // A cut: the referral it holds (or the general path's).
      if (tag & FLAG_CUT) return this.referralAnswer(q, raw, limit, off, p);
      // The closest encloser has a wildcard child: the name is synthesized from it.
      if (tag & FLAG_WILDCARD_BELOW) return this.wildcard(q, raw, limit, p);
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

  /**
   * Every name held: "name/A count/AAAA count/other types answered or declined/flags/bytes" (tests
   * compare a diffed index with a fresh build; the bytes are every answer held, in type order).
   */
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
      const answers: Array<{ type: number; an: number; text: string }> = [];
      for (let i = 0, at = v + VALUE_HEADER; i < ((d[v + 2] << 8) | d[v + 3]); i++, at += DESCRIPTOR) {
        const type = (d[at] << 8) | d[at + 1];
        const len = (d[at + 4] << 8) | d[at + 5];
        const start = v + ((d[at + 2] << 8) | d[at + 3]);
        const an = (d[at + 6] << 8) | d[at + 7];
        const body = Buffer.alloc(len === DECLINED ? 0 : len);
        if (len !== DECLINED && ((d[at + 12] << 8) | d[at + 13]) & SOA_TAIL) {
          // The SOA as it is answered: its TTL and numbers from the zone's newest template.
          body.set(d.subarray(start, start + len - 20));
          const t = this.templates[(d[start + len - 20] << 8) | d[start + len - 19]];
          const ttlAt = (d[start + len - 18] << 8) | d[start + len - 17];
          if (t) {
            body.set(t.rr.subarray(t.ttlAt, t.ttlAt + 4), ttlAt);
            body.set(t.rr.subarray(t.rr.length - 20), len - 20);
          }
        } else body.set(d.subarray(start, start + body.length));
        const text = len === DECLINED ? `${type}:declined` : `${type}:${Buffer.from(d.subarray(at + 6, at + DESCRIPTOR)).toString('hex')}:${body.toString('hex')}`;
        answers.push({ type, an, text });
      }
      answers.sort((x, y) => x.type - y.type);
      const count = (t: number) => answers.find((x) => x.type === t && !x.text.endsWith('declined'))?.an ?? 0;
      const others = answers.filter((x) => x.type !== TYPE_A && x.type !== TYPE_AAAA).map((x) => x.type);
      yield `${labels.length ? labels.join('.') + '.' : '.'}/${count(TYPE_A)}/${count(TYPE_AAAA)}/${others.join(',')}/${this.table.tag(off)}/${answers.map((x) => x.text).join(';')}`;
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
    if (!this.closed) this.completeAtClose = this.rebuild || this.fill || this.failure !== undefined ? undefined : this.state;
    this.closed = true;
    if (this.rebuild?.timer) clearImmediate(this.rebuild.timer);
    this.stopFill();
    this.rebuild = undefined;
    this.fill = undefined;
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
    // A DNAME put on or taken off an apex hides or shows the whole zone, which answers in other
    // zones may lead into (chains, additional data) without having noted the apex as read (every
    // write changes the apex's SOA, so nothing notes it): the index is built again.
    if (apex && before?.rrsets.has('DNAME') !== after?.rrsets.has('DNAME')) throw new OverBudget();
    const node = (after ?? before) as TrieNode;
    // Another zone's apex: that zone's entry (from its own tree) stands for the name.
    const otherZone = !apex && this.zones?.has(node.name) === true;
    const goneB = hiddenBefore || otherZone;
    const goneA = hiddenAfter || otherZone;
    // Gone on both sides: nothing here or below was in the index, and nothing will be; but answers
    // elsewhere may read these names (glue below a cut as additional data).
    if (goneB && goneA) return this.touchBelow(before, after);
    // A cut is held (as a cut) but hides everything below it.
    const hidB = goneB || (before !== undefined && hidesBelow(before, apex));
    const hidA = goneA || (after !== undefined && hidesBelow(after, apex));
    const wildB = before?.children.has('*') === true;
    const wildA = after?.children.has('*') === true;
    if (before?.rrsets !== after?.rrsets || !before !== !after) this.touch(node.name);
    if (before?.rrsets !== after?.rrsets || goneB !== goneA || hidB !== hidA || !before !== !after || wildB !== wildA) {
      this.unindex(this.table, node.name);
      if (after && !goneA) this.index(this.table, after, zoneId, apex, this.dependents);
    }
    if (hidB && hidA) {
      for (const [, b, a] of childPairs(before, after)) this.touchBelow(b, a);
      return;
    }
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

  /** A subtree the index does not hold changed: the answers that read its names are taken again. */
  private touchBelow(before: TrieNode | undefined, after: TrieNode | undefined): void {
    if (before === after) return;
    const node = (after ?? before) as TrieNode;
    if (before?.rrsets !== after?.rrsets || !before !== !after) this.touch(node.name);
    for (const [, b, a] of childPairs(before, after)) this.touchBelow(b, a);
  }

  /** `name` changed: indexes again, from the state being synced to, every name whose answers read it. */
  private touch(name: string): void {
    const read = this.dependents.get(name);
    if (read === undefined) return;
    for (const owner of typeof read === 'string' ? [read] : read) {
      if (this.redone.has(owner)) continue;
      this.redone.add(owner);
      this.reindexName(owner);
    }
  }

  /** Indexes `name` again from the state being indexed (this.target), when it is held there. */
  private reindexName(name: string): void {
    const state = this.target as LedgerState;
    const zone = findZone(state, name);
    if (!zone) return;
    const id = this.zoneIds.get(zone.name);
    if (id === undefined) return;
    const lk = lookup(zone.tree, name === zone.name ? [] : labelsBelow(name, zone.apexLabels));
    // Gone or below a cut now: its own diff has taken it out.
    if (!lk.exact || (lk.cut && lk.cut !== lk.exact)) return;
    this.unindex(this.table, name);
    this.index(this.table, lk.exact, id, name === zone.name, this.dependents);
  }

  private stopFill(): void {
    const timer = this.fill?.timer;
    // Each by its own call: clearImmediate given a Timeout unlinks it from the immediate queue and
    // lowers Node's count of pending immediates below what is queued. The loop skips the queue
    // while that count reads zero: even the next immediate set (another index's rebuild step, the
    // server's own) did not run in a check on Node 20.
    if (timer !== undefined) {
      if ('immediate' in timer) clearImmediate(timer.immediate);
      else clearTimeout(timer.timeout);
    }
    this.fill = undefined;
  }

  /**
   * The second pass of a large rebuild, between I/O callbacks like the first: the names whose
   * answers only the general path can take (other types than A and AAAA, CNAME chains) get them.
   * Until a name's turn its other types are declined (the general path answers), never wrong.
   */
  private fillStep(): void {
    const fill = this.fill;
    if (!fill || this.closed || !this.state) return;
    fill.timer = undefined;
    // A zone the first pass scanned is looked up here: not before its read (the server's, in the
    // background, or a first use's) and its apex's children map are done, or the first lookup
    // would do them at once, holding DNS for seconds.
    if (fill.waitFor.length > 0) {
      if (fill.waitFor.some((z) => !z.deferred.done || !z.children.built)) {
        fill.timer = { timeout: setTimeout(() => this.fillStep(), FILL_PAUSE_MS) };
        return;
      }
      fill.waitFor = [];
      // The second pass takes every name from the trie now: no chain is composed any more.
      fill.chains = new Map();
    }
    this.target = this.state;
    this.budget = Infinity;
    try {
      const end = Math.min(fill.names.length, fill.next + this.rebuildSlice);
      const deadline = performance.now() + FILL_SLICE_MS;
      // No write since the first pass: the nodes it put aside are the state's own (no lookup by name).
      const direct = this.state === fill.built;
      for (; fill.next < end; fill.next++) {
        if (direct) {
          const w = fill.where[fill.next];
          this.index(this.table, fill.nodes[fill.next], w >> 1, (w & 1) === 1, this.dependents);
        } else this.reindexName(fill.names[fill.next]);
        if ((fill.next & 31) === 31 && performance.now() > deadline) {
          fill.next++;
          break;
        }
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    if (fill.next < fill.names.length) {
      const busy = this.answered !== fill.answeredBefore;
      fill.answeredBefore = this.answered;
      fill.timer = busy ? { timeout: setTimeout(() => this.fillStep(), FILL_PAUSE_MS) } : { immediate: setImmediate(() => this.fillStep()) };
      return;
    }
    this.fill = undefined;
    // Indexing names again left their first entries as garbage in the arena.
    this.table.trim();
    this.onFilled?.(fill.names.length, performance.now() - fill.started);
  }

  /**
   * The answer to an A or AAAA question at a CNAME owner whose answers the second pass is still to
   * take (its entry holds the CNAME's TTL and target: writeChainStart), when the chain ends at once
   * at a name the index holds and answers plainly with that type (VERBATIM: records owned by the
   * question and nothing more), or that lacks it in the owner's own zone (NODATA: the zone's SOA
   * after the CNAME, spliceNodata). What the general path writes is then fixed by the encoder's
   * compression (wire.ts writeName: a name is written up to the longest suffix, label for label and
   * letters folded, that an earlier name wrote, then a pointer to it; the suffixes it writes become
   * targets): the owner's CNAME (owner: a pointer to the question; RDATA: the target up to its
   * longest suffix shared with the question, then a pointer into the question, or whole when they
   * share none), then the target's records as its entry holds them, their owner pointing at the
   * target where it was first written (the RDATA, or the question when the target is a suffix of
   * it). So it is written here from the question and the two entries, with no encode and nothing
   * stored. Both entries are kept in step with writes like any other (a write to the owner indexes
   * it again), so this holds in any state. On a start without the serving-index image this is what
   * answers the chains of a big zone before its read (the second pass waits for it). Undefined
   * when that is not the case.
   */
  private spliceChain(q: ParsedQuery, raw: Uint8Array, limit: number, v: number, end: number): Buffer | undefined {
    const qtype = q.qtype;
    if (qtype !== TYPE_A && qtype !== TYPE_AAAA) return undefined;
    const table = this.table;
    const data = table.data;
    // The owner's entry: the CNAME's TTL, then the target's key (writeChainStart).
    const start = v + VALUE_HEADER;
    const tk = start + 4;
    const toff = table.find(data, tk, end, hashKey(data, tk, end));
    if (toff < 0 || table.tag(toff) & (FLAG_CUT | FLAG_NOT_HERE | FLAG_ONLY_LISTED)) return undefined;
    const tv = table.valueStart(toff);
    const d = this.descriptor(tv, qtype);
    // The target lacks the type: the chain ends in NODATA, the SOA of the target's zone after the
    // CNAME, when that is the owner's zone too (spliceNodata).
    let len: number;
    let an = 0;
    let template: NegativeTemplate | undefined;
    if (d < 0) {
      const zone = (data[tv] << 8) | data[tv + 1];
      if (zone !== ((data[v] << 8) | data[v + 1])) return undefined;
      template = this.templates[zone];
      if (!template) return undefined;
      len = template.rr.length;
    } else {
      len = (data[d + 4] << 8) | data[d + 5];
      const bits = (data[d + 12] << 8) | data[d + 13];
      an = (data[d + 6] << 8) | data[d + 7];
      if (len === DECLINED || (bits & (VERBATIM | SOA_TAIL)) !== VERBATIM || ((data[d + 8] << 8) | data[d + 9]) !== 0 || ((data[d + 10] << 8) | data[d + 11]) !== 0) return undefined;
    }
    // The labels of the question's name (in `raw`, from 12) and of the target's key.
    const ol = this.ownerLabels;
    const tl = this.targetLabels;
    let no = 0;
    for (let p = 12; raw[p] !== 0; p += raw[p] + 1) ol[no++] = p;
    const tn = end - tk;
    let nt = 0;
    for (let p = tk; data[p] !== 0; p += data[p] + 1) tl[nt++] = p - tk;
    // Trailing labels the two share (letters folded, as the encoder's compression keys).
    let m = 0;
    for (; m < no && m < nt; m++) {
      const a = ol[no - 1 - m];
      const b = tl[nt - 1 - m];
      const l = raw[a];
      if (l !== data[tk + b]) break;
      let k = 1;
      for (; k <= l; k++) {
        const x = raw[a + k];
        const y = data[tk + b + k];
        if ((x >= 65 && x <= 90 ? x | 0x20 : x) !== (y >= 65 && y <= 90 ? y | 0x20 : y)) break;
      }
      if (k <= l) break;
    }
    const questionEnd = q.questionEnd;
    const rdataAt = questionEnd + 12;
    // The target up to the shared suffix, then a pointer into the question (or its zero byte).
    const literal = m === nt ? 0 : m === 0 ? tn : tl[nt - m];
    const rdlength = literal + (m === 0 ? 0 : 2);
    const sharedAt = m === 0 ? 0 : ol[no - m];
    const ownerAt = m === nt ? sharedAt : rdataAt;
    const edns = q.edns;
    const size = rdataAt + rdlength + len + (edns ? 11 : 0);
    if (size > limit) return undefined;
    const out = Buffer.allocUnsafe(size);
    writeResponseHeader(out, q, raw, RCODE.NOERROR, AUTHORITATIVE, 1 + an, template ? 1 : 0);
    let w = questionEnd;
    out[w++] = 0xc0;
    out[w++] = 12;
    out[w++] = 0;
    out[w++] = TYPE_CNAME;
    out[w++] = 0;
    out[w++] = CLASS_IN;
    for (let k = 0; k < 4; k++) out[w++] = data[start + k];
    out[w++] = rdlength >> 8;
    out[w++] = rdlength & 0xff;
    for (let k = 0; k < literal; k++) out[w++] = data[tk + k];
    if (m > 0) {
      out[w++] = 0xc0 | (sharedAt >> 8);
      out[w++] = sharedAt & 0xff;
    }
    if (template) {
      if (!spliceNodata(template, out, w, raw, questionEnd, data, tk, end)) return undefined;
      w += len;
      if (edns) writeOpt(out, w, edns.do);
      this.chainsSpliced++;
      this.chainsSplicedNodata++;
      return out;
    }
    // The target's records, each owned by the target where it was first written.
    const from = tv + ((data[d + 2] << 8) | data[d + 3]);
    for (let p = from, k = 0; k < an; k++) {
      const rdl = (data[p + 10] << 8) | data[p + 11];
      if (data[p] !== 0xc0 || data[p + 1] !== 12 || p + 12 + rdl > from + len) return undefined;
      out[w++] = 0xc0 | (ownerAt >> 8);
      out[w++] = ownerAt & 0xff;
      for (let j = 2; j < 12 + rdl; j++) out[w++] = data[p + j];
      p += 12 + rdl;
    }
    if (w !== size - (edns ? 11 : 0)) return undefined;
    if (edns) writeOpt(out, w, edns.do);
    this.chainsSpliced++;
    return out;
  }

  /**
   * Answers the chain of the CNAME owner `name` (a question's lowercased name) from its target's
   * entry, when a scan met it and the zone is still unread (composeChain); true when its entry now
   * holds answers. Once per owner.
   */
  private composeFor(name: string): boolean {
    const fill = this.fill;
    const cname = fill?.chains.get(name);
    if (!fill || !cname || this.state !== fill.chainsOf) return false;
    fill.chains.delete(name);
    if (!fill.chainZones) {
      fill.chainZones = [];
      for (const [zone, id] of this.zoneIds) fill.chainZones[id] = zone;
    }
    this.target = this.state;
    this.writingZoneIds = this.zoneIds;
    try {
      return encodingOnce(() => this.composeChain(name, cname, fill.chainZones as string[]));
    } catch (err) {
      // A bug: the index stops answering rather than risk a wrong answer.
      this.fail(err);
      return false;
    }
  }

  /**
   * Gives a CNAME owner that a scan met, before its zone is read, the answers its chain has when it
   * ends at once at a name the index holds and answers plainly (not a CNAME owner, not a cut, not
   * a name left to the general path). For such a chain the general path answers a question for the
   * owner with the owner's CNAME RRset and then: for CNAME, nothing more; for a type the target
   * holds, the target's RRset under the target's name; for a type it lacks, NODATA with the SOA of
   * the target's zone. The target's A and AAAA RRsets are in its entry as bytes owned by the
   * question (VERBATIM), so their records are read back from them; its other types are left
   * declined (the general path's, after the read). The messages are made here and held by the same
   * code as the general path's own (holdAnswer, holdChainDefault): so nothing of the zone but the
   * owner's CNAME (from the scan) and the target's entry is read, and no question waits for the
   * zone's read. The names the answers read (the target, the names between it and its zone's apex,
   * that zone's SOA) are noted, so a write there takes the owner again; the second pass replaces the
   * entry with the general path's once the zone is read.
   */
  private composeChain(owner: string, cname: RRset, zoneNames: readonly string[]): boolean {
    const state = this.target as LedgerState;
    const table = this.table;
    const target = (recordData(cname.records[0]) as { target: string }).target;
    const tn = writeKey(target, this.targetKey);
    if (tn < 0) return false;
    const toff = table.find(this.targetKey, 0, tn, hashKey(this.targetKey, 0, tn));
    if (toff < 0 || table.tag(toff) & (FLAG_CUT | FLAG_NOT_HERE | FLAG_ONLY_LISTED)) return false;
    const key = this.key;
    const n = writeKey(owner, key);
    if (n < 0) return false;
    const ooff = table.find(key, 0, n, hashKey(key, 0, n));
    if (ooff < 0) return false;
    const data = table.data;
    const ov = table.valueStart(ooff);
    const flags = table.tag(ooff);
    // Only the first pass's entry (a CNAME owner with no answers yet) is replaced.
    if (!(flags & FLAG_ONLY_LISTED) || ((data[ov + 2] << 8) | data[ov + 3]) !== 0) return false;
    const tv = table.valueStart(toff);
    const zoneName = zoneNames[(data[tv] << 8) | data[tv + 1]];
    const zone = zoneName === undefined ? undefined : state.zones.get(zoneName);
    const held = (data[tv + 2] << 8) | data[tv + 3];
    if (!zone || held + 2 > MAX_TYPES) return false;
    const chainRRs: WireRR[] = [];
    pushRRset(chainRRs, owner, cname);
    if (chainRRs.length === 0) return false;
    const message = (qtype: number, answer: WireRR[], authority: WireRR[]): WireMessage => ({
      id: 0,
      flags: responseFlags(0, RCODE.NOERROR, AUTHORITATIVE),
      question: [{ name: owner, type: qtype, class: CLASS_IN }],
      answer,
      authority,
      additional: [],
    });
    const bodies = this.bodies;
    bodies.reset();
    this.noteSoaRead = undefined;
    const types = this.answerTypes;
    const fields = this.answerFields;
    const last = this.lastCounts;
    let count = 0;
    const take = (type: number, ok: boolean, start: number): void => {
      const f = 6 * count;
      types[count++] = type;
      if (!ok) {
        bodies.truncate(start);
        fields[f + 4] = 0;
        fields[f + 5] = DECLINED;
        return;
      }
      fields[f] = last[0];
      fields[f + 1] = last[1];
      fields[f + 2] = last[2];
      fields[f + 3] = last[3];
      fields[f + 4] = start;
      fields[f + 5] = bodies.length - start;
    };
    let start = bodies.length;
    if (!this.holdAnswer({ result: 'success', message: message(TYPE_CNAME, chainRRs, []) }, n, bodies)) return false;
    take(TYPE_CNAME, true, start);
    for (let i = 0, d = tv + VALUE_HEADER; i < held; i++, d += DESCRIPTOR) {
      const type = (data[d] << 8) | data[d + 1];
      const len = (data[d + 4] << 8) | data[d + 5];
      const bits = (data[d + 12] << 8) | data[d + 13];
      const an = (data[d + 6] << 8) | data[d + 7];
      let ok = (type === TYPE_A || type === TYPE_AAAA) && len !== DECLINED && (bits & (VERBATIM | SOA_TAIL)) === VERBATIM && ((data[d + 8] << 8) | data[d + 9]) === 0 && ((data[d + 10] << 8) | data[d + 11]) === 0;
      start = bodies.length;
      if (ok) {
        const answer = chainRRs.slice();
        const from = tv + ((data[d + 2] << 8) | data[d + 3]);
        let p = from;
        for (let k = 0; k < an && ok; k++) {
          // Each record: a pointer to the question (VERBATIM), type, class, TTL, RDLENGTH, RDATA.
          if (p + 12 > from + len || data[p] !== 0xc0 || data[p + 1] !== 12 || ((data[p + 2] << 8) | data[p + 3]) !== type) ok = false;
          else {
            const rdlength = (data[p + 10] << 8) | data[p + 11];
            const ttl = ((data[p + 6] << 24) | (data[p + 7] << 16) | (data[p + 8] << 8) | data[p + 9]) >>> 0;
            answer.push({ name: target, type: type === TYPE_A ? 'A' : 'AAAA', class: (data[p + 4] << 8) | data[p + 5], ttl, data: data.subarray(p + 12, p + 12 + rdlength) });
            p += 12 + rdlength;
          }
        }
        ok = ok && p === from + len && this.holdAnswer({ result: 'success', message: message(type, answer, []) }, n, bodies);
      }
      take(type, ok, start);
    }
    // Every other type: the chain, then NODATA from the target's zone (every type it holds is listed).
    start = bodies.length;
    const bits = this.holdChainDefault({ result: 'nodata', message: message(PROBE_TYPE, chainRRs, negativeSoa(zone)) }, n, bodies);
    if (bits >= 0) {
      const f = 6 * count;
      take(CHAIN_DEFAULT, true, start);
      fields[f + 3] = last[3] | bits;
      fields[f + 5] = this.chainDefaultLength;
    } else bodies.truncate(start);
    const out = this.entry;
    out.reset();
    out.u16((data[ov] << 8) | data[ov + 1]);
    out.u16(count);
    this.writeAnswers(count, out);
    if (out.length > MAX_VALUE) return false;
    const reads = [target];
    const labels = splitLabels(target);
    for (let k = 1; k < labels.length - zone.apexLabels; k++) reads.push(`${labels.slice(k).join('.')}.`);
    if (this.noteSoaRead !== undefined) reads.push(soaReadKey(this.noteSoaRead));
    this.noteSoaRead = undefined;
    if (!table.setFrom(key, n, out.buffer, out.length, flags)) throw new Error(`serving index: entry for ${JSON.stringify(owner)} refused`);
    addReads(this.dependents, reads, owner);
    return true;
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
   * Puts a node in the table. A name that answers plainly gets an answer per type it holds (A and
   * AAAA written here, the others taken from the general path), and a type not among them is NODATA;
   * a CNAME owner gets the chain for each type its final target holds. Every other name that exists
   * (a cut, an escaped name) is held too, flagged as not answered here: a question below it then
   * finds it walking up, so a name missing from the table and from every suffix up to the closest
   * one held is known not to exist (NXDOMAIN). So is a name whose answers are too large for an
   * entry: it must still be found, or it would read as NXDOMAIN.
   */
  private index(table: NameTable, node: TrieNode, zoneId: number, apex: boolean, dependents: Dependents, pending?: TrieNode[], wildcardBelow?: boolean): void {
    // What the general path parses for these answers, and the names it encodes, are encoded here and
    // not needed again.
    encodingOnce(() => this.indexNode(table, node, zoneId, apex, dependents, pending, wildcardBelow));
  }

  /**
   * `wildcardBelow`: whether the node has a `*` child, when its children map cannot say (a node a
   * scan made, or an apex whose children are still to be read); by default the map is asked.
   */
  private indexNode(table: NameTable, node: TrieNode, zoneId: number, apex: boolean, dependents: Dependents, pending?: TrieNode[], wildcardBelow?: boolean): void {
    this.spend();
    const key = this.key;
    const n = writeKey(node.name, key);
    // Every valid name fits a key; one that did not would make a missing entry look like NXDOMAIN,
    // so the index switches itself off instead (fail()).
    if (n < 0) throw new Error(`serving index: no key for ${JSON.stringify(node.name)}`);
    let flags = (wildcardBelow ?? node.children.has('*')) ? FLAG_WILDCARD_BELOW : 0;
    const rrsets = node.rrsets;
    if (hidesBelow(node, apex)) flags |= FLAG_CUT;
    // Escaped names' answers spell labels the index cannot compare.
    if (node.name.includes('\\')) flags |= FLAG_NOT_HERE;
    const out = this.entry;
    out.reset();
    out.u16(zoneId);
    out.u16(0);
    this.writingZoneIds = this.rebuild?.table === table ? this.rebuild.zoneIds : this.zoneIds;
    this.noteSoaRead = undefined;
    if (!(flags & (FLAG_CUT | FLAG_NOT_HERE))) {
      if (rrsets.has('CNAME')) flags |= FLAG_ONLY_LISTED;
      const count = this.answers(node, n, out, pending);
      if (count < 0 || out.length > MAX_VALUE) {
        // Left to the general path: a value it should never hold, or answers too large for an entry.
        flags |= FLAG_NOT_HERE;
        out.truncate(VALUE_HEADER);
      } else {
        out.setU16(2, count);
        if (this.tookGeneral) this.noteReads(node, dependents);
      }
    } else if (flags & FLAG_CUT && !(flags & FLAG_NOT_HERE) && !rrsets.has('DNAME')) {
      // A delegation: the referral every question at or below it gets (DS aside, never asked here).
      if (pending) pending.push(node);
      else if (this.referral(node.name, n, out)) {
        out.setU16(2, 1);
        this.noteReads(node, dependents);
      }
      if (out.length > MAX_VALUE) out.truncate(VALUE_HEADER);
    }
    if (!table.setFrom(key, n, out.buffer, out.length, flags)) {
      // Both sizes were checked above, so this is a bug; the index stops rather than answer NXDOMAIN for the name.
      throw new Error(`serving index: entry for ${JSON.stringify(node.name)} refused`);
    }
  }

  /** Types, and per type ANCOUNT, NSCOUNT, ARCOUNT, header bits, start and length, of the entry being written (scratch). */
  private readonly answerTypes = new Int32Array(MAX_TYPES);
  private readonly answerFields = new Int32Array(MAX_TYPES * 6);
  /** Whether the entry just written holds answers taken from the general path (they may read other names). */
  private tookGeneral = false;

  /**
   * Writes the descriptors and the answers of `node` after the value header; returns their count, or
   * -1 (not answerable here). With `pending`, the answers only the general path can take are left
   * declined and the node is put on `pending` to be indexed again in full (a rebuild answers A and
   * AAAA first, the rest a moment later).
   */
  private answers(node: TrieNode, nameWireLength: number, out: EntryWriter, pending: TrieNode[] | undefined): number {
    const bodies = this.bodies;
    bodies.reset();
    this.tookGeneral = false;
    this.noteSoaRead = undefined;
    const types = this.answerTypes;
    const fields = this.answerFields;
    let count = 0;
    const rrsets = node.rrsets;
    const cname = rrsets.get('CNAME');
    let final: TrieNode | undefined;
    if (cname) {
      if (pending) {
        pending.push(node);
        this.writeChainStart(node, cname, out);
        return 0;
      }
      // The chain for every type its final target holds (and CNAME itself: the CNAME RRset alone).
      types[count++] = TYPE_CNAME;
      final = this.chainEnd(node);
      if (final) {
        for (const set of final.rrsets.values()) {
          const t = rrTypeCode(set.type);
          if (t !== TYPE_CNAME && count < MAX_TYPES) types[count++] = t;
        }
      }
    } else {
      if (rrsets.size > MAX_TYPES) return -1;
      for (const set of rrsets.values()) types[count++] = rrTypeCode(set.type);
    }
    let deferred = false;
    for (let i = 0; i < count; i++) {
      const type = types[i];
      const f = 6 * i;
      const start = bodies.length;
      fields[f + 4] = start;
      if (!cname && (type === TYPE_A || type === TYPE_AAAA)) {
        const c = writeRecords(node, type === TYPE_A ? 'A' : 'AAAA', bodies);
        if (c < 0) return -1;
        fields[f] = c;
        fields[f + 1] = 0;
        fields[f + 2] = 0;
        fields[f + 3] = AA_BIT | VERBATIM;
        fields[f + 5] = bodies.length - start;
        continue;
      }
      if (pending || NEVER_HERE.has(type) || !this.generalAnswer(node.name, type, nameWireLength, bodies)) {
        if (pending && !NEVER_HERE.has(type)) deferred = true;
        bodies.truncate(start);
        fields[f + 4] = 0;
        fields[f + 5] = DECLINED;
        continue;
      }
      this.tookGeneral = true;
      const last = this.lastCounts;
      fields[f] = last[0];
      fields[f + 1] = last[1];
      fields[f + 2] = last[2];
      fields[f + 3] = last[3] | (last[1] === 0 && last[2] === 0 && NAMELESS.has(type) && ownedByQuestion(bodies.bytes(), start, last[0]) ? VERBATIM : 0);
      fields[f + 5] = bodies.length - start;
    }
    // Every other type at a CNAME owner: one answer for all of them, when every type the chain's
    // end holds is listed above (a type left out would get it wrongly).
    if (cname && count < MAX_TYPES && (!final || count === 1 + final.rrsets.size)) {
      const start = bodies.length;
      const bits = this.chainDefault(node, final, nameWireLength, types, count, bodies);
      if (bits < 0) bodies.truncate(start);
      else {
        const f = 6 * count;
        types[count++] = CHAIN_DEFAULT;
        const last = this.lastCounts;
        fields[f] = last[0];
        fields[f + 1] = last[1];
        fields[f + 2] = last[2];
        fields[f + 3] = last[3] | bits;
        fields[f + 4] = start;
        fields[f + 5] = this.chainDefaultLength;
        this.tookGeneral = true;
      }
    }
    if (deferred) pending?.push(node);
    this.writeAnswers(count, out);
    return count;
  }

  /**
   * At a CNAME owner whose answers the second pass takes (holding the CNAME alone, one record, not
   * a wildcard): its TTL (u32) and its target's key after the value header, when the target is
   * spelled as its key (lowercase letters, digits, `-` and `_`), so that the owner's A and AAAA
   * can be answered meanwhile from the target's entry (spliceChain). The stored value is
   * canonical, so a name spelled so is the target the general path reads from it.
   */
  private writeChainStart(node: TrieNode, cname: RRset, out: EntryWriter): void {
    if (node.rrsets.size !== 1 || cname.records.length !== 1 || node.name.startsWith('*.')) return;
    const value = cname.records[0].value;
    const tk = this.targetKey;
    const n = writeKey(value, tk);
    if (n < 2) return;
    for (let k = 0; k < n; ) {
      const l = tk[k++];
      for (const end = k + l; k < end; k++) {
        const c = tk[k];
        if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) return;
      }
      if (l === 0) break;
    }
    const ttl = rrsetTtl(cname.records);
    const b = out.room(4 + n);
    let w = out.length;
    b[w++] = (ttl >>> 24) & 0xff;
    b[w++] = (ttl >>> 16) & 0xff;
    b[w++] = (ttl >>> 8) & 0xff;
    b[w++] = ttl & 0xff;
    for (let k = 0; k < n; k++) b[w++] = tk[k];
    out.truncate(w);
  }

  /** Writes the `count` answers gathered in `answerTypes`, `answerFields` and `bodies` after the value header in `out`. */
  private writeAnswers(count: number, out: EntryWriter): void {
    const bodies = this.bodies;
    const types = this.answerTypes;
    const fields = this.answerFields;
    this.sharePrefixes(count);
    const head = VALUE_HEADER + count * DESCRIPTOR;
    const b = out.room(count * DESCRIPTOR + bodies.length);
    let w = out.length;
    for (let i = 0; i < count; i++) {
      const f = 6 * i;
      const len = fields[f + 5];
      const at = len === DECLINED ? 0 : head + fields[f + 4];
      b[w] = types[i] >> 8;
      b[w + 1] = types[i] & 0xff;
      b[w + 2] = at >> 8;
      b[w + 3] = at & 0xff;
      b[w + 4] = len >> 8;
      b[w + 5] = len & 0xff;
      for (let k = 0; k < 4; k++) {
        b[w + 6 + 2 * k] = (fields[f + k] >> 8) & 0xff;
        b[w + 7 + 2 * k] = fields[f + k] & 0xff;
      }
      w += DESCRIPTOR;
    }
    b.set(bodies.bytes(), w);
    out.truncate(w + bodies.length);
  }

  /**
   * Writes the referral for questions at and below the cut `name` as one descriptor (type
   * REFERRAL) and its bytes, followed by where its compression pointers are (u16 count, u16 offsets)
   * and the labels right under the cut that the referral's names use (u8 count, then u8 length and
   * the lowercase bytes). For a question below the cut, d bytes longer, the general path writes the
   * same bytes with every pointer moved by d, unless the question's label right under the cut is one
   * of those labels (a name of the referral would then compress against the question). The pointers
   * are found by taking the general path's referral for two questions and comparing them; anything
   * else that differs, and the referral is left to the general path.
   */
  private referral(name: string, nameWireLength: number, out: EntryWriter): boolean {
    const state = this.target as LedgerState;
    const probeLabel = 'mcns-probe';
    const probe = `${probeLabel}.${name}`;
    const atCut = answerQuery(state, indexQuestion(name, TYPE_A, nameWireLength));
    const below = answerQuery(state, indexQuestion(probe, TYPE_A, nameWireLength + 1 + probeLabel.length));
    if (atCut.result !== 'delegation' || below.result !== 'delegation' || atCut.message.answer.length > 0) return false;
    let a: Buffer;
    let b: Buffer;
    try {
      const ea = encodeMessage(atCut.message);
      const eb = encodeMessage(below.message);
      if (ea.truncated || eb.truncated) return false;
      a = ea.bytes;
      b = eb.bytes;
    } catch {
      return false;
    }
    const qa = 12 + nameWireLength + 4;
    const shift = 1 + probeLabel.length;
    const qb = qa + shift;
    const len = a.length - qa;
    if (b.length - qb !== len || a.readUInt32BE(6) !== b.readUInt32BE(6) || a.readUInt16BE(10) !== b.readUInt16BE(10) || a.readUInt16BE(2) !== b.readUInt16BE(2)) return false;
    const pointers: number[] = [];
    for (let k = 0; k < len; k++) {
      if (a[qa + k] === b[qb + k]) continue;
      // A pointer's two bytes, moved by the probe's extra length; nothing else may differ.
      const at = (a[qa + k] & 0xc0) === 0xc0 ? k : k - 1;
      if (at < 0 || (a[qa + at] & 0xc0) !== 0xc0 || (b[qb + at] & 0xc0) !== 0xc0) return false;
      const pa = ((a[qa + at] & 0x3f) << 8) | a[qa + at + 1];
      const pb = ((b[qb + at] & 0x3f) << 8) | b[qb + at + 1];
      if (pb - pa !== shift) return false;
      if (pointers[pointers.length - 1] !== at) pointers.push(at);
      k = at + 1;
    }
    // Labels right under the cut of the names the referral holds (NS targets, glue owners).
    const risky: Buffer[] = [];
    for (const rr of [...atCut.message.authority, ...atCut.message.additional]) {
      const names = [rr.name];
      if (rr.data && !(rr.data instanceof Uint8Array)) namesIn(rr.data, names);
      for (const n of names) {
        const lower = n.toLowerCase();
        if (lower === name || !lower.endsWith(`.${name}`)) continue;
        const rest = lower.slice(0, lower.length - name.length - 1);
        const label = Buffer.from(rest.slice(rest.lastIndexOf('.') + 1), 'latin1');
        if (label.includes(0x5c)) return false;
        if (!risky.some((r) => r.equals(label))) risky.push(label);
      }
    }
    const head = VALUE_HEADER + DESCRIPTOR;
    const bytes = out.room(DESCRIPTOR + len + 2 + 2 * pointers.length + 1 + risky.reduce((t, r) => t + 1 + r.length, 0));
    let w = out.length;
    const fields = [REFERRAL, head, len, 0, a.readUInt16BE(8), a.readUInt16BE(10), a.readUInt16BE(2) & AA_BIT];
    for (const f of fields) {
      bytes[w++] = (f >> 8) & 0xff;
      bytes[w++] = f & 0xff;
    }
    bytes.set(a.subarray(qa), w);
    w += len;
    bytes[w++] = pointers.length >> 8;
    bytes[w++] = pointers.length & 0xff;
    for (const p of pointers) {
      bytes[w++] = p >> 8;
      bytes[w++] = p & 0xff;
    }
    bytes[w++] = risky.length;
    for (const r of risky) {
      bytes[w++] = r.length;
      bytes.set(r, w);
      w += r.length;
    }
    out.truncate(w);
    this.tookGeneral = true;
    return true;
  }

  /**
   * The referral held at the cut whose name starts at `cut` in `raw` (a suffix of the question), for
   * the question in `raw`; undefined when the cut holds none or the question's label right under the
   * cut is one the referral's names use.
   */
  private referralAnswer(q: ParsedQuery, raw: Uint8Array, limit: number, off: number, cut: number): Buffer | undefined {
    const table = this.table;
    const data = table.data;
    const v = table.valueStart(off);
    const d = this.descriptor(v, REFERRAL);
    if (d < 0) return undefined;
    const start = v + ((data[d + 2] << 8) | data[d + 3]);
    const len = (data[d + 4] << 8) | data[d + 5];
    let x = start + len;
    const pointers = (data[x] << 8) | data[x + 1];
    const pointerList = x + 2;
    x = pointerList + 2 * pointers;
    const risky = data[x++];
    if (cut > 12 && risky > 0) {
      // The question's label right under the cut.
      let p = 12;
      while (p + raw[p] + 1 < cut) p += raw[p] + 1;
      for (let i = 0; i < risky; i++) {
        const rl = data[x];
        if (rl === raw[p]) {
          let k = 0;
          while (k < rl && (raw[p + 1 + k] >= 65 && raw[p + 1 + k] <= 90 ? raw[p + 1 + k] | 0x20 : raw[p + 1 + k]) === data[x + 1 + k]) k++;
          if (k === rl) return undefined;
        }
        x += 1 + rl;
      }
    }
    const edns = q.edns;
    const questionEnd = q.questionEnd;
    const size = questionEnd + len + (edns ? 11 : 0);
    if (size > limit) return undefined;
    const out = Buffer.allocUnsafe(size);
    const ar = (data[d + 10] << 8) | data[d + 11];
    writeResponseHeader(out, q, raw, RCODE.NOERROR, {}, 0, (data[d + 8] << 8) | data[d + 9]);
    if (ar > 0) out.writeUInt16BE(ar + (edns ? 1 : 0), 10);
    out.set(data.subarray(start, start + len), questionEnd);
    const shift = cut - 12;
    if (shift > 0) {
      for (let i = 0; i < pointers; i++) {
        const at = questionEnd + ((data[pointerList + 2 * i] << 8) | data[pointerList + 2 * i + 1]);
        const target = (((out[at] & 0x3f) << 8) | out[at + 1]) + shift;
        if (target > 0x3fff) return undefined;
        out[at] = 0xc0 | (target >> 8);
        out[at + 1] = target & 0xff;
      }
    }
    if (edns) writeOpt(out, questionEnd + len, edns.do);
    return out;
  }

  /** ANCOUNT, NSCOUNT, ARCOUNT and the AA bit of the last generalAnswer. */
  private readonly lastCounts = [0, 0, 0, 0];

  /**
   * Appends the general path's answer to `name`/`qtype` (the sections after the question) to `out`;
   * false when it is not one the index can hold: anything but a positive answer (a negative one
   * carries the SOA, whose serial changes with every write), a referral, a DNAME, a truncation.
   */
  private generalAnswer(name: string, qtype: number, nameWireLength: number, out: EntryWriter): boolean {
    const state = this.target as LedgerState;
    return this.holdAnswer(answerQuery(state, indexQuestion(name, qtype, nameWireLength)), nameWireLength, out);
  }

  /** generalAnswer's second half: the sections after the question of answer `a`, when the index can hold them. */
  private holdAnswer(a: Pick<Answer, 'result' | 'message'>, nameWireLength: number, out: EntryWriter): boolean {
    if (a.result !== 'success' || a.message.authority.length > 0 || a.message.answer.length === 0) return false;
    let enc;
    try {
      enc = encodeMessage(a.message);
    } catch {
      return false;
    }
    if (enc.truncated) return false;
    const bytes = enc.bytes;
    const questionEnd = 12 + nameWireLength + 4;
    const an = bytes.readUInt16BE(6);
    // A DNAME in the answer: its owner is read too, which the dependents do not follow.
    if (hasRecordOfType(bytes, questionEnd, an, TYPE_DNAME)) return false;
    const body = bytes.subarray(questionEnd);
    const b = out.room(body.length);
    b.set(body, out.length);
    out.truncate(out.length + body.length);
    this.lastCounts[0] = an;
    this.lastCounts[1] = bytes.readUInt16BE(8);
    this.lastCounts[2] = bytes.readUInt16BE(10);
    this.lastCounts[3] = bytes.readUInt16BE(2) & AA_BIT;
    return true;
  }

  /** Where each answer of the entry being written starts in `bodies` once shared (sharePrefixes). */
  private readonly sharedStart = new Int32Array(MAX_TYPES);
  private readonly sharedWith = new Int32Array(MAX_TYPES);

  /**
   * Holds an answer whose bytes begin another answer of the same name only once (at a CNAME owner
   * the CNAME alone begins every answer through the chain): its descriptor points into the other's
   * bytes, and `bodies` is compacted. An answer whose held bytes are followed by data of its own
   * (SOA_TAIL) is never the one pointed from. Rewrites the starts in `answerFields`.
   */
  private sharePrefixes(count: number): void {
    const fields = this.answerFields;
    const with_ = this.sharedWith;
    let any = false;
    for (let i = 0; i < count; i++) {
      with_[i] = -1;
      const len = fields[6 * i + 5];
      if (len === DECLINED || len === 0 || fields[6 * i + 3] & SOA_TAIL) continue;
      const bytes = this.bodies.bytes();
      for (let j = 0; j < count && with_[i] < 0; j++) {
        const lj = fields[6 * j + 5];
        if (j === i || lj === DECLINED || (lj < len + (fields[6 * j + 3] & SOA_TAIL ? 20 : 0)) || (lj === len && j > i)) continue;
        const a = fields[6 * i + 4];
        const b = fields[6 * j + 4];
        let k = 0;
        while (k < len && bytes[a + k] === bytes[b + k]) k++;
        if (k === len) with_[i] = j;
      }
      if (with_[i] >= 0) any = true;
    }
    if (!any) return;
    // Compact: the answers pointed from are dropped; each region runs to the next one's start.
    const bodies = this.bodies;
    const copy = Uint8Array.from(bodies.bytes());
    const starts = this.sharedStart;
    bodies.reset();
    for (let i = 0; i < count; i++) {
      const len = fields[6 * i + 5];
      if (len === DECLINED || with_[i] >= 0) continue;
      const from = fields[6 * i + 4];
      let to = copy.length;
      for (let j = 0; j < count; j++) if (fields[6 * j + 5] !== DECLINED && fields[6 * j + 4] > from && fields[6 * j + 4] < to) to = fields[6 * j + 4];
      starts[i] = bodies.length;
      const b = bodies.room(to - from);
      b.set(copy.subarray(from, to), bodies.length);
      bodies.truncate(bodies.length + to - from);
    }
    for (let i = 0; i < count; i++) {
      if (fields[6 * i + 5] === DECLINED) continue;
      let j = i;
      while (with_[j] >= 0) j = with_[j];
      fields[6 * i + 4] = starts[j];
    }
  }

  /** Length of the bytes of the last chainDefault (its zone id and TTL offset follow them). */
  private chainDefaultLength = 0;
  /** Zone name -> id for the table being written (a rebuild's own, or the index's). */
  private writingZoneIds = new Map<string, number>();

  /**
   * Appends to `out` the answer of the CNAME owner `node` to a type neither its chain nor the chain's
   * end holds (`final`: the end when it exists; every type it holds is among `types`), and returns
   * its descriptor bits, or -1 when the index cannot hold one answer for all such types. That answer
   * does not depend on the type when every name of the chain holds a CNAME and nothing else, and the
   * chain ends at `final`, at a name that does not exist (no wildcard, no cut: NXDOMAIN) or outside
   * our zones: so it is the general path's answer for one type nothing there holds. A negative end's
   * SOA is followed by the zone id and the TTL's offset (SOA_TAIL); the zone's SOA names are noted
   * as read.
   */
  private chainDefault(node: TrieNode, final: TrieNode | undefined, nameWireLength: number, types: Int32Array, count: number, out: EntryWriter): number {
    const state = this.target as LedgerState;
    let at: TrieNode | undefined = node;
    for (let step = 0; at && at !== final; step++) {
      const cname = at.rrsets.get('CNAME');
      if (!cname || at.rrsets.size !== 1 || step >= MAX_CHAIN_WALK) return -1;
      const target = (recordData(cname.records[0]) as { target: string }).target;
      const zone = findZone(state, target);
      if (!zone) break;
      const lk = lookup(zone.tree, target === zone.name ? [] : labelsBelow(target, zone.apexLabels));
      // Below a cut, or a name a wildcard stands for: the answer depends on the type (or is a referral).
      if (lk.cut || (!lk.exact && lk.wildcard)) return -1;
      at = lk.exact;
    }
    let probe = PROBE_TYPE;
    for (;;) {
      let held = false;
      for (let i = 0; i < count; i++) if (types[i] === probe) held = true;
      if (!held) break;
      probe++;
    }
    return this.holdChainDefault(answerQuery(state, indexQuestion(node.name, probe, nameWireLength)), nameWireLength, out);
  }

  /** chainDefault's second half: answer `a` (the chain, then NODATA, NXDOMAIN or nothing) held as that answer, or -1. */
  private holdChainDefault(a: Pick<Answer, 'result' | 'message'>, nameWireLength: number, out: EntryWriter): number {
    const state = this.target as LedgerState;
    const m = a.message;
    if (m.additional.length > 0 || m.answer.length === 0 || m.answer.some((rr) => rr.type !== 'CNAME')) return -1;
    const negative = a.result === 'nodata' || a.result === 'nxdomain';
    if (negative ? m.authority.length !== 1 || m.authority[0].type !== 'SOA' : a.result !== 'success' || m.authority.length > 0) return -1;
    let enc;
    try {
      enc = encodeMessage(m);
    } catch {
      return -1;
    }
    if (enc.truncated) return -1;
    const bytes = enc.bytes;
    const questionEnd = 12 + nameWireLength + 4;
    const an = bytes.readUInt16BE(6);
    const body = bytes.subarray(questionEnd);
    let zoneId = 0;
    let ttlAt = 0;
    if (negative) {
      const apex = m.authority[0].name;
      const id = this.writingZoneIds.get(apex);
      const t = id === undefined ? undefined : (this.rebuild?.target === state ? this.rebuild.templates : this.templates)[id];
      if (id === undefined || !t) return -1;
      let p = questionEnd;
      for (let i = 0; i < an; i++) {
        p = skipName(bytes, p);
        p += 10 + bytes.readUInt16BE(p + 8);
      }
      ttlAt = skipName(bytes, p) + 4 - questionEnd;
      // The SOA written here is the template's (same TTL and numbers): else they are not what is patched.
      if (!Buffer.from(t.rr.subarray(t.ttlAt, t.ttlAt + 4)).equals(body.subarray(ttlAt, ttlAt + 4)) || !Buffer.from(t.rr.subarray(t.rr.length - 20)).equals(body.subarray(body.length - 20))) return -1;
      zoneId = id;
    }
    // A negative end's SOA numbers are not held (SOA_TAIL).
    const held = negative ? body.length - 20 : body.length;
    const b = out.room(held + 4);
    b.set(body.subarray(0, held), out.length);
    let w = out.length + held;
    if (negative) {
      b[w++] = zoneId >> 8;
      b[w++] = zoneId & 0xff;
      b[w++] = ttlAt >> 8;
      b[w++] = ttlAt & 0xff;
    }
    out.truncate(w);
    this.chainDefaultLength = body.length;
    this.lastCounts[0] = an;
    this.lastCounts[1] = bytes.readUInt16BE(8);
    this.lastCounts[2] = bytes.readUInt16BE(10);
    this.lastCounts[3] = bytes.readUInt16BE(2) & AA_BIT;
    if (negative) this.noteSoaRead = m.authority[0].name;
    return (negative ? SOA_TAIL : 0) | (a.result === 'nxdomain' ? RCODE_NXDOMAIN : 0);
  }

  /** The zone whose negative SOA the entry being written holds after a chain (noted as read by noteReads). */
  private noteSoaRead: string | undefined;

  /** The node a CNAME chain from `node` ends at, when it ends at a node that exists outside a cut (else undefined). */
  private chainEnd(node: TrieNode): TrieNode | undefined {
    const state = this.target as LedgerState;
    let at = node;
    for (let step = 0; step < MAX_CHAIN_WALK; step++) {
      const cname = at.rrsets.get('CNAME');
      if (!cname) return at;
      const target = (recordData(cname.records[0]) as { target: string }).target;
      const next = this.exactNode(state, target);
      if (!next) return undefined;
      at = next;
    }
    return undefined;
  }

  /** The node of `name` in the zone that serves it, when it exists and is not below a cut. */
  private exactNode(state: LedgerState, name: string): TrieNode | undefined {
    const zone = findZone(state, name);
    if (!zone) return undefined;
    const lk = lookup(zone.tree, name === zone.name ? [] : labelsBelow(name, zone.apexLabels));
    return lk.cut ? undefined : lk.exact;
  }

  /**
   * Notes the names the answers of `node` read (the CNAME chain, the names in its records and in the
   * chain's records, and the wildcards that could stand for them), so a change to one of them
   * indexes `node` again. More than the general path reads is harmless; less would leave an answer stale.
   */
  private noteReads(node: TrieNode, dependents: Dependents): void {
    const state = this.target as LedgerState;
    const reads: string[] = [];
    let at: TrieNode | undefined = node;
    for (let step = 0; at && step < MAX_CHAIN_WALK; step++) {
      const targets: string[] = [];
      for (const set of at.rrsets.values()) {
        if (set.type === 'A' || set.type === 'AAAA') continue;
        for (const r of set.records) namesIn(recordData(r), targets);
      }
      for (const t of targets) {
        reads.push(t);
        // A name that does not exist may be stood for by a wildcard, or hidden by a cut.
        const zone = findZone(state, t);
        if (!zone) continue;
        // A cut or a DNAME put on a name between it and its apex (created or not yet) hides it:
        // those names are read too. (A DNAME at the apex itself rebuilds the index: diffNode.)
        const labels = splitLabels(t);
        for (let k = 1; k < labels.length - zone.apexLabels; k++) reads.push(`${labels.slice(k).join('.')}.`);
        const lk = lookup(zone.tree, t === zone.name ? [] : labelsBelow(t, zone.apexLabels));
        if (lk.cut) reads.push(lk.cut.name);
        if (!lk.exact) reads.push(lk.encloser.name === '.' ? '*.' : `*.${lk.encloser.name}`);
      }
      const cname = at.rrsets.get('CNAME');
      if (!cname) break;
      const target = (recordData(cname.records[0]) as { target: string }).target;
      at = this.exactNode(state, target);
    }
    if (this.noteSoaRead !== undefined) reads.push(soaReadKey(this.noteSoaRead));
    addReads(dependents, reads, node.name);
  }

  /**
   * The first pass below the apex `apex` of a big zone that the checkpoint load left unread
   * (DeferredChildren): the nodes are made from the checkpoint's bytes one at a time and indexed as
   * the walk below would index them (the same enter rules: another zone's apex is that zone's,
   * nothing below a cut), then dropped. A start without the serving-index image so needs neither
   * the zone's trie (3 s of reading and its garbage collection on the 1M-name zone) nor the walk's
   * copy of a million children before it answers A and AAAA from the index. The names the second
   * pass must take are kept by name; it waits for the zone to be read (Fill.waitFor). Returns
   * whether the apex has a `*` child.
   */
  private scanBelow(job: Rebuild, deferred: DeferredChildren, apex: TrieNode, zoneId: number): boolean {
    const pending = job.pending as TrieNode[];
    const { wildcardChild } = deferred.scan({
      enter: (node) => (job.apexes.has(node.name) ? SCAN_SKIP : hidesBelow(node, false) ? SCAN_NODE : SCAN_ALL),
      visit: (node, wildcard) => {
        const before = pending.length;
        this.index(job.table, node, zoneId, false, job.dependents, pending, wildcard);
        if (pending.length === before) return;
        pending.length = before;
        const sets = node.rrsets;
        (sets.has('CNAME') || sets.has('NS') ? job.scannedFirst : job.scannedRest).push(node.name);
        const cname = sets.get('CNAME');
        // A wildcard's CNAME is followed differently (once per chain); an escaped name is not answered here.
        if (cname && sets.size === 1 && !node.name.startsWith('*.') && !node.name.includes('\\')) job.chains.set(node.name, cname);
      },
    });
    job.scanned.push({ deferred, children: apex.children });
    return wildcardChild;
  }

  private startRebuild(target: LedgerState): void {
    let expected = 0;
    for (const z of target.zones.values()) expected += z.records.size;
    this.state = undefined;
    this.target = target;
    this.stopFill();
    const zones = [...target.zones.values()];
    const roots = zones.map((z) => z.tree);
    this.rebuild = {
      target,
      // About 65 bytes per record on the realistic 1M zone (key, descriptor, answer bytes, and what the
      // second pass replaces), so room for 80: what is never written costs no memory (pages are mapped
      // on first write), while growing copies the arena into one twice its size, both resident until
      // a major GC (+0.1 GB at the end of that zone's first start when the guess was 64).
      table: new NameTable(expected, 80),
      dependents: new Map(),
      pending: expected > this.rebuildSlice ? [] : undefined,
      pendingWhere: [],
      stack: roots.slice(),
      stackZone: zones.map((_, i) => i),
      zoneIds: new Map(zones.map((z, i) => [z.name, i])),
      templates: zones.map((z) => negativeTemplate(z)),
      roots: new Set(roots),
      apexes: new Set(target.zones.keys()),
      scannedFirst: [],
      scannedRest: [],
      chains: new Map(),
      scanned: [],
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
    this.target = job.target;
    try {
      const { stack, stackZone, roots, apexes } = job;
      let zoneId = 0;
      const deadline = performance.now() + SLICE_MS;
      for (let n = 0; n < this.rebuildSlice; n++) {
        // A small rebuild (no second pass) completes in its first slice, synchronously.
        if (job.pending && (n & 63) === 63 && performance.now() > deadline) break;
        const node = stack.pop();
        zoneId = stackZone.pop() as number;
        if (node === undefined) {
          const leftOver = (job.pending?.length ?? 0) + job.scannedFirst.length + job.scannedRest.length;
          if (leftOver > 0) this.fill = secondPass(job);
          // With a second pass to come, the table is trimmed after it: the entries it replaces fit
          // in the arena's slack, and each new arena of a 1M-name index (tens of MB of external
          // memory) starts a major GC of the whole projection's heap (about a second each).
          if (leftOver === 0) job.table.trim();
          this.table = job.table;
          this.dependents = job.dependents;
          this.zoneIds = job.zoneIds;
          this.templates = job.templates;
          this.state = job.target;
          this.rebuild = undefined;
          if (this.fill) {
            this.fill.answeredBefore = this.answered;
            this.fill.timer = { immediate: setImmediate(() => this.fillStep()) };
          }
          this.rebuilt(performance.now() - job.started);
          return;
        }
        const root = roots.has(node);
        // Another zone's apex: that zone's own tree stands for the name.
        if (!root && apexes.has(node.name)) continue;
        // A big zone whose nodes below the apex the checkpoint load left unread: its bytes are
        // scanned instead (scanBelow), and the apex, whose children map cannot be asked without
        // reading them, is told about its wildcard child.
        const unread = root && job.pending && !hidesBelow(node, root) ? unreadBelow(node.children) : undefined;
        const wildcardBelow = unread ? this.scanBelow(job, unread, node, zoneId) : undefined;
        const pendingBefore = job.pending?.length;
        this.index(job.table, node, zoneId, root, job.dependents, job.pending, wildcardBelow);
        if (job.pending && job.pending.length !== pendingBefore) job.pendingWhere.push(zoneId * 2 + (root ? 1 : 0));
        // Nothing below a cut is held (a question there finds the cut walking up).
        if (unread || hidesBelow(node, root)) continue;
        if (node.children.size > 0) {
          // The children share their parent's zone: pushed in one walk (no callback per child).
          node.children.valuesInto(stack);
          while (stackZone.length < stack.length) stackZone.push(zoneId);
        }
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

/**
 * Writes at `w` of `out` the SOA that ends a spliced chain in NODATA (spliceChain): the owner's
 * zone's negative template, its pointers into the apex moved to where the apex is in the question.
 * The encoder compresses the SOA's names against every name written before it. The owner (the
 * apex) is met first in the question. MNAME and RNAME could also meet a longer suffix of the
 * question or of the target as the CNAME's RDATA wrote it, which happens only when the label right
 * under the apex is one of theirs (template.risky): then false, and the general path answers.
 * False too when a name of the SOA points into the SOA itself (MNAME and RNAME sharing more than
 * the apex), which the template's offsets would not say here.
 */
function spliceNodata(template: NegativeTemplate, out: Buffer, w: number, raw: Uint8Array, questionEnd: number, key: Uint8Array, keyStart: number, keyEnd: number): boolean {
  const apexLength = template.apexWireLength;
  const shift = questionEnd - 4 - 12 - apexLength;
  // The question's label right under the apex and the target's: the target's is written out
  // unless the question shares it, so both count.
  if (riskyUnderApex(template, raw, 12, questionEnd - 4, true) || riskyUnderApex(template, key, keyStart, keyEnd, false)) return false;
  const rr = template.rr;
  out.set(rr, w);
  for (const at of template.pointers) {
    const o = w + at;
    const target = ((out[o] & 0x3f) << 8) | out[o + 1];
    if (target >= 12 + apexLength) return false;
    const moved = target + shift;
    out[o] = 0xc0 | (moved >> 8);
    out[o + 1] = moved & 0xff;
  }
  return true;
}

/**
 * The second pass of `job`: CNAME owners and cuts first (a chain is asked for A, the most common
 * question; a cut's referral for every name below it), then the names' other types (MX, TXT, ...),
 * which are asked far less.
 */
function secondPass(job: Rebuild): Fill {
  const pending = job.pending ?? [];
  const first: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < pending.length; i++) {
    const sets = pending[i].rrsets;
    (sets.has('CNAME') || sets.has('NS') ? first : rest).push(i);
  }
  if (job.scanned.length > 0) {
    // Names only: the scanned nodes were dropped, and they are looked up once the zones are read.
    return {
      nodes: [],
      names: [...first.map((i) => pending[i].name), ...job.scannedFirst, ...rest.map((i) => pending[i].name), ...job.scannedRest],
      where: [],
      built: undefined,
      waitFor: job.scanned,
      chains: job.chains,
      chainsOf: job.target,
      chainZones: undefined,
      next: 0,
      started: performance.now(),
      answeredBefore: 0,
    };
  }
  const order = first.concat(rest);
  return {
    nodes: order.map((i) => pending[i]),
    names: order.map((i) => pending[i].name),
    where: order.map((i) => job.pendingWhere[i]),
    built: job.target,
    waitFor: [],
    chains: new Map(),
    chainsOf: undefined,
    chainZones: undefined,
    next: 0,
    started: performance.now(),
    answeredBefore: 0,
  };
}

/** The children of two versions of a node, paired by label (either side may be missing). */
function childPairs(before: TrieNode | undefined, after: TrieNode | undefined): Array<[string, TrieNode | undefined, TrieNode | undefined]> {
  const out: Array<[string, TrieNode | undefined, TrieNode | undefined]> = [];
  const kidsB = before?.children;
  const kidsA = after?.children;
  if (kidsB && kidsA) {
    PMap.diff(kidsB, kidsA, (label, b, a) => out.push([label, b, a]));
    return out;
  }
  if (kidsB) for (const [label, b] of kidsB) out.push([label, b, undefined]);
  if (kidsA) for (const [label, a] of kidsA) out.push([label, undefined, a]);
  return out;
}

/** True when two zone maps have the same names. */
function sameKeys(a: LedgerState['zones'], b: LedgerState['zones']): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const k of b.keys()) if (!a.has(k)) return false;
  return true;
}
