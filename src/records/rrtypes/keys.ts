/**
 * Keys, certificates and fingerprints outside DNSSEC: TLSA (RFC 6698), SMIMEA (RFC 8162), SSHFP
 * (RFC 4255, RFC 6594, RFC 7479), OPENPGPKEY (RFC 7929), CERT (RFC 4398).
 */
import type { RDataOf } from '../types.ts';
import { checkLength, fieldError, type RRCodec } from './codec.ts';
import { DNSSEC_ALGORITHMS } from './dnssec.ts';
import { toBase64, toHex } from './text.ts';

const NO_NAMES = { compress: false, decompress: false, canonicalLowercase: false } as const;

/** Matching types of TLSA/SMIMEA with a fixed length (RFC 6698 2.1.3: 1 SHA-256, 2 SHA-512). */
const MATCHING_LENGTHS: ReadonlyMap<number, [number, string]> = new Map([
  [1, [32, 'SHA-256']],
  [2, [64, 'SHA-512']],
]);

function tlsaCodec(type: 'TLSA' | 'SMIMEA'): RRCodec<RDataOf<'TLSA' | 'SMIMEA'>> {
  return {
    type,
    fields: 'usage selector matching-type data',
    ...NO_NAMES,
    parse(r) {
      const usage = r.uint('certificate usage', 255);
      const selector = r.uint('selector', 255);
      const matchingType = r.uint('matching type', 255);
      return check({ type, usage, selector, matchingType, data: r.hexRest('certificate association data') });
    },
    format: (d) => `${d.usage} ${d.selector} ${d.matchingType} ${toHex(d.data)}`,
    encode(d, w) {
      w.u8(d.usage);
      w.u8(d.selector);
      w.u8(d.matchingType);
      w.bytes(d.data);
    },
    decode: (r) => check({ type, usage: r.u8(), selector: r.u8(), matchingType: r.u8(), data: r.rest() }),
    wireLength: (d) => 3 + d.data.length,
  };
  function check(d: RDataOf<'TLSA' | 'SMIMEA'>): RDataOf<'TLSA' | 'SMIMEA'> {
    const known = MATCHING_LENGTHS.get(d.matchingType);
    if (known) checkLength(type, 'certificate association data', d.data, known[0], `data of matching type ${d.matchingType} (${known[1]})`);
    else if (d.data.length === 0) throw fieldError(type, 'certificate association data', 'is empty');
    return d;
  }
}

/** TLSA: RFC 6698 2. */
export const TLSA = tlsaCodec('TLSA');
/** SMIMEA: RFC 8162 2 (TLSA's format). */
export const SMIMEA = tlsaCodec('SMIMEA');

/** SSHFP fingerprint types with a fixed length (RFC 4255 1 SHA-1, RFC 6594 2 SHA-256). */
const FP_LENGTHS: ReadonlyMap<number, [number, string]> = new Map([
  [1, [20, 'SHA-1']],
  [2, [32, 'SHA-256']],
]);

/** SSHFP: RFC 4255 3. */
export const SSHFP: RRCodec<RDataOf<'SSHFP'>> = {
  type: 'SSHFP',
  fields: 'algorithm fp-type fingerprint',
  ...NO_NAMES,
  parse(r) {
    const algorithm = r.uint('algorithm', 255);
    const fpType = r.uint('fingerprint type', 255);
    return checkSshfp({ type: 'SSHFP', algorithm, fpType, fingerprint: r.hexRest('fingerprint') });
  },
  format: (d) => `${d.algorithm} ${d.fpType} ${toHex(d.fingerprint)}`,
  encode(d, w) {
    w.u8(d.algorithm);
    w.u8(d.fpType);
    w.bytes(d.fingerprint);
  },
  decode: (r) => checkSshfp({ type: 'SSHFP', algorithm: r.u8(), fpType: r.u8(), fingerprint: r.rest() }),
  wireLength: (d) => 2 + d.fingerprint.length,
};

function checkSshfp(d: RDataOf<'SSHFP'>): RDataOf<'SSHFP'> {
  const known = FP_LENGTHS.get(d.fpType);
  if (known) checkLength('SSHFP', 'fingerprint', d.fingerprint, known[0], `a fingerprint of type ${d.fpType} (${known[1]})`);
  else if (d.fingerprint.length === 0) throw fieldError('SSHFP', 'fingerprint', 'is empty');
  return d;
}

