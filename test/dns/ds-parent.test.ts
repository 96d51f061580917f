/**
 * DS from the parent side of a zone cut (RFC 4035 3.1.4.1, RFC 3658): a DS question for a delegated
 * name is answered authoritatively by the parent with the DS RRset, or NODATA with the parent's SOA
 * when the cut has none — never as a referral; below the cut it is a referral like any other
 * question. When we serve the child zone too, a DS question for its apex goes to the parent, and
 * every other question to the child. Over the real listeners; the answers are Knot 3.2's on the
 * same zone files (test/interop/knot.test.ts compares the two).
 */
import { after, before, describe, test } from 'node:test';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { fixtureLedger, runTable, type Case } from './helpers.ts';

const SOA = 'types.test. 600 IN SOA ns1.types.test. hostmaster.types.test. SERIAL 7200 900 1209600 600';
const CHILD_SOA = 'child.types.test. 60 IN SOA ns1.child.types.test. hostmaster.child.types.test. SERIAL 3600 600 86400 60';
const AA = ['qr', 'aa'];
const H64 = 'a1'.repeat(32);
const H64B = '5c'.repeat(32);
const H96 = '3e'.repeat(48);
const SUB_REFERRAL = { authority: ['sub.types.test. 3600 IN NS ns.sub.types.test.'], additional: ['ns.sub.types.test. 3600 IN A 192.0.2.53'] };

const cases: Case[] = [
  { name: 'DS at a cut: the parent\'s DS RRset, authoritative, not a referral', q: { name: 'sub.types.test.', type: 43 }, rcode: 'NOERROR', flags: AA, answer: [`sub.types.test. 3600 IN DS 12345 13 2 ${H64}`] },
  {
    name: 'DS at a cut with several DS records',
    q: { name: 'signed.types.test.', type: 43 },
    rcode: 'NOERROR',
    flags: AA,
    answer: [`signed.types.test. 3600 IN DS 2371 13 2 ${H64B}`, `signed.types.test. 3600 IN DS 2371 13 4 ${H96}`],
  },
  { name: 'DS at a cut without DS: NODATA with the parent\'s SOA', q: { name: 'nods.types.test.', type: 43 }, rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { name: 'another type at the cut: the referral', q: { name: 'sub.types.test.', type: 1 }, rcode: 'NOERROR', flags: ['qr'], ...SUB_REFERRAL },
  { name: 'DS below the cut: the referral', q: { name: 'x.sub.types.test.', type: 43 }, rcode: 'NOERROR', flags: ['qr'], ...SUB_REFERRAL },
  { name: 'DS at glue below the cut: the referral', q: { name: 'ns.sub.types.test.', type: 43 }, rcode: 'NOERROR', flags: ['qr'], ...SUB_REFERRAL },
  { name: 'DS for the apex of a child we also serve: the parent answers', q: { name: 'child.types.test.', type: 43 }, rcode: 'NOERROR', flags: AA, answer: [`child.types.test. 3600 IN DS 60485 13 2 ${H64}`] },
  { name: 'DS for the child apex, spelled in capitals', q: { name: 'CHILD.Types.test.', type: 43 }, rcode: 'NOERROR', flags: AA, answer: [`child.types.test. 3600 IN DS 60485 13 2 ${H64}`] },
  { name: 'another type at the child apex: the child answers', q: { name: 'child.types.test.', type: 6 }, rcode: 'NOERROR', flags: AA, answer: [CHILD_SOA.replace(' 60 IN', ' 300 IN')] },
  { name: 'DS below the child apex: the child answers NODATA', q: { name: 'www.child.types.test.', type: 43 }, rcode: 'NOERROR', flags: AA, authority: [CHILD_SOA] },
  { name: 'DS at the apex of a zone whose parent we do not serve: NODATA from the zone', q: { name: 'types.test.', type: 43 }, rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { name: 'DS for a name that does not exist: NXDOMAIN', q: { name: 'nothere.types.test.', type: 43 }, rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },
  { name: 'DS at a cut over TCP with EDNS', transport: 'tcp', q: { name: 'signed.types.test.', type: 43, edns: { size: 1232, do: true } }, rcode: 'NOERROR', flags: AA, answer: [`signed.types.test. 3600 IN DS 2371 13 2 ${H64B}`, `signed.types.test. 3600 IN DS 2371 13 4 ${H96}`] },
];

describe('DS from the parent side (types.test.zone, child.types.test.zone)', () => {
  let cleanup: () => void;
  let dns: DnsServer;
  before(async () => {
    const f = fixtureLedger({ 'types.test.': 'types.test.zone', 'child.types.test.': 'child.types.test.zone' });
    cleanup = f.cleanup;
    dns = await startDns({ ledger: f.ledger, listen: ['127.0.0.1:0'] });
    await dns.indexed();
  });
  after(async () => {
    await dns?.close();
    cleanup?.();
  });
  test('table', async (t) => {
    await runTable(t, dns.addresses[0].udp.port, cases);
  });
});
