/**
 * bench/fleet: MCNS with 100 zones and three real secondaries on loopback — Knot and BIND configured
 * with the catalog alone, NSD with the generated zone list, each started with exactly what
 * `mcns secondary-config` printed — then 2,000 record changes spread over the zones from 8 REST
 * clients. For every change and every secondary: the time from the change's 2xx to the secondary
 * serving the change's serial (or a later one), as p50/p99. At the end every secondary must answer
 * every RRset of every zone like MCNS does. MCNS runs as its own process (`bin/mcns server`), so
 * the clients and the watchers of this script do not share its event loop.
 *
 *     node --import tsx bench/fleet/run.ts [--zones 100] [--changes 2000] [--clients 8] [--rate N] [--tcp-per-client 40] [--trace DIR]
 *
 * By default the clients write as fast as MCNS takes it (each waits for its 2xx): MCNS is then
 * saturated, and so is its event loop. --rate N paces the changes at N a second in total (each
 * change starts at its time, whatever the clients are waiting for), for a primary under a load it
 * sustains.
 *
 * --trace DIR runs MCNS and the secondaries at debug level and writes their logs and every change
 * (zone, serial, 2xx time, visibility time per secondary) to DIR for bench/fleet/trace.ts, which
 * breaks the delay down (NOTIFY sent, acknowledged, SOA query, IXFR served, visible).
 */
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { spawn } from 'node:child_process';
import { serialCompare } from '../../src/projections/serial.ts';
import { tempDir } from '../../test/helpers/ledger.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { startMcIasFake } from '../../test/helpers/mcias-fake.ts';
import { spawnMcns } from '../../test/cli/run.ts';
import { startSecondary, servedSerial, writePrimaryConfig, type Kind, type Secondary } from '../../test/fleet/fleet.ts';
import { answerKeys, makeQuery, rcodeOf, udpExchange } from '../../test/transfer/helpers.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ZONES = arg('zones', 100);
const CHANGES = arg('changes', 2000);
const CLIENTS = arg('clients', 8);
const RATE = arg('rate', 0);
const TCP_PER_CLIENT = arg('tcp-per-client', 40);
const TRACE = process.argv.includes('--trace') ? process.argv[process.argv.indexOf('--trace') + 1] : undefined;

/** Where each secondary's refresh queries and transfers come from. */
const SOURCES: Record<Kind, string> = { knot: '127.0.0.2', bind: '127.0.0.3', nsd: '127.0.0.4' };

/**
 * The SOA serial a secondary serves, asked over one UDP socket per secondary (answers matched by
 * ID): the watchers ask about every zone with a pending change every few milliseconds, and a
 * socket per question would make the measuring cost more than what it measures.
 */
class SoaPoller {
  private readonly sock = createSocket('udp4');
  private readonly waiting = new Map<number, (serial: number | undefined) => void>();
  private nextId = 1;

  constructor(private readonly port: number) {
    this.sock.on('message', (msg) => {
      const done = this.waiting.get(msg.readUInt16BE(0));
      if (!done) return;
      this.waiting.delete(msg.readUInt16BE(0));
      const soa = rcodeOf(msg) === 0 && msg[2] & 0x04 ? answerKeys(msg).find((k) => k.includes(' SOA ')) : undefined;
      done(soa ? Number(soa.split(' ')[5]) : undefined);
    });
    this.sock.bind(0, '127.0.0.1');
  }

