/**
 * The forwarding cache: upstream responses keyed by (name, type, class), with the TTL rules of the
 * spec (positive: smallest answer TTL capped at 300 s; negative: RFC 2308 SOA rule, capped; SERVFAIL
 * and REFUSED never), a bounded size with least-recently-used eviction, and TTLs that count down in
 * the answers served from it.
 *
 * Entries keep the upstream wire bytes plus the offset of every TTL field, so a hit rewrites a few
 * numbers in a copy instead of decoding and re-encoding the message.
 */

/** Default cap on any cached TTL, seconds. */
export const MAX_CACHE_TTL = 300;

/** One RR of an upstream message, located in its bytes. */
export interface RRSpan {
  type: number;
  /** Offset of the RR's owner name. */
  start: number;
  /** Offset just after its rdata. */
  end: number;
  /** Offset of its 32-bit TTL field. */
  ttlOffset: number;
  ttl: number;
  section: 'answer' | 'authority' | 'additional';
}

/** An upstream response taken apart enough to cache and re-serve it. */
export interface UpstreamMessage {
  bytes: Buffer;
  flags: number;
  rcode: number;
  /** Offset just after the question section. */
  questionEnd: number;
  rrs: RRSpan[];
}

/** Offset after the (possibly compressed) wire name at `p` of a message, or -1 when it is malformed or runs past the end. */
export function skipName(b: Uint8Array, p: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (p >= b.length) return -1;
    const l = b[p];
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2 <= b.length ? p + 2 : -1;
    if (l & 0xc0) return -1;
    p += l + 1;
  }
  return -1;
}

/** Locates the sections of a DNS response; undefined when it is malformed. */
export function parseUpstream(bytes: Buffer): UpstreamMessage | undefined {
  if (bytes.length < 12) return undefined;
  const flags = bytes.readUInt16BE(2);
  const qd = bytes.readUInt16BE(4);
  const counts = [bytes.readUInt16BE(6), bytes.readUInt16BE(8), bytes.readUInt16BE(10)];
  let p = 12;
  for (let i = 0; i < qd; i++) {
    p = skipName(bytes, p);
    if (p < 0 || p + 4 > bytes.length) return undefined;
    p += 4;
  }
  const questionEnd = p;
  const rrs: RRSpan[] = [];
  const sections = ['answer', 'authority', 'additional'] as const;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]; i++) {
      const start = p;
      p = skipName(bytes, p);
      if (p < 0 || p + 10 > bytes.length) return undefined;
      const type = bytes.readUInt16BE(p);
      const ttlOffset = p + 4;
      const rdlen = bytes.readUInt16BE(p + 8);
      p += 10 + rdlen;
      if (p > bytes.length) return undefined;
      rrs.push({ type, start, end: p, ttlOffset, ttl: bytes.readUInt32BE(ttlOffset), section: sections[s] });
    }
  }
  let rcode = flags & 0xf;
  const opt = rrs.find((r) => r.type === 41);
  if (opt) rcode |= bytes[opt.ttlOffset] << 4;
  return { bytes, flags, rcode, questionEnd, rrs };
}

/**
 * How long a response may be cached, in seconds (0: not at all). Positive answers: the smallest
 * answer TTL; NXDOMAIN and NODATA: min(SOA TTL, SOA minimum) of the authority SOA (RFC 2308
 * section 5: without an SOA a negative answer is not cached); SERVFAIL, REFUSED and the rest: never.
 */
export function cacheTtl(m: UpstreamMessage, cap = MAX_CACHE_TTL): number {
  if (m.flags & 0x0200) return 0; // truncated: never cache a partial answer
  const answers = m.rrs.filter((r) => r.section === 'answer');
  if (m.rcode !== 0 && m.rcode !== 3) return 0;
  let ttl: number;
  if (m.rcode === 3 || answers.length === 0) {
    const soa = m.rrs.find((r) => r.section === 'authority' && r.type === 6);
    if (!soa) return 0;
    const minimum = m.bytes.readUInt32BE(soa.end - 4);
    ttl = Math.min(soa.ttl, minimum);
  } else {
    ttl = Math.min(...answers.map((r) => r.ttl));
  }
  return Math.max(0, Math.min(ttl, cap));
}

