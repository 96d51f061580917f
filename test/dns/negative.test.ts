/** NXDOMAIN vs NODATA (RFC 1034 4.3.2, RFC 2308): the zone SOA in authority with the negative TTL. */
import { after, before, test } from 'node:test';
import { fixtureServer, runTable, type Case } from './helpers.ts';

// dns.test. SOA: TTL 3600, minimum 600 -> negative TTL 600. child.dns.test.: TTL 300, minimum 60 -> 60.
const SOA = 'dns.test. 600 IN SOA ns1.dns.test. hostmaster.dns.test. SERIAL 7200 900 1209600 600';
const CHILD_SOA = 'child.dns.test. 60 IN SOA ns1.dns.test. hostmaster.dns.test. SERIAL 3600 600 86400 60';

const cases: Case[] = [
  { name: 'name that does not exist: NXDOMAIN + SOA', q: { name: 'nothere.dns.test.' }, rcode: 'NXDOMAIN', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'existing name, missing type: NODATA + SOA', q: { name: 'www.dns.test.', type: 16 }, rcode: 'NOERROR', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'empty non-terminal: NODATA, not NXDOMAIN', q: { name: 'b.c.dns.test.' }, rcode: 'NOERROR', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'empty non-terminal two levels up', q: { name: 'c.dns.test.' }, rcode: 'NOERROR', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'below an existing name: NXDOMAIN', q: { name: 'x.a.b.c.dns.test.' }, rcode: 'NXDOMAIN', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'below an empty non-terminal: NXDOMAIN', q: { name: 'x.b.c.dns.test.' }, rcode: 'NXDOMAIN', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'type we do not store (SPF=99): NODATA', q: { name: 'www.dns.test.', type: 99 }, rcode: 'NOERROR', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'apex, missing type', q: { name: 'dns.test.', type: 28 }, rcode: 'NOERROR', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'longest-match zone: the child SOA', q: { name: 'nothere.child.dns.test.' }, rcode: 'NXDOMAIN', flags: ['qr', 'aa'], authority: [CHILD_SOA] },
  { name: 'RD copied into the response', q: { name: 'nothere.dns.test.', rd: true }, rcode: 'NXDOMAIN', flags: ['qr', 'aa', 'rd'], authority: [SOA] },
  { name: 'SOA query at the apex: full TTL', q: { name: 'dns.test.', type: 6 }, rcode: 'NOERROR', flags: ['qr', 'aa'], answer: [SOA.replace(' 600 IN', ' 3600 IN')] },
  { name: 'out of our zones, no upstreams: REFUSED', q: { name: 'example.org.' }, rcode: 'REFUSED', flags: ['qr'] },
  { name: 'parent of our zone: REFUSED', q: { name: 'test.' }, rcode: 'REFUSED', flags: ['qr'] },
  { name: 'DS at a delegation: the parent answers NODATA', q: { name: 'sub.dns.test.', type: 43 }, rcode: 'NOERROR', flags: ['qr', 'aa'], authority: [SOA] },
];

let srv: Awaited<ReturnType<typeof fixtureServer>>;
before(async () => {
  srv = await fixtureServer();
});
after(async () => {
  await srv.close();
});

test('negative answers', async (t) => {
  await runTable(t, srv.port, cases);
});
