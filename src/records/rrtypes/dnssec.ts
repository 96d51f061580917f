/**
 * The DNSSEC family: DS and CDS, DNSKEY and CDNSKEY (RFC 4034, RFC 7344, RFC 8078), RRSIG, NSEC
 * (RFC 4034), NSEC3 and NSEC3PARAM (RFC 5155), with their type bitmaps and time fields.
 */
import { parseRRType, rrTypeCode, typeMnemonic, type RDataOf } from '../types.ts';
import { checkLength, fieldError, WireError, type RRCodec, type WireSink, type WireSource } from './codec.ts';
import { FieldReader, parseBase32Hex, parseHex, toBase32Hex, toBase64, toHex, type Token } from './text.ts';

/** DNSSEC algorithm mnemonics (RFC 4034 A.1, IANA "DNS Security Algorithm Numbers"). */
export const DNSSEC_ALGORITHMS: ReadonlyMap<string, number> = new Map([
  ['RSAMD5', 1],
  ['DH', 2],
  ['DSA', 3],
  ['RSASHA1', 5],
  ['DSA-NSEC3-SHA1', 6],
  ['NSEC3DSA', 6],
  ['RSASHA1-NSEC3-SHA1', 7],
  ['NSEC3RSASHA1', 7],
  ['RSASHA256', 8],
  ['RSASHA512', 10],
  ['ECC-GOST', 12],
  ['ECCGOST', 12],
  ['ECDSAP256SHA256', 13],
  ['ECDSAP384SHA384', 14],
  ['ED25519', 15],
  ['ED448', 16],
  ['INDIRECT', 252],
  ['PRIVATEDNS', 253],
  ['PRIVATEOID', 254],
]);

/** An algorithm field: a number 0..255 or a mnemonic (RFC 4034 5.3: "RSASHA256" or "8"). */
export function algorithmField(r: FieldReader, what = 'algorithm'): number {
  const t = r.next();
  if (!t.quoted && /^[0-9]+$/.test(t.raw)) return checkU8(r.type, what, t);
  const code = t.quoted ? undefined : DNSSEC_ALGORITHMS.get(t.raw.toUpperCase());
  if (code === undefined) throw fieldError(r.type, what, `must be a number 0..255 or a mnemonic like ECDSAP256SHA256 (got "${t.raw}")`);
  return code;
}

function checkU8(type: string, what: string, t: Token): number {
  if (Number(t.raw) > 255) throw fieldError(type, what, `must be an integer 0..255 (got "${t.raw}")`);
  return Number(t.raw);
}

/** Digest length of each DS digest type (RFC 4509 SHA-256, RFC 5933 GOST, RFC 6605 SHA-384, RFC 3658 SHA-1). */
const DIGEST_LENGTHS: ReadonlyMap<number, [number, string]> = new Map([
  [1, [20, 'SHA-1']],
  [2, [32, 'SHA-256']],
  [3, [32, 'GOST R 34.11-94']],
  [4, [48, 'SHA-384']],
]);

function dsCodec(type: 'DS' | 'CDS'): RRCodec<RDataOf<'DS' | 'CDS'>> {
  return {
    type,
    fields: 'key-tag algorithm digest-type digest',
    compress: false,
    decompress: false,
    canonicalLowercase: false,
    parse(r) {
      const keyTag = r.uint('key tag', 65535);
      const algorithm = algorithmField(r);
      const digestType = r.uint('digest type', 255);
      const digest = r.hexRest('digest');
      return check({ type, keyTag, algorithm, digestType, digest });
    },
    format: (d) => `${d.keyTag} ${d.algorithm} ${d.digestType} ${toHex(d.digest)}`,
    encode(d, w) {
      w.u16(d.keyTag);
      w.u8(d.algorithm);
      w.u8(d.digestType);
      w.bytes(d.digest);
    },
    decode: (r) => check({ type, keyTag: r.u16(), algorithm: r.u8(), digestType: r.u8(), digest: r.rest() }),
    wireLength: (d) => 4 + d.digest.length,
  };
  function check(d: RDataOf<'DS' | 'CDS'>): RDataOf<'DS' | 'CDS'> {
    const known = DIGEST_LENGTHS.get(d.digestType);
    if (known) checkLength(type, 'digest', d.digest, known[0], `a digest of type ${d.digestType} (${known[1]})`);
    else if (d.digest.length === 0) throw fieldError(type, 'digest', 'is empty');
    return d;
  }
}

/** DS: RFC 4034 5. */
export const DS = dsCodec('DS');
/** CDS: RFC 7344 3.1 (`0 0 0 00` asks for the DS to be removed, RFC 8078 4). */
export const CDS = dsCodec('CDS');

