/** TC over UDP when an answer does not fit (RFC 1035 4.2.1, RFC 6891 6.2.3), the whole answer over TCP. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ask, fixtureServer } from './helpers.ts';

let srv: Awaited<ReturnType<typeof fixtureServer>>;
before(async () => {
  srv = await fixtureServer();
});
after(async () => {
  await srv.close();
});

const cases: Array<{ name: string; type: number; edns?: { size?: number }; tc: boolean; count: number }> = [
  { name: 'big.dns.test.', type: 16, tc: true, count: 6 }, // ~650 bytes > 512
  { name: 'big.dns.test.', type: 16, edns: { size: 1232 }, tc: false, count: 6 },
  { name: 'big.dns.test.', type: 16, edns: { size: 600 }, tc: true, count: 6 },
  { name: 'big.dns.test.', type: 16, edns: { size: 100 }, tc: true, count: 6 }, // floor 512
  { name: 'huge.dns.test.', type: 16, edns: { size: 4096 }, tc: true, count: 7 }, // capped at our 1232
  { name: 'manya.dns.test.', type: 1, tc: true, count: 36 },
  { name: 'manya.dns.test.', type: 1, edns: { size: 1232 }, tc: false, count: 36 },
];

for (const c of cases) {
  test(`${c.name} type ${c.type} edns ${c.edns?.size ?? 'none'}: TC=${c.tc} over UDP, complete over TCP`, async () => {
    const u = await ask(srv.port, { name: c.name, type: c.type, edns: c.edns });
    assert.equal(u.rcode, 'NOERROR');
    assert.equal(u.flags.includes('tc'), c.tc);
    assert.equal(u.flags.includes('aa'), true);
    assert.equal(u.answer.length, c.tc ? 0 : c.count);
    if (c.edns) assert.equal(u.opt?.size, 1232);
    const t = await ask(srv.port, { name: c.name, type: c.type, edns: c.edns }, 'tcp');
    assert.equal(t.flags.includes('tc'), false);
    assert.equal(t.answer.length, c.count);
  });
}

test('a referral whose glue does not fit keeps the NS and drops glue', async () => {
  const r = await ask(srv.port, { name: 'host.sub.dns.test.' });
  assert.equal(r.flags.includes('tc'), false);
  assert.equal(r.authority.length, 4);
});
