/**
 * DNS UPDATE into a signed zone: nsupdate may add ordinary records (served signed), but a DNSKEY or
 * NSEC3PARAM it sends is refused, because the signer derives those types (the same rule as the API).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { configureDnssec } from '../../src/api/dnssec.ts';
import { Ledger } from '../../src/ledger.ts';
import { createUpdateHandler, OPCODE_UPDATE } from '../../src/dns/update.ts';
import { makeKeyring } from '../../src/dns/transfer/index.ts';
import { startDns } from '../../src/dns/server.ts';
import { tempDir } from '../helpers/ledger.ts';
import { requireTool } from '../helpers/tools.ts';

const ZONE = 'upd-signed.test';
const SECRET = Buffer.from('update key secret for the signed-zone tests').toString('base64');

function nsupdate(file: string): Promise<string> {
  return new Promise((resolve) => execFile('nsupdate', ['-t', '10', file], { timeout: 20000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`)));
}

test('nsupdate into a signed zone: an A record goes in, a DNSKEY or NSEC3PARAM is refused (REFUSED), as it was not before signing', async (t) => {
  const missing = requireTool('nsupdate');
  if (missing) return t.skip(missing);
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const ledger = Ledger.open({ path: path.join(tmp.dir, 'ledger.db') });
  t.after(() => ledger.close());
  ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}.`, admin_email: `hostmaster@${ZONE}` } }, { actor: 'test' });
  const update = createUpdateHandler({ ledger, keyring: makeKeyring({ 'up-key': { algorithm: 'hmac-sha256', secret: SECRET } }), config: { allow_keys: ['up-key'] } });
  const dns = await startDns({ ledger, listen: ['127.0.0.1:0'], handlers: { [OPCODE_UPDATE]: update } });
  t.after(() => dns.close());
  const port = dns.addresses[0].udp.port;
  const send = async (line: string): Promise<string> => {
    const file = path.join(tmp.dir, 'u.txt');
    fs.writeFileSync(file, [`server 127.0.0.1 ${port}`, `zone ${ZONE}.`, `key hmac-sha256:up-key ${SECRET}`, line, 'send', ''].join('\n'));
    return nsupdate(file);
  };
  const types = (): string[] => [...ledger.state.zones.get(`${ZONE}.`)!.records.values()].map((r) => r.type);

  const dnskey = `${ZONE}. 300 DNSKEY 257 3 13 ${Buffer.alloc(64, 5).toString('base64')}`;
  // The control: before signing, a DNSKEY is ordinary data that UPDATE may write.
  const before = await send(`update add ${dnskey}`);
  assert.doesNotMatch(before, /REFUSED|FORMERR|failed/i, before);
  assert.equal(types().filter((x) => x === 'DNSKEY').length, 1);
  configureDnssec(ledger, `${ZONE}.`, { enabled: true }, { actor: 'admin' });

  const ok = await send(`update add www.${ZONE}. 300 A 192.0.2.7`);
  assert.doesNotMatch(ok, /REFUSED|FORMERR|failed/i, ok);
  assert.ok(types().includes('A'));
  for (const line of [`update add ${dnskey.replace('257', '256')}`, `update add ${ZONE}. 0 NSEC3PARAM 1 0 0 -`]) {
    const out = await send(line);
    assert.match(out, /update failed: REFUSED/, `${line}: ${out}`);
  }
  assert.equal(types().filter((x) => x === 'DNSKEY' || x === 'NSEC3PARAM').length, 1, types().join(' '));
});
