/**
 * Restore and point-in-time reads through the API: create, change and delete records over (injected)
 * time, read the past with ?at=, restore to an earlier sequence (REST) and an earlier time (gRPC);
 * DNS then answers the past state, serials keep increasing, and history holds every step plus the
 * restores with their actor. History outlives a deleted zone, and restore brings the zone back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { dataOf, queryUdp } from './dnsq.ts';
import { startHarness, type Harness } from './harness.ts';

const Z = 'restore.test';
const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3600_000;

describe('restore and point-in-time reads', () => {
  let h: Harness;
  let dns: DnsServer;
  let port: number;
  let now = T0;
  const marks: Record<string, number> = {};
  const alice = (): { token: string } => ({ token: h.tokens.alice });
  const records = async (at?: string): Promise<string[]> => {
    const r = await h.rest('GET', `/v1/zones/${Z}/records${at ? `?at=${encodeURIComponent(at)}` : ''}`, alice());
    assert.equal(r.status, 200, r.text);
    return r.body.records.map((x: { id: string; name: string; type: string; value: string; ttl: number }) => `${x.id} ${x.name} ${x.type} ${x.value} ${x.ttl}`);
  };

  before(async () => {
    h = await startHarness({ clock: () => now });
    dns = await startDns({ ledger: h.ledger, listen: ['127.0.0.1:0'] });
    port = dns.addresses[0].udp.port;
    // t0: the zone; t0+1h: www and mail; t0+2h: www changes; t0+3h: mail goes, ftp comes.
    assert.equal((await h.rest('POST', '/v1/zones', { ...alice(), body: { name: Z, primary_ns: `ns.${Z}`, admin_email: `hostmaster@${Z}` } })).status, 201);
    now = T0 + HOUR;
    const b1 = await h.rest('POST', `/v1/zones/${Z}/changes`, { ...alice(), body: [{ op: 'create', name: 'www', type: 'A', value: '192.0.2.1' }, { op: 'create', name: 'mail', type: 'A', value: '192.0.2.25' }] });
    assert.equal(b1.status, 200, b1.text);
    marks.v1 = b1.body.batch.last_seq;
    const www = b1.body.records.find((r: { name: string }) => r.name === 'www').id;
    const mail = b1.body.records.find((r: { name: string }) => r.name === 'mail').id;
    now = T0 + 2 * HOUR;
    marks.v2 = (await h.rest('PUT', `/v1/zones/${Z}/records/${www}`, { ...alice(), body: { value: '192.0.2.2' } })).body.batch.last_seq;
    now = T0 + 3 * HOUR;
    const b3 = await h.rest('POST', `/v1/zones/${Z}/changes`, { token: h.tokens['mcp-agent'], body: [{ op: 'delete', id: mail }, { op: 'create', name: 'ftp', type: 'A', value: '192.0.2.21' }] });
    marks.v3 = b3.body.batch.last_seq;
    now = T0 + 4 * HOUR;
  });
  after(async () => {
    await dns.close();
    await h.close();
  });

  test('?at= reads the past: records, zone and export at a seq and at a time', async () => {
    const atV1 = await records(String(marks.v1));
    assert.equal(atV1.length, 3); // NS, www, mail
    assert.ok(atV1.some((r) => r.includes('www A 192.0.2.1 ')));
    assert.deepEqual(await records('2026-01-01T02:30:00Z'), await records(String(marks.v2)));
    assert.ok((await records()).some((r) => r.includes('ftp A')));
    const zoneAt = await h.rest('GET', `/v1/zones/${Z}?at=${marks.v1}`, alice());
    const zoneNow = await h.rest('GET', `/v1/zones/${Z}`, alice());
    assert.ok(zoneAt.body.zone.serial < zoneNow.body.zone.serial);
    const exp = await h.rest('GET', `/v1/zones/${Z}/export?at=${marks.v1}`, alice());
    assert.match(exp.headers['content-type'] as string, /^text\/dns/);
    assert.match(exp.text, /mail\s+300\s+IN\s+A\s+192\.0\.2\.25/);
    assert.doesNotMatch(exp.text, /ftp/);
  });

  test('restore to an earlier seq (REST): DNS answers the past, serial still increases, ids kept', async () => {
    const past = await records(String(marks.v1));
    const serialBefore = (await h.rest('GET', `/v1/zones/${Z}`, alice())).body.zone.serial;
    const r = await h.rest('POST', `/v1/zones/${Z}/restore`, { ...alice(), body: { at: marks.v1 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.restored_to_seq, marks.v1);
    assert.ok(r.body.batch.serial > serialBefore);
    assert.deepEqual(await records(), past);
    assert.deepEqual(dataOf(await queryUdp(port, `www.${Z}`, 'A'), 'A'), ['192.0.2.1']);
    assert.deepEqual(dataOf(await queryUdp(port, `mail.${Z}`, 'A'), 'A'), ['192.0.2.25']);
    assert.equal((await queryUdp(port, `ftp.${Z}`, 'A')).rcode, 'NXDOMAIN');
  });

  test('restore to an earlier time (gRPC): DNS answers the state of that time', async () => {
    now = T0 + 5 * HOUR;
    const past = await records('2026-01-01T02:30:00Z');
    const g = await h.grpc('ZoneService', 'RestoreZone', { zone: Z, at: '2026-01-01T02:30:00Z' }, { token: h.tokens.alice });
    assert.equal(g.code, 0, g.details);
    assert.equal(g.body.restored_to_seq, marks.v2);
    assert.deepEqual(await records(), past);
    assert.deepEqual(dataOf(await queryUdp(port, `www.${Z}`, 'A'), 'A'), ['192.0.2.2']);
    assert.equal((await queryUdp(port, `ftp.${Z}`, 'A')).rcode, 'NXDOMAIN');
  });

  test('history keeps every step plus the restores, with their actors', async () => {
    const hist = await h.rest('GET', `/v1/zones/${Z}/history?limit=1000`, alice());
    const entries = hist.body.entries as Array<{ event: string; actor: string; payload: { at_seq?: number } }>;
    const kinds = entries.map((e) => e.event);
    assert.equal(kinds[0], 'ZoneCreated');
    assert.ok(entries.some((e) => e.event === 'RecordDeleted' && e.actor === 'mcp-agent'));
    const restores = entries.filter((e) => e.event === 'ZoneRestored');
    assert.deepEqual(restores.map((e) => [e.actor, e.payload.at_seq]), [['alice', marks.v1], ['alice', marks.v2]]);
    // Nothing was erased: the original events are still first in the log, unchanged.
    const firstBatches = entries.filter((e) => e.event === 'RecordCreated').length;
    assert.ok(firstBatches >= 4, `creates kept: ${firstBatches}`);
  });

  test('history outlives a deleted zone, and restore brings the zone back', async () => {
    now = T0 + 6 * HOUR;
    const atLive = h.ledger.state.seq;
    const live = await records();
    assert.equal((await h.rest('DELETE', `/v1/zones/${Z}`, alice())).status, 200);
    assert.equal((await h.rest('GET', `/v1/zones/${Z}`, alice())).status, 404);
    assert.notEqual((await queryUdp(port, `www.${Z}`, 'A')).rcode, 'NOERROR');
    const hist = await h.rest('GET', `/v1/zones/${Z}/history?type=A&name=www`, alice());
    assert.equal(hist.status, 200);
    assert.ok(hist.body.entries.length >= 3);
    const r = await h.rest('POST', `/v1/zones/${Z}/restore`, { ...alice(), body: { at: String(atLive) } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await records(), live);
    assert.deepEqual(dataOf(await queryUdp(port, `www.${Z}`, 'A'), 'A'), ['192.0.2.2']);
  });
});
