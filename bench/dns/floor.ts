/**
 * The floor: a bare Node.js server that answers from a Map of precomputed wire answers (keyed by
 * the lowercased question bytes), the fastest a Node dgram/net server can be on this machine. MCNS's
 * target is 80% of its rate. With --dns-packet it instead decodes every query and encodes every
 * answer with dns-packet (the decode+encode rate cache misses are held to).
 * Usage: node --import tsx bench/dns/floor.ts ZONEFILE PORT [--dns-packet]
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { encodeMessage } from '../../src/dns/wire.ts';
import { parseRData } from '../../src/records/rdata.ts';

/** Precomputed answers: lowercased question bytes (latin1) -> full response with id 0. */
export function precompute(zoneFile: string): Map<string, Buffer> {
  const answers = new Map<string, Buffer>();
  for (const line of fs.readFileSync(zoneFile, 'utf8').split('\n')) {
    const m = /^(h\d+)\s+A\s+(\S+)$/.exec(line);
    if (!m) continue;
    const name = `${m[1]}.bench.test.`;
    const bytes = encodeMessage({
      id: 0,
      flags: 0x8400,
      question: [{ name, type: 1, class: 1 }],
      answer: [{ name, type: 'A', ttl: 3600, data: parseRData('A', m[2]) }],
      authority: [],
      additional: [],
    }).bytes;
    answers.set(bytes.toString('latin1', 12, 12 + name.length + 1 + 4), bytes);
  }
  return answers;
}

/** The response for a query, or undefined. */
function answer(answers: Map<string, Buffer>, msg: Buffer): Buffer | undefined {
  if (msg.length < 17) return undefined;
  let p = 12;
  while (p < msg.length && msg[p] !== 0) p += msg[p] + 1;
  const key = msg.toString('latin1', 12, p + 5).toLowerCase();
  const hit = answers.get(key);
  if (!hit) return undefined;
  const out = Buffer.allocUnsafe(hit.length);
  hit.copy(out);
  out[0] = msg[0];
  out[1] = msg[1];
  return out;
}

/** rcode 3 in the flags word dns-packet encodes. */
const NXDOMAIN = 3;
const NEGATIVE_SOA = {
  name: 'bench.test',
  type: 'SOA',
  class: 'IN',
  ttl: 600,
  data: { mname: 'ns1.bench.test', rname: 'hostmaster.bench.test', serial: 1, refresh: 7200, retry: 900, expire: 1209600, minimum: 600 },
} as const;

/** Decode + encode with dns-packet per query (addresses from a Map of lowercased names). */
function dnsPacketServer(zoneFile: string): (msg: Buffer) => Buffer | undefined {
  const addrs = new Map<string, string>();
  for (const line of fs.readFileSync(zoneFile, 'utf8').split('\n')) {
    const m = /^(h\d+)\s+A\s+(\S+)$/.exec(line);
    if (m) addrs.set(`${m[1]}.bench.test`, m[2]);
  }
  return (msg) => {
    try {
      const q = dnsPacket.decode(msg);
      const question = q.questions?.[0];
      if (!question) return undefined;
      const a = addrs.get(question.name.toLowerCase());
      // ANY: the A record (MCNS answers one RRset over UDP, RFC 8482).
      const hit = a !== undefined && (question.type === 'A' || (question.type as string) === 'ANY');
      return dnsPacket.encode({
        id: q.id,
        type: 'response',
        flags: dnsPacket.AUTHORITATIVE_ANSWER | (a === undefined ? NXDOMAIN : 0),
        questions: [question],
        answers: hit ? [{ name: question.name, type: 'A', class: 'IN', ttl: 3600, data: a }] : [],
        // NODATA and NXDOMAIN: the zone's SOA in authority, as MCNS answers them.
        authorities: hit ? [] : [NEGATIVE_SOA],
      });
    } catch {
      return undefined;
    }
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const precomputed = process.argv.includes('--dns-packet') ? undefined : precompute(process.argv[2]);
  const viaPacket = precomputed ? undefined : dnsPacketServer(process.argv[2]);
  const answers = precomputed ?? new Map<string, Buffer>();
  const port = Number(process.argv[3] ?? 0);
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, r) => {
    const out = viaPacket ? viaPacket(msg) : answer(answers, msg);
    if (out) udp.send(out, r.port, r.address);
  });
  udp.bind(port, '127.0.0.1', () => {
    try {
      udp.setRecvBufferSize(8 * 1024 * 1024);
    } catch {
      // default buffer
    }
    const tcp = net.createServer({ noDelay: true }, (s) => {
      let buf = Buffer.alloc(0);
      s.on('error', () => s.destroy());
      s.on('data', (c) => {
        buf = buf.length ? Buffer.concat([buf, c]) : c;
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const m = buf.subarray(2, 2 + len);
          const out = viaPacket ? viaPacket(m) : answer(answers, m);
          buf = buf.subarray(2 + len);
          if (out) {
            const f = Buffer.allocUnsafe(2 + out.length);
            f.writeUInt16BE(out.length, 0);
            out.copy(f, 2);
            s.write(f);
          }
        }
      });
    });
    tcp.listen(udp.address().port, '127.0.0.1', () => console.log(`ready ${udp.address().port}`));
  });
}
