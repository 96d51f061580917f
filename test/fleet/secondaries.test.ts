/**
 * The fleet runs itself (issue 13), with real servers on loopback high ports, each started with
 * exactly what `mcns secondary-config` printed for it:
 * - Knot (catalog-role: interpret) and BIND (catalog-zones) are configured with the catalog alone:
 *   a zone created through the REST API is served by both within 5 s, record changes follow by IXFR,
 *   a deleted zone is dropped.
 * - NSD gets the zone list and `allow-notify ... key`: it accepts MCNS's signed NOTIFY and transfers
 *   (its refresh timer is an hour, so only the NOTIFY can explain a transfer within seconds), a small
 *   change by IXFR over UDP, one too large for a datagram over TCP after MCNS's SOA-only answer.
 * Only the TSIG key admits the secondaries (allow_from is empty); NOTIFY is signed with it.
 *
 * A missing binary skips with the reason printed, except under CI=true, where it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/ledger.ts';
import { freePort } from '../helpers/ports.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { CATALOG, servedSerial, startPrimary, startSecondary, type Kind, type Primary, type Secondary } from './fleet.ts';

const skip = requireTool('knotd', 'nsd', 'named');

/** Wait until `sec` serves `zone` at `serial` (or, with undefined, no longer serves it); the ms it took. */
async function until(sec: Secondary, zone: string, serial: number | undefined, timeoutMs: number, primary: Primary): Promise<number> {
  const t0 = Date.now();
  await waitFor(async () => (await servedSerial(sec.port, zone)) === serial, {
    what: () => `${sec.kind} to serve ${zone} at ${serial ?? '(nothing)'}\n--- ${sec.kind}\n${sec.log().slice(-4000)}\n--- mcns\n${primary.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`,
    timeoutMs,
    intervalMs: 25,
  });
  return Date.now() - t0;
}

