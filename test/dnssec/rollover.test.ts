/**
 * A ZSK rollover (pre-publication) and a KSK rollover (double-DS) run to completion while a real
 * validating resolver keeps validating every kind of answer after every step. The rollovers are
 * started the operator's way (src/api/dnssec.ts) and stepped by a DnssecDriver with short timings
 * on the real clock (signatures are checked by Unbound against real time, so the clock stays real
 * and the zone's TTLs and the delays are seconds); a running server serves each step.
 *
 * The test plays the parent for the KSK rollover: it reads the CDS RRset MCNS serves and publishes
 * that DS set (it starts a resolver with it as its trust anchors) when CDS lists the new key, and
 * drops the old DS when CDS drops it. At each step every DS set a resolver may hold at that moment
 * must validate (before the parent moves: the old set; after: the new one). Every step is in the
 * zone's history with its actor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { configureDnssec, dnssecView, startRollover } from '../../src/api/dnssec.ts';
import { loadConfig } from '../../src/config.ts';
import { DnssecDriver } from '../../src/dnssec/driver.ts';
import { KeyStore } from '../../src/dnssec/keystore.ts';
import { ZoneSigners } from '../../src/dnssec/signer.ts';
import { Ledger } from '../../src/ledger.ts';
import { zoneHistory } from '../../src/projections/history.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { startServer } from '../../src/server.ts';
import { buildQuery, udpExchange } from '../dns/helpers.ts';
import { tempDir } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { assertValidates, resolve, SERVFAIL, startUnbound, ZONE, ZONE_FILE } from './helpers.ts';

const ADMIN = { actor: 'admin' };
const now = (): number => Math.floor(Date.now() / 1000);

/** Ask MCNS itself (DO) and decode. */
async function askMcns(port: number, type: number): Promise<any> {
  return dnsPacket.decode(await udpExchange(port, buildQuery({ name: ZONE, type, edns: { do: true, size: 4096 } }), 3000)) as any;
}

/** The DS lines the CDS RRset MCNS serves asks the parent for (RFC 7344): what the parent publishes. */
async function cdsAsDs(port: number): Promise<string[]> {
  const p = await askMcns(port, 59);
  return (p.answers as any[])
    .filter((rr) => rr.type === 'CDS')
    .map((rr) => {
      const d = rr.data as Buffer; // dns-packet leaves CDS RDATA undecoded: tag, algorithm, digest type, digest
      return `${ZONE} DS ${d.readUInt16BE(0)} ${d[2]} ${d[3]} ${d.subarray(4).toString('hex').toUpperCase()}`;
    })
    .sort();
}