function dnskeyCodec(type: 'DNSKEY' | 'CDNSKEY'): RRCodec<RDataOf<'DNSKEY' | 'CDNSKEY'>> {
  return {
    type,
    fields: 'flags protocol algorithm public-key',
    compress: false,
    decompress: false,
    canonicalLowercase: false,
    parse(r) {
      const flags = r.uint('flags', 65535);
      const protocol = r.uint('protocol', 255);
      const algorithm = algorithmField(r);
      const publicKey = r.base64Rest('public key');
      return check({ type, flags, protocol, algorithm, publicKey });
    },
    format: (d) => `${d.flags} ${d.protocol} ${d.algorithm} ${toBase64(d.publicKey)}`,
    encode(d, w) {
      w.u16(d.flags);
      w.u8(d.protocol);
      w.u8(d.algorithm);
      w.bytes(d.publicKey);
    },
    decode: (r) => check({ type, flags: r.u16(), protocol: r.u8(), algorithm: r.u8(), publicKey: r.rest() }),
    wireLength: (d) => 4 + d.publicKey.length,
  };
  function check(d: RDataOf<'DNSKEY' | 'CDNSKEY'>): RDataOf<'DNSKEY' | 'CDNSKEY'> {
    if (d.protocol !== 3) throw fieldError(type, 'protocol', `must be 3 (RFC 4034 2.1.2), got ${d.protocol}`);
    if (d.publicKey.length === 0) throw fieldError(type, 'public key', 'is empty');
    return d;
  }
}

/**
 * The key tag of a DNSKEY or CDNSKEY (RFC 4034 appendix B): the ones-complement-like sum over its
 * wire rdata (algorithm 1 keeps its own rule, B.1), which DS, CDS and RRSIG records name it by.
 */
export function dnskeyKeyTag(d: RDataOf<'DNSKEY' | 'CDNSKEY'>): number {
  const k = d.publicKey;
  if (d.algorithm === 1) return k.length >= 3 ? (k[k.length - 3] << 8) | k[k.length - 2] : 0;
  const rdata = [d.flags >> 8, d.flags & 0xff, d.protocol, d.algorithm, ...k];
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i] : rdata[i] << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** DNSKEY: RFC 4034 2. */
export const DNSKEY = dnskeyCodec('DNSKEY');
/** CDNSKEY: RFC 7344 3.2 (`0 3 0 AA==` asks for the DS to be removed, RFC 8078 4). */
export const CDNSKEY = dnskeyCodec('CDNSKEY');

/** A type mnemonic field (known name or TYPEnnn, any code) as its code. */
function typeField(type: string, what: string, t: Token): number {
  const known = t.quoted ? undefined : parseRRType(t.raw);
  if (known !== undefined) return rrTypeCode(known);
  const m = t.quoted ? null : /^TYPE([0-9]{1,5})$/i.exec(t.raw);
  if (m && Number(m[1]) <= 65535) return Number(m[1]);
  throw fieldError(type, what, `"${t.raw}" is not a record type (use a mnemonic or TYPEnnn)`);
}

/** RRSIG times: YYYYMMDDHHmmSS (UTC), or seconds since the epoch (RFC 4034 3.2); stored modulo 2^32. */
function timeField(type: string, what: string, t: Token): number {
  const m = t.quoted ? null : /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(t.raw);
  if (m) {
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
    const ms = Date.UTC(y, mo - 1, d, h, mi, s);
    const back = new Date(ms);
    if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
      throw fieldError(type, what, `"${t.raw}" is not a valid date and time (YYYYMMDDHHmmSS, UTC)`);
    }
    return (ms / 1000) % 2 ** 32 >>> 0;
  }
  if (!t.quoted && /^[0-9]{1,10}$/.test(t.raw) && Number(t.raw) <= 4294967295) return Number(t.raw);
  throw fieldError(type, what, `must be YYYYMMDDHHmmSS (UTC) or seconds since 1970 (got "${t.raw}")`);
}

function formatTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** RRSIG: RFC 4034 3. */
export const RRSIG: RRCodec<RDataOf<'RRSIG'>> = {
  type: 'RRSIG',
  fields: 'type-covered algorithm labels original-ttl expiration inception key-tag signer signature',
  compress: false,
  // RFC 3597 4 does not list RRSIG; BIND and Knot refuse a compressed signer name.
  decompress: false,
  canonicalLowercase: true,
  parse(r) {
    const typeCovered = typeField('RRSIG', 'type covered', r.next());
    const algorithm = algorithmField(r);
    const labels = r.uint('labels', 255);
    const originalTtl = r.uint('original TTL', 4294967295);
    const expiration = timeField('RRSIG', 'expiration', r.next());
    const inception = timeField('RRSIG', 'inception', r.next());
    const keyTag = r.uint('key tag', 65535);
    const signerName = r.name('signer name');
    const signature = r.base64Rest('signature');
    return { type: 'RRSIG', typeCovered, algorithm, labels, originalTtl, expiration, inception, keyTag, signerName, signature };
  },
  format: (d) =>
    `${typeMnemonic(d.typeCovered)} ${d.algorithm} ${d.labels} ${d.originalTtl} ${formatTime(d.expiration)} ${formatTime(d.inception)} ${d.keyTag} ${d.signerName} ${toBase64(d.signature)}`,
  encode(d, w) {
    w.u16(d.typeCovered);
    w.u8(d.algorithm);
    w.u8(d.labels);
    w.u32(d.originalTtl);
    w.u32(d.expiration);
    w.u32(d.inception);
    w.u16(d.keyTag);
    w.name(d.signerName, false);
    w.bytes(d.signature);
  },
  decode(r) {
    const d = {
      type: 'RRSIG' as const,
      typeCovered: r.u16(),
      algorithm: r.u8(),
      labels: r.u8(),
      originalTtl: r.u32(),
      expiration: r.u32(),
      inception: r.u32(),
      keyTag: r.u16(),
      signerName: r.name(false),
      signature: r.rest(),
    };
    if (d.signature.length === 0) throw new WireError('RRSIG signature is empty');
    return d;
  },
  wireLength: (d, n) => 18 + n(d.signerName) + d.signature.length,
};

/** Read the type list of NSEC/NSEC3: mnemonics or TYPEnnn, sorted and without duplicates. */
function typeList(type: string, toks: Token[]): number[] {
  const codes = new Set<number>();
  for (const t of toks) codes.add(typeField(type, 'type bitmap', t));
  return [...codes].sort((a, b) => a - b);
}

/** Write a type bitmap (RFC 4034 4.1.2): windows of up to 32 bytes, empty windows left out. */
export function encodeTypeBitmap(types: readonly number[], w: WireSink): void {
  for (const [window, bits] of bitmapWindows(types)) {
    w.u8(window);
    w.u8(bits.length);
    w.bytes(bits);
  }
}

function bitmapWindows(types: readonly number[]): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  let i = 0;
  while (i < types.length) {
    const window = types[i] >> 8;
    const bits = new Uint8Array(32);
    let len = 0;
    while (i < types.length && types[i] >> 8 === window) {
      const low = types[i] & 0xff;
      bits[low >> 3] |= 0x80 >> (low & 7);
      len = (low >> 3) + 1;
      i++;
    }
    out.push([window, bits.slice(0, len)]);
  }
  return out;
}

/** Wire length of a type bitmap. */
export function typeBitmapLength(types: readonly number[]): number {
  return bitmapWindows(types).reduce((n, [, bits]) => n + 2 + bits.length, 0);
}

/** Read a type bitmap filling the rest of the rdata; windows must ascend, each 1..32 bytes. */
export function decodeTypeBitmap(r: WireSource): number[] {
  const types: number[] = [];
  let last = -1;
  while (r.left > 0) {
    const window = r.u8();
    const len = r.u8();
    if (window <= last) throw new WireError(`${r.type} type bitmap windows are out of order`);
    if (len < 1 || len > 32) throw new WireError(`${r.type} type bitmap window length ${len} is not 1..32`);
    last = window;
    const bits = r.bytes(len);
    for (let i = 0; i < len; i++) {
      for (let b = 0; b < 8; b++) if (bits[i] & (0x80 >> b)) types.push(window * 256 + i * 8 + b);
    }
  }
  return types;
}

function formatTypes(types: readonly number[]): string {
  return types.map(typeMnemonic).join(' ');
}

/** NSEC: RFC 4034 4 (next name neither compressed nor lowercased, RFC 6840 5.1). */
export const NSEC: RRCodec<RDataOf<'NSEC'>> = {
  type: 'NSEC',
  fields: 'next-name types...',
  compress: false,
  decompress: false,
  canonicalLowercase: false,
  parse(r) {
    const nextName = r.name('next name');
    return { type: 'NSEC', nextName, types: typeList('NSEC', r.rest()) };
  },
  format: (d) => (d.types.length === 0 ? d.nextName : `${d.nextName} ${formatTypes(d.types)}`),
  encode(d, w) {
    w.name(d.nextName, false);
    encodeTypeBitmap(d.types, w);
  },
  decode(r) {
    const nextName = r.name(false);
    return { type: 'NSEC', nextName, types: decodeTypeBitmap(r) };
  },
  wireLength: (d, n) => n(d.nextName) + typeBitmapLength(d.types),
};

