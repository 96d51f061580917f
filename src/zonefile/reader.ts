/**
 * RFC 1035 master-file (zone file) reader, as BIND operators write them.
 *
 * Supports $ORIGIN, $TTL, $INCLUDE (relative to the including file, at most
 * {@link MAX_INCLUDE_DEPTH} deep, only when the text was read from a file), BIND's $GENERATE
 * (src/zonefile/generate.ts), "@", relative and absolute names, omitted owner (a line starting with
 * white space repeats the previous owner), omitted TTL and/or class (IN only, either order),
 * parentheses spanning lines, ";" comments, quoted strings and escapes, and every record type the
 * records module knows, plus RFC 3597 `TYPEnnn \# len hex`. The value of each record is handed to
 * the records module (parseRData) as text: no type-specific logic lives here.
 *
 * TTLs follow BIND: $TTL when given, else the previous record's TTL (RFC 1035), else, for an SOA
 * with no TTL, its minimum becomes the default (with a warning). An RRset has one TTL (RFC 2181
 * 5.2): a later record of the same owner and type with another TTL takes the first one, with a
 * warning, as named-checkzone does. (named-checkzone does so within one run of lines of an owner;
 * for an RRset split across the file it silently keeps the last TTL. Here the first always wins.)
 *
 * Owner names are stored lowercase (DNS names compare case-insensitively, and the ledger keys
 * records by name), so `WebMail` in a file is exported as `webmail`.
 *
 * All-or-nothing: any bad line makes parseZoneFile throw a ZoneFileError listing the first
 * {@link MAX_ERRORS} errors, each with its line (and file, inside an $INCLUDE).
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseRRType, type RData, type RRType } from '../records/types.ts';
import { NameError, absoluteName, isInZone, normalizeName } from '../records/names.ts';
import { RDataError, formatRData, parseRData, parseRDataTokens, parseTtl } from '../records/rdata.ts';
import { GenerateError, MAX_GENERATED_PER_FILE, parseRange, rangeCount, rangeValues, rhsTemplate, substitute } from './generate.ts';
import { lexEntries, showToken, tokensText, type Entry, type Token } from './lexer.ts';
import { StringTable } from './string-table.ts';
import { rdataWireLength } from '../records/wire-size.ts';

/** Deepest chain of $INCLUDEs (the top file is depth 0). */
export const MAX_INCLUDE_DEPTH = 8;
/** Errors listed before the reader stops collecting them. */
export const MAX_ERRORS = 100;

/** An error or warning: its line, and the file when it is not the top one (as named from the top file's directory). */
export interface ZoneFileProblem {
  line: number;
  message: string;
  file?: string;
}

/** "line 3: ..." or "inc/hosts.zone line 3: ...". */
export function formatProblem(p: ZoneFileProblem): string {
  return `${p.file === undefined ? '' : `${p.file} `}line ${p.line}: ${p.message}`;
}

/** A bad zone file; `errors` lists every error found (at most MAX_ERRORS), the message all of them, one a line. */
export class ZoneFileError extends Error {
  override name = 'ZoneFileError';
  /** Line of the first error. */
  readonly line: number;
  /** Every error found, in file order. */
  readonly errors: ZoneFileProblem[];
  /** More errors followed the ones listed. */
  readonly truncated: boolean;

  constructor(errors: ZoneFileProblem[], truncated = false) {
    const lines = errors.map(formatProblem);
    if (truncated) lines.push(`(stopped after ${errors.length} errors)`);
    super(lines.join('\n'));
    this.line = errors[0].line;
    this.errors = errors;
    this.truncated = truncated;
  }
}

/**
 * One record read from a zone file. Its value was parsed and written back in canonical form
 * (formatRData), so decide takes a ZoneFileRecord's value as checked, with its RDATA length, instead
 * of parsing it a second time (readImport hands these very objects over as the desired records).
 * Fields are readonly: a changed value would no longer be the one that was checked. The parsed value
 * itself is not kept (only the SOA's): a million-record file would hold a million objects more (an
 * array of strings per TXT) until the whole file is read.
 */
export class ZoneFileRecord {
  constructor(
    /** Absolute, normalised (lowercase) owner name. */
    readonly name: string,
    readonly type: RRType,
    readonly ttl: number,
    /** Canonical value (formatRData). */
    readonly value: string,
    /** Length of the value's RDATA on the wire. */
    readonly rdataLength: number,
    /** 1-based line where the record starts (for a $GENERATE, the directive's line). */
    readonly line: number,
    /** The included file it came from (see ZoneFileProblem.file); undefined for the top file. */
    readonly file: string | undefined,
    /** The SOA's parsed value (the zone's parameters); undefined for every other type. */
    readonly soa: Extract<RData, { type: 'SOA' }> | undefined,
  ) {}
}