/** OPENPGPKEY: RFC 7929 2 (one base64 key, whitespace allowed inside). */
export const OPENPGPKEY: RRCodec<RDataOf<'OPENPGPKEY'>> = {
  type: 'OPENPGPKEY',
  fields: 'public-key',
  ...NO_NAMES,
  parse: (r) => ({ type: 'OPENPGPKEY', publicKey: r.base64Rest('public key') }),
  format: (d) => toBase64(d.publicKey),
  encode: (d, w) => w.bytes(d.publicKey),
  decode(r) {
    const publicKey = r.rest();
    if (publicKey.length === 0) throw fieldError('OPENPGPKEY', 'public key', 'is empty');
    return { type: 'OPENPGPKEY', publicKey };
  },
  wireLength: (d) => d.publicKey.length,
};

/** CERT types (RFC 4398 2.1). */
const CERT_TYPES: ReadonlyMap<string, number> = new Map([
  ['PKIX', 1],
  ['SPKI', 2],
  ['PGP', 3],
  ['IPKIX', 4],
  ['ISPKI', 5],
  ['IPGP', 6],
  ['ACPKIX', 7],
  ['IACPKIX', 8],
  ['URI', 253],
  ['OID', 254],
]);
const CERT_TYPE_NAMES = new Map([...CERT_TYPES].map(([k, v]) => [v, k]));
const ALGORITHM_NAMES = new Map<number, string>();
for (const [name, code] of DNSSEC_ALGORITHMS) if (!ALGORITHM_NAMES.has(code) && !name.includes('-')) ALGORITHM_NAMES.set(code, name);

/** CERT: RFC 4398 2 (type and algorithm as mnemonics where they have one, as BIND writes them). */
export const CERT: RRCodec<RDataOf<'CERT'>> = {
  type: 'CERT',
  fields: 'type key-tag algorithm certificate',
  ...NO_NAMES,
  parse(r) {
    const t = r.next();
    let certType: number;
    if (!t.quoted && /^[0-9]+$/.test(t.raw)) {
      if (Number(t.raw) > 65535) throw fieldError('CERT', 'type', `must be 0..65535 or a mnemonic (got "${t.raw}")`);
      certType = Number(t.raw);
    } else {
      const c = t.quoted ? undefined : CERT_TYPES.get(t.raw.toUpperCase());
      if (c === undefined) throw fieldError('CERT', 'type', `must be a number or one of ${[...CERT_TYPES.keys()].join(', ')} (got "${t.raw}")`);
      certType = c;
    }
    const keyTag = r.uint('key tag', 65535);
    const a = r.next();
    let algorithm: number;
    if (!a.quoted && /^[0-9]+$/.test(a.raw)) {
      if (Number(a.raw) > 255) throw fieldError('CERT', 'algorithm', `must be 0..255 or a mnemonic (got "${a.raw}")`);
      algorithm = Number(a.raw);
    } else {
      const c = a.quoted ? undefined : DNSSEC_ALGORITHMS.get(a.raw.toUpperCase());
      if (c === undefined) throw fieldError('CERT', 'algorithm', `must be a number 0..255 or a mnemonic like RSASHA256 (got "${a.raw}")`);
      algorithm = c;
    }
    return { type: 'CERT', certType, keyTag, algorithm, certificate: r.base64Rest('certificate') };
  },
  format: (d) =>
    `${CERT_TYPE_NAMES.get(d.certType) ?? d.certType} ${d.keyTag} ${ALGORITHM_NAMES.get(d.algorithm) ?? d.algorithm} ${toBase64(d.certificate)}`,
  encode(d, w) {
    w.u16(d.certType);
    w.u16(d.keyTag);
    w.u8(d.algorithm);
    w.bytes(d.certificate);
  },
  decode(r) {
    const d = { type: 'CERT' as const, certType: r.u16(), keyTag: r.u16(), algorithm: r.u8(), certificate: r.rest() };
    if (d.certificate.length === 0) throw fieldError('CERT', 'certificate', 'is empty');
    return d;
  },
  wireLength: (d) => 5 + d.certificate.length,
};
