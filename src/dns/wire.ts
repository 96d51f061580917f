/**
 * DNS response encoder for the hot path: RFC 1035 section 4.1.4 name compression, EDNS OPT,
 * and size-limited truncation (additional RRsets dropped first, then TC).
 *
 * The encoder is synchronous and not re-entrant: it writes into one module-level growing
 * buffer and copies the finished message out, so each call allocates little more than the
 * returned Buffer. Invalid input (bad names, addresses, oversized strings) throws a RangeError;
 * record data is expected to have been validated when it entered the ledger.
 */
import { parseIPv4, parseIPv6 } from '../records/ip.ts';
import { rrTypeCode, type RData, type RRType } from '../records/types.ts';
import { CODECS, codecFor, type RRCodec, type WireSink } from '../records/rrtypes/index.ts';
import { cachesGrow } from './encode-once.ts';

/** One resource record to encode. `data` is structured RData or, for unknown types and OPT, raw rdata bytes. */
export interface WireRR {
  name: string;
  type: RRType | 'OPT' | number;
  /** Defaults to 1 (IN). */
  class?: number;
  ttl: number;
  data: RData | Uint8Array;
}

/** A full DNS message to encode. */
export interface WireMessage {
  id: number;
  /** The 16-bit flags word, including opcode and the low 4 bits of the rcode. */
  flags: number;
  /** Question names are in presentation form, case preserved as the client sent them. */
  question: { name: string; type: number; class: number }[];
  answer: WireRR[];
  authority: WireRR[];
  additional: WireRR[];
  /** When set, an OPT RR is appended as the last additional record (and kept even when truncating). */
  edns?: {
    udpPayloadSize: number;
    /** Upper 8 bits of the 12-bit extended rcode. */
    extendedRcode: number;
    version: number;
    /** EDNS flags word (DO = 0x8000). */
    flags: number;
    /** Raw option bytes (code, length, data)*. */
    options: Uint8Array;
  };
}

/** Result of {@link encodeMessage}. `truncated` is true only when the TC bit was set. */
export interface EncodeResult {
  bytes: Buffer;
  truncated: boolean;
}


const TC_FLAG = 0x0200;
const MAX_MESSAGE = 65535;
/** Offsets usable as compression targets (spec: pointers only to offsets below 0x3FFF). */
const MAX_POINTER_TARGET = 0x3fff;

// ---------------------------------------------------------------------------------------------
// Presentation name -> wire bytes (private; names.ts is not a dependency of the hot path).

/** Uncompressed wire form of the last parsed name, including the terminal zero byte. */
const nameWire = Buffer.allocUnsafe(256);
/** Lowercased copy of nameWire, used to build the compression key. */
const nameKeyBytes = Buffer.allocUnsafe(256);
/** Offset of each label's length byte inside nameWire. */
const labelOffsets = new Int32Array(128);
let labelCount = 0;
let nameWireLen = 0;

function nameError(name: string, why: string): RangeError {
  return new RangeError(`invalid domain name ${JSON.stringify(name)}: ${why}`);
}

/**
 * Parses a presentation-form name (trailing dot optional, "." or "" for the root) into
 * nameWire / labelOffsets / labelCount / nameWireLen. Returns true when the name had upper-case ASCII.
 */