/**
 * A zone file's text from a path or a file descriptor (0: stdin), as UTF-8 (malformed bytes become
 * U+FFFD). Read into a buffer and decoded from it: readFileSync(path, 'utf8') took twice as long
 * (0.9 against 0.4 s for the 1M-name benchmark file, 72 MB) for the same string.
 */
export function readZoneText(from: string | number): string {
  return readFileSync(from).toString('utf8');
}

/** How to read a zone file. */
export interface ZoneFileOptions {
  /** The zone (and the initial $ORIGIN); records outside it are errors. */
  origin: string;
  /** TTL of a record when no $TTL, previous TTL or SOA minimum gives one (otherwise an error). */
  defaultTtl?: number;
  /**
   * The path the text was read from: $INCLUDE names are relative to its directory. Without it
   * (API imports, which carry one self-contained file) $INCLUDE is refused.
   */
  path?: string;
  /** Reads an included file (default: UTF-8 from disk). */
  readFile?: (path: string) => string;
}

/** What parseZoneFile returns: the records and the warnings (nothing refused, but worth saying). */
export interface ParsedZoneFile {
  origin: string;
  records: ZoneFileRecord[];
  warnings: ZoneFileProblem[];
}

/** A bad entry; the message is reported with the entry's line. */
class LineError extends Error {}

const CLASS_RE = /^(IN|CH|CHAOS|HS|HESIOD|CS|NONE|ANY|CLASS[0-9]+)$/i;
/** Mnemonics other servers know that MCNS has no codec for (they can still be written as TYPEnnn). */
const OTHER_MNEMONICS = new Set(
  (
    'SPF AFSDB DHCID ZONEMD KEY SIG NULL WKS MB MG MR MINFO X25 ISDN RT NSAP PX GPOS A6 APL IPSECKEY ' +
    'HIP EUI48 EUI64 TKEY TSIG KX NXT MD MF CSYNC L32 L64 LP NID TA DLV AXFR IXFR MAILA MAILB OPT'
  ).split(' '),
);

/** The error for a token that should have been a record type. */
function badType(tok: Token): LineError {
  const upper = tok.raw.toUpperCase();
  if (!tok.quoted) {
    if (/^TYPE[0-9]+$/.test(upper)) return new LineError(`record type ${upper} is not a data type MCNS can store`);
    if (OTHER_MNEMONICS.has(upper)) {
      return new LineError(`record type ${upper} is not supported by MCNS (write it in RFC 3597 form: TYPEnnn \\# length hex)`);
    }
    if (CLASS_RE.test(tok.raw)) return new LineError(`expected a record type, got the class "${tok.raw}" again`);
    if (/^[0-9]/.test(tok.raw)) return new LineError(`expected a record type, got "${tok.raw}" (a second TTL?)`);
  }
  return new LineError(`unknown record type "${showToken(tok)}"`);
}

function resolveName(tok: Token, origin: string, what: string): string {
  if (tok.quoted) throw new LineError(`${what} must not be a quoted string (${showToken(tok)})`);
  return resolveText(tok.raw, origin, what);
}

function resolveText(raw: string, origin: string, what: string): string {
  try {
    return absoluteName(raw, origin);
  } catch (e) {
    if (e instanceof NameError) throw new LineError(`invalid ${what} "${raw}": ${e.message}`);
    throw e;
  }
}

/** The optional TTL and class before a record's type, in either order; `k` moves past them. */
function ttlAndClass(toks: Token[], start: number): { ttl?: number; next: number } {
  let k = start;
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
  return { ttl, next: k };
}

/** Where an entry is being read: one file of the $INCLUDE chain. */
interface FileContext {
  /** Name in messages (undefined for the top file). */
  label?: string;
  /** Absolute path, when the text came from disk. */
  path?: string;
  /** Paths of this file and the files that included it, outermost first. */
  chain: string[];
  origin: string;
  /** Owner of the previous record, for entries that start with white space. */
  prevOwner?: string;
}

