/**
 * Test plumbing for zone transfers: a small DNS listener on loopback (UDP + TCP on one port) that
 * routes transfers and NOTIFY to the transfer handlers and everything else to the authoritative
 * answerer, plus a TCP client that collects a multi-message response, and a message decoder.
 *
 * The production listeners live in src/dns/server.ts; this one exists so the transfer modules can
 * be tested over real sockets on their own.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { execFile } from 'node:child_process';
import dnsPacket from 'dns-packet';
import { readQuery } from '../../src/dns/query.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { answerQuery } from '../../src/dns/answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import type { LedgerState } from '../../src/projections/state.ts';
import type { TransferHandlers, TransferPeer } from '../../src/dns/transfer/index.ts';
import { canonicalValue, formatRData } from '../../src/records/rdata.ts';
import type { RRType } from '../../src/records/types.ts';
import { readName, skipRR } from '../../src/dns/transfer/message.ts';

/** A running test listener. */
export interface MiniDns {
  port: number;
  close(): Promise<void>;
}

function answer(state: LedgerState, raw: Buffer, peer: TransferPeer, handlers: TransferHandlers | undefined, send: (m: Buffer) => void): void {
  const q = readQuery(raw);
  if (q.kind !== 'query') return;
  const handler = handlers?.handlers[q.opcode];
  if (handler) {
    const r = handler(q, raw, peer);
    if (r) send(r);
    return;
  }
  if (handlers?.transfer(q, raw, peer, send)) return;
  const a = answerQuery(state, q, { tcp: peer.transport === 'tcp' });
  send(encodeMessage(a.message, maxResponseSize(q, peer.transport === 'tcp')).bytes);
}

async function listenBoth(tcp: Server, udp: UdpSocket): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as { port: number }).port;
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, '127.0.0.1', () => {
          udp.off('error', reject);
          resolve();
        });
      });
      return port;
    } catch (err) {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      if (attempt > 20) throw err;
    }
  }
}

/** Start a listener on 127.0.0.1 (UDP and TCP on one ephemeral port) answering from `getState()`. */
export async function startMiniDns(getState: () => LedgerState, handlers?: TransferHandlers): Promise<MiniDns> {
  const sockets = new Set<Socket>();
  const tcp = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const peer: TransferPeer = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0, transport: 'tcp' };
        answer(getState(), Buffer.from(msg), peer, handlers, (m) => {
          const frame = Buffer.allocUnsafe(2);
          frame.writeUInt16BE(m.length, 0);
          sock.write(Buffer.concat([frame, m]));
        });
      }
    });
  });
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const peer: TransferPeer = { address: rinfo.address, port: rinfo.port, transport: 'udp' };
    answer(getState(), msg, peer, handlers, (m) => udp.send(m, rinfo.port, rinfo.address));
  });
  const port = await listenBoth(tcp, udp);
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}

/**
 * Send one query over TCP and collect response messages until `done(messages)` says so, the
 * server closes, or `timeoutMs` passes.
 */
