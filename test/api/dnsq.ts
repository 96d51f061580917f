/**
 * A tiny DNS client for the API tests: one UDP query to a loopback listener, decoded by dns-packet,
 * so a test can check what DNS answers right after an API write.
 */
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

/** The parts of an answer the tests compare. */
export interface DnsAnswer {
  rcode: string;
  answers: Array<{ name: string; type: string; data: unknown; ttl?: number }>;
}

let nextId = 1;

/** Query `name`/`type` at 127.0.0.1:`port` over UDP (1 s timeout). */
export function queryUdp(port: number, name: string, type: string): Promise<DnsAnswer> {
  const id = (nextId = (nextId + 1) & 0xffff);
  const msg = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ type: type as dnsPacket.RecordType, name }] });
  const sock = createSocket('udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`DNS query ${name} ${type} timed out`));
    }, 1000);
    sock.on('message', (buf) => {
      const p = dnsPacket.decode(buf);
      if (p.id !== id) return;
      clearTimeout(timer);
      sock.close();
      resolve({
        rcode: (p as unknown as { rcode: string }).rcode,
        answers: (p.answers ?? []).map((a) => ({ name: a.name, type: a.type, data: (a as { data?: unknown }).data, ttl: (a as { ttl?: number }).ttl })),
      });
    });
    sock.send(msg, port, '127.0.0.1');
  });
}

/** Sorted A addresses (or other data as text) of an answer, for comparisons. */
export function dataOf(a: DnsAnswer, type: string): string[] {
  return a.answers.filter((x) => x.type === type).map((x) => (typeof x.data === 'string' ? x.data : JSON.stringify(x.data))).sort();
}
