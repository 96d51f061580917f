/**
 * A steady DNS load with per-query latency, run as its own process so that the benchmark's REST
 * clients never delay its timers: sends one UDP query every 1/rate s (paced by the clock, not by
 * replies), matches replies by id, and prints JSON with p50/p99/p99.9/max latency and losses.
 *
 *   node --import tsx bench/pit/dns-probe.ts PORT NAME SECONDS RATE
 */
import { createSocket } from 'node:dgram';
import { encodeMessage } from '../../src/dns/wire.ts';

const [port, name, seconds, rate] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const sock = createSocket('udp4');
const sentAt = new Map<number, number>();
const latencies: number[] = [];
let sent = 0;
let nextId = 1;

sock.on('message', (buf) => {
  const id = buf.readUInt16BE(0);
  const t0 = sentAt.get(id);
  if (t0 === undefined) return;
  sentAt.delete(id);
  latencies.push(performance.now() - t0);
});

function query(id: number): Buffer {
  return Buffer.from(encodeMessage({ id, flags: 0, question: [{ name, type: 1, class: 1 }], answer: [], authority: [], additional: [] }).bytes);
}

const start = performance.now();
const interval = 1000 / rate;
function pump(): void {
  const now = performance.now();
  // Catch up to the schedule (a late timer sends what it owes, so the rate is kept).
  while (start + sent * interval <= now && now - start < seconds * 1000) {
    const id = nextId;
    nextId = (nextId % 65535) + 1;
    sentAt.set(id, performance.now());
    sock.send(query(id), port, '127.0.0.1');
    sent++;
  }
  if (now - start < seconds * 1000) setTimeout(pump, Math.max(0, interval / 2));
  else setTimeout(finish, 1000); // replies still in flight get a second
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function finish(): void {
  sock.close();
  const s = latencies.sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  process.stdout.write(
    JSON.stringify({ sent, answered: s.length, lost: sent - s.length, p50: r(pct(s, 50)), p99: r(pct(s, 99)), p999: r(pct(s, 99.9)), max: r(s[s.length - 1] ?? NaN) }) + '\n',
  );
}

pump();
