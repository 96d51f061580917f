/** CNAME (RFC 1034 4.3.2, RFC 2181 10.1, RFC 6604): the CNAME in the answer, chased inside our zones, loops cut. */
import { after, before, test } from 'node:test';
import { fixtureServer, runTable, type Case } from './helpers.ts';

const SOA = 'dns.test. 600 IN SOA ns1.dns.test. hostmaster.dns.test. SERIAL 7200 900 1209600 600';
const WWW = ['www.dns.test. 3600 IN A 192.0.2.80', 'www.dns.test. 3600 IN A 192.0.2.81'];
const AA = ['qr', 'aa'];

const chain: string[] = [];
for (let i = 0; i < 9; i++) chain.push(`c${i}.dns.test. 3600 IN CNAME c${i + 1}.dns.test.`);
// Chains are followed for at most 5 CNAMEs, as Knot 3.x does; the rest is the resolver's job.

const cases: Case[] = [
  { name: 'CNAME then the target A', q: { name: 'alias.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['alias.dns.test. 3600 IN CNAME www.dns.test.', ...WWW] },
  { name: 'two CNAMEs chased', q: { name: 'alias2.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['alias2.dns.test. 3600 IN CNAME alias.dns.test.', 'alias.dns.test. 3600 IN CNAME www.dns.test.', ...WWW] },
  { name: 'qtype CNAME: no chasing', q: { name: 'alias.dns.test.', type: 5 }, rcode: 'NOERROR', flags: AA, answer: ['alias.dns.test. 3600 IN CNAME www.dns.test.'] },
  { name: 'dangling in-zone CNAME: NXDOMAIN (RFC 6604) with the CNAME', q: { name: 'dangling.dns.test.' }, rcode: 'NXDOMAIN', flags: AA, answer: ['dangling.dns.test. 3600 IN CNAME nothere.dns.test.'], authority: [SOA] },
  { name: 'target lacks the type: NODATA with the CNAME', q: { name: 'nodata-cn.dns.test.', type: 16 }, rcode: 'NOERROR', flags: AA, answer: ['nodata-cn.dns.test. 3600 IN CNAME www.dns.test.'], authority: [SOA] },
  { name: 'loop of two cut', q: { name: 'loop1.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['loop1.dns.test. 3600 IN CNAME loop2.dns.test.', 'loop2.dns.test. 3600 IN CNAME loop1.dns.test.'] },
  { name: 'self loop cut', q: { name: 'self.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['self.dns.test. 3600 IN CNAME self.dns.test.'] },
  { name: 'target outside our zones: the CNAME only', q: { name: 'outside.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['outside.dns.test. 3600 IN CNAME www.example.org.'] },
  { name: 'chain longer than 5: cut after 5 CNAMEs', q: { name: 'c0.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: chain.slice(0, 5) },
  { name: 'chain of 5 CNAMEs: followed to the A', q: { name: 'c4.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: [...chain.slice(4), 'c9.dns.test. 3600 IN A 192.0.2.99'] },
  {
    name: 'target below a cut: the referral in authority, AA kept for the CNAME',
    q: { name: 'tosub.dns.test.' },
    rcode: 'NOERROR',
    flags: AA,
    answer: ['tosub.dns.test. 3600 IN CNAME host.sub.dns.test.'],
    authority: ['sub.dns.test. 3600 IN NS ns1.sub.dns.test.', 'sub.dns.test. 3600 IN NS ns2.sub.dns.test.', 'sub.dns.test. 3600 IN NS ns1.dns.test.', 'sub.dns.test. 3600 IN NS ns.other.example.'],
    additional: ['ns1.sub.dns.test. 3600 IN A 192.0.2.53', 'ns2.sub.dns.test. 3600 IN AAAA 2001:db8::53', 'ns1.dns.test. 3600 IN A 192.0.2.1', 'ns1.dns.test. 3600 IN AAAA 2001:db8::1'],
  },
  {
    name: 'target is a wildcard name, with MX additional processing',
    q: { name: 'towild.dns.test.', type: 15 },
    rcode: 'NOERROR',
    flags: AA,
    answer: ['towild.dns.test. 3600 IN CNAME foo.wild.dns.test.', 'foo.wild.dns.test. 3600 IN MX 10 mail.dns.test.'],
    additional: ['mail.dns.test. 3600 IN A 192.0.2.25', 'mail.dns.test. 3600 IN AAAA 2001:db8::25'],
  },
  { name: 'chased into another served zone (child)', q: { name: 'toparent.child.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['toparent.child.dns.test. 300 IN CNAME www.dns.test.', ...WWW] },
  { name: 'CNAME inside the child zone', q: { name: 'tochild.child.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['tochild.child.dns.test. 300 IN CNAME host.child.dns.test.', 'host.child.dns.test. 300 IN A 198.51.100.1'] },
  { name: 'CNAME over TCP', transport: 'tcp', q: { name: 'alias.dns.test.' }, rcode: 'NOERROR', flags: AA, answer: ['alias.dns.test. 3600 IN CNAME www.dns.test.', ...WWW] },
];

let srv: Awaited<ReturnType<typeof fixtureServer>>;
before(async () => {
  srv = await fixtureServer();
});
after(async () => {
  await srv.close();
});

test('CNAME answers', async (t) => {
  await runTable(t, srv.port, cases);
});
