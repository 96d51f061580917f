/**
 * Shared test harness for the DNS suites: a real Ledger on a temp SQLite file loaded from the zone
 * fixtures, a real server on 127.0.0.1 port 0, and raw UDP/TCP query helpers with a decoder that
 * flattens messages into comparable text.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dnsPacket from 'dns-packet';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { startDns, type DnsServer, type DnsServerOptions } from '../../src/dns/server.ts';
import { encodeMessage } from '../../src/dns/wire.ts';

/** The folder of the DNS zone fixtures. */
export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'dns');

/** Zone name -> fixture file of the conformance zones. */
export const ZONES: Record<string, string> = {
  'dns.test.': 'dns.test.zone',
  'child.dns.test.': 'child.dns.test.zone',
};

/** A ledger on a fresh temp database with `zones` imported. */
export function fixtureLedger(zones: Record<string, string> = ZONES): { ledger: Ledger; dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-dns-'));
  const ledger = Ledger.open({ path: path.join(dir, 'ledger.db') });
  for (const [zone, file] of Object.entries(zones)) {
    const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
    ledger.execute(importCommand(zone, text), { actor: 'test' });
  }
  return {
    ledger,
    dir,
    cleanup: () => {
      ledger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A server on loopback answering from the fixture ledger. */
export async function fixtureServer(extra: Partial<DnsServerOptions> = {}): Promise<{ server: DnsServer; ledger: Ledger; port: number; close: () => Promise<void> }> {
  const { ledger, cleanup } = fixtureLedger();
  const server = await startDns({ ledger, listen: ['127.0.0.1:0'], ...extra });
  return {
    server,
    ledger,
    port: server.addresses[0].udp.port,
    close: async () => {
      await server.close();
      cleanup();
    },
  };
}

/** What a test query asks. */
export interface Ask {
  name: string;
  type?: number;
  class?: number;
  /** EDNS: undefined = none; else the payload size (and DO, version). */
  edns?: { size?: number; do?: boolean; version?: number };
  rd?: boolean;
  opcode?: number;
  id?: number;
}

/** Builds the wire form of a query. */
export function buildQuery(a: Ask): Buffer {
  return encodeMessage({
    id: a.id ?? 0x4242,
    flags: ((a.opcode ?? 0) << 11) | (a.rd ? 0x0100 : 0),
    question: [{ name: a.name, type: a.type ?? 1, class: a.class ?? 1 }],
    answer: [],
    authority: [],
    additional: [],
    edns: a.edns
      ? { udpPayloadSize: a.edns.size ?? 1232, extendedRcode: 0, version: a.edns.version ?? 0, flags: a.edns.do ? 0x8000 : 0, options: new Uint8Array(0) }
      : undefined,
  }).bytes;
}

/**
 * Sends raw bytes over UDP and resolves with the first reply (rejects after `timeoutMs`). Like any
 * resolver it retransmits (every third of the timeout): UDP may drop a datagram on a loaded machine.
 */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 2000, host = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const resend = setInterval(() => s.send(msg, port, host), Math.max(100, Math.floor(timeoutMs / 3)));
    const t = setTimeout(() => {
      clearInterval(resend);
      s.close();
      reject(new Error('udp timeout'));
    }, timeoutMs);
    s.on('message', (b) => {
      clearTimeout(t);
      clearInterval(resend);
      s.close();
      resolve(b);
    });
    s.send(msg, port, host);
  });
}

