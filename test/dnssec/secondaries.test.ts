/**
 * A signed zone leaves MCNS whole: its AXFR passes BIND's dnssec-verify and ldns-verify-zone, and
 * Knot, NSD and BIND secondaries fed by MCNS (AXFR, then IXFR answered with the signed zone after
 * NOTIFY) serve it so that Unbound, pointed at each of them, validates every kind of answer, after
 * 100 changes written while they follow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { Ledger } from '../../src/ledger.ts';
import { startServer } from '../../src/server.ts';
import { tempDir } from '../helpers/ledger.ts';
import { freePort } from '../helpers/ports.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { makeQuery, run, udpExchange } from '../transfer/helpers.ts';
import { startBind, startKnot, startNsd, type Secondary } from '../transfer/secondaries.ts';
import { assertValidates, CASES, signZone, startUnbound, ZONE } from './helpers.ts';

/** The SOA serial a server answers for the zone, or undefined. */
async function serialAt(port: number): Promise<number | undefined> {
  try {
    const msg = await udpExchange(port, makeQuery(ZONE, 'SOA'), 1000);
    const ancount = msg.readUInt16BE(6);
    if (ancount === 0) return undefined;
    // The serial is the first 4 bytes after the two names of the SOA RDATA: read it by walking the answer.
    let p = 12;
    while (msg[p] !== 0) p += (msg[p] & 0xc0) === 0xc0 ? 1 : msg[p] + 1;
    p += 5; // root/pointer end + qtype + qclass
    const skipName = (): void => {
      while (msg[p] !== 0 && (msg[p] & 0xc0) !== 0xc0) p += msg[p] + 1;
      p += msg[p] === 0 ? 1 : 2;
    };
    skipName();
    p += 10;
    skipName();
    skipName();
    return msg.readUInt32BE(p);
  } catch {
    return undefined;
  }
}

test('the AXFR of a signed zone verifies, and Knot, NSD and BIND secondaries serve it validly after 100 changes', async (t) => {
  const missing = requireTool('unbound', 'dnssec-verify', 'ldns-verify-zone', 'kdig', 'knotd', 'nsd', 'named');
  if (missing) return t.skip(missing);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'mcns.db');
  const anchor = signZone(db, 'ecdsap256sha256', 'nsec3');
  const ports = { knot: await freePort(true), nsd: await freePort(true), bind: await freePort(true) };
  const server = await startServer(loadConfig({
    path: writeServerConfig(dir, {
      tail: ['[transfer]', 'allow_from = ["127.0.0.0/8"]', `notify = ["127.0.0.1:${ports.knot}", "127.0.0.1:${ports.nsd}", "127.0.0.1:${ports.bind}"]`],
    }),
    env: {},
  }));
  t.after(() => server.stop('test'));
  const mcnsPort = Number(server.dns[0].udp.split(':').pop());

  // The AXFR, as a secondary receives it, checked by two independent verifiers.
  const axfr = await run('kdig', ['-p', String(mcnsPort), '@127.0.0.1', 'AXFR', ZONE, '+nocomments', '+nostats', '+noquestion']);
  assert.equal(axfr.status, 0, axfr.stderr);
  const file = join(dir, 'axfr.zone');
  writeFileSync(file, axfr.stdout);
  const bind = await run('dnssec-verify', ['-o', ZONE, file]);
  assert.equal(bind.status, 0, `${bind.stdout}${bind.stderr}`);
  const ldns = await run('ldns-verify-zone', [file]);
  assert.equal(ldns.status, 0, `${ldns.stdout}${ldns.stderr}`);

  const secondaries: Secondary[] = [];
  const starters = { knot: startKnot, nsd: startNsd, bind: startBind };
  for (const [i, name] of (['knot', 'nsd', 'bind'] as const).entries()) {
    const sdir = join(dir, name);
    mkdirSync(sdir, { recursive: true });
    const s = starters[name]({ dir: sdir, port: ports[name], source: `127.0.0.${i + 2}`, primaryPort: mcnsPort, zones: [ZONE] });
    secondaries.push(s);
    t.after(() => s.stop());
  }
  const converge = async (what: string): Promise<void> => {
    const want = server.ledger.state.zones.get(ZONE)?.serial;
    for (const s of secondaries) {
      await waitFor(async () => (await serialAt(s.port)) === want, { what: `${s.name} at serial ${want} (${what})`, timeoutMs: 30_000, intervalMs: 200 }).catch((err: Error) => {
        throw new Error(`${err.message}\n${s.log().slice(-2000)}`);
      });
    }
  };
  await converge('first transfer');

  // 100 changes from another process, in 20 batches, while the secondaries follow by NOTIFY and IXFR.
  const before = server.ledger.state.zones.get(ZONE)?.records.size ?? 0;
  const writer = Ledger.open({ path: db, create: false });
  for (let b = 0; b < 20; b++) {
    const ops = Array.from({ length: 5 }, (_, i) => ({ op: 'create' as const, name: `h${b * 5 + i}.${ZONE}`, type: 'A', value: `198.51.100.${b * 5 + i}` }));
    writer.execute({ kind: 'changeRecords', zone: ZONE, ops }, { actor: 'test' });
  }
  writer.close();
  await waitFor(() => (server.ledger.state.zones.get(ZONE)?.records.size ?? 0) === before + 100, { what: 'the server to read the 100 changes', timeoutMs: 10_000 });
  await converge('after 100 changes');

  const extra: typeof CASES = [[`h42.${ZONE}`, 1, 0], [`h99.${ZONE}`, 1, 0]];
  for (const s of secondaries) {
    const u = await startUnbound(join(dir, s.name), s.port, anchor);
    t.after(u.stop);
    await assertValidates(u.port, `via ${s.name}`, [...CASES, ...extra]);
  }
});
