/**
 * RRSIG: the signature over one RRset (RFC 4034 sections 3 and 6). The signed data is the RRSIG
 * RDATA without its signature, followed by every RR of the set in canonical form (owner lowercase
 * and uncompressed, the original TTL, RDATA in canonical form) sorted by RDATA and without
 * duplicates. Callers give RDATA already in canonical form (RFC 4034 section 6.2: names inside
 * lowercased and uncompressed for the types that section lists); this module only frames and signs.
 */
import type { KeyObject } from 'node:crypto';
import { nameToWire, splitLabels } from '../records/names.ts';
import type { RDataOf } from '../records/types.ts';
import { canonicalRDataWire } from '../records/rdata.ts';
import { signData, signRaw, verifyData, type AlgorithmName, ALGORITHM_NUMBERS } from './algorithms.ts';
import { longLivedBytes } from './slab.ts';

/** Class IN; MCNS serves no other class. */
const CLASS_IN = 1;

/** One RRset to sign, RDATA in canonical wire form. */
export interface CanonicalRRset {
  /** Absolute owner name (the wildcard owner "*.example." for a wildcard RRset). */
  owner: string;
  type: number;
  ttl: number;
  rdatas: readonly Uint8Array[];
}

/** The fields of an RRSIG record: the records module's RRSIG data without its type tag. */
export type RrsigFields = Omit<RDataOf<'RRSIG'>, 'type'>;

/** The signing key as the signer uses it. */
export interface SigningKey {
  algorithm: AlgorithmName;
  keyTag: number;
  privateKey: KeyObject;
}

/** The RRSIG Labels field: the owner's labels, not counting the root or a leading "*" (RFC 4034 3.1.3). */
export function rrsigLabels(owner: string): number {
  const labels = splitLabels(owner);
  return labels.length > 0 && labels[0] === '*' ? labels.length - 1 : labels.length;
}

