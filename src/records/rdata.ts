/**
 * Record values: parse the presentation text of one record's RDATA into {@link RData}, and format
 * RData back into canonical presentation text (names absolute and lowercase, TXT and CAA values
 * quoted, numbers in plain decimal, AAAA in RFC 5952 form).
 */
import { canonicalIPv4, canonicalIPv6 } from './ip.ts';
import { MAX_TTL, type RData, type RRType } from './types.ts';
import { NameError, absoluteName, normalizeName } from './names.ts';

/** A malformed record value (or TTL); the message names the reason. */
export class RDataError extends Error {
  override name = 'RDataError';
}

const U32_MAX = 4294967295;

/** One whitespace-separated token of a value; `raw` keeps escapes undecoded, without the quotes. */
interface Token {
  raw: string;
  quoted: boolean;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    if (c === 0x22) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      if (j >= n) throw new RDataError(`unterminated quoted string ${text.slice(i)}`);
      out.push({ raw: text.slice(i + 1, j), quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d === 0x20 || d === 0x09 || d === 0x0a || d === 0x0d) break;
      if (d === 0x22) throw new RDataError(`unexpected quote inside "${text.slice(i, j + 1)}" (escape it as \\")`);
      if (d === 0x5c) {
        if (j + 1 >= n) throw new RDataError(`trailing backslash in "${text.slice(i)}"`);
        j += 2;
      } else {
        j++;
      }
    }
    out.push({ raw: text.slice(i, j), quoted: false });
    i = j;
  }
  return out;
}

const utf8 = new TextEncoder();

/** Decode a character-string's escapes (\DDD decimal, \X) into bytes; other non-ASCII text is UTF-8. */
function decodeString(raw: string): Uint8Array {
  let ascii = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x5c || c > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  const bytes: number[] = [];
  let i = 0;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (c === 0x5c) {
      const d = raw.charCodeAt(i + 1);
      if (Number.isNaN(d)) throw new RDataError(`trailing backslash in "${raw}"`);
      if (d >= 0x30 && d <= 0x39) {
        const digits = raw.slice(i + 1, i + 4);
        if (!/^[0-9]{3}$/.test(digits) || Number(digits) > 255) {
          throw new RDataError(`invalid escape "\\${digits}" in "${raw}" (\\DDD must be 000..255)`);
        }
        bytes.push(Number(digits));
        i += 4;
        continue;
      }
      i += 1;
    }
    // One code point (a literal or the escaped character), UTF-8 encoded.
    const cp = raw.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    if (cp < 0x80) bytes.push(cp);
    else for (const b of utf8.encode(ch)) bytes.push(b);
    i += ch.length;
  }
  return Uint8Array.from(bytes);
}

/** Quote bytes as a canonical character-string: " and \ escaped, bytes outside 0x20..0x7e as \DDD. */
function quoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b < 0x20 || b > 0x7e) out += '\\' + String(b).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out + '"';
}


const DURATION_RE = /^(?:[0-9]+[wdhms])+$/i;
const UNIT_SECONDS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };

/** Seconds of an integer or BIND-style duration (1w2d3h4m5s), or null when malformed. */
function durationSeconds(text: string): number | null {
  if (/^[0-9]+$/.test(text)) return Number(text);
  if (!DURATION_RE.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)([wdhms])/gi)) total += Number(m[1]) * UNIT_SECONDS[m[2].toLowerCase()];
  return total;
}

/** A TTL: integer seconds or BIND units (1w2d3h4m5s, case-insensitive), 0..MAX_TTL. Throws RDataError. */
export function parseTtl(text: string): number {
  const s = durationSeconds(text);
  if (s === null) throw new RDataError(`invalid TTL "${text}" (use seconds or units like 1h30m)`);
  if (s > MAX_TTL) throw new RDataError(`TTL "${text}" is larger than ${MAX_TTL} seconds`);
  return s;
}

function parseUint(tok: Token, max: number, what: string): number {
  if (tok.quoted || !/^[0-9]+$/.test(tok.raw) || Number(tok.raw) > max) {
    throw new RDataError(`${what} must be an integer 0..${max} (got "${tok.raw}")`);
  }
  return Number(tok.raw);
}

function parseSoaTime(tok: Token, what: string): number {
  const s = tok.quoted ? null : durationSeconds(tok.raw);
  if (s === null || s > U32_MAX) {
    throw new RDataError(`${what} must be 0..${U32_MAX} seconds or a duration like 1h (got "${tok.raw}")`);
  }
  return s;
}

/** How names inside a value are made absolute: a zone-file origin, or a resolver (the API's rule). */
export type NameOrigin = string | ((raw: string) => string);

function parseName(tok: Token, origin: NameOrigin | undefined, what: string): string {
  if (tok.quoted) throw new RDataError(`${what} must be a domain name, not a quoted string ("${tok.raw}")`);
  try {
    if (typeof origin === 'function') return origin(tok.raw);
    if (origin !== undefined) return absoluteName(tok.raw, origin);
    if (tok.raw === '@') throw new RDataError(`${what} "@" needs a zone origin; write the name in full`);
    return normalizeName(tok.raw);
  } catch (e) {
    if (e instanceof NameError) throw new RDataError(`invalid ${what} "${tok.raw}": ${e.message}`);
    throw e;
  }
}