/** A salt field: hex, or "-" for none (RFC 5155 3.3); at most 255 bytes. */
function saltField(r: FieldReader): Uint8Array {
  const t = r.next();
  if (!t.quoted && t.raw === '-') return new Uint8Array(0);
  const salt = t.quoted ? null : parseHex(t.raw, `${r.type} salt`);
  if (salt === null) throw fieldError(r.type, 'salt', `must be hex or "-" (got "${t.raw}")`);
  if (salt.length > 255) throw fieldError(r.type, 'salt', `is longer than 255 bytes (${salt.length})`);
  return salt;
}

function formatSalt(salt: Uint8Array): string {
  return salt.length === 0 ? '-' : toHex(salt);
}

/** NSEC3: RFC 5155 3. */
export const NSEC3: RRCodec<RDataOf<'NSEC3'>> = {
  type: 'NSEC3',
  fields: 'hash-algorithm flags iterations salt next-hashed-owner types...',
  compress: false,
  decompress: false,
  canonicalLowercase: false,
  parse(r) {
    const hashAlgorithm = r.uint('hash algorithm', 255);
    const flags = r.uint('flags', 255);
    const iterations = r.uint('iterations', 65535);
    const salt = saltField(r);
    const t = r.next();
    if (t.quoted) throw fieldError('NSEC3', 'next hashed owner', `must be base32hex, not quoted (got "${t.raw}")`);
    const nextHashed = parseBase32Hex(t.raw, 'NSEC3 next hashed owner');
    if (nextHashed.length === 0 || nextHashed.length > 255) throw fieldError('NSEC3', 'next hashed owner', `must be 1..255 bytes, got ${nextHashed.length}`);
    return { type: 'NSEC3', hashAlgorithm, flags, iterations, salt, nextHashed, types: typeList('NSEC3', r.rest()) };
  },
  format: (d) => {
    const head = `${d.hashAlgorithm} ${d.flags} ${d.iterations} ${formatSalt(d.salt)} ${toBase32Hex(d.nextHashed)}`;
    return d.types.length === 0 ? head : `${head} ${formatTypes(d.types)}`;
  },
  encode(d, w) {
    w.u8(d.hashAlgorithm);
    w.u8(d.flags);
    w.u16(d.iterations);
    w.u8(d.salt.length);
    w.bytes(d.salt);
    w.u8(d.nextHashed.length);
    w.bytes(d.nextHashed);
    encodeTypeBitmap(d.types, w);
  },
  decode(r) {
    const hashAlgorithm = r.u8();
    const flags = r.u8();
    const iterations = r.u16();
    const salt = r.bytes(r.u8());
    const nextHashed = r.bytes(r.u8());
    if (nextHashed.length === 0) throw new WireError('NSEC3 next hashed owner is empty');
    return { type: 'NSEC3', hashAlgorithm, flags, iterations, salt, nextHashed, types: decodeTypeBitmap(r) };
  },
  wireLength: (d) => 6 + d.salt.length + d.nextHashed.length + typeBitmapLength(d.types),
};

/** NSEC3PARAM: RFC 5155 4. */
export const NSEC3PARAM: RRCodec<RDataOf<'NSEC3PARAM'>> = {
  type: 'NSEC3PARAM',
  fields: 'hash-algorithm flags iterations salt',
  compress: false,
  decompress: false,
  canonicalLowercase: false,
  parse(r) {
    r.count(4);
    const hashAlgorithm = r.uint('hash algorithm', 255);
    const flags = r.uint('flags', 255);
    const iterations = r.uint('iterations', 65535);
    return { type: 'NSEC3PARAM', hashAlgorithm, flags, iterations, salt: saltField(r) };
  },
  format: (d) => `${d.hashAlgorithm} ${d.flags} ${d.iterations} ${formatSalt(d.salt)}`,
  encode(d, w) {
    w.u8(d.hashAlgorithm);
    w.u8(d.flags);
    w.u16(d.iterations);
    w.u8(d.salt.length);
    w.bytes(d.salt);
  },
  decode(r) {
    const hashAlgorithm = r.u8();
    const flags = r.u8();
    const iterations = r.u16();
    return { type: 'NSEC3PARAM', hashAlgorithm, flags, iterations, salt: r.bytes(r.u8()) };
  },
  wireLength: (d) => 5 + d.salt.length,
};