test('Knot and BIND follow the catalog alone; NSD takes the signed NOTIFY; all from the generated configs', { skip, timeout: 180_000 }, async () => {
  const tmp = tempDir('mcns-fleet-');
  const ports: Record<Kind, number> = { knot: await freePort(true), bind: await freePort(true), nsd: await freePort(true) };
  const primary = await startPrimary({ dir: tmp.dir, notify: ports, catalog: true });
  const secs: Secondary[] = [];
  try {
    const created = await primary.api('POST', '/v1/zones', { name: 'pre.test', primary_ns: 'ns.pre.test', admin_email: 'hostmaster@pre.test', refresh: 3600 });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const zoneSerial = (z: string): number => primary.server.ledger.zone(z)!.serial;
    await waitFor(() => primary.server.ledger.zone(CATALOG)?.records.size === 3, { what: 'the catalog to list pre.test' });

    for (const kind of ['knot', 'bind', 'nsd'] as const) secs.push(await startSecondary(kind, primary, ports[kind], join(tmp.dir, kind)));
    const [knot, bind, nsd] = secs;
    assert.match(knot.config, /catalog-role: interpret/);
    assert.match(bind.config, /catalog-zones \{ zone "catalog\.mcns\.invalid"/);
    assert.match(nsd.config, /allow-notify: 127\.0\.0\.1 xfr-key/);
    assert.match(nsd.config, /name: pre\.test\n/);
    assert.doesNotMatch(knot.config + bind.config, /pre\.test/, 'Knot and BIND are configured with the catalog only');

    // Initial transfers: the catalog brings pre.test to Knot and BIND; NSD has it listed.
    for (const s of secs) await until(s, 'pre.test.', zoneSerial('pre.test.'), 30_000, primary);

    // 1. A zone created through the REST API is served by Knot and BIND within 5 s.
    const t0 = Date.now();
    const r = await primary.api('POST', '/v1/zones', { name: 'new.test', primary_ns: 'ns.new.test', admin_email: 'hostmaster@new.test', refresh: 3600 });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const newSerial = zoneSerial('new.test.');
    await Promise.all([knot, bind].map((s) => until(s, 'new.test.', newSerial, 5000, primary)));
    console.log(`new.test served by Knot and BIND ${Date.now() - t0} ms after the 201`);

    // 2. Record changes follow by IXFR (MCNS's transfer log names how each transfer was sent).
    const mark = primary.logs.length;
    const add = await primary.api('POST', '/v1/zones/new.test/records', { name: 'www', type: 'A', value: '192.0.2.80' });
    assert.equal(add.status, 201, JSON.stringify(add.json));
    const changed = zoneSerial('new.test.');
    await Promise.all([knot, bind].map((s) => until(s, 'new.test.', changed, 5000, primary)));
    const sent = primary.logs.slice(mark).filter((l) => l.msg === 'zone transfer sent' && l.zone === 'new.test.');
    assert.ok(sent.length >= 2, `both transferred new.test: ${JSON.stringify(sent)}`);
    assert.ok(sent.every((l) => l.how === 'ixfr'), `by IXFR: ${JSON.stringify(sent.map((l) => l.how))}`);
    assert.ok(sent.every((l) => l.key === 'xfr-key.'), 'signed with the fleet key');

    // 3. NSD: a change to pre.test reaches it through the signed NOTIFY (refresh is an hour).
    const nsdMark = primary.logs.length;
    await primary.api('POST', '/v1/zones/pre.test/records', { name: 'mail', type: 'A', value: '192.0.2.25' });
    const preSerial = zoneSerial('pre.test.');
    const took = await until(nsd, 'pre.test.', preSerial, 5000, primary);
    const acked = primary.logs.slice(nsdMark).filter((l) => l.msg === 'NOTIFY acknowledged' && l.zone === 'pre.test.' && l.target === `127.0.0.1:${ports.nsd}`);
    assert.equal(acked.length, 1, 'NSD acknowledged the signed NOTIFY');
    const refused = primary.logs.filter((l) => l.outcome === 'refused');
    // (Knot and BIND may answer NOTAUTH to a NOTIFY that arrives before the catalog brought them the zone.)
    assert.equal(refused.filter((l) => l.zone === 'pre.test.' && l.target === `127.0.0.1:${ports.nsd}`).length, 0, `NSD does not refuse the signed NOTIFY for a zone it carries: ${JSON.stringify(refused)}`);
    // NSD does not carry new.test (its config lists the zones of its generation): that refusal is told apart, with its rcode.
    const nsdRefusal = refused.find((l) => l.zone === 'new.test.' && l.target === `127.0.0.1:${ports.nsd}`);
    assert.ok(nsdRefusal && /^[A-Z]+$/.test(String(nsdRefusal.rcode)), JSON.stringify(refused));
    assert.ok(primary.server.metrics.notifies.get({ outcome: 'refused', zone: 'new.test.', rcode: String(nsdRefusal.rcode) }) >= 1);
    console.log(`NSD answered the NOTIFY for new.test, which it does not carry, ${nsdRefusal.rcode}: counted as refused`);
    assert.equal(primary.server.metrics.notifies.get({ outcome: 'acked', rcode: 'NOERROR', zone: 'pre.test.' }) >= 3, true);
    console.log(`NSD served pre.test serial ${preSerial} ${took} ms after the change (signed NOTIFY)`);
    // NSD asks IXFR over UDP (request-xfr: UDP): the small change came in one datagram...
    const udpSent = primary.logs.slice(nsdMark).filter((l) => l.msg === 'zone transfer sent' && l.zone === 'pre.test.' && l.how === 'ixfr-udp');
    assert.equal(udpSent.length, 1, `NSD took the small change over UDP: ${JSON.stringify(primary.logs.slice(nsdMark).filter((l) => l.msg === 'zone transfer sent'))}`);
    // ...and one too large for a datagram is answered with the SOA over UDP, after which NSD asks over TCP.
    const bigMark = primary.logs.length;
    const big = await primary.api('POST', '/v1/zones/pre.test/records', { name: 'big', type: 'TXT', value: `"${'a'.repeat(250)}" "${'b'.repeat(250)}"` });
    assert.equal(big.status, 201, JSON.stringify(big.json));
    const bigSerial = zoneSerial('pre.test.');
    // All three, not NSD alone: Knot and BIND take their NOTIFY at their own pace.
    await Promise.all([knot, bind, nsd].map((s) => until(s, 'pre.test.', bigSerial, 5000, primary)));
    const bigSent = primary.logs.slice(bigMark).filter((l) => l.msg === 'zone transfer sent' && l.zone === 'pre.test.' && l.serial === bigSerial);
    assert.equal(bigSent.filter((l) => l.how === 'ixfr-udp').length, 0, 'not over UDP');
    assert.ok(bigSent.length >= 3, `Knot, BIND and NSD took it over TCP: ${JSON.stringify(bigSent)}`);

    // The catalog was told to Knot and BIND only ([transfer.zone_notify]): NSD does not carry it.
    assert.equal(primary.logs.filter((l) => l.zone === CATALOG && l.target === `127.0.0.1:${ports.nsd}`).length, 0);

    // 4. A deleted zone is dropped by Knot and BIND.
    const del = await primary.api('DELETE', '/v1/zones/new.test');
    assert.ok(del.status >= 200 && del.status < 300, JSON.stringify(del.json));
    await Promise.all([knot, bind].map((s) => until(s, 'new.test.', undefined, 5000, primary)));
  } finally {
    for (const s of secs) await s.stop();
    await primary.stop();
    tmp.cleanup();
  }
});
