/**
 * Response rate limiting (RRL) for UDP answers, as Knot, NSD and BIND do it: a 45-byte query with a
 * spoofed source buys a much larger answer sent to someone else, so the answers one source prefix
 * (/24 for IPv4, /56 for IPv6) receives are limited to `responses_per_second`. Answers over the rate
 * are dropped, except every `slip`-th one, which goes out truncated (TC=1, no records but the OPT) so
 * that a real client behind the prefix retries over TCP, which cannot be spoofed. TCP is never limited.
 *
 * Each prefix has a token bucket (capacity: one second's worth of answers, refilled continuously)
 * in a fixed-size table of typed arrays, as Knot's is: 4-way sets indexed by a seeded hash, the
 * least recently seen entry of a set replaced by a newcomer. Memory is fixed however many
 * addresses an attacker spoofs, and the GC never traces the table. A check costs an address parse,
 * a hash and at most four compares; with RRL off (the default) the server does not call it at all.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { addressInto } from '../records/ip.ts';
import { skipName } from './cache.ts';

/** The configuration of `[dns.rrl]`. */
export interface RrlConfig {
  /** Answers per second per source prefix; 0 turns RRL off. */
  responsesPerSecond: number;
  /** Every slip-th answer over the rate goes out truncated (1: every one; 0: none, all dropped). */
  slip: number;
  /** Prefixes tracked at once (rounded up to a power of two, at least 1024). */
  tableSize?: number;
}

/** Options of {@link ResponseRateLimiter}. */
export interface RrlOptions extends RrlConfig {
  /** Clock in ms (tests freeze it); default Date.now (cheaper than performance.now; a step back is treated as no time passing). */
  now?: () => number;
  logger?: Logger;
  metrics?: Pick<Metrics, 'dnsRrlLimited' | 'dnsRrlSlipped'>;
}

export const RRL_DEFAULTS = { responsesPerSecond: 0, slip: 2, tableSize: 65_536 } as const;

/** The verdict on one answer. */
export const PASS = 0;
export const DROP = 1;
export const SLIP = 2;
export type RrlVerdict = typeof PASS | typeof DROP | typeof SLIP;

const WAYS = 4;
/** Key tags in the low word: 0 marks an empty entry. */
const TAG_V4 = 0x01000000;
const TAG_V6 = 0x02000000;
/** A limiting episode is over after this long without an answer over the rate. */
const QUIET_MS = 10_000;
/** During an episode the log repeats its summary at most this often. */
const LOG_EVERY_MS = 60_000;

/** Scratch for address parsing (one event loop: no reentrancy). */
const addr = new Uint8Array(16);
let keyHi = 0;
let keyLo = 0;

/**
 * Sets keyHi/keyLo to the /24 (IPv4, IPv4-mapped IPv6 too) or /56 (IPv6) prefix of `address`,
 * tagged by family. Returns false for text that is neither. Parsing is records/ip.ts's.
 */
function prefixKey(address: string): boolean {
  const family = addressInto(address, addr);
  if (family === 4) {
    keyHi = ((addr[12] << 16) | (addr[13] << 8) | addr[14]) >>> 0;
    keyLo = TAG_V4;
    return true;
  }
  if (family === 0) return false;
  keyHi = ((addr[0] << 24) | (addr[1] << 16) | (addr[2] << 8) | addr[3]) >>> 0;
  keyLo = (TAG_V6 | (addr[4] << 16) | (addr[5] << 8) | addr[6]) >>> 0;
  return true;
}

/** Presentation of a table key: "192.0.2.0/24" or "2001:db8:aa00::/56". */
function prefixText(hi: number, lo: number): string {
  if ((lo & 0xff000000) === TAG_V4) return `${hi >>> 16}.${(hi >>> 8) & 0xff}.${hi & 0xff}.0/24`;
  const g = [hi >>> 16, hi & 0xffff, (lo >>> 8) & 0xffff, (lo & 0xff) << 8];
  return `${g.map((x) => x.toString(16)).join(':')}::/56`;
}