/** A cached upstream response and when it was stored. */
export interface CacheEntry {
  message: UpstreamMessage;
  /** ms timestamp of storing. */
  storedAt: number;
  /** ms timestamp after which the entry is stale. */
  expiresAt: number;
}

/** Bounded LRU of upstream responses (a Map's insertion order is the recency order). */
export class ResponseCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key of a question: lowercased name, type, class. */
  static key(qnameKey: string, qtype: number, qclass: number): string {
    return `${qnameKey}/${qtype}/${qclass}`;
  }

  /** A fresh entry (and marks it most recently used), or undefined. */
  get(key: string): CacheEntry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (this.now() >= e.expiresAt) return undefined;
    this.entries.set(key, e);
    return e;
  }

  /** Stores a response for `ttlSeconds` (> 0), evicting the least recently used entry when full. */
  set(key: string, message: UpstreamMessage, ttlSeconds: number): void {
    if (ttlSeconds <= 0) return;
    const now = this.now();
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { message, storedAt: now, expiresAt: now + ttlSeconds * 1000 });
  }

  /** Number of entries (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops everything. */
  clear(): void {
    this.entries.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The authoritative answer cache (src/dns/server.ts).
//
// Why not a Map of Buffers: on a 1,000,000-name zone the projection fills V8's old space with
// millions of objects, and every cached answer that outlives a scavenge is promoted there and
// adds old-to-new pointers; the profile of the first design spent 57% of the CPU in the garbage
// collector. Here every entry is bytes in one preallocated arena, indexed by typed arrays:
// nothing per entry for the GC to trace, copy or promote.
//
// Why CLOCK on a circular log: the first design dropped everything when the arena or the index
// filled, so a working set just over the capacity (100,000 distinct questions asked in a loop)
// emptied the cache every pass and was answered slower than the same names asked once. Entries
// are now appended at the head of a ring of bytes and evicted from its tail, one at a time; an
// entry hit since it was stored (a 2-bit use counter, as in CLOCK with counters / S3-FIFO's main
// queue) is moved to the head instead of evicted, its counter decremented. The hot set stays;
// cold entries leave in insertion order; the cost of a put stays O(1) amortized (each move pays for
// one earlier hit).

/** Bytes of an entry's header in the arena: key length u16, answer length u16, rcode u16, key hash i32. */
const ENTRY_HEADER = 10;
/** Longest key: a 255-byte name, qtype, qclass, and the context bytes. */
const MAX_KEY = 255 + 4 + 8;
/** Arena bytes reserved per entry of capacity (answers to simple questions are 40-200 bytes). */
const ARENA_BYTES_PER_ENTRY = 256;
/** Answers larger than this are served uncached (large TCP answers are rare and would crowd the arena). */
const MAX_CACHED_ANSWER = 4096;
/** Highest use count: an entry hit this often survives this many passes of the clock hand without a hit. */
const MAX_USES = 3;
/**
 * Moves to the head one eviction may make before it evicts the tail regardless of its count:
 * bounds the work of a single put when nearly everything is hot (something hot must go then anyway).
 */
const MAX_MOVES_PER_EVICTION = 64;

function pow2AtLeast(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

/**
 * Encoded authoritative answers keyed by the question's lowercased wire bytes plus a context
 * (opcode, EDNS presence/DO, the size limit, the transport), held in one arena so the cache costs
 * the GC nothing.
 *
 * Admission: an answer is stored on the second sight of its key (a direct-mapped table of 32-bit
 * key hashes remembers the first), so a stream of names that each come once (a cache-miss flood,
 * a scan) neither fills nor churns it.
 *
 * Eviction: the arena is a circular log. When it or the entry count is full, the entry at the tail
 * goes, unless it was hit since it was stored or last moved: then it is moved to the head with one
 * use fewer (CLOCK). The index is an open-addressing table (linear probing, backward-shift
 * deletion) of arena offsets.
 *
 * Invalidation: `clear` drops everything in O(1) (a generation bump); the server calls it when the
 * projection swaps, so an answer is never older than the state its query is read against.
 *
 * Not re-entrant: `get` leaves the key of the current question in a scratch buffer for `put`.
 */
export class AnswerCache {
  private readonly arena: Buffer;
  /** Per index slot: the entry's arena offset. */
  private readonly slotOffset: Int32Array;
  /** Per index slot: the key hash (a quick reject before comparing bytes; the home slot for deletion). */
  private readonly slotHash: Int32Array;
  /** Per index slot: the generation it was written in; any other generation (0: deleted) is an empty slot. */
  private readonly slotGen: Uint32Array;
  /** Per index slot: hits since the entry was stored or last moved to the head, up to MAX_USES. */
  private readonly slotUses: Uint8Array;
  private readonly mask: number;
  /** First-sight memory: key hash -> itself at hash & seenMask. */
  private readonly seen: Int32Array;
  private readonly seenMask: number;
  /** Alternates which first-sight slot is overwritten when both are taken. */
  private turn = 0;
  private gen = 1;
  private entries = 0;
  /** Ring state: the next entry is written at `head`; the oldest entry starts at `tail`. */
  private head = 0;
  private tail = 0;
  /**
   * -1: not wrapped, entries occupy [tail, head). Otherwise the ring has wrapped: entries occupy
   * [tail, wrap) and then [0, head), and [wrap, arena end) is unused.
   */
  private wrap = -1;
  /** The current question's key (from the last `get`). */
  private readonly key = Buffer.allocUnsafe(MAX_KEY);
  private keyLen = 0;
  private keyHash = 0;
  /** Set by `get` when its key could be built (an uncompressed question name). */
  private keyValid = false;
  private keyRaw: Uint8Array | undefined;
  /** The rcode of the last hit (low 4 bits from the header, extended bits above), for metrics. */
  lastRcode = 0;
  /** Counters since construction (tests, benchmarks): answers evicted, and entries given a second chance. */
  evictions = 0;
  moves = 0;

  /** `maxEntries` answers at most (0 disables caching; every query is then answered afresh). */
  constructor(readonly maxEntries = 100_000) {
    const cap = Math.max(0, Math.floor(maxEntries));
    this.maxEntries = cap;
    const slots = pow2AtLeast(cap * 2);
    this.mask = slots - 1;
    this.slotOffset = new Int32Array(slots);
    this.slotHash = new Int32Array(slots);
    this.slotGen = new Uint32Array(slots);
    this.slotUses = new Uint8Array(slots);
    const seenSlots = pow2AtLeast(cap * 2);
    this.seen = new Int32Array(seenSlots);
    this.seenMask = seenSlots - 1;
    this.arena = Buffer.allocUnsafe(cap === 0 ? 0 : Math.max(cap * ARENA_BYTES_PER_ENTRY, 64 * 1024));
  }

  /** Number of answers held. */
  get size(): number {
    return this.entries;
  }

  /** Arena bytes the entries occupy (headers and keys included), and the arena's size. */
  get bytes(): { used: number; capacity: number } {
    const used = this.entries === 0 ? 0 : this.wrap < 0 ? this.head - this.tail : this.wrap - this.tail + this.head;
    return { used, capacity: this.arena.length };
  }

  /** Drops every answer (the projection swapped: none of them may be served any more). */
  clear(): void {
    this.gen = (this.gen + 1) >>> 0;
    if (this.gen === 0) {
      // Wrapped after 2^32 clears: forget the slots, whose old generations would come back valid.
      this.slotGen.fill(0);
      this.gen = 1;
    }
    this.entries = 0;
    this.head = 0;
    this.tail = 0;
    this.wrap = -1;
  }

  /**
   * The cached answer to the query in `raw` (question section ending at `questionEnd`) under the
   * context bytes, as a fresh Buffer patched with the client's id, RD and CD bits and question
   * spelling; its rcode (with the extended bits) is in `lastRcode`. Undefined on a miss, which
   * also prepares the key for `put`.
   */
  get(raw: Uint8Array, questionEnd: number, opcode: number, ednsKey: number, limit: number, tcp: boolean): Buffer | undefined {
    this.keyValid = false;
    this.keyRaw = raw;
    if (this.maxEntries === 0) return undefined;
    // Key: the question name lowercased (only an uncompressed name: a pointer would make the
    // client's question a different length from ours), qtype, qclass, then the context.
    const key = this.key;
    let h = 0x811c9dc5 | 0;
    let p = 12;
    const nameLimit = questionEnd - 4;
    for (;;) {
      if (p >= nameLimit) return undefined;
      const l = raw[p];
      if (l === 0) break;
      if (l & 0xc0) return undefined;
      const stop = p + 1 + l;
      if (stop > nameLimit) return undefined;
      key[p - 12] = l;
      h = Math.imul(h ^ l, 0x01000193);
      for (let k = p + 1; k < stop; k++) {
        let c = raw[k];
        if (c >= 65 && c <= 90) c |= 0x20;
        key[k - 12] = c;
        h = Math.imul(h ^ c, 0x01000193);
      }
      p = stop;
    }
    if (p + 5 !== questionEnd) return undefined;
    let n = p - 12;
    key[n++] = 0;
    for (let k = p + 1; k < questionEnd; k++) {
      key[n++] = raw[k];
      h = Math.imul(h ^ raw[k], 0x01000193);
    }
    const ctx0 = (opcode << 4) | (ednsKey << 1) | (tcp ? 1 : 0);
    key[n++] = ctx0;
    key[n++] = limit >> 8;
    key[n++] = limit & 0xff;
    h = Math.imul(h ^ ctx0, 0x01000193);
    h = Math.imul(h ^ (limit >> 8), 0x01000193);
    h = Math.imul(h ^ (limit & 0xff), 0x01000193);
    h ^= h >>> 15;
    if (h === 0) h = 1;
    this.keyLen = n;
    this.keyHash = h;
    this.keyValid = true;

    const arena = this.arena;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      if (this.slotGen[i] !== this.gen) return undefined;
      if (this.slotHash[i] !== h) continue;
      const off = this.slotOffset[i];
      if (arena.readUInt16BE(off) !== n) continue;
      let same = true;
      const kStart = off + ENTRY_HEADER;
      for (let k = 0; k < n; k++) {
        if (arena[kStart + k] !== key[k]) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      if (this.slotUses[i] < MAX_USES) this.slotUses[i]++;
      const ansLen = arena.readUInt16BE(off + 2);
      this.lastRcode = arena.readUInt16BE(off + 4);
      const aStart = kStart + n;
      const out = Buffer.allocUnsafe(ansLen);
      arena.copy(out, 0, aStart, aStart + ansLen);
      out[0] = raw[0];
      out[1] = raw[1];
      out[2] = (out[2] & 0xfe) | (raw[2] & 0x01);
      out[3] = (out[3] & 0xef) | (raw[3] & 0x10);
      // The client's spelling of the question (same length: both are uncompressed).
      for (let k = 12; k < questionEnd; k++) out[k] = raw[k];
      return out;
    }
  }

  /**
   * Offers the answer just computed for the question of the last `get` (same `raw`, which missed).
   * It is stored on the second sight of its key, if it fits, evicting the coldest entries as
   * needed; the answer's question must be the client's length.
   */
  put(raw: Uint8Array, answer: Uint8Array, rcode: number): void {
    if (!this.keyValid || this.keyRaw !== raw) return;
    this.keyValid = false;
    const h = this.keyHash;
    // Two candidate slots per hash, the victim chosen in turn, so two names that share a slot
    // and keep alternating cannot lock each other out forever.
    const s1 = h & this.seenMask;
    const s2 = ((h >>> 16) ^ Math.imul(h, 0x9e3779b1)) & this.seenMask;
    if (this.seen[s1] !== h && this.seen[s2] !== h) {
      this.turn ^= 1;
      this.seen[this.seen[s1] === 0 ? s1 : this.seen[s2] === 0 ? s2 : this.turn ? s1 : s2] = h;
      return;
    }
    if (answer.length > MAX_CACHED_ANSWER) return;
    const n = this.keyLen;
    const size = ENTRY_HEADER + n + answer.length;
    while (this.entries >= this.maxEntries) this.evictOne();
    let off = this.alloc(size);
    while (off < 0) {
      this.evictOne();
      off = this.alloc(size);
    }
    const arena = this.arena;
    arena.writeUInt16BE(n, off);
    arena.writeUInt16BE(answer.length, off + 2);
    arena.writeUInt16BE(rcode & 0xffff, off + 4);
    arena.writeInt32BE(h, off + 6);
    this.key.copy(arena, off + ENTRY_HEADER, 0, n);
    arena.set(answer, off + ENTRY_HEADER + n);
    this.entries++;
    let i = h & this.mask;
    while (this.slotGen[i] === this.gen) i = (i + 1) & this.mask;
    this.slotGen[i] = this.gen;
    this.slotHash[i] = h;
    this.slotOffset[i] = off;
    this.slotUses[i] = 0;
  }

  /** Bytes of the entry at `off`. */
  private entrySize(off: number): number {
    return ENTRY_HEADER + this.arena.readUInt16BE(off) + this.arena.readUInt16BE(off + 2);
  }

  /**
   * Reserves `size` bytes at the head of the ring; -1 when the free space there is too small (the
   * caller evicts from the tail and tries again). Never fails on an empty ring.
   */
  private alloc(size: number): number {
    if (this.wrap < 0) {
      if (this.head + size <= this.arena.length) {
        const off = this.head;
        this.head += size;
        return off;
      }
      if (this.tail === this.head) {
        // Nothing lies in [tail, head): start again from the arena's beginning.
        this.tail = 0;
        this.head = size;
        return 0;
      }
      if (size <= this.tail) {
        // Wrap: the head continues at 0, below the tail; [head, arena end) stays unused.
        this.wrap = this.head;
        this.head = size;
        return 0;
      }
      return -1;
    }
    if (this.head + size <= this.tail) {
      const off = this.head;
      this.head += size;
      return off;
    }
    return -1;
  }

  /** Advances the tail past the entry at it (`size` bytes). */
  private popTail(size: number): void {
    this.tail += size;
    if (this.wrap >= 0 && this.tail >= this.wrap) {
      this.tail = 0;
      this.wrap = -1;
    }
  }

  /** The index slot of the entry stored at `off` with key hash `h`, or -1 (never, unless corrupted). */
  private slotOf(h: number, off: number): number {
    for (let i = h & this.mask; this.slotGen[i] === this.gen; i = (i + 1) & this.mask) {
      if (this.slotOffset[i] === off) return i;
    }
    return -1;
  }

  /** Empties index slot `i`, shifting later entries of its probe run back (no tombstones). */
  private removeSlot(i: number): void {
    const mask = this.mask;
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (this.slotGen[j] !== this.gen) break;
      const home = this.slotHash[j] & mask;
      // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.slotHash[hole] = this.slotHash[j];
      this.slotOffset[hole] = this.slotOffset[j];
      this.slotUses[hole] = this.slotUses[j];
      this.slotGen[hole] = this.gen;
      hole = j;
    }
    this.slotGen[hole] = 0;
  }

  /**
   * Makes room: the tail entry is evicted, unless it was used since it was stored or moved, in
   * which case it moves to the head with one use fewer and the next tail entry is considered
   * (at most MAX_MOVES_PER_EVICTION times; then the tail goes regardless).
   */
  private evictOne(): void {
    const arena = this.arena;
    for (let moves = 0; ; moves++) {
      if (this.entries === 0) {
        this.clear();
        return;
      }
      const off = this.tail;
      const size = this.entrySize(off);
      const h = arena.readInt32BE(off + 6);
      const i = this.slotOf(h, off);
      if (i < 0) {
        // The ring and the index disagree: a bug. The cache is only a shortcut, so start afresh
        // rather than risk serving a wrong entry.
        this.clear();
        return;
      }
      this.popTail(size);
      if (this.slotUses[i] > 0 && moves < MAX_MOVES_PER_EVICTION) {
        // Second chance: the bytes move to the head (copyWithin is a memmove, so an overlap with
        // the old place is fine; nothing else is written in between). alloc cannot fail here:
        // the popped entry's own bytes made room for it.
        const to = this.alloc(size);
        if (to !== off) arena.copyWithin(to, off, off + size);
        this.slotOffset[i] = to;
        this.slotUses[i]--;
        this.moves++;
        continue;
      }
      this.removeSlot(i);
      this.entries--;
      this.evictions++;
      if (this.entries === 0) this.clear();
      return;
    }
  }
}
