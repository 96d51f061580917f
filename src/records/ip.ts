/**
 * IP addresses, in one place: the byte parsers the answer path writes A/AAAA rdata with, the
 * canonical text forms the ledger stores (RFC 5952 for IPv6), and the client-prefix keys the
 * per-client limits count by (RRL, TCP, failed authentications). Access lists match with Node's
 * net.BlockList (transfer/acl.ts); nothing else parses an address by hand.
 */
import { isIPv6 } from 'node:net';

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses dotted-quad s[start..end) into out[off..off+4). Returns false if not a valid IPv4 address. */
export function parseIPv4(s: string, start: number, end: number, out: Uint8Array, off: number): boolean {
  let part = 0;
  let i = start;
  while (part < 4) {
    let v = 0;
    let digits = 0;
    while (i < end) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || v > 255) return false;
    out[off + part] = v;
    part++;
    if (part < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return false;
      i++;
    }
  }
  return i === end;
}

const ipv6Words = new Uint16Array(8);

/** Parses an IPv6 address (with `::` and embedded IPv4) into out[off..off+16). */
export function parseIPv6(s: string, out: Uint8Array, off: number): boolean {
  const len = s.length;
  if (len < 2 || len > 45) return false;
  let n = 0;
  let gap = -1; // index in ipv6Words where "::" sits
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (n >= 8) return false;
    let j = i;
    let v = 0;
    while (j < len && j - i < 5) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < len && s.charCodeAt(j) === 46) {
      // Embedded IPv4: must be the final two words.
      if (n > 6) return false;
      const b = ipv6V4Scratch;
      if (!parseIPv4(s, i, len, b, 0)) return false;
      ipv6Words[n++] = (b[0] << 8) | b[1];
      ipv6Words[n++] = (b[2] << 8) | b[3];
      break;
    }
    if (j === i || j - i > 4) return false;
    ipv6Words[n++] = v;
    i = j;
    if (i === len) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i === len) return false; // trailing single colon
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    }
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else if (n > 7) {
    return false;
  }
  const zeros = 8 - n;
  for (let k = 0, w = 0; k < 8; k++) {
    let word: number;
    if (gap >= 0 && k >= gap && k < gap + zeros) word = 0;
    else word = ipv6Words[w++];
    out[off + 2 * k] = word >> 8;
    out[off + 2 * k + 1] = word & 0xff;
  }
  return true;
}
const ipv6V4Scratch = new Uint8Array(4);

/** IPv4 dotted-quad text to 4 bytes. Throws RangeError if invalid. */
export function ipv4ToBytes(address: string): Uint8Array {
  const out = new Uint8Array(4);
  if (!parseIPv4(address, 0, address.length, out, 0)) throw new RangeError(`invalid IPv4 address ${JSON.stringify(address)}`);
  return out;
}

/** IPv6 text (RFC 4291 section 2.2 forms, incl. `::` and embedded IPv4) to 16 bytes. Throws RangeError if invalid. */
export function ipv6ToBytes(address: string): Uint8Array {
  const out = new Uint8Array(16);
  if (!parseIPv6(address, out, 0)) throw new RangeError(`invalid IPv6 address ${JSON.stringify(address)}`);
  return out;
}

/** `text` when it is a dotted quad without leading zeros (the canonical IPv4 form), else null. */
export function canonicalIPv4(text: string): string | null {
  // By hand: every A record of an import comes through here (same answers as the regex below,
  // which is kept as the definition: test/records/ip-canonical.test.ts compares them).
  const n = text.length;
  if (n < 7 || n > 15) return null;
  let parts = 0;
  let i = 0;
  while (i < n) {
    const start = i;
    let v = 0;
    while (i < n) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && text.charCodeAt(start) === 48)) return null;
    parts++;
    if (i === n) break;
    if (text.charCodeAt(i) !== 46 || parts === 4) return null;
    i++;
    if (i === n) return null;
  }
  return parts === 4 ? text : null;
}

/** The definition canonicalIPv4 implements by hand (exported for its test). */
export function canonicalIPv4ByRegex(text: string): string | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  for (let k = 1; k <= 4; k++) {
    const part = m[k];
    if ((part.length > 1 && part[0] === '0') || Number(part) > 255) return null;
  }
  return text;
}

/**
 * The 8 groups of an address written with hex digits and colons only (no embedded IPv4, no zone
 * index), parsed by hand; null when such text is not an address; undefined for any other text
 * (which the general parser below reads). Every AAAA record of an import comes through here.
 */