/** Per-prefix token buckets in a fixed table; see the module comment. */
export class ResponseRateLimiter {
  readonly rate: number;
  readonly slip: number;
  private readonly setMask: number;
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  private readonly tokens: Float64Array;
  private readonly stamp: Float64Array;
  private readonly slipCount: Uint8Array;
  private readonly seedA = randomInt(0x7fffffff) | 1;
  private readonly seedB = randomInt(0x7fffffff);
  private readonly now: () => number;
  private readonly logger?: Logger;
  private readonly metrics?: RrlOptions['metrics'];

  /** Answers over the rate (dropped or slipped) and of those slipped, since the last flush. */
  private limited = 0;
  private slipped = 0;
  /** Totals since the last log line, and the last prefix limited (an example for the log). */
  private limitedSinceLog = 0;
  private slippedSinceLog = 0;
  private lastHi = 0;
  private lastLo = 0;
  private lastLimitedAt = Number.NEGATIVE_INFINITY;
  private lastLogAt = Number.NEGATIVE_INFINITY;
  private active = false;

  constructor(opts: RrlOptions) {
    const { responsesPerSecond: rate, slip } = opts;
    if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`dns.rrl.responses_per_second must be a positive number here, got ${rate}`);
    if (!Number.isInteger(slip) || slip < 0 || slip > 100) throw new RangeError(`dns.rrl.slip must be an integer 0..100, got ${slip}`);
    const want = opts.tableSize ?? RRL_DEFAULTS.tableSize;
    if (!Number.isInteger(want) || want < 1 || want > 1 << 24) throw new RangeError(`dns.rrl.table_size must be an integer 1..16777216, got ${want}`);
    let size = 1024;
    while (size < want) size <<= 1;
    this.rate = rate;
    this.slip = slip;
    this.setMask = size / WAYS - 1;
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.tokens = new Float64Array(size);
    this.stamp = new Float64Array(size).fill(Number.NEGATIVE_INFINITY);
    this.slipCount = new Uint8Array(size);
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger;
    this.metrics = opts.metrics;
  }

  /** Entries in the table (its fixed size). */
  get capacity(): number {
    return this.hi.length;
  }

  /** Charges one answer to `address`'s prefix: PASS, DROP or SLIP. Unparseable addresses pass. */
  check(address: string): RrlVerdict {
    if (!prefixKey(address)) return PASS;
    const hi = keyHi;
    const lo = keyLo;
    const now = this.now();
    let h = Math.imul(hi ^ this.seedB, this.seedA) ^ Math.imul(lo, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    const base = (h & this.setMask) * WAYS;
    let e = -1;
    let oldest = base;
    for (let i = base; i < base + WAYS; i++) {
      if (this.lo[i] === lo && this.hi[i] === hi) {
        e = i;
        break;
      }
      if (this.stamp[i] < this.stamp[oldest]) oldest = i;
    }
    if (e < 0) {
      // A prefix not seen lately starts with a full bucket, less this answer.
      this.hi[oldest] = hi;
      this.lo[oldest] = lo;
      this.tokens[oldest] = this.rate - 1;
      this.stamp[oldest] = now;
      this.slipCount[oldest] = 0;
      return PASS;
    }
    const elapsed = now - this.stamp[e];
    let t = elapsed > 0 ? this.tokens[e] + (elapsed * this.rate) / 1000 : this.tokens[e];
    if (t > this.rate) t = this.rate;
    this.stamp[e] = now;
    if (t >= 1) {
      this.tokens[e] = t - 1;
      return PASS;
    }
    this.tokens[e] = t;
    this.limited++;
    this.lastHi = hi;
    this.lastLo = lo;
    this.lastLimitedAt = now;
    if (this.slip > 0 && ++this.slipCount[e] >= this.slip) {
      this.slipCount[e] = 0;
      this.slipped++;
      return SLIP;
    }
    return DROP;
  }

  /** The bytes to send for `response` to `address`: itself, its truncated form (slip), or undefined (dropped). */
  filter(response: Buffer, address: string): Buffer | undefined {
    const v = this.check(address);
    return v === PASS ? response : v === SLIP ? slipResponse(response) : undefined;
  }

  /** Adds the counts since the last flush to the metrics and logs an episode's start, progress and end. */
  flush(): void {
    const limited = this.limited;
    const slipped = this.slipped;
    this.limited = 0;
    this.slipped = 0;
    if (limited > 0) {
      this.metrics?.dnsRrlLimited.inc({}, limited);
      this.metrics?.dnsRrlSlipped.inc({}, slipped);
      this.limitedSinceLog += limited;
      this.slippedSinceLog += slipped;
    }
    const now = this.now();
    if (limited > 0 && (!this.active || now - this.lastLogAt >= LOG_EVERY_MS)) {
      this.logger?.warn(
        {
          limited: this.limitedSinceLog,
          slipped: this.slippedSinceLog,
          prefix: prefixText(this.lastHi, this.lastLo),
          responses_per_second: this.rate,
          slip: this.slip,
        },
        this.active ? 'DNS response rate limiting still active: UDP answers over the rate dropped or sent truncated' : 'DNS response rate limiting started: UDP answers over the rate dropped or sent truncated',
      );
      this.active = true;
      this.lastLogAt = now;
      this.limitedSinceLog = 0;
      this.slippedSinceLog = 0;
    } else if (this.active && now - this.lastLimitedAt >= QUIET_MS) {
      this.logger?.info({ limited: this.limitedSinceLog, slipped: this.slippedSinceLog }, 'DNS response rate limiting ended: no prefix over the rate for 10 s');
      this.active = false;
      this.limitedSinceLog = 0;
      this.slippedSinceLog = 0;
    }
  }
}

