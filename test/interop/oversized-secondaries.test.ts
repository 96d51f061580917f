/**
 * Real Knot and NSD secondaries keep following a zone whose log (written by an older build) holds
 * a TXT record with more than 65,535 bytes of rdata: the initial AXFR completes without it, and an
 * IXFR across a batch that stored another such record brings them to the new serial. Before the
 * fix the AXFR stopped after its first message and the secondaries never loaded the zone.
 *
 * A missing binary skips with the reason printed, except under CI=true, where it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { startDns } from '../../src/dns/server.ts';
import { createTransferHandlers } from '../../src/dns/transfer/index.ts';
import { tempDir } from '../helpers/ledger.ts';
import { freePort } from '../helpers/ports.ts';
import { requireTool } from '../helpers/tools.ts';
import { answerKeys, makeQuery, udpExchange } from '../transfer/helpers.ts';
import { startKnot, startNsd, type Secondary } from '../transfer/secondaries.ts';

const skip = requireTool('knotd', 'nsd');
const ZONE = 'legacy.test.';
const HUGE_TXT = Array.from({ length: 270 }, () => `"${'x'.repeat(250)}"`).join(' ');

async function soaSerial(port: number): Promise<number | undefined> {
  try {
    const soa = answerKeys(await udpExchange(port, makeQuery(ZONE, 'SOA'), 500)).find((k) => k.includes(' SOA '));
    return soa ? Number(soa.split(' ')[5]) : undefined;
  } catch {
    return undefined;
  }
}

async function waitSerial(secs: Secondary[], serial: number, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (const s of secs) {
    while ((await soaSerial(s.port)) !== serial) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`${s.name} not at serial ${serial} after ${timeoutMs} ms (at ${await soaSerial(s.port)})\n${s.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function aOf(port: number, name: string): Promise<string[]> {
  return answerKeys(await udpExchange(port, makeQuery(name, 'A'), 1000)).filter((k) => k.includes(' A '));
}

test('Knot and NSD load and follow a zone holding a record that cannot be encoded', { skip, timeout: 120_000 }, async () => {
  const tmp = tempDir('mcns-oversized-interop-');
  const cleanups: Array<() => unknown> = [];
  try {
    const ledger = Ledger.open({ path: join(tmp.dir, 'mcns.db') });
    cleanups.push(() => ledger.close());
    ledger.execute(
      {
        kind: 'createZone',
        zone: ZONE,
        soa: { primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster.${ZONE}` },
        records: [
          { name: ZONE, type: 'NS', value: `ns1.${ZONE}`, ttl: 3600 },
          { name: `ns1.${ZONE}`, type: 'A', value: '192.0.2.1', ttl: 300 },
          { name: `www.${ZONE}`, type: 'A', value: '192.0.2.80', ttl: 300 },
        ],
      },
      { actor: 'test' },
    );
    const legacy = (id: string, name: string, also: { id: string; name: string; value: string }): void => {
      const serial = ledger.zone(ZONE)!.serial + 1;
      ledger.log.append(
        [
          { zone: ZONE, body: { type: 'RecordCreated', payload: { id, name, type: 'TXT', value: HUGE_TXT, ttl: 300 } } },
          { zone: ZONE, body: { type: 'RecordCreated', payload: { ...also, type: 'A', ttl: 300 } } },
          { zone: ZONE, body: { type: 'SerialBumped', payload: { serial } } },
        ] as never,
        { actor: 'old-build', expectedVersion: ledger.log.zoneVersion(ZONE) },
      );
    };
    legacy('huge1', `mcq.${ZONE}`, { id: 'a1', name: `one.${ZONE}`, value: '192.0.2.11' });

    const ports = { knot: await freePort(true), nsd: await freePort(true) };
    const xfr = createTransferHandlers({
      ledger,
      config: { allow_from: ['127.0.0.0/8'], allow_keys: [], notify: Object.values(ports).map((p) => `127.0.0.1:${p}`), keys: {} },
      notify: { localAddress: '127.0.0.1', retryMs: 250, maxRetryMs: 1000, maxAttempts: 40, notifyOnStart: false },
    });
    cleanups.push(() => xfr.close());
    const dns = await startDns({ ledger, listen: ['127.0.0.1:0'], handlers: xfr.handlers, transfer: xfr.transfer });
    cleanups.push(() => dns.close());
    const primaryPort = dns.addresses[0].udp.port;
    const base = (name: 'knot' | 'nsd', source: string) => {
      const dir = join(tmp.dir, name);
      mkdirSync(dir, { recursive: true });
      return { dir, port: ports[name], source, primaryPort, zones: [ZONE] };
    };
    const secs = [startKnot(base('knot', '127.0.0.21')), startNsd(base('nsd', '127.0.0.22'))];
    cleanups.push(() => Promise.all(secs.map((s) => s.stop())));

    // Initial AXFR: complete, without the record.
    await waitSerial(secs, ledger.zone(ZONE)!.serial, 30_000);
    for (const s of secs) assert.deepEqual(await aOf(s.port, `one.${ZONE}`), [`one.${ZONE} A 300 192.0.2.11`], s.name);

    // Another old-build batch: IXFR across it brings both to the new serial.
    legacy('huge2', `mcq2.${ZONE}`, { id: 'a2', name: `two.${ZONE}`, value: '192.0.2.12' });
    ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `three.${ZONE}`, type: 'A', value: '192.0.2.13' }] }, { actor: 'test' });
    await waitSerial(secs, ledger.zone(ZONE)!.serial, 15_000);
    for (const s of secs) {
      assert.deepEqual(await aOf(s.port, `two.${ZONE}`), [`two.${ZONE} A 300 192.0.2.12`], s.name);
      assert.deepEqual(await aOf(s.port, `three.${ZONE}`), [`three.${ZONE} A 300 192.0.2.13`], s.name);
    }
  } finally {
    for (const c of cleanups.reverse()) await c();
    tmp.cleanup();
  }
});