/** Sends framed messages over one TCP connection and resolves with `expect` replies. */
export function tcpExchange(port: number, msgs: Buffer[], expect = msgs.length, timeoutMs = 3000, host = '127.0.0.1'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const sock = net.connect({ host, port });
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`tcp timeout (${out.length}/${expect} replies)`));
    }, timeoutMs);
    sock.on('connect', () => {
      for (const m of msgs) {
        const f = Buffer.alloc(2 + m.length);
        f.writeUInt16BE(m.length, 0);
        m.copy(f, 2);
        sock.write(f);
      }
    });
    sock.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        out.push(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
      }
      if (out.length >= expect) {
        clearTimeout(t);
        sock.destroy();
        resolve(out);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** The comparable shape of a response. */
export interface Flat {
  id: number;
  rcode: string;
  flags: string[];
  question: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  opt?: { size: number; version: number; do: boolean; extendedRcode: number };
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

function fqdn(n: string): string {
  return n === '' || n === '.' ? '.' : `${n.toLowerCase()}.`;
}

function rrText(rr: any): string {
  let data: string;
  const d = rr.data;
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      data = String(d);
      break;
    case 'NS':
    case 'CNAME':
    case 'DNAME':
    case 'PTR':
      data = fqdn(String(d));
      break;
    case 'DS':
      data = `${d.keyTag} ${d.algorithm} ${d.digestType} ${Buffer.from(d.digest).toString('hex')}`;
      break;
    case 'MX':
      data = `${d.preference} ${fqdn(d.exchange)}`;
      break;
    case 'SRV':
      data = `${d.priority} ${d.weight} ${d.port} ${fqdn(d.target)}`;
      break;
    case 'SOA':
      // The serial is the ledger's (YYYYMMDDNN of the import day): tests compare the rest.
      data = `${fqdn(d.mname)} ${fqdn(d.rname)} SERIAL ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
      break;
    case 'TXT':
      data = (d as Buffer[]).map((b) => JSON.stringify(b.toString('latin1'))).join(' ');
      break;
    case 'HINFO':
      data = `${JSON.stringify(d.cpu)} ${JSON.stringify(d.os)}`;
      break;
    case 'CAA':
      data = `${d.flags} ${d.tag} ${JSON.stringify(d.value)}`;
      break;
    default:
      data = Buffer.isBuffer(d) ? d.toString('hex') : JSON.stringify(d);
  }
  return `${fqdn(String(rr.name))} ${rr.ttl} ${rr.class ?? 'IN'} ${rr.type} ${data}`;
}

/** Decodes a response into comparable text (dns-packet names come without the trailing dot). */
export function flatten(b: Buffer): Flat {
  const p = dnsPacket.decode(b) as any;
  const flags: string[] = [];
  if (p.flag_qr) flags.push('qr');
  if (p.flag_aa) flags.push('aa');
  if (p.flag_tc) flags.push('tc');
  if (p.flag_rd) flags.push('rd');
  if (p.flag_ra) flags.push('ra');
  if (p.flag_cd) flags.push('cd');
  const opt = (p.additionals as any[]).find((r) => r.type === 'OPT');
  const rcodeLow = b[3] & 0xf;
  const ext = opt ? (opt.extendedRcode ?? 0) : 0;
  const code = (ext << 4) | rcodeLow;
  return {
    id: p.id,
    rcode: code === 16 ? 'BADVERS' : (RCODES[code] ?? String(code)),
    flags,
    question: (p.questions as any[]).map((q) => `${q.name}. ${q.class} ${q.type}`.replace(/^\.\. /, '. ')),
    answer: (p.answers as any[]).map(rrText),
    authority: (p.authorities as any[]).map(rrText),
    additional: (p.additionals as any[]).filter((r) => r.type !== 'OPT').map(rrText),
    opt: opt ? { size: opt.udpPayloadSize, version: opt.version ?? 0, do: Boolean((opt.flags ?? 0) & 0x8000), extendedRcode: ext } : undefined,
  };
}

/** Query over UDP or TCP and flatten the reply. */
export async function ask(port: number, a: Ask, transport: 'udp' | 'tcp' = 'udp'): Promise<Flat> {
  const q = buildQuery(a);
  const b = transport === 'udp' ? await udpExchange(port, q) : (await tcpExchange(port, [q]))[0];
  return flatten(b);
}

/** A table case: the query and the expected response (sections compared in order-insensitive form). */
export interface Case {
  name: string;
  q: Ask;
  transport?: 'udp' | 'tcp';
  rcode: string;
  flags: string[];
  answer?: string[];
  authority?: string[];
  additional?: string[];
}

/** Sorted copy, so sections compare as sets of records. */
export function sorted(a: string[] | undefined): string[] {
  return [...(a ?? [])].sort();
}

/** Runs a table of cases as node:test subtests against one fixture server. */
export async function runTable(t: { test: (name: string, fn: () => Promise<void>) => Promise<void> }, port: number, cases: Case[]): Promise<void> {
  for (const c of cases) {
    await t.test(c.name, async () => {
      const r = await ask(port, c.q, c.transport ?? 'udp');
      assert.equal(r.rcode, c.rcode, 'rcode');
      assert.deepEqual(r.flags, c.flags, 'flags');
      assert.equal(r.id, c.q.id ?? 0x4242, 'id');
      assert.deepEqual(sorted(r.answer), sorted(c.answer), 'answer');
      assert.deepEqual(sorted(r.authority), sorted(c.authority), 'authority');
      assert.deepEqual(sorted(r.additional), sorted(c.additional), 'additional');
    });
  }
}