/**
 * The slipped form of a response: its header with TC set and every count but the question's and
 * the OPT's zeroed, its question, and its OPT record if it has one (RFC 6891: an EDNS query gets
 * an EDNS answer). A response that cannot be walked keeps only the header and question it had.
 */
export function slipResponse(resp: Buffer): Buffer {
  if (resp.length < 12) return resp;
  const qd = resp.readUInt16BE(4);
  const records = resp.readUInt16BE(6) + resp.readUInt16BE(8);
  const additional = resp.readUInt16BE(10);
  let p = 12;
  for (let i = 0; i < qd && p >= 0; i++) {
    p = skipName(resp, p);
    if (p >= 0) p = p + 4 <= resp.length ? p + 4 : -1;
  }
  if (p < 0) return header(resp, 12, 0, 0);
  const questionEnd = p;
  let optStart = -1;
  let optEnd = -1;
  for (let i = 0; i < records + additional && p >= 0; i++) {
    const start = p;
    p = skipName(resp, p);
    if (p < 0 || p + 10 > resp.length) break;
    const type = resp.readUInt16BE(p);
    const end = p + 10 + resp.readUInt16BE(p + 8);
    if (end > resp.length) break;
    if (i >= records && type === 41) {
      optStart = start;
      optEnd = end;
      break;
    }
    p = end;
  }
  const opt = optStart >= 0 ? optEnd - optStart : 0;
  const out = header(resp, questionEnd + opt, qd, opt > 0 ? 1 : 0);
  resp.copy(out, 12, 12, questionEnd);
  if (opt > 0) resp.copy(out, questionEnd, optStart, optEnd);
  return out;
}

/** A `length`-byte buffer starting with `resp`'s header, TC set, the given QD and AR counts. */
function header(resp: Buffer, length: number, qd: number, ar: number): Buffer {
  const out = Buffer.alloc(length);
  resp.copy(out, 0, 0, 4);
  out[2] |= 0x02;
  out.writeUInt16BE(qd, 4);
  out.writeUInt16BE(ar, 10);
  return out;
}
