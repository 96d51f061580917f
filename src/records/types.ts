/**
 * The record model shared by the ledger, the zone-file reader/writer and the DNS encoder.
 * Names are always absolute, in presentation form, lowercase, with a trailing dot
 * ("www.example.com.", the root is "."). Escapes (\. \DDD \X) are kept in presentation form.
 *
 * Types MCNS knows by name have a structured {@link RData} shape each. Every other data type is
 * stored and served as opaque bytes (RFC 3597): its type is the mnemonic `TYPE<code>`
 * ("TYPE65400"), its value the generic form `\# 4 0A000001`, and its RData
 * `{ type: 'TYPE65400', data: Uint8Array }` (see {@link UnknownData}). A known type written in
 * generic form (`TYPE1`, `A \# 4 C0000201`) is always stored as the known type.
 */

/** The record types MCNS knows by name (each has its own codec in src/records/rrtypes/). */
export const RR_TYPES = [
  'A', 'AAAA', 'CNAME', 'NS', 'SOA', 'MX', 'TXT', 'SRV', 'PTR', 'CAA',
  'DS', 'DNSKEY', 'CDS', 'CDNSKEY', 'HTTPS', 'SVCB', 'TLSA', 'SMIMEA', 'SSHFP', 'NAPTR', 'URI', 'LOC',
  'DNAME', 'HINFO', 'RP', 'OPENPGPKEY', 'CERT', 'RRSIG', 'NSEC', 'NSEC3', 'NSEC3PARAM',
] as const;
/** One of {@link RR_TYPES}. */
export type KnownRRType = (typeof RR_TYPES)[number];
/** A type of another code, held as opaque RFC 3597 data: `TYPE` and the decimal code, no leading zero. */
export type UnknownRRType = `TYPE${number}`;
/** Any record type MCNS stores: a known one, or an RFC 3597 `TYPEnnn`. */
export type RRType = KnownRRType | UnknownRRType;

/** The wire code of each known type (RFC 1035 3.2.2 and the RFC of each later type). */
export const RR_TYPE_CODES: Readonly<Record<KnownRRType, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  RP: 17,
  AAAA: 28,
  LOC: 29,
  SRV: 33,
  NAPTR: 35,
  CERT: 37,
  DNAME: 39,
  DS: 43,
  SSHFP: 44,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  SVCB: 64,
  HTTPS: 65,
  URI: 256,
  CAA: 257,
};

const KNOWN_BY_CODE = new Map<number, KnownRRType>(RR_TYPES.map((t) => [RR_TYPE_CODES[t], t]));

/**
 * Whether a code can name stored data: not 0, not OPT (41), and not a query or meta type
 * (128..255: TKEY, TSIG, IXFR, AXFR, ANY... RFC 6895 3.1).
 */
export function isDataTypeCode(code: number): boolean {
  return Number.isInteger(code) && code > 0 && code <= 0xffff && code !== 41 && !(code >= 128 && code <= 255);
}

/** The type of a wire code: its mnemonic when known, `TYPEnnn` for another data type, undefined for a meta or query type. */
export function rrTypeOfCode(code: number): RRType | undefined {
  const known = KNOWN_BY_CODE.get(code);
  if (known !== undefined) return known;
  return isDataTypeCode(code) ? `TYPE${code}` : undefined;
}

/**
 * Code -> type, for every data type: `get` answers the known mnemonic, or `TYPEnnn` for any other
 * data type code (so a query or an UPDATE for an RFC 3597 type finds its records), and undefined for
 * meta and query types. Iterating it lists the known types only.
 */
class TypeByCode extends Map<number, RRType> {
  override get(code: number): RRType | undefined {
    return super.get(code) ?? rrTypeOfCode(code);
  }
  override has(code: number): boolean {
    return this.get(code) !== undefined;
  }
}

/** The type of each data type code (see {@link rrTypeOfCode}). */
export const RR_TYPE_BY_CODE: ReadonlyMap<number, RRType> = new TypeByCode(KNOWN_BY_CODE);

const KNOWN = new Set<string>(RR_TYPES);

/** Whether `type` is one of {@link RR_TYPES}. */
export function isKnownRRType(type: string): type is KnownRRType {
  return KNOWN.has(type);
}

/** The wire code of a type (known mnemonic or `TYPEnnn`). */
export function rrTypeCode(type: RRType): number {
  const known = (RR_TYPE_CODES as Record<string, number | undefined>)[type];
  return known ?? Number(type.slice(4));
}

/**
 * The stored type named by `text` (case-insensitive): a known mnemonic, or `TYPEnnn` (RFC 3597 5),
 * which is the known mnemonic when the code has one ("TYPE1" -> "A"). Undefined for an unknown
 * mnemonic, a malformed TYPEnnn, and meta or query types.
 */
