/**
 * Record values: parse the presentation text of one record's RDATA into {@link RData}, format RData
 * back into canonical presentation text, and move RData to and from the wire. Every per-type rule
 * lives in the codec table (./rrtypes/index.ts); this module is the entry points the rest of MCNS
 * calls: zone files and stored values (parseRData), the API and CLI (parseApiValue), UPDATE and
 * RFC 3597 values (rdataFromWire), DNSSEC (canonicalRDataWire).
 */
import { MAX_TTL, type RData, type RRType } from './types.ts';
import { codecFor } from './rrtypes/index.ts';
import { WireError } from './rrtypes/codec.ts';
import { formatGeneric, isGenericForm, parseGeneric } from './rrtypes/generic.ts';
import { FieldReader, RDataError, durationSeconds, tokenize, type NameOrigin, type Token } from './rrtypes/text.ts';
import { ByteSink, ByteSource } from './rrtypes/wire-io.ts';

export { RDataError, type NameOrigin };

/** A TTL: integer seconds or BIND units (1w2d3h4m5s, case-insensitive), 0..MAX_TTL. Throws RDataError. */
export function parseTtl(text: string): number {
  const s = durationSeconds(text);
  if (s === null) throw new RDataError(`invalid TTL "${text}" (use seconds or units like 1h30m)`);
  if (s > MAX_TTL) throw new RDataError(`TTL "${text}" is larger than ${MAX_TTL} seconds`);
  return s;
}

/**
 * Parse the presentation value of one record. With `origin` (zone files) relative names in the
 * value are resolved against it and "@" is the origin; without it (the API) every name is taken
 * as absolute ("mail.example.com" == "mail.example.com."). The RFC 3597 generic form
 * (`\# 4 C0000201`) is read for every type, a known type's bytes by its codec. Throws RDataError.
 */
export function parseRData(type: RRType, text: string, origin?: NameOrigin): RData {
  const codec = codecFor(type);
  const toks = tokenize(text, codec.keyValueTokens === true);
  if (isGenericForm(toks)) {
    const data = parseGeneric(type, toks);
    return rdataFromWire(type, data, 0, data.length, false);
  }
  return codec.parse(new FieldReader(type, toks, codec.fields, origin));
}

/**
 * {@link parseRData} of a value the zone-file lexer already split into tokens (no second tokenizing
 * of a million values): the same answer as parseRData of the tokens written back as text, which is
 * what the reader passes when a token holds a quote or a backslash (test/records/rdata-tokens.test.ts).
 */
export function parseRDataTokens(type: RRType, toks: Token[], origin?: NameOrigin): RData {
  const codec = codecFor(type);
  if (isGenericForm(toks)) {
    const data = parseGeneric(type, toks);
    return rdataFromWire(type, data, 0, data.length, false);
  }
  return codec.parse(new FieldReader(type, toks, codec.fields, origin));
}

/**
 * Parse a value as the management API and the CLI take it. A TXT value is one string, as a person
 * means it ("v=spf1 mx -all"), split into 255-byte character-strings when longer, unless it begins
 * with a double quote: then it is presentation format (several quoted strings, escapes); the RFC
 * 3597 form (`\# 3 026869`) is read as such too. Every other type is presentation format.
 * Throws RDataError.
 */
export function parseApiValue(type: RRType, text: string, origin?: NameOrigin): RData {
  if (type !== 'TXT' || text.startsWith('"') || /^\\#(\s|$)/.test(text)) return parseRData(type, text, origin);
  const bytes = new TextEncoder().encode(text);
  const strings: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 255) strings.push(bytes.slice(i, i + 255));
  if (strings.length === 0) strings.push(new Uint8Array(0));
  return { type: 'TXT', strings };
}

/** Canonical text of an API or CLI value: formatRData(parseApiValue(type, text, origin)). */
export function canonicalApiValue(type: RRType, text: string, origin?: NameOrigin): string {
  return formatRData(parseApiValue(type, text, origin));
}

/** Canonical presentation text of a value: absolute names, quoted strings, plain numbers. */
export function formatRData(rdata: RData): string {
  return codecFor(rdata.type).format(rdata);
}

/** The RFC 3597 generic presentation of a value (`\# 4 C0000201`), for any type. */
export function formatRDataGeneric(rdata: RData): string {
  return formatGeneric(rdataToWire(rdata));
}

/** Canonical text of a presentation value: formatRData(parseRData(type, text, origin)). */
export function canonicalValue(type: RRType, text: string, origin?: NameOrigin): string {
  return formatRData(parseRData(type, text, origin));
}

/** True when two values are the same record data (their canonical forms are equal). */
export function rdataEquals(a: RData, b: RData): boolean {
  return a.type === b.type && formatRData(a) === formatRData(b);
}

/**
 * Read an rdata of `type` at [start, end) of `buf` (a whole message, so compressed names in the
 * types that allow them resolve). The value gets the checks a presentation value gets: it is
 * formatted and parsed again. `pointers: false` refuses compression pointers (an RFC 3597 generic
 * value, which stands alone). Throws RDataError.
 */
export function rdataFromWire(type: RRType, buf: Uint8Array, start: number, end: number, pointers = true): RData {
  const codec = codecFor(type);
  const src = new ByteSource(type, buf, start, end, pointers);
  let d: RData;
  try {
    d = codec.decode(src);
  } catch (e) {
    if (e instanceof WireError || e instanceof RangeError) throw new RDataError(e.message);
    throw e;
  }
  if (src.left !== 0) throw new RDataError(`${type} rdata has ${src.left} stray byte(s)`);
  if (!type.startsWith('TYPE')) {
    // One rule for every path: the value read off the wire must also read back from its text.
    return codec.parse(new FieldReader(type, tokenize(codec.format(d), codec.keyValueTokens === true), codec.fields, undefined));
  }
  return d;
}

/** Uncompressed wire rdata (names as stored). */
export function rdataToWire(rdata: RData): Uint8Array {
  const sink = new ByteSink(false);
  codecFor(rdata.type).encode(rdata, sink);
  return sink.result();
}

/**
 * The canonical wire form of an rdata for DNSSEC (RFC 4034 6.2): names uncompressed, and lowercased
 * in the types RFC 4034 6.2 lists as amended by RFC 6840 5.1 (NS, CNAME, SOA, PTR, MX, RP, NAPTR,
 * SRV, DNAME, RRSIG... but not NSEC's next name). Stored names are lowercase already; this holds
 * also for values built elsewhere.
 */
export function canonicalRDataWire(rdata: RData): Uint8Array {
  const codec = codecFor(rdata.type);
  const sink = new ByteSink(codec.canonicalLowercase);
  codec.encode(rdata, sink);
  return sink.result();
}

/** Names a resolver looks up next for this value (MX exchange, NS/SRV/SVCB/HTTPS/NAPTR targets). */
export function rdataTargets(rdata: RData): string[] {
  return codecFor(rdata.type).targets?.(rdata) ?? [];
}
