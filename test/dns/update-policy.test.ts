/**
 * DNS UPDATE key limits ([update.keys.NAME] names, types): name patterns match whole labels only, a
 * key can be limited to record types, and a key limited to names may never change the types that
 * hand away a subtree (NS, DNAME, DS) unless its types list them. Driven through the UPDATE handler
 * with signed messages against a Ledger on a temp SQLite file, and through loadConfig.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { readQuery } from '../../src/dns/query.ts';
import { makeKeyring } from '../../src/dns/transfer/index.ts';
import { signRequest } from '../../src/dns/transfer/tsig.ts';
import { createUpdateHandler, UPDATE_RCODE, type UpdateKeyLimits } from '../../src/dns/update.ts';
import { KeyPolicy, namePattern, parseTypes } from '../../src/dns/update-policy.ts';
import { loadConfig } from '../../src/config.ts';
import { McnsError } from '../../src/errors.ts';
import { tempDir } from '../helpers/ledger.ts';
import { a, CLASS, nameRdata, rcodeOf, TYPE, txt, updateMessage, verifyResponse, type RawRR } from './update-helpers.ts';

const ZONES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'zones');

const LIMITS: Record<string, UpdateKeyLimits> = {
  'acme-names': { names: ['_acme-challenge.*'] },
  'acme-txt': { types: ['TXT'] },
  'names-txt': { names: ['_acme-challenge.*'], types: ['txt'] },
  'delegator': { names: ['*.dyn.example.com'], types: ['NS', 'A'] },
  'host': { names: ['host.example.com'] },
};
const secrets = Object.fromEntries(['zone-wide', ...Object.keys(LIMITS)].map((k) => [k, { algorithm: 'hmac-sha256', secret: Buffer.from(`secret of ${k} for the policy tests`) }]));
const keyring = makeKeyring(secrets);

let env: { dir: string; cleanup: () => void };
let ledger: Ledger;
let handler: ReturnType<typeof createUpdateHandler>;

before(() => {
  env = tempDir('mcns-update-policy-');
  ledger = Ledger.open({ path: path.join(env.dir, 'mcns.db') });
  ledger.execute(importCommand('example.com.', fs.readFileSync(path.join(ZONES, 'example.com.zone'), 'utf8')), { actor: 'import' });
  handler = createUpdateHandler({ ledger, keyring, config: { allow_keys: Object.keys(secrets), keys: LIMITS } });
});

after(() => {
  ledger.close();
  env.cleanup();
});

/** Send one signed UPDATE for example.com with `keyName`; its rcode (the response verifies). */
function send(keyName: string, updates: RawRR[]): number {
  const key = keyring.get(`${keyName}.`)!;
  const signed = signRequest(updateMessage('example.com.', [], updates), key);
  const q = readQuery(signed.bytes);
  if (q.kind !== 'query') throw new Error('not a query');
  const reply = handler(q, signed.bytes, { address: '127.0.0.1', port: 5300, transport: 'udp' })!;
  verifyResponse(reply, key, signed.mac);
  return rcodeOf(reply);
}

/** Like send, and assert that a refusal appended nothing. */
function refused(keyName: string, updates: RawRR[]): void {
  const seq = ledger.state.seq;
  assert.equal(send(keyName, updates), UPDATE_RCODE.REFUSED, `${keyName}: ${JSON.stringify(updates.map((u) => [u.name, u.type, u.cls]))}`);
  assert.equal(ledger.state.seq, seq, 'nothing appended');
}

const has = (name: string, type: string): boolean => [...ledger.state.zones.get('example.com.')!.records.values()].some((r) => r.name === name && r.type === type);
const addTxt = (name: string): RawRR => ({ name, type: TYPE.TXT, cls: CLASS.IN, ttl: 60, rdata: txt('t') });
const addNs = (name: string): RawRR => ({ name, type: TYPE.NS, cls: CLASS.IN, ttl: 60, rdata: nameRdata('ns.attacker.example.') });

