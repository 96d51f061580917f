/**
 * API benchmark: record creates per second over REST and over gRPC, with 1 client and with 16
 * concurrent clients, and the time from a write's 2xx to the DNS answer that shows it. Everything
 * is real and on loopback: SQLite in a temp dir, TLS 1.3, the MCIAS fake (tokens cached after the
 * first call, as in production), and the DNS listener over UDP.
 *
 *   node --import tsx bench/api/run.ts [--n 1000] [--no-write]
 *
 * Appends (or replaces) the "API" section of bench/RESULTS.md unless --no-write.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { McIasClient } from '../../src/api/auth.ts';
import { loadProtos, startGrpc } from '../../src/api/grpc.ts';
import { startRest } from '../../src/api/rest.ts';
import { startDns } from '../../src/dns/server.ts';
import { Ledger } from '../../src/ledger.ts';
import { startMcIasFake } from '../../test/helpers/mcias-fake.ts';
import { makeTestTls } from '../../test/helpers/tls.ts';
import { queryUdp } from '../../test/api/dnsq.ts';

const args = process.argv.slice(2);
const N = Number(args[args.indexOf('--n') + 1] || 1000) || 1000;
const write = !args.includes('--no-write');

const dir = mkdtempSync(join(tmpdir(), 'mcns-bench-api-'));
const ledger = Ledger.open({ path: join(dir, 'mcns.db'), checkpointEvery: 1000 });
const mcias = await startMcIasFake();
const auth = new McIasClient({ serverUrl: mcias.url, ca: mcias.tls.ca });
const tls = makeTestTls();
const common = { ledger, tls: { cert: tls.cert, key: tls.key }, auth, listen: '127.0.0.1:0' };
const rest = await startRest(common);
const grpcSrv = await startGrpc(common);
const dns = await startDns({ ledger, listen: ['127.0.0.1:0'] });
const dnsPort = dns.addresses[0].udp.port;
const token = mcias.tokenFor('mcp-agent');
const ZONE = 'bench.test';
ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns.${ZONE}`, admin_email: `hostmaster@${ZONE}` } }, { actor: 'bench' });

const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: tls.ca });
function restCreate(name: string): Promise<number> {
  const body = Buffer.from(JSON.stringify({ name, type: 'A', value: '192.0.2.1' }));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: rest.address.port, method: 'POST', path: `/v1/zones/${ZONE}/records`, agent, servername: 'localhost', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 201 ? resolve(performance.now()) : reject(new Error(`REST ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const pkg = grpc.loadPackageDefinition(loadProtos()) as any;
const grpcClients = Array.from({ length: 16 }, () => new pkg.mcns.v1.RecordService(`127.0.0.1:${grpcSrv.port}`, grpc.credentials.createSsl(tls.ca), { 'grpc.ssl_target_name_override': 'localhost', 'grpc.use_local_subchannel_pool': 1 }));
const md = new grpc.Metadata();
md.set('authorization', `Bearer ${token}`);
function grpcCreate(name: string, client = 0): Promise<number> {
  return new Promise((resolve, reject) =>
    grpcClients[client].CreateRecord({ zone: ZONE, name, type: 'A', value: '192.0.2.1' }, md, (err: Error | null) => (err ? reject(err) : resolve(performance.now()))),
  );
}

let seq = 0;
async function throughput(label: string, create: (name: string, client: number) => Promise<number>, clients: number, total: number): Promise<{ label: string; clients: number; total: number; perSec: number; ms: number }> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (next < total) {
        next++;
        await create(`${label}-${clients}-${++seq}`, c);
      }
    }),
  );
  const ms = performance.now() - t0;
  return { label, clients, total, perSec: Math.round((total / ms) * 1000), ms: Math.round(ms) };
}

async function visibility(label: string, create: (name: string) => Promise<number>, count: number): Promise<{ label: string; p50: number; p99: number; max: number; firstQuery: number }> {
  const gaps: number[] = [];
  let first = 0;
  for (let i = 0; i < count; i++) {
    const name = `vis-${label}-${i}`;
    const t2xx = await create(name);
    for (let attempt = 0; ; attempt++) {
      const a = await queryUdp(dnsPort, `${name}.${ZONE}`, 'A');
      if (a.rcode === 'NOERROR' && a.answers.length > 0) {
        gaps.push(performance.now() - t2xx);
        if (attempt === 0) first++;
        break;
      }
      if (attempt > 100) throw new Error(`${name} never answered`);
    }
  }
  gaps.sort((a, b) => a - b);
  const q = (p: number): number => Math.round(gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] * 1000) / 1000;
  return { label, p50: q(0.5), p99: q(0.99), max: q(1), firstQuery: first / count };
}

// Warm up: TLS sessions, JIT, the token cache.
await throughput('warm-rest', (n) => restCreate(n), 4, 100);
await throughput('warm-grpc', (n, c) => grpcCreate(n, c), 4, 100);

const results = [
  await throughput('REST', (n) => restCreate(n), 1, N),
  await throughput('REST', (n) => restCreate(n), 16, N * 2),
  await throughput('gRPC', (n, c) => grpcCreate(n, c), 1, N),
  await throughput('gRPC', (n, c) => grpcCreate(n, c), 16, N * 2),
];
const vis = [await visibility('rest', restCreate, 300), await visibility('grpc', (n) => grpcCreate(n), 300)];

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const table = [
  '## API',
  '',
  `Record creates through the management API (bench/api/run.ts, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpu} x${cpus().length}).`,
  'Each create is one ledger batch (RecordCreated + SerialBumped, one SQLite transaction) decided against the',
  'projection and applied before the 2xx; TLS 1.3 on loopback; the MCIAS token is validated once and then cached.',
  `The log holds ${ledger.state.seq} events at the end of the run.`,
  '',
  '| surface | clients | creates | time (ms) | creates/s |',
  '|---|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.label} | ${r.clients} | ${r.total} | ${r.ms} | ${r.perSec} |`),
  '',
  'Time from the 2xx of a create to a DNS answer (UDP, 127.0.0.1) that contains the new record, 300 creates each:',
  '',
  '| surface | p50 (ms) | p99 (ms) | max (ms) | answered by the first query after the 2xx |',
  '|---|---:|---:|---:|---:|',
  ...vis.map((v) => `| ${v.label === 'rest' ? 'REST' : 'gRPC'} | ${v.p50} | ${v.p99} | ${v.max} | ${(v.firstQuery * 100).toFixed(1)} % |`),
  '',
  'The 2xx-to-DNS time is the cost of one UDP query round trip: the write is already in the projection',
  'when the 2xx is sent (read-your-writes), so the first query after it always sees the record.',
  'Throughput is bounded by the ledger, not the transports: each create is one `ledger.execute`:',
  'a durable SQLite commit (synchronous=FULL in WAL mode, see the Ledger section), and writes are',
  'serialised, so 16 clients do not add throughput; batching several changes into one POST /changes does.',
  '',
].join('\n');
process.stdout.write(`${table}\n`);

if (write) {
  const path = join(import.meta.dirname, '..', 'RESULTS.md');
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  // Replace our own section only; other sections belong to other benchmarks.
  const re = /## API\n[\s\S]*?(?=\n## |$)/;
  const next = re.test(old) ? old.replace(re, table.trimEnd() + '\n') : `${old.trimEnd()}\n\n${table}`;
  writeFileSync(path, next.endsWith('\n') ? next : `${next}\n`);
}

for (const c of grpcClients) c.close();
agent.destroy();
await rest.close();
await grpcSrv.close();
await dns.close();
await mcias.close();
ledger.close();
rmSync(dir, { recursive: true, force: true });
rmSync(tls.dir, { recursive: true, force: true });
rmSync(mcias.tls.dir, { recursive: true, force: true });