/** Compare RDATA as left-justified unsigned octet strings (RFC 4034 section 6.3). */
export function compareRdata(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The RDATA of the set sorted canonically, duplicates removed. */
export function canonicalRdatas(rdatas: readonly Uint8Array[]): Uint8Array[] {
  const sorted = [...rdatas].sort(compareRdata);
  const out: Uint8Array[] = [];
  for (const r of sorted) if (out.length === 0 || compareRdata(out[out.length - 1], r) !== 0) out.push(r);
  return out;
}

/** RRSIG RDATA up to and including the signer's name (the part the signature covers). */
function rrsigPrefix(f: Omit<RrsigFields, 'signature'>): Uint8Array {
  const signer = nameToWire(f.signerName.toLowerCase());
  const out = new Uint8Array(18 + signer.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, f.typeCovered);
  out[2] = f.algorithm;
  out[3] = f.labels;
  v.setUint32(4, f.originalTtl >>> 0);
  v.setUint32(8, f.expiration >>> 0);
  v.setUint32(12, f.inception >>> 0);
  v.setUint16(16, f.keyTag);
  out.set(signer, 18);
  return out;
}

/** The bytes an RRSIG signs (RFC 4034 section 3.1.8.1). */
export function signedData(rrset: CanonicalRRset, f: Omit<RrsigFields, 'signature'>): Uint8Array {
  const prefix = rrsigPrefix(f);
  const owner = nameToWire(rrset.owner.toLowerCase());
  const rdatas = canonicalRdatas(rrset.rdatas);
  let len = prefix.length;
  for (const r of rdatas) len += owner.length + 10 + r.length;
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  out.set(prefix, 0);
  let o = prefix.length;
  for (const r of rdatas) {
    out.set(owner, o);
    o += owner.length;
    v.setUint16(o, rrset.type);
    v.setUint16(o + 2, CLASS_IN);
    v.setUint32(o + 4, f.originalTtl >>> 0);
    v.setUint16(o + 8, r.length);
    o += 10;
    out.set(r, o);
    o += r.length;
  }
  return out;
}

/** Sign one RRset with one key for the validity window [inception, expiration]. */
export function signRRset(
  rrset: CanonicalRRset,
  signerName: string,
  key: SigningKey,
  inception: number,
  expiration: number,
): RrsigFields {
  const fields = {
    typeCovered: rrset.type,
    algorithm: ALGORITHM_NUMBERS[key.algorithm],
    labels: rrsigLabels(rrset.owner),
    originalTtl: rrset.ttl,
    expiration,
    inception,
    keyTag: key.keyTag,
    signerName: signerName.toLowerCase(),
  };
  return { ...fields, signature: signData(key.algorithm, key.privateKey, signedData(rrset, fields)) };
}

/** Signature bytes per algorithm (RFC 6605: r || s of P-256; RFC 8080: Ed25519), fixed for both. */
const SIGNATURE_BYTES: Readonly<Record<AlgorithmName, number>> = { ecdsap256sha256: 64, ed25519: 64 };

/** Signatures framed per batch before they are made (see {@link RRsetSigner.batch}). */
const BATCH_SIGNATURES = 4096;

/**
 * Signs the RRsets of one zone, fast: the same bytes as {@link rrsigRdata}({@link signRRset}(...)),
 * but the signed data is framed in one scratch buffer reused across calls (no per-signature
 * concatenation), the signer's wire name is computed once, and the RRSIG RDATA is written directly
 * (no codec). Signing a 100,000-name zone is ~240,000 of these, so a microsecond here is a quarter
 * of a second there.
 *
 * In a batch (a whole-zone build), sign() frames the data and returns the RRSIG RDATA with its
 * signature still zero; the signatures are made together, BATCH_SIGNATURES at a time, by flush().
 * Why: signing one RRset at a time alternated OpenSSL's scalar multiplication (whose tables fill
 * the CPU caches) with the signer's own map look-ups and allocations, and each ran slower for the
 * other: a 100,000-name zone took about a second longer than the two parts apart.
 */
export class RRsetSigner {
  private readonly signerWire: Uint8Array;
  private scratch = Buffer.allocUnsafe(4096);
  /** Views of the scratch buffer by length (the signed data of most RRsets of a zone has a few lengths). */
  private views: Buffer[] = [];
  /** In a batch: the framed data of the signatures not made yet, back to back. */
  private pending = Buffer.allocUnsafe(0);
  private pendingUsed = 0;
  /** In a batch: per pending signature, its RRSIG RDATA, key, and data span in `pending`. */
  private readonly pendingOut: Uint8Array[] = [];
  private readonly pendingKeys: SigningKey[] = [];
  private readonly pendingSpans: number[] = [];
  private batching = false;

  constructor(signerName: string) {
    this.signerWire = nameToWire(signerName.toLowerCase());
  }

  /**
   * Run `fn` as one batch: the RRSIG RDATA sign() returns inside it get their signatures by the
   * time batch() returns (and must not be read before).
   */
  batch<T>(fn: () => T): T {
    if (this.batching) return fn();
    this.batching = true;
    try {
      const result = fn();
      this.flush();
      return result;
    } finally {
      this.batching = false;
      this.pendingOut.length = 0;
      this.pendingKeys.length = 0;
      this.pendingSpans.length = 0;
      this.pendingUsed = 0;
      this.pending = Buffer.allocUnsafe(0);
    }
  }

  /**
   * RRSIG RDATA over `rrset` by `key` for [inception, expiration]. `ownerWire` is the owner's wire
   * name, lowercase (computed by the caller once when several keys sign one RRset).
   */
  sign(rrset: CanonicalRRset, ownerWire: Uint8Array, key: SigningKey, inception: number, expiration: number): Uint8Array {
    const rdatas = rrset.rdatas.length > 1 ? canonicalRdatas(rrset.rdatas) : rrset.rdatas;
    const prefixLen = 18 + this.signerWire.length;
    let len = prefixLen;
    for (const r of rdatas) len += ownerWire.length + 10 + r.length;
    if (this.batching) {
      if (this.pendingUsed + len > this.pending.length) this.growPending(len);
      const at = this.pendingUsed;
      this.frame(this.pending, at, rrset, rdatas, ownerWire, key, inception, expiration);
      this.pendingUsed += len;
      // A view into a shared slab (slab.ts); the signature is written by flush().
      const out = longLivedBytes(prefixLen + SIGNATURE_BYTES[key.algorithm]);
      for (let i = 0; i < prefixLen; i++) out[i] = this.pending[at + i];
      this.pendingOut.push(out);
      this.pendingKeys.push(key);
      this.pendingSpans.push(at, len);
      if (this.pendingOut.length >= BATCH_SIGNATURES) this.flush();
      return out;
    }
    if (len > this.scratch.length) {
      this.scratch = Buffer.allocUnsafe(Math.max(len, this.scratch.length * 2));
      this.views = [];
    }
    const b = this.scratch;
    this.frame(b, 0, rrset, rdatas, ownerWire, key, inception, expiration);
    // crypto.sign reads the data synchronously, so one view per length serves every call.
    const signature = signRaw(key.algorithm, key.privateKey, (this.views[len] ??= b.subarray(0, len)));
    // A view into a shared slab: see slab.ts.
    const out = longLivedBytes(prefixLen + signature.length);
    for (let i = 0; i < prefixLen; i++) out[i] = b[i];
    out.set(signature, prefixLen);
    return out;
  }

  /** Make the pending signatures of a batch, each into its RRSIG RDATA. */
  private flush(): void {
    const outs = this.pendingOut;
    const keys = this.pendingKeys;
    const spans = this.pendingSpans;
    const data = this.pending;
    for (let i = 0; i < outs.length; i++) {
      const signature = signRaw(keys[i].algorithm, keys[i].privateKey, data.subarray(spans[2 * i], spans[2 * i] + spans[2 * i + 1]));
      const out = outs[i];
      if (signature.length !== out.length - (18 + this.signerWire.length)) throw new Error(`a ${keys[i].algorithm} signature of ${signature.length} bytes`);
      out.set(signature, out.length - signature.length);
    }
    outs.length = 0;
    keys.length = 0;
    spans.length = 0;
    this.pendingUsed = 0;
  }

  /** Room for `len` more bytes of pending data (the used part kept). */
  private growPending(len: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.pendingUsed + len, this.pending.length * 2, 256 * 1024));
    this.pending.copy(next, 0, 0, this.pendingUsed);
    this.pending = next;
  }

  /** The signed data (RFC 4034 3.1.8.1) of `rrset` written into `b` at `at`: the RRSIG RDATA without its signature, then the canonical RRs. */
  private frame(b: Buffer, at: number, rrset: CanonicalRRset, rdatas: readonly Uint8Array[], ownerWire: Uint8Array, key: SigningKey, inception: number, expiration: number): void {
    const signer = this.signerWire;
    b.writeUInt16BE(rrset.type, at);
    b[at + 2] = ALGORITHM_NUMBERS[key.algorithm];
    b[at + 3] = wireLabels(ownerWire);
    b.writeUInt32BE(rrset.ttl >>> 0, at + 4);
    b.writeUInt32BE(expiration >>> 0, at + 8);
    b.writeUInt32BE(inception >>> 0, at + 12);
    b.writeUInt16BE(key.keyTag, at + 16);
    b.set(signer, at + 18);
    let o = at + 18 + signer.length;
    for (const r of rdatas) {
      b.set(ownerWire, o);
      o += ownerWire.length;
      b.writeUInt16BE(rrset.type, o);
      b.writeUInt16BE(CLASS_IN, o + 2);
      b.writeUInt32BE(rrset.ttl >>> 0, o + 4);
      b.writeUInt16BE(r.length, o + 8);
      o += 10;
      b.set(r, o);
      o += r.length;
    }
  }
}

/** The RRSIG Labels field from an owner's wire name: its labels, not counting the root or a leading "*". */
function wireLabels(wire: Uint8Array): number {
  let n = 0;
  for (let p = 0; wire[p] !== 0; p += wire[p] + 1) n++;
  return n > 0 && wire[0] === 1 && wire[1] === 0x2a ? n - 1 : n;
}

/** Check an RRSIG over an RRset with the public key (used by tests and by the signer's self-check). */
export function verifyRRset(rrset: CanonicalRRset, sig: RrsigFields, algorithm: AlgorithmName, publicKey: KeyObject): boolean {
  return verifyData(algorithm, publicKey, signedData(rrset, sig), sig.signature);
}

/** RRSIG RDATA wire bytes by the RRSIG codec (the signer's name uncompressed and lowercase, RFC 4034 3.1.7). */
export function rrsigRdata(f: RrsigFields): Uint8Array {
  return canonicalRDataWire({ type: 'RRSIG', ...f, signerName: f.signerName.toLowerCase() });
}