/** The state of one parse, shared by the top file and its includes. */
class ZoneReader {
  readonly zone: string;
  readonly records: ZoneFileRecord[] = [];
  readonly errors: ZoneFileProblem[] = [];
  readonly warnings: ZoneFileProblem[] = [];
  truncated = false;
  private readonly opts: ZoneFileOptions;
  /** Directory the messages name included files from (the top file's). */
  private readonly topDir?: string;
  /** $TTL (or the SOA minimum standing in for it). */
  private dollarTtl?: number;
  /** TTL of the previous record (RFC 1035 semantics when there is no $TTL). */
  private prevTtl?: number;
  private warnedRfc1035 = false;
  /** Where the SOA record was read ("line 3"), once it was. */
  private soaAt?: string;
  /** Records the $GENERATE directives have asked for so far (see MAX_GENERATED_PER_FILE). */
  private generated = 0;
  /**
   * Each RRset's first record, whose TTL is the RRset's: `ownerFirst` maps an owner to the index (in
   * `records`) of its first RRset's first record, and `nextRRset[i]` links that record to the first
   * record of the owner's next RRset (-1: none). Keyed by the owner string alone, so a million-record
   * file does not build a million "owner+type" keys.
   */
  private readonly ownerFirst = new StringTable<number>();
  private readonly nextRRset: number[] = [];
  /** The owner of the last rrsetOrLink call and the index of its first RRset's first record. */
  private lastOwner?: string;
  private lastOwnerFirst = -1;

  constructor(opts: ZoneFileOptions) {
    this.opts = opts;
    this.zone = normalizeName(opts.origin);
    if (opts.path !== undefined) this.topDir = dirname(resolve(opts.path));
  }

  error(ctx: FileContext, line: number, message: string): void {
    if (this.errors.length >= MAX_ERRORS) {
      this.truncated = true;
      return;
    }
    this.errors.push(ctx.label === undefined ? { line, message } : { line, message, file: ctx.label });
  }

  warn(ctx: FileContext, line: number, message: string): void {
    this.warnings.push(ctx.label === undefined ? { line, message } : { line, message, file: ctx.label });
  }

  /** Read one file's text (the top file, or an included one) in context `ctx`. */
  readText(text: string, ctx: FileContext): void {
    for (const entry of lexEntries(text)) {
      if (this.truncated) return;
      if (entry.errors) {
        for (const e of entry.errors) this.error(ctx, e.line, e.message);
        this.keepOwnerChain(entry, ctx);
        continue;
      }
      try {
        this.readEntry(entry, ctx);
      } catch (e) {
        if (e instanceof LineError || e instanceof RDataError || e instanceof NameError || e instanceof GenerateError) {
          this.error(ctx, entry.line, e.message);
        } else {
          throw e;
        }
      }
    }
  }

  /** After a bad entry, keep the owner chain going so later indented lines are not blamed for it. */
  private keepOwnerChain(entry: Entry, ctx: FileContext): void {
    if (entry.indented || entry.tokens.length === 0 || entry.tokens[0].raw.startsWith('$')) return;
    try {
      ctx.prevOwner = resolveName(entry.tokens[0], ctx.origin, 'owner name');
    } catch {
      ctx.prevOwner = this.zone;
    }
  }

  private readEntry(entry: Entry, ctx: FileContext): void {
    const toks = entry.tokens;
    const first = toks[0];
    if (!entry.indented && !first.quoted && first.raw.startsWith('$')) {
      this.directive(entry, ctx);
      return;
    }
    let owner: string;
    let k = 0;
    if (entry.indented) {
      if (ctx.prevOwner === undefined) throw new LineError('no owner name, and no previous record to take it from');
      owner = ctx.prevOwner;
    } else {
      // If the owner is bad, later indented lines are still checked (against the zone apex).
      ctx.prevOwner = this.zone;
      owner = resolveName(toks[k++], ctx.origin, 'owner name');
      ctx.prevOwner = owner;
    }
    const { ttl, next } = ttlAndClass(toks, k);
    k = next;
    if (k >= toks.length) throw new LineError('missing record type');
    const type = toks[k].quoted ? undefined : parseRRType(toks[k].raw);
    if (type === undefined) throw badType(toks[k]);
    const value = toks.slice(k + 1);
    // Tokens without quotes or backslashes inside read the same whether handed over as they are or
    // written back as text for the records module to split again: handed over (most records).
    let plain = true;
    for (const t of value) if (t.raw.includes('"') || t.raw.includes('\\')) plain = false;
    this.add(ctx, entry.line, owner, ttl, type, plain ? value : tokensText(value));
  }