function hexOnlyGroups(text: string): number[] | null | undefined {
  const n = text.length;
  if (n < 2 || n > 39) return undefined;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let v = 0;
    const start = i;
    while (i < n) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
    }
    if (i < n && text.charCodeAt(i) !== 58) return undefined;
    if (i === start || i - start > 4) return null;
    groups.push(v);
    if (groups.length > 8) return null;
    if (i === n) break;
    i++; // ":"
    if (i === n) return null; // a single trailing colon
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i++;
    }
  }
  if (gap < 0) return groups.length === 8 ? groups : null;
  if (groups.length > 7) return null;
  return [...groups.slice(0, gap), ...new Array<number>(8 - groups.length).fill(0), ...groups.slice(gap)];
}

/** Canonical (RFC 5952) text of an IPv6 address, or null if it is not one. */
export function canonicalIPv6(text: string): string | null {
  const fast = hexOnlyGroups(text);
  if (fast === null) return null;
  if (fast !== undefined) return formatIPv6Groups(fast);
  return canonicalIPv6General(text);
}

/** canonicalIPv6 through node's isIPv6 and a split (every form; exported for the test that compares the two). */
export function canonicalIPv6General(text: string): string | null {
  if (!isIPv6(text) || text.includes('%')) return null;
  const lower = text.toLowerCase();
  const toGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let k = 0; k < pieces.length; k++) {
      const p = pieces[k];
      if (p.includes('.')) {
        if (k !== pieces.length - 1) return null;
        const v4 = canonicalIPv4(p);
        if (!v4) return null;
        const o = v4.split('.').map(Number);
        groups.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(p)) return null;
        groups.push(parseInt(p, 16));
      }
    }
    return groups;
  };
  const dbl = lower.indexOf('::');
  let groups: number[];
  if (dbl >= 0) {
    const head = toGroups(lower.slice(0, dbl));
    const tail = toGroups(lower.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = toGroups(lower);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  return formatIPv6Groups(groups);
}

/** RFC 5952 text of 8 groups: lowercase, no leading zeros, the longest run of zero groups as "::". */
function formatIPv6Groups(groups: number[]): string {
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 section 5).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && groups[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Writes the 16 bytes of `address` into `out` (IPv4 as IPv4-mapped IPv6, a zone index ignored) and
 * returns 4 for IPv4 (IPv4-mapped IPv6 included), 6 for IPv6, 0 when it is not an address. No
 * allocation for an address without a zone index: the per-query limits (RRL) call it per answer.
 */
export function addressInto(address: string, out: Uint8Array): 0 | 4 | 6 {
  const pct = address.indexOf('%');
  const a = pct >= 0 ? address.slice(0, pct) : address;
  if (parseIPv4(a, 0, a.length, out, 12)) {
    out.fill(0, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    return 4;
  }
  if (!parseIPv6(a, out, 0)) return 0;
  for (let i = 0; i < 10; i++) if (out[i] !== 0) return 6;
  return out[10] === 0xff && out[11] === 0xff ? 4 : 6;
}

/** The 16 bytes of `address` (IPv4 as IPv4-mapped IPv6, a zone index dropped), or undefined when it is not an address. */
export function addressBytes(address: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  return addressInto(address, out) === 0 ? undefined : out;
}

/**
 * The prefix a client is counted under: its IPv4 address cut to `v4Bits` ("192.0.2.0/24"), or its
 * IPv6 address cut to `v6Bits` ("2001:db8:aa00::/56"); an IPv4-mapped IPv6 address counts as IPv4.
 * Undefined for text that is not an address.
 */
export function clientPrefix(address: string, v4Bits: number, v6Bits: number): string | undefined {
  const b = new Uint8Array(16);
  const family = addressInto(address, b);
  if (family === 0) return undefined;
  const v4 = family === 4;
  const bits = v4 ? v4Bits : v6Bits;
  const from = v4 ? 12 : 0;
  const masked = Uint8Array.from(b);
  for (let i = from; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - (i - from) * 8));
    masked[i] &= (0xff << (8 - keep)) & 0xff;
  }
  if (v4) return `${masked[12]}.${masked[13]}.${masked[14]}.${masked[15]}/${bits}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((masked[i] << 8) | masked[i + 1]).toString(16));
  return `${canonicalIPv6(groups.join(':'))}/${bits}`;
}
