/**
 * Building DNS UPDATE messages by hand for the UPDATE tests (cases nsupdate cannot produce, and
 * exact bytes to capture and send again), plus reading the TSIG of a response.
 */
import assert from 'node:assert/strict';
import { readQuery } from '../../src/dns/query.ts';
import { parseTsig, TsigResponseVerifier, type TsigKey, type TsigRecord } from '../../src/dns/transfer/tsig.ts';
import { OPCODE_UPDATE } from '../../src/dns/update.ts';
import { nameToWire } from '../../src/records/names.ts';

/** One RR of a prerequisite or update section. */
export interface RawRR {
  name: string;
  type: number;
  cls: number;
  ttl?: number;
  rdata?: Buffer;
}

export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, DNAME: 39, DS: 43, ANY: 255 } as const;

function rr(r: RawRR): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(r.type, 0);
  head.writeUInt16BE(r.cls, 2);
  head.writeUInt32BE(r.ttl ?? 0, 4);
  head.writeUInt16BE(r.rdata?.length ?? 0, 8);
  return Buffer.concat([Buffer.from(nameToWire(r.name)), head, r.rdata ?? Buffer.alloc(0)]);
}

/** An UPDATE message: zone section, prerequisites, updates. */
export function updateMessage(zone: string, prereqs: RawRR[], updates: RawRR[], id = 0x1234): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(prereqs.length, 6);
  h.writeUInt16BE(updates.length, 8);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(TYPE.SOA, 0);
  q.writeUInt16BE(CLASS.IN, 2);
  return Buffer.concat([h, Buffer.from(nameToWire(zone)), q, ...prereqs.map(rr), ...updates.map(rr)]);
}

/** TXT rdata of one string. */
export const txt = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
/** A rdata. */
export const a = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));
/** Rdata that is one uncompressed name (NS, CNAME, DNAME). */
export const nameRdata = (name: string): Buffer => Buffer.from(nameToWire(name));

/** The rcode of a response. */
export const rcodeOf = (reply: Uint8Array): number => reply[3] & 0xf;

/** The TSIG RR of a response (QR cleared for readQuery, which skips responses). */
export function responseTsig(reply: Uint8Array): TsigRecord | undefined {
  const copy = Buffer.from(reply);
  copy[2] &= 0x7f;
  const q = readQuery(copy);
  assert.equal(q.kind, 'query');
  if (q.kind !== 'query' || !q.hasTsig) return undefined;
  return parseTsig(copy, q.tsigOffset!);
}

/** Verify a signed response to a request signed with `key` whose MAC was `requestMac`; returns its TSIG. */
export function verifyResponse(reply: Uint8Array, key: TsigKey, requestMac: Buffer): TsigRecord {
  const copy = Buffer.from(reply);
  copy[2] &= 0x7f;
  const q = readQuery(copy);
  assert.ok(q.kind === 'query' && q.hasTsig, 'the response is signed');
  return new TsigResponseVerifier(key, requestMac).verify(reply, q.tsigOffset!);
}
