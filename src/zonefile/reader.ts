/**
 * RFC 1035 master-file (zone file) reader, for the record types MCNS stores.
 *
 * Supports $ORIGIN, $TTL, "@", relative and absolute names, omitted owner (a line starting with
 * whitespace repeats the previous owner), omitted TTL and/or class (IN only, either order),
 * parentheses spanning lines, ";" comments, quoted strings and escapes (\", \DDD, \X).
 * All-or-nothing: any bad line makes parseZoneFile throw a ZoneFileError listing every bad line.
 */
import { RR_TYPES, type RData, type RRType } from '../records/types.ts';
import { NameError, absoluteName, isInZone, normalizeName } from '../records/names.ts';
import { RDataError, formatRData, parseRData, parseTtl } from '../records/rdata.ts';

/** A bad zone file; `errors` lists every bad line (1-based), the message is the first one. */
export class ZoneFileError extends Error {
  override name = 'ZoneFileError';
  /** Line of the first error. */
  readonly line: number;
  /** Every error found, in line order. */
  readonly errors: { line: number; message: string }[];

  constructor(errors: { line: number; message: string }[]) {
    super(`line ${errors[0].line}: ${errors[0].message}`);
    this.line = errors[0].line;
    this.errors = errors;
  }
}

/** One record read from a zone file. */
export interface ZoneFileRecord {
  /** Absolute, normalised owner name. */
  name: string;
  type: RRType;
  ttl: number;
  /** Canonical value (formatRData). */
  value: string;
  rdata: RData;
  /** 1-based line where the record starts. */
  line: number;
}

interface Token {
  raw: string;
  quoted: boolean;
}

/** A logical line: the tokens of one entry, possibly spanning physical lines within parentheses. */
interface Entry {
  line: number;
  indented: boolean;
  tokens: Token[];
  bad: boolean;
}

class LineError extends Error {}

const SUPPORTED = new Set<string>(RR_TYPES);
const CLASS_RE = /^(IN|CH|CHAOS|HS|HESIOD|CS|NONE|ANY|CLASS[0-9]+)$/i;
const KNOWN_UNSUPPORTED = new Set(
  (
    'HINFO DS DNSKEY RRSIG NSEC NSEC3 NSEC3PARAM CDS CDNSKEY SSHFP TLSA SMIMEA NAPTR LOC SPF DNAME ' +
    'SVCB HTTPS RP AFSDB CERT DHCID OPENPGPKEY URI ZONEMD KEY SIG NULL WKS MB MG MR MINFO X25 ISDN ' +
    'RT NSAP PX GPOS A6 APL IPSECKEY HIP EUI48 EUI64 TKEY TSIG KX NXT MD MF CSYNC L32 L64 LP NID'
  ).split(' '),
);

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

/** Split the text into entries; lexical errors are recorded and the entry is marked bad. */
function lex(text: string, errors: { line: number; message: string }[]): Entry[] {
  const entries: Entry[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let depth = 0;
  let entry: Entry | null = null;
  const fail = (at: number, message: string): void => {
    errors.push({ line: at, message });
    if (entry) entry.bad = true;
  };
  while (i <= n) {
    // Start of a physical line.
    if (depth === 0) {
      if (entry && (entry.tokens.length > 0 || entry.bad)) entries.push(entry);
      entry = { line, indented: i < n && isSpace(text.charCodeAt(i)), tokens: [], bad: false };
    }
    const cur = entry as Entry;
    // Scan the physical line.
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) break;
      if (isSpace(c)) {
        i++;
      } else if (c === 0x3b) {
        while (i < n && text.charCodeAt(i) !== 0x0a) i++;
      } else if (c === 0x28) {
        depth++;
        i++;
      } else if (c === 0x29) {
        if (depth === 0) fail(line, 'unbalanced ")"');
        else depth--;
        i++;
      } else if (c === 0x22) {
        let j = i + 1;
        while (j < n && text.charCodeAt(j) !== 0x22 && text.charCodeAt(j) !== 0x0a) {
          j += text.charCodeAt(j) === 0x5c && text.charCodeAt(j + 1) !== 0x0a ? 2 : 1;
        }
        if (j >= n || text.charCodeAt(j) !== 0x22) {
          fail(line, 'unterminated quoted string');
          i = j;
        } else {
          cur.tokens.push({ raw: text.slice(i + 1, j), quoted: true });
          i = j + 1;
        }
      } else {
        let j = i;
        let bad = false;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === 0x0a || isSpace(d) || d === 0x3b || d === 0x28 || d === 0x29) break;
          if (d === 0x22) {
            fail(line, `unexpected quote inside "${text.slice(i, j + 1)}" (escape it as \\")`);
            bad = true;
            break;
          }
          if (d === 0x5c) {
            if (j + 1 >= n || text.charCodeAt(j + 1) === 0x0a) {
              fail(line, 'backslash at end of line');
              bad = true;
              j++;
              break;
            }
            j += 2;
          } else {
            j++;
          }
        }
        if (bad) {
          while (j < n && text.charCodeAt(j) !== 0x0a) j++;
        } else {
          cur.tokens.push({ raw: text.slice(i, j), quoted: false });
        }
        i = j;
      }
    }
    if (i >= n) break;
    i++; // the newline
    line++;
  }
  if (entry && depth > 0) {
    errors.push({ line: entry.line, message: 'parenthesis "(" is never closed' });
    entry.bad = true;
  }
  if (entry && (entry.tokens.length > 0 || entry.bad)) entries.push(entry);
  return entries;
}

