/**
 * Presentation-format reading and writing shared by every type's codec: the tokenizer, character
 * strings and their escapes, numbers, durations, names, and the base64 / hex / base32hex encodings
 * of binary fields. Every error is an {@link RDataError} whose message names the field.
 */
import { NameError, absoluteName, normalizeName } from '../names.ts';

/** A malformed record value (or TTL); the message names the reason. */
export class RDataError extends Error {
  override name = 'RDataError';
}

/** One whitespace-separated token of a value; `raw` keeps escapes undecoded, without the quotes. */
export interface Token {
  raw: string;
  quoted: boolean;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Split a value into tokens: "quoted strings" (escapes kept) and bare words. With `keyValue`
 * (SVCB/HTTPS parameters, RFC 9460 A.1) a bare word may continue with a quoted value right after
 * its `=` (`alpn="h2,h3"`); the token then holds `key=` and the value without its quotes, marked quoted.
 */
export function tokenize(text: string, keyValue = false): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 0x22) {
      const j = closingQuote(text, i);
      out.push({ raw: text.slice(i + 1, j), quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    let token: Token | undefined;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (isSpace(d)) break;
      if (d === 0x22) {
        if (keyValue && j > i && text.charCodeAt(j - 1) === 0x3d) {
          const k = closingQuote(text, j);
          if (k + 1 < n && !isSpace(text.charCodeAt(k + 1))) {
            throw new RDataError(`unexpected "${text.slice(k + 1).split(/\s/)[0]}" after the quoted value of "${text.slice(i, j)}"`);
          }
          token = { raw: text.slice(i, j) + text.slice(j + 1, k), quoted: true };
          j = k + 1;
          break;
        }
        throw new RDataError(`unexpected quote inside "${text.slice(i, j + 1)}" (escape it as \\")`);
      }
      if (d === 0x5c) {
        if (j + 1 >= n) throw new RDataError(`trailing backslash in "${text.slice(i)}"`);
        j += 2;
      } else {
        j++;
      }
    }
    out.push(token ?? { raw: text.slice(i, j), quoted: false });
    i = j;
  }
  return out;
}

function closingQuote(text: string, open: number): number {
  let j = open + 1;
  while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
  if (j >= text.length) throw new RDataError(`unterminated quoted string ${text.slice(open)}`);
  return j;
}

const utf8 = new TextEncoder();

/** Decode a character-string's escapes (\DDD decimal, \X) into bytes; other non-ASCII text is UTF-8. */
export function decodeString(raw: string): Uint8Array {
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

/** The bytes of a character-string (RFC 1035 3.3): at most 255 octets. */
export function characterString(tok: Token, what: string): Uint8Array {
  const b = decodeString(tok.raw);
  if (b.length > 255) throw new RDataError(`${what} is longer than 255 octets (${b.length})`);
  return b;
}

/** Bytes as printable text: " and \ escaped, bytes outside 0x20..0x7e as \DDD (no quotes added). */
export function escapeBytes(bytes: Uint8Array, alsoEscape = ''): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b < 0x20 || b > 0x7e) out += '\\' + String(b).padStart(3, '0');
    else if (alsoEscape.length > 0 && alsoEscape.includes(String.fromCharCode(b))) out += '\\' + String.fromCharCode(b);
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Quote bytes as a canonical character-string: " and \ escaped, bytes outside 0x20..0x7e as \DDD. */
export function quoteBytes(bytes: Uint8Array): string {
  return `"${escapeBytes(bytes)}"`;
}

const DURATION_RE = /^(?:[0-9]+[wdhms])+$/i;
const UNIT_SECONDS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };

/** Seconds of an integer or BIND-style duration (1w2d3h4m5s), or null when malformed. */
export function durationSeconds(text: string): number | null {
  if (/^[0-9]+$/.test(text)) return Number(text);
  if (!DURATION_RE.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)([wdhms])/gi)) total += Number(m[1]) * UNIT_SECONDS[m[2].toLowerCase()];
  return total;
}

/** How names inside a value are made absolute: a zone-file origin, or a resolver (the API's rule). */
export type NameOrigin = string | ((raw: string) => string);

/** A token as it would be written back in an error message. */
function shown(tok: Token): string {
  return tok.quoted ? `"${tok.raw}"` : tok.raw;
}

/**
 * The tokens of one value, read field by field. A missing field is reported with the fields the
 * type expects; a token left over after the last field is reported as unexpected.
 */
export class FieldReader {
  private i = 0;
  constructor(
    readonly type: string,
    readonly toks: Token[],
    /** The fields of the type's value, for "incomplete" messages ("preference exchange"). */
    readonly fields: string,
    readonly origin: NameOrigin | undefined,
  ) {}

  /** Whether any token is left. */
  get more(): boolean {
    return this.i < this.toks.length;
  }

  /** The next token without consuming it. */
  peek(): Token | undefined {
    return this.toks[this.i];
  }