test('ZSK and KSK rollovers run to completion on a test clock while Unbound validates after every step', { timeout: 240_000 }, async (t) => {
  const missing = requireTool('unbound');
  if (missing) return t.skip(missing);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'mcns.db');

  // The zone with 2-second TTLs: the DNSKEY TTL and the largest zone TTL the driver waits for.
  const ledger = Ledger.open({ path: db });
  t.after(() => ledger.close());
  ledger.execute(importCommand(ZONE, ZONE_FILE.replace('$TTL 300', '$TTL 2')), { actor: 'test' });
  configureDnssec(ledger, ZONE, { enabled: true }, ADMIN);
  const parentDs = (view = dnssecView(ledger.state.zones.get(ZONE)!)): string[] => view.ds.map((d) => `${ZONE} DS ${d}`).sort();
  let parent = parentDs();
  assert.equal(parent.length, 1);

  const server = await startServer(loadConfig({ path: writeServerConfig(dir), env: {} }));
  t.after(() => server.stop('test'));
  const mcnsPort = Number(server.dns[0].udp.split(':').pop());

  const clock = now;
  const signers = new ZoneSigners({ keys: new KeyStore(ledger.db), clock });
  const driver = new DnssecDriver({ ledger, signers, clock, timings: { propagationDelay: 1, parentRegistrationDelay: 1, parentDsTtl: 1 } });

  /** Wait until the server serves the ledger's newest serial of the zone. */
  const served = async (): Promise<void> => {
    const want = ledger.state.zones.get(ZONE)!.serial;
    await waitFor(async () => ((await askMcns(mcnsPort, 6)).answers as any[]).some((rr) => rr.type === 'SOA' && rr.data.serial === want), { what: `serial ${want} served`, timeoutMs: 10_000 });
  };
  /** Every DS set given validates every kind of answer (a fresh resolver per set: what a resolver holding that set sees). */
  const validates = async (what: string, ...dsSets: string[][]): Promise<void> => {
    await served();
    for (const set of dsSets) {
      const u = await startUnbound(dir, mcnsPort, set);
      try {
        await assertValidates(u.port, `${what} (parent DS ${set.map((l) => l.split(' ')[2]).join('+')})`);
      } finally {
        await u.stop();
      }
    }
  };
  /** The control: a resolver holding only `set` must fail to validate (so the checks above are not vacuous). */
  const fails = async (what: string, set: string[]): Promise<void> => {
    const u = await startUnbound(dir, mcnsPort, set);
    try {
      assert.equal((await resolve(u.port, `www.${ZONE}`, 1)).rcode, SERVFAIL, what);
    } finally {
      await u.stop();
    }
  };
  /** Tick the driver (on the real clock, as time passes) until it takes a step; the steps it took. */
  const step = async (): Promise<string[]> => {
    signers.update(ledger.state);
    return waitFor(() => {
      const done = driver.tick().filter((s) => s.includes(': key '));
      return done.length > 0 && done;
    }, { what: 'the next rollover step to fall due', timeoutMs: 20_000, intervalMs: 200 });
  };
  const keys = (): Array<{ tag: number; role: string; state: string; ds: boolean }> => dnssecView(ledger.state.zones.get(ZONE)!).keys;
  const stateOf = (tag: number): string => keys().filter((k) => k.tag === tag).at(-1)!.state;

  await validates('signed', parent);
  const ksk1 = keys().find((k) => k.role === 'ksk')!.tag;
  const zsk1 = keys().find((k) => k.role === 'zsk')!.tag;

  // ---- ZSK rollover by pre-publication ------------------------------------------------------------
  startRollover(ledger, ZONE, 'zsk', ADMIN);
  const zsk2 = keys().find((k) => k.role === 'zsk' && k.tag !== zsk1)!.tag;
  assert.equal(stateOf(zsk2), 'published');
  await validates('ZSK rollover: new ZSK published', parent);
  assert.deepEqual((await step()).sort(), [`${ZONE}: key ${zsk1} retired`, `${ZONE}: key ${zsk2} active`].sort());
  await validates('ZSK rollover: new ZSK signs, old retired', parent);
  assert.deepEqual(await step(), [`${ZONE}: key ${zsk1} removed`]);
  await validates('ZSK rollover: old ZSK removed', parent);
  assert.deepEqual(parentDs(), parent, 'a ZSK rollover does not touch the DS');

  // ---- KSK rollover by double-DS ------------------------------------------------------------------
  startRollover(ledger, ZONE, 'ksk', ADMIN);
  const ksk2 = keys().find((k) => k.role === 'ksk' && k.tag !== ksk1)!.tag;
  assert.equal(stateOf(ksk2), 'created');
  await served();
  // CDS now lists the old and the new KSK: the parent's signal.
  const doubled = await cdsAsDs(mcnsPort);
  assert.equal(doubled.length, 2);
  assert.deepEqual(doubled, parentDs(), 'CDS served = the DS set the API shows');
  // Resolvers still holding the old DS set, and those that already see the parent's new one.
  await validates('KSK rollover: new KSK created, its DS signalled', parent, doubled);
  const newOnly = doubled.filter((l) => !parent.includes(l));
  await fails('the new KSK is not in the DNSKEY RRset yet: its DS alone cannot validate', newOnly);
  parent = doubled; // the parent publishes both DS
  assert.deepEqual((await step()).sort(), [`${ZONE}: key ${ksk1} retired`, `${ZONE}: key ${ksk2} active`].sort());
  await served();
  const single = await cdsAsDs(mcnsPort);
  assert.equal(single.length, 1, 'CDS drops the old KSK');
  assert.match(single[0], new RegExp(`^${ZONE.replace(/\./g, '\\.')} DS ${ksk2} `));
  await validates('KSK rollover: new KSK signs the DNSKEY RRset, old retired', parent, single);
  parent = single; // the parent removes the old DS
  assert.deepEqual(await step(), [`${ZONE}: key ${ksk1} removed`]);
  await validates('KSK rollover: old KSK removed', parent);
  await fails('the old KSK is gone: its DS alone no longer validates', doubled.filter((l) => !single.includes(l)));
  assert.deepEqual(keys().filter((k) => k.state !== 'removed').map((k) => k.tag).sort(), [ksk2, zsk2].sort());

  // ---- every step is in the zone's history, with its actor --------------------------------------
  const entries = zoneHistory(ledger.db, ZONE, { limit: 1000 }).entries.filter((e) => e.event.startsWith('Dnssec'));
  const line = (e: (typeof entries)[number]): string => {
    const p = e.payload as { tag?: number; state?: string };
    return e.event === 'DnssecConfigured' ? `${e.actor} configured` : `${e.actor} ${e.event === 'DnssecKeyCreated' ? 'created' : 'moved'} ${p.tag} ${p.state}`;
  };
  // One line per batch (the keys that move together at a swap are one batch), in log order.
  const batches: string[] = [];
  for (const e of entries) {
    const last = entries.indexOf(e) > 0 && entries[entries.indexOf(e) - 1].batchId === e.batchId;
    if (last) batches[batches.length - 1] = [...batches[batches.length - 1].split(' + '), line(e)].sort().join(' + ');
    else batches.push(line(e));
  }
  const batch = (...lines: string[]): string => lines.sort().join(' + ');
  assert.deepEqual(batches, [
    batch('admin configured', `admin created ${ksk1} active`, `admin created ${zsk1} active`),
    `admin created ${zsk2} published`,
    batch(`system moved ${zsk2} active`, `system moved ${zsk1} retired`),
    `system moved ${zsk1} removed`,
    `admin created ${ksk2} created`,
    batch(`system moved ${ksk2} active`, `system moved ${ksk1} retired`),
    `system moved ${ksk1} removed`,
  ]);
});