function showToken(t: Token): string {
  return t.quoted ? `"${t.raw}"` : t.raw;
}

function rdataText(tokens: Token[]): string {
  return tokens.map(showToken).join(' ');
}

function resolveName(tok: Token, origin: string, what: string): string {
  if (tok.quoted) throw new LineError(`${what} must not be a quoted string (${showToken(tok)})`);
  try {
    return absoluteName(tok.raw, origin);
  } catch (e) {
    if (e instanceof NameError) throw new LineError(`invalid ${what} "${tok.raw}": ${e.message}`);
    throw e;
  }
}

/**
 * Parse a zone file. `opts.origin` is the zone (and the initial $ORIGIN); records outside it are
 * errors. TTL default: $TTL, else the previous record's TTL, else `opts.defaultTtl`, else an error.
 * Throws ZoneFileError (listing every bad line) and never returns partial results.
 */
export function parseZoneFile(
  text: string,
  opts: { origin: string; defaultTtl?: number },
): { origin: string; records: ZoneFileRecord[] } {
  const zone = normalizeName(opts.origin);
  const errors: { line: number; message: string }[] = [];
  const records: ZoneFileRecord[] = [];
  let origin = zone;
  let dollarTtl: number | undefined;
  let prevTtl: number | undefined;
  let prevOwner: string | undefined;

  for (const entry of lex(text, errors)) {
    if (entry.bad) {
      // Keep the owner chain going so later indented lines are not blamed for this one.
      if (!entry.indented && entry.tokens.length > 0 && !entry.tokens[0].raw.startsWith('$')) {
        try {
          prevOwner = resolveName(entry.tokens[0], origin, 'owner name');
        } catch {
          prevOwner = zone;
        }
      }
      continue;
    }
    try {
      const toks = entry.tokens;
      const first = toks[0];
      if (!entry.indented && !first.quoted && first.raw.startsWith('$')) {
        const directive = first.raw.toUpperCase();
        if (directive === '$ORIGIN') {
          if (toks.length !== 2) throw new LineError('$ORIGIN needs exactly one name');
          origin = resolveName(toks[1], origin, '$ORIGIN name');
        } else if (directive === '$TTL') {
          if (toks.length !== 2) throw new LineError('$TTL needs exactly one TTL');
          dollarTtl = parseTtl(toks[1].raw);
        } else if (directive === '$INCLUDE') {
          throw new LineError('$INCLUDE is not supported (inline the included file)');
        } else if (directive === '$GENERATE') {
          throw new LineError('$GENERATE is not supported');
        } else {
          throw new LineError(`unknown directive "${first.raw}"`);
        }
        continue;
      }

      let k = 0;
      let owner: string;
      if (entry.indented) {
        if (prevOwner === undefined) throw new LineError('no owner name, and no previous record to take it from');
        owner = prevOwner;
      } else {
        // If the owner is bad, later indented lines are still checked (against the zone apex).
        prevOwner = zone;
        owner = resolveName(toks[k++], origin, 'owner name');
        prevOwner = owner;
      }

      let ttl: number | undefined;
      let sawClass = false;
      for (let round = 0; round < 2 && k < toks.length; round++) {
        const t = toks[k];
        if (t.quoted) break;
        if (ttl === undefined && /^[0-9]/.test(t.raw)) {
          ttl = parseTtl(t.raw);
          k++;
        } else if (!sawClass && CLASS_RE.test(t.raw)) {
          const cls = t.raw.toUpperCase();
          if (cls !== 'IN' && cls !== 'CLASS1') throw new LineError(`class ${cls} is not supported (only IN)`);
          sawClass = true;
          k++;
        } else {
          break;
        }
      }

      if (k >= toks.length) throw new LineError('missing record type');
      const typeTok = toks[k++];
      const typeName = typeTok.raw.toUpperCase();
      if (typeTok.quoted || !SUPPORTED.has(typeName)) {
        if (!typeTok.quoted && (KNOWN_UNSUPPORTED.has(typeName) || /^TYPE[0-9]+$/.test(typeName))) {
          throw new LineError(`record type ${typeName} is not supported by MCNS`);
        }
        if (!typeTok.quoted && CLASS_RE.test(typeTok.raw)) {
          throw new LineError(`expected a record type, got the class "${typeTok.raw}" again`);
        }
        if (!typeTok.quoted && /^[0-9]/.test(typeTok.raw)) {
          throw new LineError(`expected a record type, got "${typeTok.raw}" (a second TTL?)`);
        }
        throw new LineError(`unknown record type "${typeTok.raw}"`);
      }
      const type = typeName as RRType;

      if (!isInZone(owner, zone)) throw new LineError(`owner name "${owner}" is outside the zone "${zone}"`);

      const effectiveTtl = ttl ?? dollarTtl ?? prevTtl ?? opts.defaultTtl;
      if (effectiveTtl === undefined) {
        throw new LineError('no TTL for this record (give one, or add a $TTL directive before it)');
      }
      prevTtl = effectiveTtl;

      const rdata = parseRData(type, rdataText(toks.slice(k)), origin);
      records.push({ name: owner, type, ttl: effectiveTtl, value: formatRData(rdata), rdata, line: entry.line });
    } catch (e) {
      if (e instanceof LineError || e instanceof RDataError || e instanceof NameError) {
        errors.push({ line: entry.line, message: e.message });
      } else {
        throw e;
      }
    }
  }

  if (errors.length > 0) {
    errors.sort((a, b) => a.line - b.line);
    throw new ZoneFileError(errors);
  }
  return { origin: zone, records };
}
