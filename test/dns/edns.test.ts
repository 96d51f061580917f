/** EDNS0 (RFC 6891, RFC 3225), opcodes, classes, FORMERR and RFC 8482 ANY. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ask, buildQuery, fixtureServer, flatten, runTable, tcpExchange, udpExchange, type Case } from './helpers.ts';

const SOA = 'dns.test. 600 IN SOA ns1.dns.test. hostmaster.dns.test. SERIAL 7200 900 1209600 600';
const WWW = ['www.dns.test. 3600 IN A 192.0.2.80', 'www.dns.test. 3600 IN A 192.0.2.81'];
const MULTI_ALL = ['multi.dns.test. 3600 IN A 192.0.2.7', 'multi.dns.test. 3600 IN AAAA 2001:db8::7', 'multi.dns.test. 3600 IN TXT "multi"', 'multi.dns.test. 3600 IN MX 5 mail.dns.test.'];
const MAIL = ['mail.dns.test. 3600 IN A 192.0.2.25', 'mail.dns.test. 3600 IN AAAA 2001:db8::25'];

const cases: Case[] = [
  { name: 'class CH: REFUSED', q: { name: 'www.dns.test.', class: 3 }, rcode: 'REFUSED', flags: ['qr'] },
  { name: 'class HS: REFUSED', q: { name: 'www.dns.test.', class: 4 }, rcode: 'REFUSED', flags: ['qr'] },
  { name: 'class ANY: REFUSED', q: { name: 'www.dns.test.', class: 255 }, rcode: 'REFUSED', flags: ['qr'] },
  { name: 'CH TXT version.bind: REFUSED', q: { name: 'version.bind.', class: 3, type: 16 }, rcode: 'REFUSED', flags: ['qr'] },
  { name: 'opcode STATUS (2): NOTIMP', q: { name: 'www.dns.test.', opcode: 2 }, rcode: 'NOTIMP', flags: ['qr'] },
  { name: 'opcode NOTIFY (4) without a handler: NOTIMP', q: { name: 'dns.test.', type: 6, opcode: 4 }, rcode: 'NOTIMP', flags: ['qr'] },
  { name: 'opcode UPDATE (5) without a handler: NOTIMP', q: { name: 'dns.test.', type: 6, opcode: 5 }, rcode: 'NOTIMP', flags: ['qr'] },
  { name: 'ANY over UDP: one RRset (the lowest type)', q: { name: 'multi.dns.test.', type: 255 }, rcode: 'NOERROR', flags: ['qr', 'aa'], answer: [MULTI_ALL[0]] },
  { name: 'ANY over TCP: every RRset', transport: 'tcp', q: { name: 'multi.dns.test.', type: 255 }, rcode: 'NOERROR', flags: ['qr', 'aa'], answer: MULTI_ALL, additional: MAIL },
  { name: 'ANY at an empty non-terminal: NODATA', q: { name: 'b.c.dns.test.', type: 255 }, rcode: 'NOERROR', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'ANY at a missing name: NXDOMAIN', q: { name: 'nothere.dns.test.', type: 255 }, rcode: 'NXDOMAIN', flags: ['qr', 'aa'], authority: [SOA] },
  { name: 'AXFR over UDP without a transfer hook: NOTAUTH', q: { name: 'dns.test.', type: 252 }, rcode: 'NOTAUTH', flags: ['qr'] },
  { name: 'EDNS query answered normally', q: { name: 'www.dns.test.', edns: {} }, rcode: 'NOERROR', flags: ['qr', 'aa'], answer: WWW },
];

let srv: Awaited<ReturnType<typeof fixtureServer>>;
before(async () => {
  srv = await fixtureServer();
});
after(async () => {
  await srv.close();
});

test('protocol table', async (t) => {
  await runTable(t, srv.port, cases);
});

test('OPT echoed with our payload size 1232, version 0, no DO unless asked', async () => {
  const r = await ask(srv.port, { name: 'www.dns.test.', edns: { size: 4096 } });
  assert.deepEqual(r.opt, { size: 1232, version: 0, do: false, extendedRcode: 0 });
  const d = await ask(srv.port, { name: 'www.dns.test.', edns: { size: 512, do: true } });
  assert.deepEqual(d.opt, { size: 1232, version: 0, do: true, extendedRcode: 0 });
  const none = await ask(srv.port, { name: 'www.dns.test.' });
  assert.equal(none.opt, undefined);
});

test('EDNS version 1: BADVERS with our version 0, no records', async () => {
  for (const transport of ['udp', 'tcp'] as const) {
    const r = await ask(srv.port, { name: 'www.dns.test.', edns: { version: 1 } }, transport);
    assert.equal(r.rcode, 'BADVERS');
    assert.deepEqual(r.flags, ['qr']);
    assert.deepEqual(r.opt, { size: 1232, version: 0, do: false, extendedRcode: 1 });
    assert.deepEqual([r.answer, r.authority, r.additional], [[], [], []]);
  }
});

test('question echoed with the client letter case, also from the answer cache', async () => {
  for (const name of ['WwW.DnS.TeSt.', 'www.dns.test.', 'WWW.DNS.TEST.', 'FOO.wild.DNS.test.']) {
    const q = buildQuery({ name });
    const b = await udpExchange(srv.port, q);
    const qEnd = 12 + (q.length - 12);
    assert.deepEqual(b.subarray(12, qEnd), q.subarray(12), name);
    assert.equal(flatten(b).rcode, 'NOERROR');
  }
});

test('FORMERR: two questions, trailing garbage, truncated question; header-only junk dropped', async () => {
  const one = buildQuery({ name: 'www.dns.test.' });
  const two = Buffer.concat([one, one.subarray(12)]);
  two.writeUInt16BE(2, 4);
  const r = flatten(await udpExchange(srv.port, two));
  assert.equal(r.rcode, 'FORMERR');
  assert.equal(r.id, 0x4242);
  const trailing = Buffer.concat([one, Buffer.from([1, 2, 3])]);
  assert.equal(flatten(await udpExchange(srv.port, trailing)).rcode, 'FORMERR');
  const cut = one.subarray(0, one.length - 3);
  assert.equal(flatten(await udpExchange(srv.port, cut)).rcode, 'FORMERR');
  await assert.rejects(udpExchange(srv.port, Buffer.from([1, 2, 3]), 300), /timeout/);
  // The server still answers afterwards, over both transports.
  assert.equal(flatten(await udpExchange(srv.port, one)).rcode, 'NOERROR');
  assert.equal(flatten((await tcpExchange(srv.port, [one]))[0]).rcode, 'NOERROR');
});

test('opcode hooks: NOTIFY goes to the handler', async () => {
  const local = await fixtureServer({
    handlers: {
      4: (q) => {
        const b = Buffer.alloc(12);
        b.writeUInt16BE(q.id, 0);
        b.writeUInt16BE(0x8000 | (4 << 11) | 0x0400, 2);
        return b;
      },
    },
  });
  try {
    const r = flatten(await udpExchange(local.port, buildQuery({ name: 'dns.test.', type: 6, opcode: 4 })));
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.flags, ['qr', 'aa']);
  } finally {
    await local.close();
  }
});

test('answers follow the projection: a write clears the answer cache', async () => {
  const { importCommand } = await import('../../src/projections/zone-files.ts');
  const before1 = await ask(srv.port, { name: 'added.child.dns.test.' });
  assert.equal(before1.rcode, 'NXDOMAIN');
  const text = `$ORIGIN child.dns.test.\n$TTL 300\n@ SOA ns1.dns.test. hostmaster.dns.test. 7 3600 600 86400 60\n@ NS ns1.dns.test.\nhost A 198.51.100.1\ntochild CNAME host\ntoparent CNAME www.dns.test.\nadded A 198.51.100.9\n`;
  srv.ledger.execute(importCommand('child.dns.test.', text), { actor: 'test' });
  const after1 = await ask(srv.port, { name: 'added.child.dns.test.' });
  assert.equal(after1.rcode, 'NOERROR');
  assert.deepEqual(after1.answer, ['added.child.dns.test. 300 IN A 198.51.100.9']);
});
