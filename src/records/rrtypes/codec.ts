/**
 * What a record type's codec is: every rule of one type in one place (presentation in and out,
 * wire in and out, wire length, the names inside). The table of codecs is ./index.ts; each family
 * of types has its own module beside this one.
 */
import type { RData } from '../types.ts';
import { RDataError, type FieldReader } from './text.ts';

/** Where a codec writes wire rdata: the DNS encoder's buffer, or a plain byte collector. */
export interface WireSink {
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  bytes(b: Uint8Array): void;
  /** An IPv4 address in dotted-quad text, as 4 bytes. */
  ipv4(address: string): void;
  /** An IPv6 address in text, as 16 bytes. */
  ipv6(address: string): void;
  /**
   * A domain name: compressed against earlier names when `compress` (only the RFC 1035 types may,
   * RFC 3597 4) and the sink compresses; lowercased when `canonical` is asked by the sink's owner.
   */
  name(name: string, compress: boolean): void;
}

/**
 * Reads one rdata from a message (or from the bytes of an RFC 3597 generic value). Names may be
 * compressed only where the codec allows it; every read past the rdata's end is a WireError.
 */
export interface WireSource {
  /** The type being read, for messages. */
  readonly type: string;
  /** Bytes left in the rdata. */
  readonly left: number;
  u8(): number;
  u16(): number;
  u32(): number;
  bytes(n: number): Uint8Array;
  /** Everything left in the rdata. */
  rest(): Uint8Array;
  /** A domain name (absolute, canonical); `decompress` allows a compression pointer. */
  name(decompress: boolean): string;
}

/** A malformed wire rdata; the message names the type and what is wrong. */
export class WireError extends Error {
  override name = 'WireError';
}

/** How a codec measures names: exactly (wire-size limits) or with a cheap upper bound (transfer packing). */
export type NameLength = (name: string) => number;

/** Every rule of one record type. */
export interface RRCodec<D extends RData = RData> {
  /** The mnemonic. */
  readonly type: D['type'];
  /** The fields of the presentation value, for messages ("preference exchange"). */
  readonly fields: string;
  /** Tokenize `key="value"` forms (SVCB/HTTPS parameters). */
  readonly keyValueTokens?: boolean;
  /**
   * Names in the rdata are compressed in answers (RFC 1035 types only: RFC 3597 4) and may be read
   * compressed (the RFC 1035 types, and those RFC 3597 4 lets a receiver decompress).
   */
  readonly compress: boolean;
  readonly decompress: boolean;
  /** Names in the rdata are lowercased in the canonical form (RFC 4034 6.2, RFC 6840 5.1). */
  readonly canonicalLowercase: boolean;
  /** Read the presentation value (already tokenized). Throws RDataError naming the field. */
  parse(r: FieldReader): D;
  /** Canonical presentation text. */
  format(d: D): string;
  /** Write the wire rdata. */
  encode(d: D, w: WireSink): void;
  /** Read the wire rdata; the source holds exactly this rdata. Throws WireError or RDataError. */
  decode(r: WireSource): D;
  /** Uncompressed wire length of the rdata. */
  wireLength(d: D, nameLength: NameLength): number;
  /** Names a resolver looks up next (MX exchange, SRV/SVCB/NAPTR targets): for the additional section. */
  targets?(d: D): string[];
}

/** An RDataError naming the type and field: "SVCB alpn: empty protocol id". */
export function fieldError(type: string, field: string, why: string): RDataError {
  return new RDataError(`${type} ${field}: ${why}`);
}

/** Checks a value's length against what its kind requires. */
export function checkLength(type: string, field: string, bytes: Uint8Array, want: number, kind: string): void {
  if (bytes.length !== want) {
    throw fieldError(type, field, `${kind} must be ${want} bytes (${want * 2} hex digits), got ${bytes.length}`);
  }
}
