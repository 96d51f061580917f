/**
 * TXT in the API and the CLI (issue 11): a value is one string, as a person means it
 * ("v=spf1 mx -all" stays one SPF string), split into 255-byte strings when longer; a value that
 * begins with a double quote is presentation format (several strings, escapes). Other types are
 * presentation format, and RFC 3597 types are accepted in their generic form.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './harness.ts';
import { mcns } from '../cli/run.ts';

let h: Harness;
const ZONE = 'txt.test';

before(async () => {
  h = await startHarness();
  const r = await h.rest('POST', '/v1/zones', { token: h.tokens.alice, body: { name: ZONE, primary_ns: `ns1.${ZONE}`, admin_email: `hostmaster@${ZONE}` } });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await h?.close();
});

async function create(name: string, type: string, value: string): Promise<string> {
  const r = await h.rest('POST', `/v1/zones/${ZONE}/records`, { token: h.tokens.alice, body: { name, type, value } });
  assert.equal(r.status, 201, r.text);
  return r.body.record.value;
}

test('REST: a TXT value is one string unless it begins with a double quote', async () => {
  assert.equal(await create('spf', 'TXT', 'v=spf1 mx -all'), '"v=spf1 mx -all"');
  assert.equal(await create('two', 'TXT', '"v=spf1" "mx"'), '"v=spf1" "mx"');
  assert.equal(await create('quote', 'TXT', 'say "hi"'), '"say \\"hi\\""');
  const long = await create('dkim', 'TXT', `v=DKIM1; p=${'A'.repeat(300)}`);
  assert.equal(long, `"v=DKIM1; p=${'A'.repeat(244)}" "${'A'.repeat(56)}"`);
});

test('REST: new types and RFC 3597 ones, with the field named when a value is wrong', async () => {
  assert.equal(await create('www', 'HTTPS', '1 . alpn="h2,h3"'), '1 . alpn="h2,h3"');
  assert.equal(await create('x', 'TYPE65400', '\\# 4 0a000001'), '\\# 4 0A000001');
  assert.equal(await create('y', 'type1', '192.0.2.7'), '192.0.2.7');
  const r = await h.rest('POST', `/v1/zones/${ZONE}/records`, { token: h.tokens.alice, body: { name: 'bad', type: 'HTTPS', value: '1 . alpn=""' } });
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error, /HTTPS alpn: empty protocol id/);
});

test('CLI: mcns record add ... TXT "hello world" stores one string', async () => {
  const env = { MCNS_ADDR: `https://127.0.0.1:${h.restPort}`, MCNS_TOKEN: h.tokens.alice, MCNS_CA_CERT: h.tls.caPath };
  const r = await mcns(['record', 'add', ZONE, 'hello', 'TXT', 'hello world'], { env });
  assert.equal(r.code, 0, r.stderr);
  const rec = [...h.ledger.state.zones.get(`${ZONE}.`)!.records.values()].find((x) => x.name === `hello.${ZONE}.`);
  assert.equal(rec?.value, '"hello world"');
});