test('namePattern: "*" is one or more whole labels; literal labels compare without case; no partial-label match', () => {
  const m = namePattern('_acme-challenge.*');
  assert.ok(m('_acme-challenge.example.com.'));
  assert.ok(m('_ACME-Challenge.a.b.example.com'));
  assert.ok(!m('_acme-challenge-x.example.com.'), 'a longer first label is another label');
  assert.ok(!m('x._acme-challenge.example.com.'));
  assert.ok(!m('_acme-challenge.'), '"*" needs at least one label');
  assert.ok(!m('_acme-challenge.*.example.com.'), 'a wildcard owner is not matched by "*"');
  const mid = namePattern('_acme-challenge.*.example.com');
  assert.ok(mid('_acme-challenge.www.example.com.'));
  assert.ok(mid('_acme-challenge.a.b.example.com.'));
  assert.ok(!mid('_acme-challenge.example.com.'));
  assert.ok(!mid('_acme-challenge.www.example.org.'));
  assert.ok(namePattern('Host.Example.COM.')('host.example.com.'));
  assert.ok(!namePattern('host.example.com')('hostile.example.com.'));
});

test('namePattern refuses a "*" inside a label and names that are not names, naming the field', () => {
  for (const bad of ['host*.example.com', '*acme.example.com', '_acme-*', 'a..b', '.']) {
    assert.throws(() => namePattern(bad, 'update.keys.k.names'), (e: unknown) => e instanceof McnsError && e.field === 'update.keys.k.names', bad);
  }
});

test('parseTypes: mnemonics without case, including NS/DNAME/DS; an unknown type is refused naming it', () => {
  assert.deepEqual([...parseTypes(['txt', 'A', 'ds', 'DNAME'])].sort((x, y) => x - y), [1, 16, 39, 43]);
  assert.throws(() => parseTypes(['TXTT'], 'update.keys.k.types'), /update\.keys\.k\.types.*"TXTT"/);
});

test('a names-limited key changes its names and is REFUSED elsewhere, whole labels only', () => {
  assert.equal(send('acme-names', [addTxt('_acme-challenge.www.example.com.')]), UPDATE_RCODE.NOERROR);
  refused('acme-names', [addTxt('_acme-challenge-evil.example.com.')]);
  refused('acme-names', [addTxt('www.example.com.')]);
  // One RR outside the limits refuses the whole update.
  refused('acme-names', [addTxt('_acme-challenge.a.example.com.'), addTxt('b.example.com.')]);
});

test('a key limited to names cannot delegate, redirect or sign below itself: NS, DNAME and DS are REFUSED, add or delete', () => {
  refused('acme-names', [addNs('_acme-challenge.sub2.example.com.')]);
  refused('acme-names', [{ name: '_acme-challenge.x.example.com.', type: TYPE.DNAME, cls: CLASS.IN, ttl: 60, rdata: nameRdata('attacker.example.') }]);
  refused('acme-names', [{ name: '_acme-challenge.x.example.com.', type: TYPE.DS, cls: CLASS.IN, ttl: 60, rdata: Buffer.from([0, 1, 13, 2, ...new Array<number>(32).fill(7)]) }]);
  refused('host', [addNs('host.example.com.')]);
  assert.ok(!has('host.example.com.', 'NS') && !has('_acme-challenge.sub2.example.com.', 'NS'));
  // An existing delegation at a name the key may change: no RRset delete of it, no delete of the whole name.
  ledger.execute({ kind: 'changeRecords', zone: 'example.com.', ops: [{ op: 'create', name: 'host.example.com.', type: 'NS', value: 'ns1.example.com.' }, { op: 'create', name: 'host.example.com.', type: 'TXT', value: '"x"' }] }, { actor: 'admin' });
  refused('host', [{ name: 'host.example.com.', type: TYPE.NS, cls: CLASS.ANY }]);
  refused('host', [{ name: 'host.example.com.', type: TYPE.NS, cls: CLASS.NONE, rdata: nameRdata('ns1.example.com.') }]);
  refused('host', [{ name: 'host.example.com.', type: TYPE.ANY, cls: CLASS.ANY }]);
  assert.ok(has('host.example.com.', 'NS'), 'the delegation is still there');
  // Other types at that name are its own to change.
  assert.equal(send('host', [{ name: 'host.example.com.', type: TYPE.TXT, cls: CLASS.ANY }]), UPDATE_RCODE.NOERROR);
  assert.ok(!has('host.example.com.', 'TXT'));
});