  /** Add one record: check it is in the zone, parse its value, settle its TTL. */
  private add(ctx: FileContext, line: number, owner: string, explicitTtl: number | undefined, type: RRType, text: string | Token[]): void {
    if (!isInZone(owner, this.zone)) throw new LineError(`owner name "${owner}" is outside the zone "${this.zone}"`);
    if (type === 'SOA') {
      // Reported here, with the others, rather than after the whole file is read.
      if (owner !== this.zone) throw new LineError(`the SOA record must be at the zone apex ${this.zone}, not at ${owner}`);
      if (this.soaAt !== undefined) throw new LineError(`a second SOA record (the zone's SOA is at ${this.soaAt})`);
    }
    const rdata = typeof text === 'string' ? parseRData(type, text, ctx.origin) : parseRDataTokens(type, text, ctx.origin);
    if (type === 'SOA') this.soaAt = formatProblem({ line, file: ctx.label, message: '' }).slice(0, -2);
    let ttl = explicitTtl ?? this.dollarTtl ?? this.prevTtl;
    if (explicitTtl === undefined && this.dollarTtl === undefined && ttl !== undefined && !this.warnedRfc1035) {
      this.warnedRfc1035 = true;
      this.warn(ctx, line, `no $TTL: this record takes the TTL of the record before it (${ttl}), as RFC 1035 says`);
    }
    if (ttl === undefined && rdata.type === 'SOA') {
      ttl = rdata.minimum;
      this.dollarTtl = ttl;
      this.warn(ctx, line, `no $TTL and no TTL on the SOA: using the SOA minimum (${ttl}) as the default TTL, as BIND does`);
    }
    if (ttl === undefined) ttl = this.opts.defaultTtl;
    if (ttl === undefined) throw new LineError('no TTL for this record (give one, or add a $TTL directive before it)');
    const set = this.rrsetOrLink(owner, type, this.records.length);
    if (set !== undefined && set.ttl !== ttl) {
      const where = set.file === ctx.label ? `line ${set.line}` : `${set.file ?? 'the top file'} line ${set.line}`;
      this.warn(ctx, line, `TTL ${ttl} differs from the TTL ${set.ttl} of the ${owner} ${type} RRset (set at ${where}): using ${set.ttl}, one TTL per RRset (RFC 2181 5.2), as named-checkzone does`);
      ttl = set.ttl;
    }
    this.prevTtl = ttl;
    const record = new ZoneFileRecord(owner, type, ttl, formatRData(rdata), rdataWireLength(rdata), line, ctx.label, rdata.type === 'SOA' ? rdata : undefined);
    this.records.push(record);
  }

  /**
   * The first record of RRset owner/type read so far; when there is none, record `index` (about to
   * be pushed) is linked in as the first of a new RRset of `owner`. Records of one owner mostly
   * follow each other: the owner of the record before is looked up without the map (a lookup in a
   * map of a million names costs about a microsecond in cache misses, most of this check's time).
   */
  private rrsetOrLink(owner: string, type: RRType, index: number): ZoneFileRecord | undefined {
    while (this.nextRRset.length <= index) this.nextRRset.push(-1);
    let head: number;
    if (owner === this.lastOwner) head = this.lastOwnerFirst;
    else {
      const known = this.ownerFirst.get(owner);
      this.lastOwner = owner;
      if (known === undefined) {
        this.ownerFirst.set(owner, index);
        this.lastOwnerFirst = index;
        return undefined;
      }
      head = known;
      this.lastOwnerFirst = known;
    }
    let i = head;
    for (;;) {
      const r = this.records[i];
      if (r.type === type) return r;
      const next = this.nextRRset[i];
      if (next < 0) break;
      i = next;
    }
    this.nextRRset[i] = index;
    return undefined;
  }

  private directive(entry: Entry, ctx: FileContext): void {
    const toks = entry.tokens;
    const name = toks[0].raw.toUpperCase();
    switch (name) {
      case '$ORIGIN':
        if (toks.length !== 2) throw new LineError('$ORIGIN needs exactly one name');
        ctx.origin = resolveName(toks[1], ctx.origin, '$ORIGIN name');
        return;
      case '$TTL':
        if (toks.length !== 2) throw new LineError('$TTL needs exactly one TTL');
        this.dollarTtl = parseTtl(toks[1].raw);
        return;
      case '$INCLUDE':
        this.include(entry, ctx);
        return;
      case '$GENERATE':
        this.generate(entry, ctx);
        return;
      default:
        throw new LineError(`unknown directive "${toks[0].raw}" (known: $ORIGIN, $TTL, $INCLUDE, $GENERATE)`);
    }
  }

