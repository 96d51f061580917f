/**
 * The two signing algorithms MCNS offers (RFC 8624 "MUST"/"RECOMMENDED" for signers): 13,
 * ECDSA P-256 with SHA-256 (RFC 6605), and 15, Ed25519 (RFC 8080), both with node:crypto. This
 * module knows how each algorithm's keys look inside a DNSKEY and how its signatures look inside
 * an RRSIG; nothing else in MCNS touches key material formats.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export type AlgorithmName = 'ecdsap256sha256' | 'ed25519';

/** DNSSEC algorithm numbers (IANA "DNS Security Algorithm Numbers"). */
export const ALGORITHM_NUMBERS: Readonly<Record<AlgorithmName, number>> = { ecdsap256sha256: 13, ed25519: 15 };

export const ALGORITHM_BY_NUMBER: ReadonlyMap<number, AlgorithmName> = new Map(
  (Object.entries(ALGORITHM_NUMBERS) as Array<[AlgorithmName, number]>).map(([name, n]) => [n, name]),
);

/** A key pair: the private half as PKCS#8 DER (what is stored, never logged), the public half as DNSKEY bytes. */
export interface KeyMaterial {
  algorithm: AlgorithmName;
  /** PKCS#8 DER of the private key. */
  privatePkcs8: Buffer;
  /** The DNSKEY "Public Key" field for this algorithm. */
  publicKey: Uint8Array;
}

/** A fresh key pair for `algorithm`. */
export function generateKey(algorithm: AlgorithmName): KeyMaterial {
  const pair =
    algorithm === 'ecdsap256sha256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
  return {
    algorithm,
    privatePkcs8: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicKey: dnskeyPublicKey(algorithm, pair.publicKey),
  };
}

/**
 * The DNSKEY public-key field: for P-256 the 64 bytes X || Y (RFC 6605 section 4, the uncompressed
 * point without its 0x04 prefix); for Ed25519 the 32-byte public key (RFC 8080 section 3).
 */
function dnskeyPublicKey(algorithm: AlgorithmName, key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  if (algorithm === 'ed25519') return new Uint8Array(x);
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  return new Uint8Array(Buffer.concat([x, y]));
}

/** A node:crypto private key from stored PKCS#8 DER. */
export function privateKeyObject(pkcs8: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
}

/** A node:crypto public key from a DNSKEY public-key field. */
export function publicKeyObject(algorithm: AlgorithmName, publicKey: Uint8Array): KeyObject {
  const b = Buffer.from(publicKey);
  if (algorithm === 'ed25519') {
    if (b.length !== 32) throw new RangeError(`Ed25519 public key must be 32 bytes, not ${b.length}`);
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b.toString('base64url') }, format: 'jwk' });
  }
  if (b.length !== 64) throw new RangeError(`ECDSA P-256 public key must be 64 bytes, not ${b.length}`);
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b.subarray(0, 32).toString('base64url'), y: b.subarray(32).toString('base64url') },
    format: 'jwk',
  });
}

/**
 * Sign `data`. ECDSA signatures are r || s, 32 bytes each (RFC 6605 section 4: IEEE P1363, not
 * DER); Ed25519 signatures are the 64 bytes of RFC 8032.
 */
export function signData(algorithm: AlgorithmName, key: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(signRaw(algorithm, key, data));
}

/** The sign() options of each ECDSA key, made once (RFC 6605: r || s, not DER). */
const ecdsaOptions = new WeakMap<KeyObject, { key: KeyObject; dsaEncoding: 'ieee-p1363' }>();

function ecdsaKey(key: KeyObject): { key: KeyObject; dsaEncoding: 'ieee-p1363' } {
  let o = ecdsaOptions.get(key);
  if (!o) ecdsaOptions.set(key, (o = { key, dsaEncoding: 'ieee-p1363' }));
  return o;
}

/**
 * {@link signData} for the signer's hot path (rrsig.ts, ~240,000 calls for a 100,000-name zone):
 * node's Buffer as it comes, without a copy, and each ECDSA key's options object made once.
 */
export function signRaw(algorithm: AlgorithmName, key: KeyObject, data: Uint8Array): Buffer {
  return algorithm === 'ed25519' ? sign(null, data, key) : sign('sha256', data, ecdsaKey(key));
}

/** Verify a signature made by {@link signData}. */
export function verifyData(algorithm: AlgorithmName, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (algorithm === 'ed25519') return verify(null, data, key, signature);
  return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
}