const FIELDS: Record<RRType, string> = {
  A: 'address',
  AAAA: 'address',
  CNAME: 'target',
  NS: 'target',
  PTR: 'target',
  MX: 'preference exchange',
  TXT: '"string" ...',
  SRV: 'priority weight port target',
  CAA: 'flags tag value',
  SOA: 'mname rname serial refresh retry expire minimum',
};

function expectCount(type: RRType, toks: Token[], n: number): void {
  if (toks.length < n) {
    throw new RDataError(`${type} value is incomplete: expected "${FIELDS[type]}", got ${toks.length} field(s)`);
  }
  if (toks.length > n) {
    const extra = toks[n].quoted ? `"${toks[n].raw}"` : toks[n].raw;
    throw new RDataError(`unexpected ${JSON.stringify(extra)} after the ${type} value (expected "${FIELDS[type]}")`);
  }
}

/**
 * Parse the presentation value of one record. With `origin` (zone files) relative names in the
 * value are resolved against it and "@" is the origin; without it (the API) every name is taken
 * as absolute ("mail.example.com" == "mail.example.com."). Throws RDataError.
 */
export function parseRData(type: RRType, text: string, origin?: NameOrigin): RData {
  const toks = tokenize(text);
  switch (type) {
    case 'A': {
      expectCount(type, toks, 1);
      const addr = toks[0].quoted ? null : canonicalIPv4(toks[0].raw);
      if (addr === null) throw new RDataError(`invalid IPv4 address "${toks[0].raw}"`);
      return { type, address: addr };
    }
    case 'AAAA': {
      expectCount(type, toks, 1);
      const addr = toks[0].quoted ? null : canonicalIPv6(toks[0].raw);
      if (addr === null) throw new RDataError(`invalid IPv6 address "${toks[0].raw}"`);
      return { type, address: addr };
    }
    case 'CNAME':
    case 'NS':
    case 'PTR':
      expectCount(type, toks, 1);
      return { type, target: parseName(toks[0], origin, `${type} target`) };
    case 'MX':
      expectCount(type, toks, 2);
      return {
        type,
        preference: parseUint(toks[0], 65535, 'MX preference'),
        exchange: parseName(toks[1], origin, 'MX exchange'),
      };
    case 'TXT': {
      if (toks.length === 0) throw new RDataError('TXT value needs at least one string (use "" for an empty one)');
      const strings = toks.map((t) => decodeString(t.raw));
      for (const s of strings) {
        if (s.length > 255) throw new RDataError(`TXT string is longer than 255 octets (${s.length}); split it into several strings`);
      }
      return { type, strings };
    }
    case 'SRV':
      expectCount(type, toks, 4);
      return {
        type,
        priority: parseUint(toks[0], 65535, 'SRV priority'),
        weight: parseUint(toks[1], 65535, 'SRV weight'),
        port: parseUint(toks[2], 65535, 'SRV port'),
        target: parseName(toks[3], origin, 'SRV target'),
      };
    case 'CAA': {
      expectCount(type, toks, 3);
      const flags = parseUint(toks[0], 255, 'CAA flags');
      const tag = toks[1].raw;
      if (toks[1].quoted || !/^[a-z0-9]{1,15}$/i.test(tag)) {
        throw new RDataError(`CAA tag must be 1..15 letters or digits (got "${tag}")`);
      }
      return { type, flags, tag: tag.toLowerCase(), value: decodeString(toks[2].raw) };
    }
    case 'SOA': {
      expectCount(type, toks, 7);
      const mname = parseName(toks[0], origin, 'SOA mname');
      if (!toks[1].quoted && /^[^\\@]+@/.test(toks[1].raw)) {
        throw new RDataError(`SOA rname must be a domain name (write "admin.example.com.", not "admin@example.com")`);
      }
      const rname = parseName(toks[1], origin, 'SOA rname');
      return {
        type,
        mname,
        rname,
        serial: parseUint(toks[2], U32_MAX, 'SOA serial'),
        refresh: parseSoaTime(toks[3], 'SOA refresh'),
        retry: parseSoaTime(toks[4], 'SOA retry'),
        expire: parseSoaTime(toks[5], 'SOA expire'),
        minimum: parseSoaTime(toks[6], 'SOA minimum'),
      };
    }
    default: {
      const t: never = type;
      throw new RDataError(`unsupported record type "${String(t)}"`);
    }
  }
}

/** Canonical presentation text of a value: absolute names, quoted TXT/CAA strings, plain numbers. */
export function formatRData(rdata: RData): string {
  switch (rdata.type) {
    case 'A':
    case 'AAAA':
      return rdata.address;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return rdata.target;
    case 'MX':
      return `${rdata.preference} ${rdata.exchange}`;
    case 'TXT':
      return rdata.strings.map(quoteBytes).join(' ');
    case 'SRV':
      return `${rdata.priority} ${rdata.weight} ${rdata.port} ${rdata.target}`;
    case 'CAA':
      return `${rdata.flags} ${rdata.tag} ${quoteBytes(rdata.value)}`;
    case 'SOA':
      return `${rdata.mname} ${rdata.rname} ${rdata.serial} ${rdata.refresh} ${rdata.retry} ${rdata.expire} ${rdata.minimum}`;
  }
}

/** Canonical text of a presentation value: formatRData(parseRData(type, text, origin)). */
export function canonicalValue(type: RRType, text: string, origin?: NameOrigin): string {
  return formatRData(parseRData(type, text, origin));
}

/** True when two values are the same record data (their canonical forms are equal). */
export function rdataEquals(a: RData, b: RData): boolean {
  return a.type === b.type && formatRData(a) === formatRData(b);
}