  serial(zone: string): Promise<number | undefined> {
    const id = this.nextId++ & 0xffff || this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, 500);
      this.waiting.set(id, (serial) => {
        clearTimeout(timer);
        resolve(serial);
      });
      this.sock.send(makeQuery(zone, 'SOA', { id }), this.port, '127.0.0.1');
    });
  }

  close(): void {
    this.sock.close();
  }
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function main(): Promise<void> {
  const tmp = tempDir('mcns-bench-fleet-');
  const ports: Record<Kind, number> = { knot: await freePort(true), bind: await freePort(true), nsd: await freePort(true) };
  const mcias = await startMcIasFake();
  const written = await writePrimaryConfig(
    // Each secondary reaches MCNS from its own loopback address (`secondary-config --source`), as
    // separate hosts would: the per-client TCP budget and the trace tell them apart.
    // tcp_max_per_client 40 (default 20): the generated configs give each secondary half of it, and
    // BIND, which opens a connection per transfer, wants 20 transfers at once under this write rate.
    { dir: tmp.dir, notify: ports, catalog: true, dns: [`tcp_max_per_client = ${TCP_PER_CLIENT}`], logLevel: TRACE ? 'debug' : undefined },
    mcias,
  );
  const server = spawnMcns(['server', '--config', written.config], { cwd: tmp.dir });
  const serving = await server.waitForLog('mcns serving', 60_000);
  const primary = { config: written.config, dnsPort: written.dnsPort, restPort: Number(String(serving.rest).split(':').pop()), ca: written.tls.ca, token: mcias.tokenFor('alice') };
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const post = (path: string, body: unknown): Promise<{ status: number; json: { batch?: { serial?: number }; zone?: { serial?: number } } }> =>
    new Promise((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = request(
        { host: '127.0.0.1', port: primary.restPort, method: 'POST', path, ca: primary.ca, servername: 'localhost', agent, headers: { authorization: `Bearer ${primary.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  const secs: Secondary[] = [];
  try {
    const zones = Array.from({ length: ZONES }, (_, i) => `z${i}.fleet.test`);
    const createdSerial = new Map<string, number>();
    for (const z of zones) {
      const r = await post('/v1/zones', { name: z, primary_ns: `ns.${z}`, admin_email: `hostmaster@${z}`, refresh: 3600 });
      if (r.status !== 201) throw new Error(`create ${z}: ${r.status} ${JSON.stringify(r.json)}`);
      createdSerial.set(z, r.json.batch!.serial!);
    }
    const t0 = Date.now();
    for (const kind of ['knot', 'bind', 'nsd'] as const) secs.push(await startSecondary(kind, primary, ports[kind], join(tmp.dir, kind), { debug: Boolean(TRACE), source: SOURCES[kind] }));
    // Every secondary serves every zone at its current serial.
    for (const s of secs) {
      for (const z of zones) {
        const want = createdSerial.get(z)!;
        for (let i = 0; (await servedSerial(s.port, z)) !== want; i++) {
          if (i > 2400) throw new Error(`${s.kind} does not serve ${z}:\n${s.log().slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    }
    console.log(`initial: ${ZONES} zones on Knot, BIND and NSD in ${Date.now() - t0} ms`);

    // Changes and their visibility, watched per secondary.
    type Change = { zone: string; serial: number; at: number; visible: Partial<Record<Kind, number>> };
    const changes: Change[] = [];
    const pending = new Map<Kind, Change[]>(secs.map((s) => [s.kind, []]));
    const latency = new Map<Kind, number[]>(secs.map((s) => [s.kind, []]));
    let writing = true;
    const watch = async (s: Secondary): Promise<void> => {
      const list = pending.get(s.kind)!;
      const poller = new SoaPoller(s.port);
      while (writing || list.length > 0) {
        const byZone = new Map<string, number>();
        for (const p of list) byZone.set(p.zone, p.serial);
        const served = new Map<string, number | undefined>();
        await Promise.all([...byZone.keys()].map(async (z) => served.set(z, await poller.serial(z))));
        const now = Date.now();
        for (let i = list.length - 1; i >= 0; i--) {
          const got = served.get(list[i].zone);
          if (got !== undefined && serialCompare(got, list[i].serial) >= 0) {
            latency.get(s.kind)!.push(now - list[i].at);
            list[i].visible[s.kind] = now;
            list.splice(i, 1);
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      poller.close();
    };
    const watchers = secs.map((s) => watch(s));
    // With --trace: how long MCNS takes to answer one SOA query over a new TCP connection, and over
    // UDP, while the changes go on (a secondary's refresh check and transfer open such connections).
    const probe = TRACE ? spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'probe.ts'), String(primary.dnsPort), zones[0]], { stdio: ['pipe', 'pipe', 'inherit'] }) : undefined;
    let probeOut = '';
    probe?.stdout!.on('data', (d) => (probeOut += d));
    const probing = probe ? new Promise((r) => probe.on('close', r)) : Promise.resolve();
    let next = 0;
    const tw = Date.now();
    const client = async (): Promise<void> => {
      for (let i = next++; i < CHANGES; i = next++) {
        if (RATE > 0) {
          const due = tw + (i * 1000) / RATE - Date.now();
          if (due > 0) await new Promise((r) => setTimeout(r, due));
        }
        const zone = zones[i % ZONES];
        const r = await post(`/v1/zones/${zone}/records`, { name: `c${i}`, type: i % 2 ? 'TXT' : 'A', value: i % 2 ? `"change ${i}"` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
        const at = Date.now();
        if (r.status !== 201 || r.json.batch?.serial === undefined) throw new Error(`change ${i}: ${r.status} ${JSON.stringify(r.json)}`);
        const change: Change = { zone, serial: r.json.batch.serial, at, visible: {} };
        changes.push(change);
        for (const s of secs) pending.get(s.kind)!.push(change);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const writeMs = Date.now() - tw;
    writing = false;
    probe?.stdin!.end();
    await probing;
    process.stdout.write(probeOut);
    const deadline = setTimeout(() => {
      console.error(`not every change became visible within 120 s: ${secs.map((s) => `${s.kind} ${pending.get(s.kind)!.length} pending (${[...new Set(pending.get(s.kind)!.map((p) => p.zone))].slice(0, 5).join(' ')})`).join('; ')}`);
      const warn = server.stderr().split('\n').filter((l) => l.includes('"level":40') || l.includes('"level":50'));
      console.error(warn.slice(-20).join('\n'));
      for (const s of secs) console.error(`--- ${s.kind}\n${s.log().slice(-2500)}`);
      process.exit(1);
    }, 120_000);
    await Promise.all(watchers);
    clearTimeout(deadline);
    console.log(`${CHANGES} changes from ${CLIENTS} clients over ${ZONES} zones written in ${writeMs} ms (${Math.round((CHANGES / writeMs) * 1000)}/s${RATE > 0 ? `, paced at ${RATE}/s` : ', unpaced'}); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    for (const s of secs) {
      const l = latency.get(s.kind)!;
      console.log(`${s.kind.padEnd(4)}: 2xx -> visible p50 ${pct(l, 50)} ms, p99 ${pct(l, 99)} ms, max ${Math.max(...l)} ms (${l.length} changes)`);
    }

    // Every RRset of every zone (apex SOA and NS, each change's record) answered alike by MCNS and each secondary.
    let compared = 0;
    const questions: Array<[string, string]> = zones.flatMap((z) => [[z, 'SOA'], [z, 'NS']] as Array<[string, string]>);
    for (let i = 0; i < CHANGES; i++) questions.push([`c${i}.${zones[i % ZONES]}`, i % 2 ? 'TXT' : 'A']);
    {
      for (const [name, type] of questions) {
        const ask = async (port: number): Promise<string> => {
          const m = await udpExchange(port, makeQuery(name, type, { id: (compared++ & 0xffff) }), 2000);
          return `${rcodeOf(m)} ${answerKeys(m).sort().join(' | ')}`;
        };
        const want = await ask(primary.dnsPort);
        for (const s of secs) {
          const got = await ask(s.port);
          if (got !== want) throw new Error(`${s.kind} answers ${name} ${type} "${got}", MCNS "${want}"`);
        }
      }
    }
    if (TRACE) {
      mkdirSync(TRACE, { recursive: true });
      writeFileSync(join(TRACE, 'changes.json'), JSON.stringify({ ports, sources: SOURCES, changes }));
      writeFileSync(join(TRACE, 'mcns.log'), server.stderr());
      for (const s of secs) writeFileSync(join(TRACE, `${s.kind}.log`), s.log());
      console.log(`trace written to ${TRACE}: node --import tsx bench/fleet/trace.ts ${TRACE}`);
    }
    const serverLog = server.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const byMsg = new Map<string, number>();
    for (const l of serverLog) if ((l.level as number) >= 40) byMsg.set(String(l.msg), (byMsg.get(String(l.msg)) ?? 0) + 1);
    console.log(`server warnings: ${JSON.stringify([...byMsg])}`);
    console.log(`equal: ${compared / 4} questions (every RRset of every zone) answered alike by MCNS, Knot, BIND and NSD`);
  } finally {
    for (const s of secs) await s.stop();
    agent.destroy();
    server.child.kill('SIGTERM');
    await server.exited;
    await mcias.close();
    tmp.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
