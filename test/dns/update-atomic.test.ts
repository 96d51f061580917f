/**
 * RFC 2136 3.2: prerequisites and update are one atomic step. When another writer (the offline CLI,
 * another process: here a second Ledger on the same SQLite file) appends between the moment an
 * UPDATE is decided and its append, the ledger retries, and the retry must check the prerequisites
 * against the state it decides on. The other writer is driven from a hook on the server ledger's
 * append, so the race happens every time, at the worst moment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import type { Command } from '../../src/projections/decide.ts';
import { readQuery } from '../../src/dns/query.ts';
import { makeKeyring } from '../../src/dns/transfer/index.ts';
import { signRequest } from '../../src/dns/transfer/tsig.ts';
import { createUpdateHandler, UPDATE_RCODE } from '../../src/dns/update.ts';
import { tempDir } from '../helpers/ledger.ts';
import { a, CLASS, rcodeOf, TYPE, txt, updateMessage, verifyResponse, type RawRR } from './update-helpers.ts';

const ZONES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'zones');
const keyring = makeKeyring({ 'acme-key': { algorithm: 'hmac-sha256', secret: Buffer.from('acme-key secret for the atomic update tests') } });
const key = keyring.get('acme-key.')!;

/**
 * A server ledger and an "offline CLI" ledger on one database. `interleave` runs on the CLI ledger
 * right before the server's first append of the UPDATE, after the UPDATE was decided.
 */
function race(interleave: (cli: Ledger) => void) {
  const { dir, cleanup } = tempDir('mcns-update-atomic-');
  const file = path.join(dir, 'mcns.db');
  const server = Ledger.open({ path: file });
  server.execute(importCommand('example.com.', fs.readFileSync(path.join(ZONES, 'example.com.zone'), 'utf8')), { actor: 'import' });
  const cli = Ledger.open({ path: file });
  const appends = { calls: 0 };
  const append = server.log.append.bind(server.log);
  server.log.append = (drafts, opts) => {
    if (appends.calls++ === 0) interleave(cli);
    return append(drafts, opts);
  };
  const handler = createUpdateHandler({ ledger: server, keyring, config: { allow_keys: ['acme-key'] } });
  const send = (prereqs: RawRR[], updates: RawRR[]): number => {
    const signed = signRequest(updateMessage('example.com.', prereqs, updates), key);
    const q = readQuery(signed.bytes);
    assert.equal(q.kind, 'query');
    if (q.kind !== 'query') throw new Error('unreachable');
    const reply = handler(q, signed.bytes, { address: '127.0.0.1', port: 5300, transport: 'udp' })!;
    verifyResponse(reply, key, signed.mac);
    return rcodeOf(reply);
  };
  const records = (name: string): string[] =>
    [...server.state.zones.get('example.com.')!.records.values()].filter((r) => r.name === name).map((r) => `${r.type} ${r.value}`).sort();
  return {
    server,
    cli,
    appends,
    send,
    records,
    /** Actors of the events appended since seq. */
    actorsSince: (seq: number): string[] => [...server.log.iterate(seq, server.state.seq)].map((e) => e.actor),
    close: () => {
      cli.close();
      server.close();
      cleanup();
    },
  };
}

const cliWrite = (cmd: Command) => (cli: Ledger): void => void cli.execute(cmd, { actor: 'cli' });
const mailA = (cli: Ledger): string => [...cli.state.zones.get('example.com.')!.records.values()].find((r) => r.name === 'mail.example.com.' && r.type === 'A')!.id;

test('RRset-exists prerequisite: the CLI deletes the RRset between decision and append; the retry answers NXRRSET and appends nothing', () => {
  const r = race((cli) => cli.execute({ kind: 'changeRecords', zone: 'example.com.', ops: [{ op: 'delete', id: mailA(cli) }] }, { actor: 'cli' }));
  try {
    const seq = r.server.state.seq;
    const rcode = r.send([{ name: 'mail.example.com.', type: TYPE.A, cls: CLASS.ANY }], [{ name: '_acme-challenge.example.com.', type: TYPE.TXT, cls: CLASS.IN, ttl: 60, rdata: txt('needs-mail') }]);
    assert.ok(r.appends.calls >= 1, 'the server tried to append (the race happened)');
    assert.equal(rcode, UPDATE_RCODE.NXRRSET);
    assert.deepEqual(r.records('_acme-challenge.example.com.'), [], 'the update was not applied');
    assert.ok(r.actorsSince(seq).every((actor) => actor === 'cli'), 'only the CLI write was appended');
  } finally {
    r.close();
  }
});

