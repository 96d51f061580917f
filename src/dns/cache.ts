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

function skipName(b: Uint8Array, p: number): number {
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
