/**
 * RFC 3597: types MCNS has no codec for are kept as opaque bytes and written in the generic form
 * `\# <length> <hex>`; the same form is accepted for a known type, whose bytes are then read by
 * that type's codec.
 */
import type { UnknownData, UnknownRRType } from '../types.ts';
import type { RRCodec } from './codec.ts';
import { RDataError, parseHex, toHex, type Token } from './text.ts';

/** Whether a value's first token is the generic marker `\#` (RFC 3597 5). */
export function isGenericForm(toks: Token[]): boolean {
  return toks.length > 0 && !toks[0].quoted && toks[0].raw === '\\#';
}

/** The bytes of a generic value `\# <length> <hex>...`; the length must match the data. */
export function parseGeneric(type: string, toks: Token[]): Uint8Array {
  const lenTok = toks[1];
  if (lenTok === undefined) throw new RDataError(`${type} value "\\#" needs a length and hex data (RFC 3597: \\# 4 0A000001)`);
  if (lenTok.quoted || !/^[0-9]+$/.test(lenTok.raw) || Number(lenTok.raw) > 65535) {
    throw new RDataError(`${type} generic data length must be an integer 0..65535 (got "${lenTok.raw}")`);
  }
  const length = Number(lenTok.raw);
  const hexToks = toks.slice(2);
  for (const t of hexToks) if (t.quoted) throw new RDataError(`${type} generic data must be hex, not a quoted string ("${t.raw}")`);
  const data = parseHex(hexToks.map((t) => t.raw).join(''), `${type} generic data`);
  if (data.length !== length) throw new RDataError(`${type} generic data is ${data.length} bytes but its length says ${length}`);
  return data;
}

/** The generic presentation of rdata bytes: `\# 4 0A000001`, `\# 0` when empty. */
export function formatGeneric(data: Uint8Array): string {
  return data.length === 0 ? '\\# 0' : `\\# ${data.length} ${toHex(data)}`;
}

const cache = new Map<string, RRCodec<UnknownData>>();

/** The codec of a type without its own: opaque bytes, generic form only. */
export function unknownCodec(type: UnknownRRType): RRCodec<UnknownData> {
  let c = cache.get(type);
  if (c !== undefined) return c;
  c = {
    type,
    fields: '\\# length hex',
    compress: false,
    decompress: false,
    canonicalLowercase: false,
    parse(r) {
      const toks = r.rest();
      if (!isGenericForm(toks)) {
        const first = toks[0] ? toks[0].raw : '';
        throw new RDataError(`${type} is not a type MCNS knows by name: write its value in RFC 3597 generic form, like \\# 4 0A000001 (got "${first}")`);
      }
      return { type, data: parseGeneric(type, toks) };
    },
    format: (d) => formatGeneric(d.data),
    encode: (d, w) => w.bytes(d.data),
    decode: (r) => ({ type, data: r.rest() }),
    wireLength: (d) => d.data.length,
  };
  if (cache.size < 1024) cache.set(type, c);
  return c;
}