  /** `$INCLUDE file [origin]`: read the file in place, with its own $ORIGIN; the including file's is kept. */
  private include(entry: Entry, ctx: FileContext): void {
    const toks = entry.tokens;
    if (toks.length < 2 || toks.length > 3) throw new LineError('$INCLUDE needs a file name, and optionally an origin');
    if (ctx.path === undefined) {
      throw new LineError(
        '$INCLUDE is refused here: this zone file was not read from a file (API imports take one self-contained file), so there is nothing to resolve it against; inline the included file, or import on the server with `mcns zone import --db`',
      );
    }
    const origin = toks.length === 3 ? resolveName(toks[2], ctx.origin, '$INCLUDE origin') : ctx.origin;
    const path = resolve(dirname(ctx.path), toks[1].raw);
    const label = relative(this.topDir ?? dirname(path), path);
    if (ctx.chain.includes(path)) {
      throw new LineError(`$INCLUDE of "${toks[1].raw}" includes itself (${[...ctx.chain, path].map((p) => relative(this.topDir ?? '', p) || p).join(' -> ')})`);
    }
    if (ctx.chain.length > MAX_INCLUDE_DEPTH) {
      throw new LineError(`$INCLUDE of "${toks[1].raw}" is nested too deep (at most ${MAX_INCLUDE_DEPTH} levels of included files)`);
    }
    let text: string;
    try {
      text = (this.opts.readFile ?? readZoneText)(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
      throw new LineError(`cannot read $INCLUDE file "${toks[1].raw}" (${path}): ${why}`);
    }
    // The included file starts with the including file's current owner (BIND does the same).
    this.readText(text, { label, path, chain: [...ctx.chain, path], origin, prevOwner: ctx.prevOwner });
  }

  /** `$GENERATE range lhs [ttl] [class] type rhs`: one record per value of the range. */
  private generate(entry: Entry, ctx: FileContext): void {
    const toks = entry.tokens;
    if (toks.length < 5) throw new LineError('$GENERATE needs a range, an owner, a type and a value ($GENERATE 1-254 host$ A 192.0.2.$)');
    if (toks[1].quoted || toks[2].quoted) throw new LineError('$GENERATE range and owner must not be quoted strings');
    const range = parseRange(toks[1].raw);
    const lhs = toks[2].raw;
    const { ttl, next } = ttlAndClass(toks, 3);
    if (next >= toks.length) throw new LineError('$GENERATE is missing its record type');
    const type = toks[next].quoted ? undefined : parseRRType(toks[next].raw);
    if (type === undefined) throw badType(toks[next]);
    const rest = toks.slice(next + 1);
    if (rest.length === 0) throw new LineError('$GENERATE is missing its value (the rhs)');
    if (rest.length > 1) {
      throw new LineError(`$GENERATE takes its value as one field: quote it when it has spaces ("${tokensText(rest).replace(/"/g, '\\"')}")`);
    }
    const rhs = rhsTemplate(rest[0].raw, rest[0].quoted);
    this.generated += rangeCount(range);
    if (this.generated > MAX_GENERATED_PER_FILE) {
      throw new LineError(`$GENERATE directives would make more than ${MAX_GENERATED_PER_FILE} records in all (this one brings them to ${this.generated})`);
    }
    for (const i of rangeValues(range)) {
      try {
        const owner = resolveText(substitute(lhs, i), ctx.origin, 'generated owner name');
        this.add(ctx, entry.line, owner, ttl, type, substitute(rhs, i));
      } catch (e) {
        // One error per directive: the rest of the range would only repeat it.
        if (e instanceof LineError || e instanceof RDataError || e instanceof GenerateError || e instanceof NameError) {
          throw new LineError(`$GENERATE at ${i}: ${e.message}`);
        }
        throw e;
      }
    }
  }
}

/**
 * Parse a zone file. Throws ZoneFileError (listing every bad line, up to MAX_ERRORS) and never
 * returns partial results; warnings (TTL fixes, SOA minimum used as the TTL) come back with the records.
 */
export function parseZoneFile(text: string, opts: ZoneFileOptions): ParsedZoneFile {
  const reader = new ZoneReader(opts);
  const path = opts.path === undefined ? undefined : resolve(opts.path);
  reader.readText(text, { path, chain: path === undefined ? [] : [path], origin: reader.zone });
  if (reader.errors.length > 0) throw new ZoneFileError(reader.errors, reader.truncated);
  return { origin: reader.zone, records: reader.records, warnings: reader.warnings };
}