  /** The next token; a missing one is an incomplete value. */
  next(): Token {
    const t = this.toks[this.i];
    if (t === undefined) {
      throw new RDataError(`${this.type} value is incomplete: expected "${this.fields}", got ${this.toks.length} field(s)`);
    }
    this.i++;
    return t;
  }

  /** Every token not read yet (possibly none). */
  rest(): Token[] {
    const r = this.toks.slice(this.i);
    this.i = this.toks.length;
    return r;
  }

  /** The value has exactly `n` fields (checked before reading any, so a missing one is reported as such). */
  count(n: number): void {
    if (this.toks.length < n) {
      throw new RDataError(`${this.type} value is incomplete: expected "${this.fields}", got ${this.toks.length} field(s)`);
    }
    if (this.toks.length > n) {
      const saved = this.i;
      this.i = n;
      this.end();
      this.i = saved;
    }
  }

  /** Nothing may follow the last field. */
  end(): void {
    if (this.i < this.toks.length) {
      throw new RDataError(`unexpected ${JSON.stringify(shown(this.toks[this.i]))} after the ${this.type} value (expected "${this.fields}")`);
    }
  }

  /** An unsigned decimal integer field 0..max. */
  uint(what: string, max: number): number {
    return parseUint(this.next(), max, `${this.type} ${what}`);
  }

  /** A domain name field, made absolute per the origin rule. */
  name(what: string): string {
    return parseName(this.next(), this.origin, `${this.type} ${what}`);
  }

  /** A character-string field. */
  string(what: string): Uint8Array {
    return characterString(this.next(), `${this.type} ${what}`);
  }

  /** The rest of the value as base64 (whitespace allowed between chunks, RFC 4034 2.2); at least one token. */
  base64Rest(what: string, allowEmpty = false): Uint8Array {
    const toks = this.rest();
    if (toks.length === 0) {
      if (allowEmpty) return new Uint8Array(0);
      throw new RDataError(`${this.type} value is incomplete: expected "${this.fields}" (${what} is missing)`);
    }
    return parseBase64(toks.map((t) => t.raw).join(''), `${this.type} ${what}`);
  }

  /** The rest of the value as hex (whitespace allowed between chunks); at least one token unless allowEmpty. */
  hexRest(what: string, allowEmpty = false): Uint8Array {
    const toks = this.rest();
    if (toks.length === 0) {
      if (allowEmpty) return new Uint8Array(0);
      throw new RDataError(`${this.type} value is incomplete: expected "${this.fields}" (${what} is missing)`);
    }
    return parseHex(toks.map((t) => t.raw).join(''), `${this.type} ${what}`);
  }
}

/** An unsigned decimal integer 0..max; the message names `what`. */
export function parseUint(tok: Token, max: number, what: string): number {
  if (tok.quoted || !/^[0-9]+$/.test(tok.raw) || Number(tok.raw) > max) {
    throw new RDataError(`${what} must be an integer 0..${max} (got "${tok.raw}")`);
  }
  return Number(tok.raw);
}

/** A domain name, made absolute against `origin` (or taken as absolute when there is none). */
export function parseName(tok: Token, origin: NameOrigin | undefined, what: string): string {
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

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (RFC 4648 4, padding required); the message names `what`. */
export function parseBase64(text: string, what: string): Uint8Array {
  if (!BASE64_RE.test(text)) {
    const bad = /[^A-Za-z0-9+/=]/.exec(text);
    const why = bad ? `character "${bad[0]}" is not base64` : 'length or padding is wrong';
    throw new RDataError(`${what} is not valid base64 (${why})`);
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Base64 text of bytes (no line breaks). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

/** Hex digits (either case, an even number of them); the message names `what`. */
export function parseHex(text: string, what: string): Uint8Array {
  const bad = /[^0-9a-fA-F]/.exec(text);
  if (bad) throw new RDataError(`${what} is not valid hex (character "${bad[0]}")`);
  if (text.length % 2 !== 0) throw new RDataError(`${what} is not valid hex (odd number of digits: ${text.length})`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Upper-case hex of bytes (as BIND writes digests and generic data). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex').toUpperCase();
}

const BASE32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

/** Base32hex without padding (RFC 4648 7), as NSEC3 writes hashed owner names; the message names `what`. */
export function parseBase32Hex(text: string, what: string): Uint8Array {
  const upper = text.toUpperCase();
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of upper) {
    const v = BASE32HEX.indexOf(ch);
    if (v < 0) throw new RDataError(`${what} is not valid base32hex (character "${ch}")`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  // Left-over bits must be zero padding of a whole number of bytes (1, 3, 4, 6 or 7 characters over).
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) throw new RDataError(`${what} is not valid base32hex (length ${text.length} does not encode whole bytes)`);
  return Uint8Array.from(out);
}

/** Base32hex text of bytes, upper case, without padding. */
export function toBase32Hex(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32HEX[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32HEX[(acc << (5 - bits)) & 31];
  return out;
}
