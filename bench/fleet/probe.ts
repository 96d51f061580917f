/**
 * MCNS's answer time for a secondary's kind of query, from a process of its own (bench/fleet/run.ts
 * --trace starts it, so the bench's busy event loop is not measured): one SOA query over a new TCP
 * connection (connect, then answer), one over UDP, every 20 ms, until stdin closes; then p50/p99/max.
 *
 *     node --import tsx bench/fleet/probe.ts PORT ZONE [SOURCE-ADDRESS]
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { makeQuery } from '../../test/transfer/helpers.ts';

const [port, zone, source] = [Number(process.argv[2]), process.argv[3], process.argv[4] ?? '127.0.0.5'];
const times = { 'tcp connect': [] as number[], 'tcp answer': [] as number[], udp: [] as number[] };
let running = true;
process.stdin.on('end', () => (running = false)).resume();

const tcpOnce = (q: Buffer): Promise<void> =>
  new Promise((resolve, reject) => {
    const t = performance.now();
    let tc = 0;
    const sock = connect({ port, host: '127.0.0.1', localAddress: source });
    sock.on('connect', () => {
      tc = performance.now();
      times['tcp connect'].push(tc - t);
      const frame = Buffer.alloc(2);
      frame.writeUInt16BE(q.length);
      sock.end(Buffer.concat([frame, q]));
    });
    sock.once('data', () => {
      times['tcp answer'].push(performance.now() - tc);
      if (process.env.PROBE_LOG) console.error(`probe ${(performance.timeOrigin + t).toFixed(1)} connect+${(tc - t).toFixed(1)} answer+${(performance.now() - tc).toFixed(1)} local ${sock.localPort}`);
      sock.destroy();
      resolve();
    });
    sock.on('error', reject);
  });

const udp = createSocket('udp4');
udp.bind(0, source);
const udpOnce = (q: Buffer): Promise<void> =>
  new Promise((resolve) => {
    const t = performance.now();
    udp.once('message', () => {
      times.udp.push(performance.now() - t);
      resolve();
    });
    udp.send(q, port, '127.0.0.1');
  });

const pct = (xs: number[], p: number): string => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN).toFixed(1);
};

async function main(): Promise<void> {
  const q = makeQuery(zone, 'SOA', { id: 7 });
  while (running) {
    await tcpOnce(q);
    await udpOnce(q);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const [k, xs] of Object.entries(times)) console.log(`probe: SOA query to MCNS, ${k}: p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.length})`);
  udp.close();
}
void main();
