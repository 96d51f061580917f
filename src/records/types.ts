/**
 * The record model shared by the ledger, the zone-file reader/writer and the DNS encoder.
 * Names are always absolute, in presentation form, lowercase, with a trailing dot
 * ("www.example.com.", the root is "."). Escapes (\. \DDD \X) are kept in presentation form.
 */

/** The record types MCNS stores and serves. */
export const RR_TYPES = ['A', 'AAAA', 'CNAME', 'NS', 'SOA', 'MX', 'TXT', 'SRV', 'PTR', 'CAA'] as const;
/** One of {@link RR_TYPES}. */
export type RRType = (typeof RR_TYPES)[number];

/** The wire code of each type (RFC 1035 3.2.2, RFC 3596, RFC 2782, RFC 8659). */
export const RR_TYPE_CODES: Readonly<Record<RRType, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  CAA: 257,
};

/** The type of each wire code MCNS stores. */
export const RR_TYPE_BY_CODE: ReadonlyMap<number, RRType> = new Map(RR_TYPES.map((t) => [RR_TYPE_CODES[t], t]));

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

/** Structured record data, ready for wire encoding. Names inside are absolute (see module doc). */
export type RData =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'CNAME' | 'NS' | 'PTR'; target: string }
  | { type: 'MX'; preference: number; exchange: string }
  | { type: 'TXT'; strings: Uint8Array[] }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'CAA'; flags: number; tag: string; value: Uint8Array }
  | SoaData;

/** Largest TTL allowed (RFC 2181 section 8). */
export const MAX_TTL = 2147483647;
