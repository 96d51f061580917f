/**
 * TSIG (RFC 8945): verify signed requests, sign responses (including the multi-message form long
 * AXFRs use, where each MAC covers the previous one), and build the BADKEY/BADSIG/BADTIME answers.
 *
 * Raw bytes in, raw bytes out: the MAC is over the exact wire form of the message, so the request
 * is never re-encoded. hmac-sha256, hmac-sha384 and hmac-sha512 are supported (the config allows
 * those three); hmac-md5 and gss-tsig are answered with BADKEY like any unknown algorithm.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { McnsError } from '../../errors.ts';
import { nameToWire, normalizeName } from '../../records/names.ts';
import { readName } from './message.ts';

/** TSIG RR type code. */
export const TYPE_TSIG = 250;
/** TSIG error codes carried in the TSIG RR (RFC 8945 section 3). */
export const TSIG_ERROR = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;
/** The allowed time difference we put in our own signatures (RFC 8945 recommends 300 s). */
export const DEFAULT_FUDGE = 300;

const ALGORITHMS: Record<string, { hash: string; size: number }> = {
  'hmac-sha256.': { hash: 'sha256', size: 32 },
  'hmac-sha384.': { hash: 'sha384', size: 48 },
  'hmac-sha512.': { hash: 'sha512', size: 64 },
};

/** One usable TSIG key: normalised name and algorithm ("hmac-sha256."), raw secret bytes. */
export interface TsigKey {
  name: string;
  algorithm: string;
  secret: Buffer;
}

/** Keys by normalised name. */
export type TsigKeyring = ReadonlyMap<string, TsigKey>;

/** Normalise an algorithm name as written in config ("hmac-sha256") to its wire name ("hmac-sha256."). */
export function algorithmName(text: string): string {
  const n = text.toLowerCase().replace(/\.?$/, '.');
  if (!ALGORITHMS[n]) throw new McnsError('invalid', `unsupported TSIG algorithm "${text}" (use hmac-sha256, hmac-sha384 or hmac-sha512)`, 'algorithm');
  return n;
}

/** Build a keyring from config: secrets as bytes or base64 text, names and algorithms normalised. */
export function makeKeyring(keys: Record<string, { algorithm: string; secret: Buffer | string }>): TsigKeyring {
  const ring = new Map<string, TsigKey>();
  for (const [name, k] of Object.entries(keys)) {
    let keyName: string;
    try {
      keyName = normalizeName(name);
    } catch (err) {
      throw new McnsError('invalid', (err as Error).message, `tsig.keys.${name}`);
    }
    const secret = typeof k.secret === 'string' ? Buffer.from(k.secret, 'base64') : k.secret;
    if (secret.length === 0) throw new McnsError('invalid', 'secret is empty', `tsig.keys.${name}.secret`);
    ring.set(keyName, { name: keyName, algorithm: algorithmName(k.algorithm), secret });
  }
  return ring;
}

/** A parsed TSIG RR and where it sits in its message. */
export interface TsigRecord {
  /** Offset of the RR's owner name (the message without TSIG is raw[0..offset)). */
  offset: number;
  keyName: string;
  algorithm: string;
  /** Seconds since the epoch (48-bit). */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

/** Parse the TSIG RR at `offset` (as reported by readQuery's tsigOffset). Throws RangeError if malformed. */
export function parseTsig(raw: Uint8Array, offset: number): TsigRecord {
  const owner = readName(raw, offset);
  let p = owner.end;
  if (p + 10 > raw.length) throw new RangeError('truncated TSIG record');
  const type = (raw[p] << 8) | raw[p + 1];
  if (type !== TYPE_TSIG) throw new RangeError('not a TSIG record');
  const rdlen = (raw[p + 8] << 8) | raw[p + 9];
  p += 10;
  const end = p + rdlen;
  if (end !== raw.length) throw new RangeError('TSIG rdata does not end the message');
  const alg = readName(raw, p);
  p = alg.end;
  if (p + 10 > end) throw new RangeError('truncated TSIG rdata');
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  const timeSigned = b.readUIntBE(p, 6);
  const fudge = b.readUInt16BE(p + 6);
  const macSize = b.readUInt16BE(p + 8);
  p += 10;
  if (p + macSize + 6 > end) throw new RangeError('truncated TSIG MAC');
  const mac = Buffer.from(b.subarray(p, p + macSize));
  p += macSize;
  const originalId = b.readUInt16BE(p);
  const error = b.readUInt16BE(p + 2);
  const otherLen = b.readUInt16BE(p + 4);
  p += 6;
  if (p + otherLen !== end) throw new RangeError('TSIG other data does not fit its rdata');
  return { offset, keyName: owner.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, other: Buffer.from(b.subarray(p, end)) };
}

function u16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(v & 0xffff, 0);
  return b;
}