function parseName(name: string): boolean {
  const n = name.length;
  labelCount = 0;
  if (n === 0 || (n === 1 && name.charCodeAt(0) === 46)) {
    nameWire[0] = 0;
    nameWireLen = 1;
    return false;
  }
  let hasUpper = false;
  let labelStart = 0; // offset of the current label's length byte
  let w = 1; // next write offset
  let i = 0;
  while (i < n) {
    let c = name.charCodeAt(i++);
    if (c === 46) {
      const len = w - labelStart - 1;
      if (len === 0) throw nameError(name, 'empty label');
      if (len > 63) throw nameError(name, 'label longer than 63 bytes');
      nameWire[labelStart] = len;
      labelOffsets[labelCount++] = labelStart;
      labelStart = w;
      w++;
      if (w > 255) throw nameError(name, 'name longer than 255 bytes');
      continue;
    }
    if (c === 92) {
      if (i >= n) throw nameError(name, 'dangling escape');
      c = name.charCodeAt(i++);
      if (c >= 48 && c <= 57) {
        if (i + 2 > n) throw nameError(name, 'short \\DDD escape');
        const d1 = name.charCodeAt(i) - 48;
        const d2 = name.charCodeAt(i + 1) - 48;
        if (!(d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) throw nameError(name, 'bad \\DDD escape');
        c = (c - 48) * 100 + d1 * 10 + d2;
        if (c > 255) throw nameError(name, '\\DDD escape above 255');
        i += 2;
      }
    } else if (c > 126 || c < 33) {
      throw nameError(name, 'unescaped non-printable or non-ASCII character');
    }
    if (c >= 65 && c <= 90) hasUpper = true;
    if (w >= 255) throw nameError(name, 'name longer than 255 bytes');
    nameWire[w++] = c;
  }
  // Name without trailing dot: close the last label.
  if (w - labelStart > 1) {
    const len = w - labelStart - 1;
    if (len > 63) throw nameError(name, 'label longer than 63 bytes');
    nameWire[labelStart] = len;
    labelOffsets[labelCount++] = labelStart;
    labelStart = w;
    w++;
  }
  // labelStart now points at the slot for the terminal zero byte.
  if (w > 255) throw nameError(name, 'name longer than 255 bytes');
  nameWire[labelStart] = 0;
  nameWireLen = labelStart + 1;
  return hasUpper;
}

/** Uncompressed wire form of a presentation name (escapes decoded). Throws RangeError if invalid. */
export function encodeName(name: string): Uint8Array {
  parseName(name);
  return new Uint8Array(nameWire.subarray(0, nameWireLen));
}

// ---------------------------------------------------------------------------------------------
// Message writer (module-level state, reset per call)

let out = Buffer.allocUnsafe(4096);
let pos = 0;
/**
 * Lowercased wire suffix (latin1 string) -> generation * GEN_STRIDE + offset in `out` where that
 * suffix was written. Entries from earlier calls (older generations) are ignored, which avoids
 * clearing the map on every call; it is cleared when it grows large or the generation wraps.
 */
const compression = new Map<string, number>();
const GEN_STRIDE = 0x4000;
const COMPRESSION_MAP_MAX = 50000;
let generation = 0;
let genBase = 0;
/** End offset of each additional RR (for truncation). */
const additionalEnds: number[] = [];

function ensure(n: number): void {
  if (pos + n <= out.length) return;
  let size = out.length * 2;
  while (size < pos + n) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  out.copy(bigger, 0, 0, pos);
  out = bigger;
}

function u8(v: number): void {
  ensure(1);
  out[pos++] = v & 0xff;
}

function u16(v: number): void {
  ensure(2);
  out[pos++] = (v >>> 8) & 0xff;
  out[pos++] = v & 0xff;
}

function u32(v: number): void {
  ensure(4);
  out[pos++] = (v >>> 24) & 0xff;
  out[pos++] = (v >>> 16) & 0xff;
  out[pos++] = (v >>> 8) & 0xff;
  out[pos++] = v & 0xff;
}

function bytes(b: Uint8Array): void {
  ensure(b.length);
  out.set(b, pos);
  pos += b.length;
}

/** A parsed name: uncompressed wire form and, per label, the lowercased wire suffix used as compression key. */
interface ParsedName {
  /** Wire form including the terminal zero byte. */
  wire: Uint8Array;
  /** Offset of each label's length byte in `wire`. */
  offsets: number[];
  /** keys[i]: latin1 string of the ASCII-lowercased wire suffix starting at offsets[i] (without the zero byte). */
  keys: string[];
}

/**
 * Names repeat across responses (zone data, popular query names); parsing them and building
 * their suffix keys once saves most of the encoder's time. Bounded: cleared when full, so a
 * flood of random query names costs re-parsing, not memory.
 */
const nameCache = new Map<string, ParsedName>();
const NAME_CACHE_MAX = 20000;

/** Whether `name` is in the encoder's name cache (for tests: the serving index's build adds none). */
export function isNameCached(name: string): boolean {
  return nameCache.has(name);
}

function toParsedName(name: string): ParsedName {
  parseName(name);
  const wireLen = nameWireLen;
  const wire = new Uint8Array(wireLen);
  for (let k = 0; k < wireLen; k++) {
    const c = nameWire[k];
    wire[k] = c;
    nameKeyBytes[k] = c >= 65 && c <= 90 ? c | 0x20 : c;
  }
  const offsets: number[] = [];
  const keys: string[] = [];
  if (labelCount > 0) {
    const key = nameKeyBytes.toString('latin1', 0, wireLen - 1);
    for (let i = 0; i < labelCount; i++) {
      offsets.push(labelOffsets[i]);
      keys.push(i === 0 ? key : key.substring(labelOffsets[i]));
    }
  }
  return { wire, offsets, keys };
}

function cachedName(name: string): ParsedName {
  let pn = nameCache.get(name);
  if (pn === undefined) {
    pn = toParsedName(name);
    // (Not while the serving index encodes a zone once: encode-once.ts.)
    if (!cachesGrow()) return pn;
    if (nameCache.size >= NAME_CACHE_MAX) nameCache.clear();
    nameCache.set(name, pn);
  }
  return pn;
}

/** Writes a name, compressed (pointer to an earlier case-insensitively equal suffix) when `compress`. */
function writeName(pn: ParsedName, compress: boolean): void {
  const wire = pn.wire;
  const labels = pn.offsets.length;
  if (labels === 0 || !compress) {
    ensure(wire.length);
    for (let k = 0; k < wire.length; k++) out[pos++] = wire[k];
    return;
  }
  const keys = pn.keys;
  let pointer = -1;
  let i = 0;
  for (; i < labels; i++) {
    const hit = compression.get(keys[i]);
    if (hit !== undefined && hit >= genBase) {
      pointer = hit - genBase;
      break;
    }
  }
  const rawLen = pointer >= 0 ? pn.offsets[i] : wire.length;
  ensure(rawLen + 2);
  const start = pos;
  for (let k = 0; k < rawLen; k++) out[pos++] = wire[k];
  if (pointer >= 0) {
    out[pos++] = 0xc0 | (pointer >> 8);
    out[pos++] = pointer & 0xff;
  }
  for (let j = 0; j < i; j++) {
    const at = start + pn.offsets[j];
    if (at >= MAX_POINTER_TARGET) break;
    compression.set(keys[j], genBase + at);
  }
}

/** The type code of a record to encode (a mnemonic, TYPEnnn, OPT or a number). */
export function typeCode(t: WireRR['type']): number {
  if (typeof t === 'number') return t;
  if (t === 'OPT') return 41;
  const code = rrTypeCode(t);
  if (!(code >= 0 && code <= 0xffff)) throw new RangeError(`unknown record type ${String(t)}`);
  return code;
}

/** The codecs write rdata straight into the message buffer, names through the compression table. */
const messageSink: WireSink = {
  u8,
  u16,
  u32,
  bytes,
  ipv4(address) {
    ensure(4);
    if (!parseIPv4(address, 0, address.length, out, pos)) throw new RangeError(`invalid IPv4 address ${JSON.stringify(address)}`);
    pos += 4;
  },
  ipv6(address) {
    ensure(16);
    if (!parseIPv6(address, out, pos)) throw new RangeError(`invalid IPv6 address ${JSON.stringify(address)}`);
    pos += 16;
  },
  name(name, compress) {
    writeName(cachedName(name), compress);
  },
};

/** Known types straight from the table (one property read); an RFC 3597 type through codecFor. */
const KNOWN_CODECS = CODECS as unknown as Readonly<Record<string, RRCodec | undefined>>;

function writeRData(data: RData): void {
  (KNOWN_CODECS[data.type] ?? codecFor(data.type)).encode(data, messageSink);
}

function writeRR(rr: WireRR): void {
  writeName(cachedName(rr.name), true);
  ensure(10);
  u16(typeCode(rr.type));
  u16(rr.class ?? 1);
  u32(rr.ttl >>> 0);
  const lenAt = pos;
  pos += 2;
  const data = rr.data;
  if (data instanceof Uint8Array) {
    bytes(data);
  } else {
    if (typeof rr.type === 'string' && rr.type !== data.type) {
      throw new RangeError(`record type ${rr.type} does not match rdata type ${data.type}`);
    }
    writeRData(data);
  }
  const rdlen = pos - lenAt - 2;
  if (rdlen > 0xffff) throw new RangeError('rdata longer than 65535 bytes');
  out[lenAt] = rdlen >> 8;
  out[lenAt + 1] = rdlen & 0xff;
}

function writeOpt(edns: NonNullable<WireMessage['edns']>): void {
  ensure(11 + edns.options.length);
  out[pos++] = 0; // root owner
  u16(41);
  u16(edns.udpPayloadSize);
  u8(edns.extendedRcode);
  u8(edns.version);
  u16(edns.flags);
  if (edns.options.length > 0xffff) throw new RangeError('EDNS options longer than 65535 bytes');
  u16(edns.options.length);
  bytes(edns.options);
}

function setCount(at: number, v: number): void {
  out[at] = (v >> 8) & 0xff;
  out[at + 1] = v & 0xff;
}

function rrsetKey(rr: WireRR): string {
  return `${typeCode(rr.type)}/${rr.name.toLowerCase()}`;
}

/**
 * Largest number of leading additional RRs that can be kept without splitting an RRset
 * (same owner, case-insensitive, and type) and while ending at or below `limit`.
 */
function additionalKeep(additional: WireRR[], limit: number, authorityEnd: number): number {
  const lastIndex = new Map<string, number>();
  const keys: string[] = [];
  for (let i = 0; i < additional.length; i++) {
    const k = rrsetKey(additional[i]);
    keys.push(k);
    lastIndex.set(k, i);
  }
  let best = 0;
  let maxLast = -1;
  for (let k = 1; k <= additional.length; k++) {
    const li = lastIndex.get(keys[k - 1]) as number;
    if (li > maxLast) maxLast = li;
    if (additionalEnds[k - 1] > limit) break;
    if (maxLast < k) best = k;
  }
  return authorityEnd <= limit ? best : 0;
}

/**
 * Encodes a DNS message with name compression. `maxSize` (e.g. 512 or the client's EDNS
 * payload size, which the caller clamps to >= 512) limits the total size; without it the TCP
 * maximum 65535 applies. When the message is too large, trailing additional RRsets are dropped
 * silently; if answer + authority still do not fit, TC is set and only header, question and
 * OPT are sent. `truncated` is true only when TC was set.
 */
export function encodeMessage(msg: WireMessage, maxSize?: number): EncodeResult {
  const limit = maxSize === undefined || maxSize > MAX_MESSAGE ? MAX_MESSAGE : maxSize;
  pos = 0;
  if (++generation > 0x3fffffff || compression.size > COMPRESSION_MAP_MAX) {
    compression.clear();
    generation = 1;
  }
  genBase = generation * GEN_STRIDE;
  additionalEnds.length = 0;
  ensure(12);
  u16(msg.id);
  u16(msg.flags);
  pos = 12;

  for (const q of msg.question) {
    // Not through the name cache: a question reaches the encoder only when the answer cache missed
    // (mostly a first sight), and caching a flood of one-shot names only churns the cache and
    // promotes its entries into the old generation before they are cleared.
    writeName(toParsedName(q.name), true);
    ensure(4);
    u16(q.type);
    u16(q.class);
  }
  const questionEnd = pos;
  for (const rr of msg.answer) writeRR(rr);
  for (const rr of msg.authority) writeRR(rr);
  const authorityEnd = pos;
  for (const rr of msg.additional) {
    writeRR(rr);
    additionalEnds.push(pos);
  }
  const edns = msg.edns;
  const optLen = edns ? 11 + edns.options.length : 0;

  let an = msg.answer.length;
  let ns = msg.authority.length;
  let ar = msg.additional.length;
  let truncated = false;
  if (pos + optLen > limit) {
    // Everything written later only points backwards, so cutting at an RR boundary keeps the prefix valid.
    const keep = additionalKeep(msg.additional, limit - optLen, authorityEnd);
    if (authorityEnd + optLen <= limit) {
      ar = keep;
      pos = keep === 0 ? authorityEnd : additionalEnds[keep - 1];
    } else {
      truncated = true;
      an = 0;
      ns = 0;
      ar = 0;
      pos = questionEnd;
    }
  }
  if (edns) {
    writeOpt(edns);
    ar++;
  }
  const flags = truncated ? msg.flags | TC_FLAG : msg.flags;
  out[2] = (flags >> 8) & 0xff;
  out[3] = flags & 0xff;
  setCount(4, msg.question.length);
  setCount(6, an);
  setCount(8, ns);
  setCount(10, ar);

  const result = Buffer.allocUnsafe(pos);
  if (pos <= 1024) {
    for (let k = 0; k < pos; k++) result[k] = out[k];
  } else {
    out.copy(result, 0, 0, pos);
  }
  return { bytes: result, truncated };
}
