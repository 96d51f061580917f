/** Delegations (RFC 1034 4.3.2 step 3b, RFC 9471 glue) and the authoritative apex NS. */
import { after, before, test } from 'node:test';
import { fixtureServer, runTable, type Case } from './helpers.ts';

const SUB_NS = ['sub.dns.test. 3600 IN NS ns1.sub.dns.test.', 'sub.dns.test. 3600 IN NS ns2.sub.dns.test.', 'sub.dns.test. 3600 IN NS ns1.dns.test.', 'sub.dns.test. 3600 IN NS ns.other.example.'];
const SUB_GLUE = ['ns1.sub.dns.test. 3600 IN A 192.0.2.53', 'ns2.sub.dns.test. 3600 IN AAAA 2001:db8::53', 'ns1.dns.test. 3600 IN A 192.0.2.1', 'ns1.dns.test. 3600 IN AAAA 2001:db8::1'];
const REFERRAL = { rcode: 'NOERROR', flags: ['qr'], authority: SUB_NS, additional: SUB_GLUE };

const cases: Case[] = [
  { name: 'the cut itself: referral, AA clear', q: { name: 'sub.dns.test.' }, ...REFERRAL },
  { name: 'NS at the cut: still a referral', q: { name: 'sub.dns.test.', type: 2 }, ...REFERRAL },
  { name: 'a name below the cut', q: { name: 'host.sub.dns.test.' }, ...REFERRAL },
  { name: 'deep below the cut', q: { name: 'a.b.c.host.sub.dns.test.', type: 28 }, ...REFERRAL },
  { name: 'the glue name itself: referral, not the glue', q: { name: 'ns1.sub.dns.test.' }, ...REFERRAL },
  { name: 'referral with RD', q: { name: 'host.sub.dns.test.', rd: true }, ...REFERRAL, flags: ['qr', 'rd'] },
  { name: 'single NS with glue', q: { name: 'x.deleg2.dns.test.', type: 16 }, rcode: 'NOERROR', flags: ['qr'], authority: ['deleg2.dns.test. 3600 IN NS ns.deleg2.dns.test.'], additional: ['ns.deleg2.dns.test. 3600 IN A 192.0.2.54'] },
  {
    name: 'apex NS: authoritative, with in-zone addresses',
    q: { name: 'dns.test.', type: 2 },
    rcode: 'NOERROR',
    flags: ['qr', 'aa'],
    answer: ['dns.test. 3600 IN NS ns1.dns.test.', 'dns.test. 3600 IN NS ns2.dns.test.', 'dns.test. 3600 IN NS ns.other.example.'],
    additional: ['ns1.dns.test. 3600 IN A 192.0.2.1', 'ns1.dns.test. 3600 IN AAAA 2001:db8::1', 'ns2.dns.test. 3600 IN A 192.0.2.2'],
  },
  {
    name: 'MX additional processing',
    q: { name: 'dns.test.', type: 15 },
    rcode: 'NOERROR',
    flags: ['qr', 'aa'],
    answer: ['dns.test. 3600 IN MX 10 mail.dns.test.', 'dns.test. 3600 IN MX 20 mx.elsewhere.example.'],
    additional: ['mail.dns.test. 3600 IN A 192.0.2.25', 'mail.dns.test. 3600 IN AAAA 2001:db8::25'],
  },
  { name: 'SRV additional processing', q: { name: '_sip._tcp.dns.test.', type: 33 }, rcode: 'NOERROR', flags: ['qr', 'aa'], answer: ['_sip._tcp.dns.test. 3600 IN SRV 10 60 5060 sip.dns.test.'], additional: ['sip.dns.test. 3600 IN A 192.0.2.50'] },
  { name: 'child zone served here wins over the parent', q: { name: 'host.child.dns.test.' }, rcode: 'NOERROR', flags: ['qr', 'aa'], answer: ['host.child.dns.test. 300 IN A 198.51.100.1'] },
  { name: 'referral over TCP', transport: 'tcp', q: { name: 'host.sub.dns.test.' }, ...REFERRAL },
];

let srv: Awaited<ReturnType<typeof fixtureServer>>;
before(async () => {
  srv = await fixtureServer();
});
after(async () => {
  await srv.close();
});

test('delegations and additional processing', async (t) => {
  await runTable(t, srv.port, cases);
});