function u48(v: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b.writeUIntBE(Math.max(0, Math.floor(v)), 0, 6);
  return b;
}

/** The TSIG variables of RFC 8945 4.3.3 (everything but the MAC, in canonical form). */
function variables(keyName: string, algorithm: string, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer[] {
  return [
    Buffer.from(nameToWire(keyName.toLowerCase())),
    u16(255), // CLASS ANY
    Buffer.from([0, 0, 0, 0]), // TTL 0
    Buffer.from(nameToWire(algorithm.toLowerCase())),
    u48(timeSigned),
    u16(fudge),
    u16(error),
    u16(other.length),
    other,
  ];
}

/** The message without its TSIG RR: ARCOUNT decremented and the id set back to the original id. */
function strippedMessage(raw: Uint8Array, tsig: TsigRecord): Buffer {
  const m = Buffer.from(raw.subarray(0, tsig.offset));
  m.writeUInt16BE(tsig.originalId, 0);
  m.writeUInt16BE(m.readUInt16BE(10) - 1, 10);
  return m;
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(ALGORITHMS[key.algorithm].hash, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

function macPrefix(mac: Buffer): Buffer[] {
  return [u16(mac.length), mac];
}

/** Outcome of {@link verifyRequest}. On failure `error` is the TSIG error (or FORMERR for a malformed MAC). */
export type TsigVerifyResult =
  | {
      ok: true;
      key: TsigKey;
      tsig: TsigRecord;
      /**
       * The full HMAC recomputed over the request: the same for every copy of one signed message
       * (whatever its header id or MAC truncation), different for any other. Replay checks key on it.
       */
      digest: Buffer;
    }
  | { ok: false; error: number; formerr?: boolean; key?: TsigKey; tsig?: TsigRecord; reason: string };

/**
 * Verify a signed request (RFC 8945 5.2): key known with the same algorithm (else BADKEY), MAC
 * (else BADSIG), time signed within the fudge of `nowSec` (else BADTIME). Checks in that order.
 */
export function verifyRequest(raw: Uint8Array, tsigOffset: number, keyring: TsigKeyring, nowSec: number): TsigVerifyResult {
  let tsig: TsigRecord;
  try {
    tsig = parseTsig(raw, tsigOffset);
  } catch (err) {
    return { ok: false, error: TSIG_ERROR.BADSIG, formerr: true, reason: (err as Error).message };
  }
  const key = keyring.get(tsig.keyName);
  if (!key || key.algorithm !== tsig.algorithm) {
    return { ok: false, error: TSIG_ERROR.BADKEY, tsig, reason: key ? `key ${tsig.keyName} is not ${tsig.algorithm}` : `unknown key ${tsig.keyName}` };
  }
  const full = ALGORITHMS[key.algorithm].size;
  if (tsig.mac.length > full || tsig.mac.length < Math.max(10, full / 2)) {
    return { ok: false, error: TSIG_ERROR.BADSIG, formerr: true, key, tsig, reason: `MAC size ${tsig.mac.length} not allowed` };
  }
  const expected = hmac(key, [strippedMessage(raw, tsig), ...variables(tsig.keyName, tsig.algorithm, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other)]);
  if (!timingSafeEqual(expected.subarray(0, tsig.mac.length), tsig.mac)) {
    return { ok: false, error: TSIG_ERROR.BADSIG, key, tsig, reason: `bad MAC for key ${tsig.keyName}` };
  }
  if (Math.abs(nowSec - tsig.timeSigned) > tsig.fudge) {
    return { ok: false, error: TSIG_ERROR.BADTIME, key, tsig, reason: `time signed ${tsig.timeSigned} is ${nowSec - tsig.timeSigned} s from ours (fudge ${tsig.fudge})` };
  }
  return { ok: true, key, tsig, digest: expected };
}

/** Append a TSIG RR (owner key name, class ANY, TTL 0) to `msg`, incrementing ARCOUNT. */
function appendTsig(msg: Buffer, keyName: string, algorithm: string, timeSigned: number, fudge: number, mac: Buffer, originalId: number, error: number, other: Buffer): Buffer {
  const owner = Buffer.from(nameToWire(keyName.toLowerCase()));
  const alg = Buffer.from(nameToWire(algorithm.toLowerCase()));
  const rdata = Buffer.concat([alg, u48(timeSigned), u16(fudge), u16(mac.length), mac, u16(originalId), u16(error), u16(other.length), other]);
  const head = Buffer.allocUnsafe(10);
  head.writeUInt16BE(TYPE_TSIG, 0);
  head.writeUInt16BE(255, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(rdata.length, 8);
  const out = Buffer.concat([msg, owner, head, rdata]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}

/**
 * Signs the messages of one response stream with the key of a verified request: the first with
 * the request's MAC and all TSIG variables, each later one with the previous MAC and the timers
 * only (RFC 8945 5.3.1), so a client can verify a long AXFR message by message.
 */
export class TsigResponseSigner {
  private priorMac: Buffer;
  private first = true;

  constructor(
    private readonly key: TsigKey,
    requestMac: Buffer,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
    private readonly fudge = DEFAULT_FUDGE,
  ) {
    this.priorMac = requestMac;
  }

  /** Sign one response message (without TSIG) and return it with its TSIG RR appended. */
  sign(msg: Buffer, error = 0, other: Buffer = Buffer.alloc(0), timeSigned = this.now()): Buffer {
    const id = msg.readUInt16BE(0);
    const parts = [...macPrefix(this.priorMac), msg];
    if (this.first) parts.push(...variables(this.key.name, this.key.algorithm, timeSigned, this.fudge, error, other));
    else parts.push(u48(timeSigned), u16(this.fudge));
    const mac = hmac(this.key, parts);
    this.priorMac = mac;
    const out = appendTsig(msg, this.key.name, this.key.algorithm, timeSigned, this.fudge, mac, id, this.first ? error : 0, this.first ? other : Buffer.alloc(0));
    this.first = false;
    return out;
  }
}

/** Sign a request (NOTIFY out; tests as a client). Returns the signed bytes and the MAC a response will chain on. */
export function signRequest(msg: Buffer, key: TsigKey, nowSec = Math.floor(Date.now() / 1000), fudge = DEFAULT_FUDGE): { bytes: Buffer; mac: Buffer } {
  const id = msg.readUInt16BE(0);
  const none = Buffer.alloc(0);
  const mac = hmac(key, [msg, ...variables(key.name, key.algorithm, nowSec, fudge, 0, none)]);
  return { bytes: appendTsig(msg, key.name, key.algorithm, nowSec, fudge, mac, id, 0, none), mac };
}

/**
 * Verifies the messages of a signed response stream as a client does (the mirror of
 * {@link TsigResponseSigner}); used for NOTIFY acknowledgements and by tests.
 */
export class TsigResponseVerifier {
  private priorMac: Buffer;
  private first = true;

  constructor(private readonly key: TsigKey, requestMac: Buffer) {
    this.priorMac = requestMac;
  }

  /** Verify one message; throws McnsError naming the problem. Returns the parsed TSIG. */
  verify(raw: Uint8Array, tsigOffset: number): TsigRecord {
    const tsig = parseTsig(raw, tsigOffset);
    if (tsig.keyName !== this.key.name || tsig.algorithm !== this.key.algorithm) {
      throw new McnsError('unauthenticated', `response signed with ${tsig.keyName}/${tsig.algorithm}, expected ${this.key.name}`, 'tsig');
    }
    const msg = strippedMessage(raw, tsig);
    const parts = [...macPrefix(this.priorMac), msg];
    if (this.first) parts.push(...variables(tsig.keyName, tsig.algorithm, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other));
    else parts.push(u48(tsig.timeSigned), u16(tsig.fudge));
    const expected = hmac(this.key, parts);
    if (tsig.mac.length === 0 || !timingSafeEqual(expected.subarray(0, tsig.mac.length), tsig.mac)) {
      throw new McnsError('unauthenticated', `bad response MAC (TSIG error ${tsig.error})`, 'tsig');
    }
    this.priorMac = tsig.mac;
    this.first = false;
    return tsig;
  }
}

/**
 * The answer to a request whose TSIG failed (RFC 8945 5.2): rcode NOTAUTH with the TSIG error;
 * BADKEY and BADSIG unsigned (MAC empty), BADTIME signed, with our time in Other Data.
 * `msg` is the unsigned error response (header and question), `nowSec` our clock.
 */
export function tsigErrorResponse(msg: Buffer, result: Extract<TsigVerifyResult, { ok: false }>, nowSec: number): Buffer {
  const tsig = result.tsig;
  if (!tsig) return msg;
  const id = msg.readUInt16BE(0);
  if (result.error === TSIG_ERROR.BADTIME && result.key) {
    const other = u48(nowSec);
    return new TsigResponseSigner(result.key, tsig.mac, () => nowSec, tsig.fudge).sign(msg, TSIG_ERROR.BADTIME, other, tsig.timeSigned);
  }
  return appendTsig(msg, tsig.keyName, tsig.algorithm, tsig.timeSigned, tsig.fudge, Buffer.alloc(0), id, result.error, Buffer.alloc(0));
}
