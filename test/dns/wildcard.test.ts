/** Wildcards (RFC 4592): closest encloser, empty non-terminals block, wildcard NODATA, the owner is the qname. */
import { after, before, test } from 'node:test';
import { fixtureServer, runTable, type Case } from './helpers.ts';

const SOA = 'dns.test. 600 IN SOA ns1.dns.test. hostmaster.dns.test. SERIAL 7200 900 1209600 600';
const AA = ['qr', 'aa'];

const cases: Case[] = [
  { name: 'synthesized A, owner = qname', q: { name: 'foo.wild.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['foo.wild.dns.test. 3600 IN A 192.0.2.100'] },
  { name: 'several labels below the wildcard', q: { name: 'a.b.wild.dns.test.', type: 16 }, rcode: 'NOERROR', flags: AA, answer: ['a.b.wild.dns.test. 3600 IN TXT "wildcard"'] },
  { name: 'wildcard NODATA', q: { name: 'foo.wild.dns.test.', type: 28 }, rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { name: 'an existing name beats the wildcard', q: { name: 'sub.wild.dns.test.', type: 16 }, rcode: 'NOERROR', flags: AA, answer: ['sub.wild.dns.test. 3600 IN TXT "exact beats wildcard"'] },
  { name: 'an existing name does not get wildcard types', q: { name: 'sub.wild.dns.test.', type: 1 }, rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { name: 'empty non-terminal ent.wild blocks the wildcard (NODATA)', q: { name: 'ent.wild.dns.test.' }, rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { name: 'below an empty non-terminal: closest encloser has no wildcard, NXDOMAIN', q: { name: 'zz.ent.wild.dns.test.' }, rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },
  { name: 'the wildcard name itself', q: { name: '*.wild.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['*.wild.dns.test. 3600 IN A 192.0.2.100'] },
  { name: 'wildcard CNAME chased, owner = qname', q: { name: 'foo.cnw.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['foo.cnw.dns.test. 3600 IN CNAME www.dns.test.', 'www.dns.test. 3600 IN A 192.0.2.80', 'www.dns.test. 3600 IN A 192.0.2.81'] },
  { name: 'wildcard with only TXT: NODATA for A', q: { name: 'x.nodatawild.dns.test.' }, rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { name: 'wildcard that is an empty non-terminal: NODATA', q: { name: 'foo.entw.dns.test.' }, rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { name: 'wildcard MX gets additional addresses', q: { name: 'm.wild.dns.test.', type: 15 }, rcode: 'NOERROR', flags: AA, answer: ['m.wild.dns.test. 3600 IN MX 10 mail.dns.test.'], additional: ['mail.dns.test. 3600 IN A 192.0.2.25', 'mail.dns.test. 3600 IN AAAA 2001:db8::25'] },
  { name: 'mixed-case query matches the wildcard', q: { name: 'FoO.WiLd.DNS.test.' }, rcode: 'NOERROR', flags: AA, answer: ['foo.wild.dns.test. 3600 IN A 192.0.2.100'] },
  { name: 'no wildcard at the closest encloser: NXDOMAIN', q: { name: 'nope.nothing.dns.test.' }, rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },
];

let srv: Awaited<ReturnType<typeof fixtureServer>>;
before(async () => {
  srv = await fixtureServer();
});
after(async () => {
  await srv.close();
});

test('wildcard answers', async (t) => {
  await runTable(t, srv.port, cases);
});
