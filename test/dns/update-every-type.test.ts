/**
 * DNS UPDATE (RFC 2136) with every type: BIND's nsupdate and Knot's knsupdate encode each record of
 * the corpus (test/records/every-type.ts) on the wire; MCNS stores each with the value a zone file
 * or the API would give it, RFC 3597 types byte for byte, and deletes them by value again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { createUpdateHandler, OPCODE_UPDATE } from '../../src/dns/update.ts';
import { makeKeyring } from '../../src/dns/transfer/index.ts';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { tempDir } from '../helpers/ledger.ts';
import { requireTool } from '../helpers/tools.ts';
import { EVERY_TYPE } from '../records/every-type.ts';

const ZONE = 'every.test';
const SECRET = Buffer.from('update key secret for the every-type tests').toString('base64');
const SKIP = requireTool('nsupdate', 'knsupdate');
/** Left out: the corpus' NS is a delegation (fine to add, but then the names below it are not the zone's). */
const NOT_SENT = new Set(['ns']);
/**
 * SvcParamKeys the tools do not know by name yet are sent by number (Knot 3.2: key7 for dohpath;
 * both: key8 for ohttp); MCNS stores them under their names.
 */
function spelled(tool: string, input: string): string {
  const out = input.replace(/\bohttp\b/, 'key8');
  return tool === 'knsupdate' ? out.replace('dohpath=', 'key7=') : out;
}

let tmp: ReturnType<typeof tempDir>;
let ledger: Ledger;
let dns: DnsServer;
let port = 0;

before(async () => {
  if (SKIP) return;
  tmp = tempDir();
  ledger = Ledger.open({ path: path.join(tmp.dir, 'ledger.db') });
  ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: `ns1.${ZONE}.`, admin_email: `hostmaster@${ZONE}` } }, { actor: 'test' });
  const keyring = makeKeyring({ 'up-key': { algorithm: 'hmac-sha256', secret: SECRET } });
  const update = createUpdateHandler({ ledger, keyring, config: { allow_keys: ['up-key'] } });
  dns = await startDns({ ledger, listen: ['127.0.0.1:0'], handlers: { [OPCODE_UPDATE]: update } });
  port = dns.addresses[0].udp.port;
});

after(async () => {
  await dns?.close();
  ledger?.close();
  tmp?.cleanup();
});

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

function stored(): Map<string, string> {
  const zone = ledger.state.zones.get(`${ZONE}.`)!;
  return new Map([...zone.records.values()].map((r) => [`${r.name} ${r.type}`, r.value]));
}

for (const tool of ['nsupdate', 'knsupdate'] as const) {
  test(`${tool}: every type is added with its canonical value, then deleted by value`, { skip: SKIP }, async () => {
    const file = path.join(tmp.dir, `${tool}.txt`);
    const entries = EVERY_TYPE.filter(([owner]) => !NOT_SENT.has(owner));
    const key = tool === 'nsupdate' ? `key hmac-sha256:up-key ${SECRET}` : `key hmac-sha256:up-key:${SECRET}`;
    const lines = (op: 'add' | 'delete'): string[] => [
      `server 127.0.0.1 ${port}`,
      `zone ${ZONE}.`,
      key,
      ...entries.map(([owner, type, input]) => (op === 'add' ? `update add ${owner}.${ZONE}. 300 ${type} ${spelled(tool, input)}` : `update delete ${owner}.${ZONE}. ${type} ${spelled(tool, input)}`)),
      'send',
      ...(tool === 'knsupdate' ? ['answer'] : []),
      '',
    ];
    fs.writeFileSync(file, lines('add').join('\n'));
    let r = await run(tool, ['-t', '10', file]);
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /REFUSED|FORMERR|failed/i, r.out);
    const have = stored();
    for (const [owner, type, , canonical] of entries) {
      assert.equal(have.get(`${owner}.${ZONE}. ${type}`), canonical, `${tool} ${owner} ${type}`);
    }
    fs.writeFileSync(file, lines('delete').join('\n'));
    r = await run(tool, ['-t', '10', file]);
    assert.equal(r.code, 0, r.out);
    const left = stored();
    for (const [owner, type] of entries) assert.equal(left.get(`${owner}.${ZONE}. ${type}`), undefined, `${tool} deleted ${owner} ${type}`);
  });
}
