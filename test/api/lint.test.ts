/**
 * Lint warnings (issue 10): a CNAME loop inside our zones and an IP address as an MX, NS, SRV (or
 * CNAME) target are accepted (they are legal records) but come back as `warnings: [...]` with the
 * 2xx of record create, update, changes and import, on REST and gRPC, and `mcns record add`
 * prints them as `warning: ...` on stderr.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isAddressTarget, lintNames } from '../../src/projections/lint.ts';
import { mcns } from '../cli/run.ts';
import { seedZone, startHarness, type Harness } from './harness.ts';

const Z = 'example.com';
const Z2 = 'example.net';

describe('lint rules', () => {
  test('address targets: IPv4, IPv6, bracketed; names that merely contain digits are fine', () => {
    for (const t of ['192.0.2.1.', '192.0.2.1', '2001:db8::1.', '[2001:db8::1].', '::1.', '192.0.2.1.example.com.', '2001:db8::1.example.com.']) assert.equal(isAddressTarget(t), true, t);
    for (const t of ['mail.example.com.', '1.example.com.', '1.2.0.192.in-addr.arpa.', '10.0.0.example.', '300.0.0.1.example.', '.']) assert.equal(isAddressTarget(t), false, t);
  });
});

describe('warnings with the 2xx', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await seedZone(h, Z);
    await seedZone(h, Z2);
  });
  after(async () => h.close());

  const create = (name: string, type: string, value: string, zone = Z) => h.rest('POST', `/v1/zones/${zone}/records`, { token: h.tokens.alice, body: { name, type, value } });

  test('MX, NS and SRV targets that are IP addresses: 201 with a warning naming the record; good targets: no warnings', async () => {
    const cases: Array<[string, string, string]> = [
      ['mx1', 'MX', '10 192.0.2.25'],
      ['sub', 'NS', '198.51.100.53'],
      ['_sip._tcp', 'SRV', '10 5 5060 2001:db8::5'],
    ];
    for (const [name, type, value] of cases) {
      const r = await create(name, type, value);
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.warnings.length, 1, `${type}: ${JSON.stringify(r.body.warnings)}`);
      assert.match(r.body.warnings[0], new RegExp(`^${name.replace(/[.*]/g, '\\$&')}\\.example\\.com\\. ${type} .*is an IP address, not a host name`));
    }
    const ok = await create('mx2', 'MX', '10 mail.example.com.');
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.body.warnings, []);
    const g = await h.grpc('RecordService', 'CreateRecord', { zone: Z, name: 'mx3', type: 'MX', value: '20 203.0.113.9' }, { token: h.tokens.alice });
    assert.equal(g.code, 0, g.details);
    assert.equal(g.body.warnings.length, 1);
    assert.match(g.body.warnings[0], /203\.0\.113\.9 is an IP address/);
  });

  test('an update that points an MX at an address warns', async () => {
    const r = await create('mx4', 'MX', '10 mail.example.com.');
    const u = await h.rest('PUT', `/v1/zones/${Z}/records/${r.body.record.id}`, { token: h.tokens.alice, body: { value: '10 192.0.2.44' } });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.body.warnings.length, 1);
  });

  test('a CNAME loop inside our zones, closed by a create, an update, a batch, across zones and through a wildcard', async () => {
    // a -> b, then b -> a closes the loop.
    assert.deepEqual((await create('a', 'CNAME', 'b.example.com.')).body.warnings, []);
    const b = await create('b', 'CNAME', 'a.example.com.');
    assert.equal(b.status, 201);
    assert.deepEqual(b.body.warnings, ['CNAME loop: a.example.com. -> b.example.com. -> a.example.com. (resolvers answer SERVFAIL for every name on it)']);
    // Across zones: c.example.com -> d.example.net -> c.example.com.
    await create('c', 'CNAME', 'd.example.net.');
    const d = await create('d', 'CNAME', 'c.example.com.', Z2);
    assert.equal(d.body.warnings.length, 1);
    assert.match(d.body.warnings[0], /CNAME loop: c\.example\.com\. -> d\.example\.net\. -> c\.example\.com\./);
    // An update that closes a chain into a loop: e -> f -> g, then g -> e.
    await create('e', 'CNAME', 'f.example.com.');
    await create('f', 'CNAME', 'g.example.com.');
    const g = await create('g', 'CNAME', 'www.example.org.');
    assert.deepEqual(g.body.warnings, [], 'a chain that leaves our zones is fine');
    const u = await h.rest('PUT', `/v1/zones/${Z}/records/${g.body.record.id}`, { token: h.tokens.alice, body: { value: 'e.example.com.' } });
    assert.equal(u.body.warnings.length, 1);
    assert.match(u.body.warnings[0], /e\.example\.com\. -> f\.example\.com\. -> g\.example\.com\. -> e\.example\.com\./);
    // A self-loop through a wildcard: *.w -> x.w, and x.w does not exist (so the wildcard answers it).
    const w = await create('*.w', 'CNAME', 'x.w.example.com.');
    assert.equal(w.body.warnings.length, 1, JSON.stringify(w.body.warnings));
    assert.match(w.body.warnings[0], /x\.w\.example\.com\. -> x\.w\.example\.com\./);
    // In one batch, on both surfaces.
    const batch = await h.rest('POST', `/v1/zones/${Z}/changes`, {
      token: h.tokens.alice,
      body: [{ op: 'create', name: 'p', type: 'CNAME', value: 'q.example.com.' }, { op: 'create', name: 'q', type: 'CNAME', value: 'p.example.com.' }],
    });
    assert.equal(batch.status, 200, batch.text);
    assert.deepEqual(batch.body.warnings, ['CNAME loop: p.example.com. -> q.example.com. -> p.example.com. (resolvers answer SERVFAIL for every name on it)']);
    const gb = await h.grpc('RecordService', 'ApplyChanges', { zone: Z, changes: [{ op: 'create', name: 'r', type: 'CNAME', value: 'r.example.com.' }] }, { token: h.tokens.alice });
    assert.equal(gb.code, 0, gb.details);
    assert.deepEqual(gb.body.warnings, ['CNAME loop: r.example.com. -> r.example.com. (resolvers answer SERVFAIL for every name on it)']);
  });

  test('import answers with the warnings of the whole zone', async () => {
    const file = ['$ORIGIN lint.test.', '$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 192.0.2.1', '@ MX 10 192.0.2.2', 'x CNAME y', 'y CNAME x', ''].join('\n');
    const r = await h.rest('POST', '/v1/zones/lint.test/import', { token: h.tokens.alice, text: file });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.warnings.length, 2, JSON.stringify(r.body.warnings));
    assert.ok(r.body.warnings.some((w: string) => /^lint\.test\. MX .*192\.0\.2\.2 is an IP address/.test(w)));
    assert.ok(r.body.warnings.some((w: string) => w.startsWith('CNAME loop: x.lint.test. -> y.lint.test. -> x.lint.test.')));
  });

  test('lintNames reports a loop once however many of its names were touched', () => {
    const w = lintNames(h.ledger.state, ['a.example.com.', 'b.example.com.', 'a.example.com.']);
    assert.equal(w.filter((x) => x.startsWith('CNAME loop: a.example.com.')).length, 1);
  });

  test('mcns record add prints each warning as "warning: ..." on stderr, the record on stdout', async () => {
    const client = ['--addr', `https://127.0.0.1:${h.restPort}`, '--ca-cert', h.tls.caPath, '--token', h.tokens.alice];
    const r = await mcns(['record', 'add', Z, 'mxcli', 'MX', '10', '192.0.2.77', ...client]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mxcli/);
    assert.match(r.stderr, /^warning: mxcli\.example\.com\. MX 10 192\.0\.2\.77\.: the target 192\.0\.2\.77 is an IP address, not a host name/m);
    const j = await mcns(['record', 'add', Z, 'mxcli2', 'MX', '10', '192.0.2.78', '--output', 'json', ...client]);
    assert.equal(j.code, 0, j.stderr);
    assert.doesNotThrow(() => JSON.parse(j.stdout), 'stdout stays pure JSON');
    assert.match(j.stderr, /^warning: /m);
    const quiet = await mcns(['record', 'add', Z, 'mxcli3', 'MX', '10', 'mail.example.com.', ...client]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /warning/);
  });
});