export function parseRRType(text: string): RRType | undefined {
  const upper = text.toUpperCase();
  if (KNOWN.has(upper)) return upper as KnownRRType;
  const m = /^TYPE(0|[1-9][0-9]{0,4})$/.exec(upper);
  if (!m) return undefined;
  return rrTypeOfCode(Number(m[1]));
}

/** Whether `type` is a stored type in its canonical spelling (a known mnemonic or a `TYPEnnn` of an unknown code). */
export function isRRType(type: string): type is RRType {
  return parseRRType(type) === type;
}

/** The presentation mnemonic of any type code (RRSIG's type covered, NSEC bitmaps): known name or TYPEnnn. */
export function typeMnemonic(code: number): string {
  return KNOWN_BY_CODE.get(code) ?? `TYPE${code}`;
}

/** SOA fields; serial is managed by the ledger. */
export interface SoaData {
  type: 'SOA';
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** One SvcParam of an SVCB/HTTPS record (RFC 9460 2.2): its key and its wire value. */
export interface SvcParam {
  key: number;
  value: Uint8Array;
}

/** RData of a type without a codec (RFC 3597): the rdata bytes as they are on the wire. */
export interface UnknownData {
  type: UnknownRRType;
  data: Uint8Array;
}

/**
 * Structured record data, ready for wire encoding. Names inside are absolute (see module doc).
 * Byte fields (digests, keys, character-strings) are the wire bytes.
 */
export type RData =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'CNAME' | 'NS' | 'PTR' | 'DNAME'; target: string }
  | { type: 'MX'; preference: number; exchange: string }
  | { type: 'TXT'; strings: Uint8Array[] }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'CAA'; flags: number; tag: string; value: Uint8Array }
  | SoaData
  /** RFC 4034 5.1, RFC 7344 3.1. */
  | { type: 'DS' | 'CDS'; keyTag: number; algorithm: number; digestType: number; digest: Uint8Array }
  /** RFC 4034 2.1, RFC 7344 3.2. */
  | { type: 'DNSKEY' | 'CDNSKEY'; flags: number; protocol: number; algorithm: number; publicKey: Uint8Array }
  /** RFC 4034 3.1; expiration and inception are seconds since the epoch modulo 2^32. */
  | {
      type: 'RRSIG';
      typeCovered: number;
      algorithm: number;
      labels: number;
      originalTtl: number;
      expiration: number;
      inception: number;
      keyTag: number;
      signerName: string;
      signature: Uint8Array;
    }
  /** RFC 4034 4.1; `types` ascending, no duplicates. */
  | { type: 'NSEC'; nextName: string; types: number[] }
  /** RFC 5155 3.2; `types` ascending, no duplicates. */
  | { type: 'NSEC3'; hashAlgorithm: number; flags: number; iterations: number; salt: Uint8Array; nextHashed: Uint8Array; types: number[] }
  /** RFC 5155 4.2. */
  | { type: 'NSEC3PARAM'; hashAlgorithm: number; flags: number; iterations: number; salt: Uint8Array }
  /** RFC 9460 2.2; `params` sorted by key, keys unique. */
  | { type: 'SVCB' | 'HTTPS'; priority: number; target: string; params: SvcParam[] }
  /** RFC 6698 2.1, RFC 8162 2. */
  | { type: 'TLSA' | 'SMIMEA'; usage: number; selector: number; matchingType: number; data: Uint8Array }
  /** RFC 4255 3.1. */
  | { type: 'SSHFP'; algorithm: number; fpType: number; fingerprint: Uint8Array }
  /** RFC 3403 4.1: flags, services and regexp are character-strings. */
  | { type: 'NAPTR'; order: number; preference: number; flags: Uint8Array; services: Uint8Array; regexp: Uint8Array; replacement: string }
  /** RFC 7553 4.5: the target is the rest of the rdata, not a character-string. */
  | { type: 'URI'; priority: number; weight: number; target: Uint8Array }
  /** RFC 1876 2: the wire fields as they are (sizes in the mantissa/exponent byte form). */
  | { type: 'LOC'; version: number; size: number; horizPre: number; vertPre: number; latitude: number; longitude: number; altitude: number }
  /** RFC 1035 3.3.2. */
  | { type: 'HINFO'; cpu: Uint8Array; os: Uint8Array }
  /** RFC 1183 2.2. */
  | { type: 'RP'; mbox: string; txt: string }
  /** RFC 7929 2.1. */
  | { type: 'OPENPGPKEY'; publicKey: Uint8Array }
  /** RFC 4398 2. */
  | { type: 'CERT'; certType: number; keyTag: number; algorithm: number; certificate: Uint8Array }
  | UnknownData;

/** The RData variant that holds type `T` (for 'DS': the DS/CDS variant). */
export type RDataOf<T extends RRType> = RData extends infer U ? (U extends { type: infer K } ? (T extends K ? U : never) : never) : never;

/** Largest TTL allowed (RFC 2181 section 8). */
export const MAX_TTL = 2147483647;