test('a names-limited key whose types list NS may delegate within its names; a key without name limits may too', () => {
  assert.equal(send('delegator', [addNs('home.dyn.example.com.')]), UPDATE_RCODE.NOERROR);
  assert.ok(has('home.dyn.example.com.', 'NS'));
  refused('delegator', [addTxt('home2.dyn.example.com.')]);
  assert.equal(send('zone-wide', [addNs('lab.example.com.')]), UPDATE_RCODE.NOERROR);
  assert.ok(has('lab.example.com.', 'NS'));
});

test('a key limited to types changes those types anywhere, nothing else, and may not delete whole names', () => {
  assert.equal(send('acme-txt', [addTxt('anything.example.com.')]), UPDATE_RCODE.NOERROR);
  refused('acme-txt', [{ name: 'anything.example.com.', type: TYPE.A, cls: CLASS.IN, ttl: 60, rdata: a('192.0.2.9') }]);
  refused('acme-txt', [{ name: 'mail.example.com.', type: TYPE.A, cls: CLASS.ANY }]);
  refused('acme-txt', [addNs('anything.example.com.')]);
  refused('acme-txt', [{ name: 'anything.example.com.', type: TYPE.ANY, cls: CLASS.ANY }]);
  assert.equal(send('acme-txt', [{ name: 'anything.example.com.', type: TYPE.TXT, cls: CLASS.ANY }]), UPDATE_RCODE.NOERROR);
  // Names and types together: both must allow the change.
  assert.equal(send('names-txt', [addTxt('_acme-challenge.n.example.com.')]), UPDATE_RCODE.NOERROR);
  refused('names-txt', [{ name: '_acme-challenge.n.example.com.', type: TYPE.A, cls: CLASS.IN, ttl: 60, rdata: a('192.0.2.9') }]);
  refused('names-txt', [addTxt('n.example.com.')]);
});

test('KeyPolicy.from: no limits allow everything but still name the zone limit', () => {
  const p = KeyPolicy.from({ zones: ['Example.COM'] }, 'update.keys.k');
  assert.ok(p.allowsZone('example.com.'));
  assert.ok(!p.allowsZone('example.org.'));
  assert.equal(p.refusal({ name: 'x.example.com.', type: TYPE.NS, class: CLASS.IN }, () => []), undefined);
});

test('config: [update.keys.NAME] types loads; a partial-label pattern or an unknown type stops loading, naming the key', () => {
  const write = (text: string): string => {
    const p = path.join(env.dir, `cfg-${Math.random().toString(36).slice(2)}.toml`);
    fs.writeFileSync(p, text);
    return p;
  };
  const base = `[tsig.keys.acme-key]\nsecret = "${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}"\n[update]\nallow_keys = ["acme-key"]\n[update.keys.acme-key]\n`;
  const ok = loadConfig({ dev: true, devDir: env.dir, path: write(`${base}names = ["_acme-challenge.*"]\ntypes = ["TXT"]\n`), env: {} });
  assert.deepEqual(ok.update.keys['acme-key'], { zones: [], names: ['_acme-challenge.*'], types: ['TXT'] });
  assert.throws(() => loadConfig({ dev: true, devDir: env.dir, path: write(`${base}names = ["_acme-challenge*.example.com"]\n`), env: {} }), /update\.keys\.acme-key\.names.*whole label/);
  assert.throws(() => loadConfig({ dev: true, devDir: env.dir, path: write(`${base}types = ["TXT", "SPF1"]\n`), env: {} }), /update\.keys\.acme-key\.types.*SPF1/);
  // The server refuses the same at start-up when handed such limits directly.
  assert.throws(() => createUpdateHandler({ ledger, keyring, config: { allow_keys: ['host'], keys: { host: { names: ['ho*st.example.com'] } } } }), /update\.keys\.host\.names/);
});