test('name-not-in-use prerequisite: the CLI creates the name meanwhile; the retry answers YXDOMAIN and appends nothing', () => {
  const r = race(cliWrite({ kind: 'changeRecords', zone: 'example.com.', ops: [{ op: 'create', name: 'new.example.com.', type: 'TXT', value: '"cli"' }] }));
  try {
    const seq = r.server.state.seq;
    const rcode = r.send([{ name: 'new.example.com.', type: TYPE.ANY, cls: CLASS.NONE }], [{ name: 'new.example.com.', type: TYPE.A, cls: CLASS.IN, ttl: 60, rdata: a('192.0.2.77') }]);
    assert.equal(rcode, UPDATE_RCODE.YXDOMAIN);
    assert.deepEqual(r.records('new.example.com.'), ['TXT "cli"']);
    assert.deepEqual(r.actorsSince(seq).filter((x) => x !== 'cli'), []);
  } finally {
    r.close();
  }
});

test('value-dependent prerequisite: the CLI changes the address meanwhile; the retry answers NXRRSET', () => {
  const r = race((cli) =>
    cli.execute({ kind: 'changeRecords', zone: 'example.com.', ops: [{ op: 'delete', id: mailA(cli) }, { op: 'create', name: 'mail.example.com.', type: 'A', value: '192.0.2.26' }] }, { actor: 'cli' }),
  );
  try {
    const seq = r.server.state.seq;
    const rcode = r.send([{ name: 'mail.example.com.', type: TYPE.A, cls: CLASS.IN, rdata: a('192.0.2.25') }], [{ name: 'mail.example.com.', type: TYPE.TXT, cls: CLASS.IN, ttl: 60, rdata: txt('was-25') }]);
    assert.equal(rcode, UPDATE_RCODE.NXRRSET);
    assert.deepEqual(r.records('mail.example.com.'), ['A 192.0.2.26']);
    assert.deepEqual(r.actorsSince(seq).filter((x) => x !== 'cli'), []);
  } finally {
    r.close();
  }
});

test('RRset-does-not-exist prerequisite: the CLI creates the RRset meanwhile; the retry answers YXRRSET', () => {
  const r = race(cliWrite({ kind: 'changeRecords', zone: 'example.com.', ops: [{ op: 'create', name: '_acme-challenge.example.com.', type: 'TXT', value: '"cli-token"' }] }));
  try {
    const rcode = r.send([{ name: '_acme-challenge.example.com.', type: TYPE.TXT, cls: CLASS.NONE }], [{ name: '_acme-challenge.example.com.', type: TYPE.TXT, cls: CLASS.IN, ttl: 60, rdata: txt('mine') }]);
    assert.equal(rcode, UPDATE_RCODE.YXRRSET);
    assert.deepEqual(r.records('_acme-challenge.example.com.'), ['TXT "cli-token"']);
  } finally {
    r.close();
  }
});

test('a concurrent write that leaves the prerequisite true: the retry applies the update on top of it (both writes kept)', () => {
  const r = race(cliWrite({ kind: 'changeRecords', zone: 'example.com.', ops: [{ op: 'create', name: 'other.example.com.', type: 'A', value: '192.0.2.60' }] }));
  try {
    const rcode = r.send([{ name: 'mail.example.com.', type: TYPE.A, cls: CLASS.ANY }], [{ name: '_acme-challenge.example.com.', type: TYPE.TXT, cls: CLASS.IN, ttl: 60, rdata: txt('ok') }]);
    assert.equal(rcode, UPDATE_RCODE.NOERROR);
    assert.equal(r.appends.calls, 2, 'one conflict, one retry');
    assert.deepEqual(r.records('_acme-challenge.example.com.'), ['TXT "ok"']);
    assert.deepEqual(r.records('other.example.com.'), ['A 192.0.2.60']);
  } finally {
    r.close();
  }
});

test('a delete re-planned on retry deletes what the state then holds (the CLI added a record to the RRset meanwhile)', () => {
  const r = race(cliWrite({ kind: 'changeRecords', zone: 'example.com.', ops: [{ op: 'create', name: 'mail.example.com.', type: 'A', value: '192.0.2.27' }] }));
  try {
    const rcode = r.send([], [{ name: 'mail.example.com.', type: TYPE.A, cls: CLASS.ANY }]);
    assert.equal(rcode, UPDATE_RCODE.NOERROR);
    assert.deepEqual(r.records('mail.example.com.').filter((x) => x.startsWith('A ')), [], 'the whole RRset is gone, the CLI record too');
  } finally {
    r.close();
  }
});
