/**
 * Zone files through the API (REST and gRPC): an API import carries one self-contained file, so
 * $INCLUDE is refused with the reason; $GENERATE works; the reader's warnings (TTL fixed in an
 * RRset, SOA minimum as the TTL) come back in the response's warnings; every bad line is listed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../api/harness.ts';

const SOA = '@ IN SOA ns hostmaster 2026010101 3600 600 86400 300\n@ IN NS ns\nns IN A 192.0.2.53\n';

describe('zone files through the API', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());
  const alice = (): { token: string } => ({ token: h.tokens.alice });

  test('$INCLUDE is refused (400 / INVALID_ARGUMENT) naming the reason, and nothing is written', async () => {
    const seq = h.ledger.state.seq;
    const text = `$TTL 300\n${SOA}$INCLUDE /etc/passwd\n`;
    const r = await h.rest('POST', '/v1/zones/inc.test/import', { ...alice(), text });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^zone file: line 5: \$INCLUDE is refused here: this zone file was not read from a file \(API imports take one self-contained file\)/);
    const g = await h.grpc('ZoneService', 'ImportZone', { zone: 'inc.test', zone_file: text }, alice());
    assert.equal(g.code, 3);
    assert.match(g.details ?? '', /\$INCLUDE is refused here/);
    assert.equal(h.ledger.state.seq, seq);
  });

  test('$GENERATE imports; the reader\'s warnings are in the response (REST and gRPC) with their lines', async () => {
    const text = `${SOA}$GENERATE 1-3 h$ A 192.0.2.$\nx 60 A 192.0.2.10\nx 120 A 192.0.2.11\n`;
    const r = await h.rest('POST', '/v1/zones/gen.test/import', { ...alice(), text });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.created, 7, 'NS, ns, h1..h3, x twice');
    assert.ok(
      r.body.warnings.includes('line 1: no $TTL and no TTL on the SOA: using the SOA minimum (300) as the default TTL, as BIND does'),
      JSON.stringify(r.body.warnings),
    );
    assert.ok(
      r.body.warnings.some((w: string) => w.startsWith('line 6: TTL 120 differs from the TTL 60 of the x.gen.test. A RRset (set at line 5): using 60')),
      JSON.stringify(r.body.warnings),
    );
    const g = await h.grpc('ZoneService', 'ImportZone', { zone: 'gen2.test', zone_file: text }, alice());
    assert.equal(g.code, 0, g.details);
    assert.ok(g.body.warnings.some((w: string) => w.startsWith('line 6: TTL 120 differs')), JSON.stringify(g.body.warnings));
    const exp = await h.rest('GET', '/v1/zones/gen.test/export', alice());
    assert.match(exp.text, /^h3 +300 IN A +192\.0\.2\.3$/m);
    assert.equal(exp.text.match(/^x +60 IN A /gm)?.length, 2);
  });

  test('every bad line is listed in the error, one a line', async () => {
    const text = `$TTL 300\n${SOA}a A 1.2.3.999\nb AAAA nope\nc MX 10\n`;
    const r = await h.rest('POST', '/v1/zones/bad.test/import', { ...alice(), text });
    assert.equal(r.status, 400);
    assert.deepEqual(
      String(r.body.error).split('\n').map((l) => /line (\d+):/.exec(l)?.[1]),
      ['5', '6', '7'],
    );
  });
});