export function tcpExchange(
  port: number,
  query: Buffer,
  done: (msgs: Buffer[]) => boolean,
  opts: { localAddress?: string; timeoutMs?: number } = {},
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const msgs: Buffer[] = [];
    const sock = connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timeout after ${msgs.length} messages`));
    }, opts.timeoutMs ?? 20000);
    let buf = Buffer.alloc(0);
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(msgs);
    };
    sock.on('connect', () => {
      const frame = Buffer.allocUnsafe(2);
      frame.writeUInt16BE(query.length, 0);
      sock.write(Buffer.concat([frame, query]));
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        msgs.push(Buffer.from(buf.subarray(2, 2 + len)));
        buf = buf.subarray(2 + len);
        if (done(msgs)) return finish();
      }
    });
    sock.on('close', finish);
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Send one query over UDP to 127.0.0.1:port and return the first answer. */
export function udpExchange(port: number, query: Buffer, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('UDP timeout'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.bind(0, '127.0.0.1', () => s.send(query, port, '127.0.0.1'));
  });
}

/** A query message (dns-packet encodes queries; answers are ours). */
export function makeQuery(name: string, type: string, opts: { id?: number; opcode?: 'NOTIFY'; authority?: dnsPacket.Answer[] } = {}): Buffer {
  const msg = dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 4242,
    flags: 0,
    questions: [{ name: name.replace(/\.$/, ''), type: type as never, class: 'IN' }],
    authorities: opts.authority ?? [],
  } as dnsPacket.Packet);
  // dns-packet's encoder ignores `opcode`: set it in the header (NOTIFY = 4, with AA as RFC 1996 asks).
  if (opts.opcode === 'NOTIFY') msg.writeUInt16BE((4 << 11) | 0x0400, 2);
  return msg;
}

/** Decode a response with dns-packet (TSIG comes out as an unknown-type record). */
export function decode(msg: Buffer): dnsPacket.DecodedPacket {
  return dnsPacket.decode(msg);
}

/** The rcode (low 4 bits) of a response. */
export function rcodeOf(msg: Buffer): number {
  return msg.readUInt16BE(2) & 0xf;
}

/**
 * A fresh completion check for one AXFR/IXFR stream, fed each message once: complete when the SOA
 * that opened it appears a second time, on an error rcode, or for a single-SOA IXFR answer.
 */
export function streamComplete(): (msgs: Buffer[]) => boolean {
  let seen = 0;
  let firstSerial: number | undefined;
  let soaCount = 0;
  let total = 0;
  return (msgs) => {
    for (; seen < msgs.length; seen++) {
      const m = msgs[seen];
      if (seen === 0 && rcodeOf(m) !== 0) return true;
      const p = decode(m);
      for (const a of p.answers ?? []) {
        total++;
        if (a.type !== 'SOA') continue;
        const serial = (a.data as dnsPacket.SoaData).serial;
        firstSerial ??= serial;
        if (serial === firstSerial) soaCount++;
      }
      if (seen === 0 && p.questions?.[0]?.type === 'IXFR' && total === 1 && soaCount === 1) return true;
    }
    return soaCount >= 2;
  };
}

/** Run a command without blocking the event loop (the listener under test lives in this process). */
export function run(cmd: string, args: string[], timeoutMs = 60000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** dns-packet's name (no trailing dot, root as '') as an absolute name. */
function dotted(n: string): string {
  return n === '' || n === '.' ? '.' : `${n}.`;
}

/**
 * The answer RRs of a message as "name type ttl value" keys. Owner names are read with our own
 * reader (dns-packet drops escapes such as `\\.` and `\\032`), rdata with dns-packet.
 */
export function answerKeys(msg: Buffer): string[] {
  const p = decode(msg);
  const owners: string[] = [];
  let off = 12;
  const qd = msg.readUInt16BE(4);
  for (let i = 0; i < qd; i++) off = readName(msg, off).end + 4;
  for (let i = 0; i < (p.answers?.length ?? 0); i++) {
    owners.push(readName(msg, off).name);
    off = skipRR(msg, off);
  }
  return (p.answers ?? []).map((a, i) => answerKey(a, owners[i]));
}

/** A decoded answer RR as "name type ttl value" with the value in MCNS's canonical text (for set comparison). */
export function answerKey(a: dnsPacket.Answer, owner?: string): string {
  const name = owner ?? (a.name === '' || a.name === '.' ? '.' : `${a.name.toLowerCase()}.`);
  const d = (a as { data?: unknown }).data as never as Record<string, unknown> & string & Buffer[];
  let text: string;
  switch (a.type) {
    case 'A':
    case 'AAAA':
      text = d as string;
      break;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      text = dotted(d as string);
      break;
    case 'MX':
      text = `${d.preference} ${dotted(d.exchange as string)}`;
      break;
    case 'TXT':
      return `${name} TXT ${(a as { ttl?: number }).ttl} ${formatRData({ type: 'TXT', strings: (d as Buffer[]).map((b) => new Uint8Array(b)) })}`;
    case 'SRV':
      text = `${d.priority} ${d.weight} ${d.port} ${dotted(d.target as string)}`;
      break;
    case 'CAA':
      return `${name} CAA ${(a as { ttl?: number }).ttl} ${formatRData({ type: 'CAA', flags: d.flags as number, tag: d.tag as string, value: new Uint8Array(Buffer.from(d.value as string)) })}`;
    case 'SOA':
      text = `${dotted(d.mname as string)} ${dotted(d.rname as string)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
      break;
    default:
      return `${name} ${a.type} ?`;
  }
  return `${name} ${a.type} ${(a as { ttl?: number }).ttl} ${canonicalValue(a.type as RRType, text)}`;
}

/** A ledger record as "name type ttl value". */
export function recordKey(r: { name: string; type: string; ttl: number; value: string }): string {
  return `${r.name} ${r.type} ${r.ttl} ${r.value}`;
}
