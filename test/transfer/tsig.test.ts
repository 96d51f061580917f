/**
 * TSIG (RFC 8945) against independent implementations: requests signed by dig and kdig verify with
 * our code, our signed answers verify in dig and kdig, and the error answers (BADKEY, BADSIG,
 * BADTIME) come out as the RFC says. Plus round trips for hmac-sha256/384/512 and MAC truncation,
 * and hmac-sha384/512 against dig and kdig in both directions (requests, answers, AXFR chains).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { readQuery } from '../../src/dns/query.ts';
import {
  makeKeyring, parseTsig, signRequest, tsigErrorResponse, verifyRequest, TsigResponseSigner, TsigResponseVerifier, TSIG_ERROR,
} from '../../src/dns/transfer/tsig.ts';
import { emptyResponseBytes as errorResponse } from '../../src/dns/header.ts';
import { createTransferHandlers } from '../../src/dns/transfer/index.ts';
import { startDns } from '../../src/dns/server.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { testLedger } from '../helpers/ledger.ts';
import { requireTool } from '../helpers/tools.ts';
import { makeQuery, rcodeOf, run, startMiniDns } from './helpers.ts';

const SECRET_B64 = 'bWNucy10c2lnLXRlc3QtdmVjdG9yLXNlY3JldC0zMmJ5dGVz';
const ring = makeKeyring({
  'test-key': { algorithm: 'hmac-sha256', secret: SECRET_B64 },
  'k512.example.': { algorithm: 'hmac-sha512', secret: Buffer.from('sha512 secret') },
  k384: { algorithm: 'hmac-sha384', secret: Buffer.from('sha384 secret') },
});
const now = (): number => Math.floor(Date.now() / 1000);

function parsed(msg: Buffer) {
  const q = readQuery(msg);
  assert.equal(q.kind, 'query');
  if (q.kind !== 'query') throw new Error('unreachable');
  return q;
}

/** readQuery drops responses, so clear QR to locate a response's TSIG. */
function responseTsigOffset(msg: Buffer): number {
  const copy = Buffer.from(msg);
  copy[2] &= 0x7f;
  return parsed(copy).tsigOffset!;
}

/** Capture the first datagram a command sends to a UDP socket on 127.0.0.1. */
async function capture(cmd: string, args: (port: number) => string[]): Promise<Buffer> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = (sock.address() as { port: number }).port;
  const got = new Promise<Buffer>((resolve) => sock.once('message', (m) => resolve(m)));
  const proc = run(cmd, args(port), 5000);
  const msg = await got;
  sock.close();
  await proc;
  return msg;
}

for (const [label, key] of [['hmac-sha256', 'test-key.'], ['hmac-sha384', 'k384.'], ['hmac-sha512', 'k512.example.']] as const) {
  test(`${label}: a signed request verifies, and the signed response chain verifies message by message`, () => {
    const k = ring.get(key)!;
    const req = signRequest(makeQuery('example.com', 'AXFR'), k);
    const v = verifyRequest(req.bytes, parsed(req.bytes).tsigOffset!, ring, now());
    assert.ok(v.ok, JSON.stringify(v));
    const signer = new TsigResponseSigner(k, req.mac);
    const verifier = new TsigResponseVerifier(k, req.mac);
    for (let i = 0; i < 4; i++) {
      const resp = Buffer.from(makeQuery('example.com', 'AXFR'));
      resp[2] |= 0x80;
      const signed = signer.sign(resp);
      verifier.verify(signed, responseTsigOffset(signed));
    }
  });
}

test('a request is refused with BADKEY for an unknown key, BADSIG for a changed byte, BADTIME outside the fudge', () => {
  const k = ring.get('test-key.')!;
  const other = makeKeyring({ 'nobody': { algorithm: 'hmac-sha256', secret: SECRET_B64 } }).get('nobody.')!;
  const unknown = signRequest(makeQuery('example.com', 'SOA'), other).bytes;
  const r1 = verifyRequest(unknown, parsed(unknown).tsigOffset!, ring, now());
  assert.ok(!r1.ok && r1.error === TSIG_ERROR.BADKEY);

  const tampered = Buffer.from(signRequest(makeQuery('example.com', 'SOA'), k).bytes);
  tampered[13] ^= 0x20; // a letter of the question name
  const r2 = verifyRequest(tampered, parsed(tampered).tsigOffset!, ring, now());
  assert.ok(!r2.ok && r2.error === TSIG_ERROR.BADSIG);

  const old = signRequest(makeQuery('example.com', 'SOA'), k, now() - 301).bytes;
  const r3 = verifyRequest(old, parsed(old).tsigOffset!, ring, now());
  assert.ok(!r3.ok && r3.error === TSIG_ERROR.BADTIME);
  const inside = signRequest(makeQuery('example.com', 'SOA'), k, now() - 299).bytes;
  assert.ok(verifyRequest(inside, parsed(inside).tsigOffset!, ring, now()).ok);

  // BADTIME answers are signed and carry our time; BADKEY/BADSIG answers are not signed.
  const q3 = parsed(old);
  const bt = tsigErrorResponse(errorResponse(q3, 9), r3 as Extract<typeof r3, { ok: false }>, now());
  const t3 = parseTsig(bt, responseTsigOffset(bt));
  assert.equal(t3.error, TSIG_ERROR.BADTIME);
  assert.equal(t3.other.length, 6);
  assert.ok(Math.abs(t3.other.readUIntBE(0, 6) - now()) <= 1);
  new TsigResponseVerifier(k, (r3 as { tsig: { mac: Buffer } }).tsig.mac).verify(bt, responseTsigOffset(bt));
  const bk = tsigErrorResponse(errorResponse(parsed(unknown), 9), r1 as Extract<typeof r1, { ok: false }>, now());
  assert.equal(parseTsig(bk, responseTsigOffset(bk)).mac.length, 0);
});

test('a truncated MAC of at least half the hash length verifies; a shorter one is malformed', () => {
  const k = ring.get('test-key.')!;
  const full = signRequest(makeQuery('example.com', 'SOA'), k).bytes;
  const off = parsed(full).tsigOffset!;
  const tsig = parseTsig(full, off);
  const rebuild = (macLen: number): Buffer => {
    const head = full.subarray(0, off);
    const t = parseTsig(full, off);
    // owner, type/class/ttl/rdlength, then rdata with the shorter MAC
    const owner = Buffer.from([8, ...Buffer.from('test-key'), 0]);
    const alg = Buffer.from([11, ...Buffer.from('hmac-sha256'), 0]);
    const fixed = Buffer.alloc(10);
    fixed.writeUIntBE(t.timeSigned, 0, 6);
    fixed.writeUInt16BE(t.fudge, 6);
    fixed.writeUInt16BE(macLen, 8);
    const tail = Buffer.alloc(6);
    tail.writeUInt16BE(t.originalId, 0);
    const rdata = Buffer.concat([alg, fixed, t.mac.subarray(0, macLen), tail]);
    const rr = Buffer.alloc(10);
    rr.writeUInt16BE(250, 0);
    rr.writeUInt16BE(255, 2);
    rr.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([head, owner, rr, rdata]);
  };
  assert.equal(tsig.mac.length, 32);
  const half = rebuild(16);
  assert.ok(verifyRequest(half, parsed(half).tsigOffset!, ring, now()).ok);
  const short = rebuild(8);
  const r = verifyRequest(short, parsed(short).tsigOffset!, ring, now());
  assert.ok(!r.ok && r.formerr);
});

test('dig -y and kdig -y signed queries verify with our code (independent signers)', { skip: requireTool('dig', 'kdig') }, async () => {
  for (const cmd of ['dig', 'kdig']) {
    const msg = await capture(cmd, (port) => ['-y', `hmac-sha256:test-key:${SECRET_B64}`, '@127.0.0.1', '-p', String(port), cmd === 'dig' ? '+tries=1' : '+retry=0', '+time=1', 'example.com', 'SOA']);
    const q = parsed(msg);
    assert.ok(q.hasTsig, `${cmd} signed its query`);
    const v = verifyRequest(msg, q.tsigOffset!, ring, now());
    assert.ok(v.ok, `${cmd}: ${JSON.stringify(v)}`);
    const wrong = makeKeyring({ 'test-key': { algorithm: 'hmac-sha256', secret: Buffer.from('other') } });
    const bad = verifyRequest(msg, q.tsigOffset!, wrong, now());
    assert.ok(!bad.ok && bad.error === TSIG_ERROR.BADSIG);
  }
});

test('dig and kdig accept our signed answers to signed queries, and report our BADSIG / BADKEY answers', { skip: requireTool('dig', 'kdig') }, async () => {
  const env = testLedger();
  env.ledger.execute(importCommand('example.com', readFileSync(new URL('../fixtures/zones/example.com.zone', import.meta.url), 'utf8')), { actor: 'import' });
  const handlers = createTransferHandlers({ ledger: env.ledger, config: { allow_from: [], allow_keys: ['test-key'], notify: [], keys: { 'test-key': { algorithm: 'hmac-sha256', secret: SECRET_B64 } } } });
  const dns = await startMiniDns(() => env.ledger.state, handlers);
  try {
    const p = String(dns.port);
    const ok = await run('dig', ['-y', `hmac-sha256:test-key:${SECRET_B64}`, '@127.0.0.1', '-p', p, 'example.com', 'SOA']);
    assert.match(ok.stdout, /status: NOERROR/);
    assert.doesNotMatch(ok.stdout + ok.stderr, /Couldn't verify|tsig verify failure|expected a TSIG/i);
    const kd = await run('kdig', ['-y', `hmac-sha256:test-key:${SECRET_B64}`, '@127.0.0.1', '-p', p, 'example.com', 'MX']);
    assert.match(kd.stdout, /status: NOERROR/);
    assert.match(kd.stdout, /TSIG PSEUDOSECTION/);
    assert.doesNotMatch(kd.stdout + kd.stderr, /WARNING|failed/i);
    const axfr = await run('kdig', ['-y', `hmac-sha256:test-key:${SECRET_B64}`, '@127.0.0.1', '-p', p, 'example.com', 'AXFR']);
    assert.match(axfr.stdout, /Received .* \d+ records/);
    assert.doesNotMatch(axfr.stdout + axfr.stderr, /WARNING|failed/i);
    const badsig = await run('kdig', ['-y', `hmac-sha256:test-key:${Buffer.from('wrong').toString('base64')}`, '@127.0.0.1', '-p', p, 'example.com', 'SOA']);
    assert.match(badsig.stdout + badsig.stderr, /NOTAUTH|BADSIG/);
    const badkey = await run('dig', ['-y', `hmac-sha256:no-such-key:${SECRET_B64}`, '@127.0.0.1', '-p', p, 'example.com', 'SOA']);
    assert.match(badkey.stdout + badkey.stderr, /NOTAUTH|BADKEY/);
    // Unsigned AXFR from 127.0.0.1 with an empty allow_from: refused.
    const refused = await run('dig', ['@127.0.0.1', '-p', p, 'example.com', 'AXFR']);
    assert.match(refused.stdout, /Transfer failed|REFUSED/);
  } finally {
    await dns.close();
    handlers.close();
    env.cleanup();
  }
});

test('an unsigned answer still has the question id and NOTAUTH rcode for a malformed TSIG', () => {
  const k = ring.get('test-key.')!;
  const bytes = Buffer.from(signRequest(makeQuery('example.com', 'SOA', { id: 99 }), k).bytes);
  const q = parsed(bytes);
  const resp = errorResponse(q, 9);
  assert.equal(resp.readUInt16BE(0), 99);
  assert.equal(rcodeOf(resp), 9);
});

/**
 * hmac-sha384 and hmac-sha512 against independent implementations: BIND's dig and Knot's kdig sign
 * with each algorithm and our code verifies; the real DNS listener (startDns with the transfer hook,
 * as the server composition wires it) answers signed queries and a multi-message AXFR whose TSIG chain
 * dig and kdig verify; a relay that flips one byte of our MAC makes both report a verification
 * failure, which shows they do verify our signatures and not just print them.
 */
const STRONG_KEYS = [
  { algorithm: 'hmac-sha384', name: 'xfr384.example.', secret: Buffer.from('mcns hmac-sha384 interop key, forty-eight bytes!').toString('base64') },
  { algorithm: 'hmac-sha512', name: 'xfr512', secret: Buffer.from('mcns hmac-sha512 interop key: sixty-four bytes of secret material').toString('base64') },
] as const;

/** An AXFR of CHAIN_RECORDS records spans several messages (16 KiB each), so every message after the first is chained. */
const CHAIN_RECORDS = 3000;

/** A UDP relay to `port` that flips the last MAC byte of every TSIG-signed reply (TSIG is the last RR; its rdata ends with MAC, id, error, other length 0). */
async function macFlippingRelay(port: number): Promise<{ port: number; close: () => void }> {
  const front = createSocket('udp4');
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  const back = createSocket('udp4');
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', r));
  let client: { address: string; port: number } | undefined;
  front.on('message', (m, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    back.send(m, port, '127.0.0.1');
  });
  back.on('message', (m) => {
    const out = Buffer.from(m);
    if (out.readUInt16BE(10) > 0) out[out.length - 7] ^= 0x01;
    if (client) front.send(out, client.port, client.address);
  });
  return { port: (front.address() as { port: number }).port, close: () => (front.close(), back.close()) };
}

for (const key of STRONG_KEYS) {
  const spec = `${key.algorithm}:${key.name}:${key.secret}`;

  test(`${key.algorithm}: dig -y and kdig -y signed queries verify with our code`, { skip: requireTool('dig', 'kdig') }, async () => {
    const mine = makeKeyring({ [key.name]: { algorithm: key.algorithm, secret: key.secret } });
    const sameNameOtherSecret = makeKeyring({ [key.name]: { algorithm: key.algorithm, secret: Buffer.from('not the secret') } });
    const sameNameOtherAlgorithm = makeKeyring({ [key.name]: { algorithm: 'hmac-sha256', secret: key.secret } });
    for (const cmd of ['dig', 'kdig']) {
      const msg = await capture(cmd, (port) => ['-y', spec, '@127.0.0.1', '-p', String(port), cmd === 'dig' ? '+tries=1' : '+retry=0', '+time=1', 'example.com', 'SOA']);
      const q = parsed(msg);
      assert.ok(q.hasTsig, `${cmd} signed its query`);
      const tsig = parseTsig(msg, q.tsigOffset!);
      assert.equal(tsig.algorithm.toLowerCase(), `${key.algorithm}.`, `${cmd} signed with ${key.algorithm}`);
      assert.equal(tsig.mac.length, key.algorithm === 'hmac-sha384' ? 48 : 64, `${cmd}: a full-length ${key.algorithm} MAC`);
      const v = verifyRequest(msg, q.tsigOffset!, mine, now());
      assert.ok(v.ok, `${cmd}: ${JSON.stringify(v)}`);
      const bad = verifyRequest(msg, q.tsigOffset!, sameNameOtherSecret, now());
      assert.ok(!bad.ok && bad.error === TSIG_ERROR.BADSIG, `${cmd}: another secret is BADSIG`);
      const other = verifyRequest(msg, q.tsigOffset!, sameNameOtherAlgorithm, now());
      assert.ok(!other.ok && other.error === TSIG_ERROR.BADKEY, `${cmd}: the key under another algorithm is BADKEY`);
    }
  });

  test(`${key.algorithm}: dig and kdig verify our signed answers and the TSIG chain of a multi-message AXFR; a flipped MAC byte fails in both`, { skip: requireTool('dig', 'kdig') }, async () => {
    const env = testLedger();
    env.ledger.execute(importCommand('example.com', readFileSync(new URL('../fixtures/zones/example.com.zone', import.meta.url), 'utf8')), { actor: 'import' });
    const chainZone = ['$TTL 300', '@ SOA ns.chain.test. h.chain.test. 1 3600 600 86400 300', '@ NS ns', 'ns A 192.0.2.1'];
    for (let i = 0; i < CHAIN_RECORDS; i++) chainZone.push(`h${i} TXT "record ${i} of a transfer long enough to need several messages"`);
    env.ledger.execute(importCommand('chain.test', chainZone.join('\n')), { actor: 'import' });
    const handlers = createTransferHandlers({ ledger: env.ledger, config: { allow_from: [], allow_keys: [key.name], notify: [], keys: { [key.name]: { algorithm: key.algorithm, secret: key.secret } } } });
    const dns = await startDns({ ledger: env.ledger, listen: ['127.0.0.1:0'], transfer: handlers.transfer, handlers: handlers.handlers });
    const relay = await macFlippingRelay(dns.addresses[0].udp.port);
    try {
      const p = String(dns.addresses[0].udp.port);
      const failed = /Couldn't verify|tsig verify failure|expected a TSIG|WARNING|failed|BADSIG|BADKEY|NOTAUTH/i;
      // Queries over UDP and TCP.
      const soa = await run('dig', ['-y', spec, '@127.0.0.1', '-p', p, '+norec', '+tries=1', 'example.com', 'SOA']);
      assert.match(soa.stdout, /status: NOERROR/);
      assert.match(soa.stdout, new RegExp(`${key.name.replace(/\.$/, '')}\\.?\\s+0\\s+ANY\\s+TSIG\\s+${key.algorithm}\\.`), 'dig shows our TSIG with the algorithm');
      assert.doesNotMatch(soa.stdout + soa.stderr, failed);
      const mx = await run('kdig', ['-y', spec, '@127.0.0.1', '-p', p, '+norec', '+tcp', 'example.com', 'MX']);
      assert.match(mx.stdout, /status: NOERROR/);
      assert.match(mx.stdout, /TSIG PSEUDOSECTION/);
      assert.match(mx.stdout, new RegExp(key.algorithm));
      assert.doesNotMatch(mx.stdout + mx.stderr, failed);
      // A multi-message AXFR: every message signed in the RFC 8945 5.3.1 chain.
      const dx = await run('dig', ['-y', spec, '@127.0.0.1', '-p', p, 'chain.test', 'AXFR']);
      assert.equal(dx.status, 0, dx.stderr);
      assert.doesNotMatch(dx.stdout + dx.stderr, failed);
      const size = /XFR size: (\d+) records \(messages (\d+)/.exec(dx.stdout);
      assert.ok(size, dx.stdout.slice(-500));
      assert.equal(Number(size[1]), CHAIN_RECORDS + 4, 'SOA, NS, A, the TXT records, SOA');
      assert.ok(Number(size[2]) > 3, `several messages (${size[2]})`);
      const kx = await run('kdig', ['-y', spec, '@127.0.0.1', '-p', p, 'chain.test', 'AXFR']);
      assert.equal(kx.status, 0, kx.stderr);
      assert.doesNotMatch(kx.stdout + kx.stderr, failed);
      const received = /Received \d+ B \((\d+) messages, (\d+) records\)/.exec(kx.stdout);
      assert.ok(received, kx.stdout.slice(-500));
      assert.equal(Number(received[2]), CHAIN_RECORDS + 4);
      assert.ok(Number(received[1]) > 3);
      // Negative control: the same answer with one MAC bit flipped on the way is rejected by both tools.
      const r = String(relay.port);
      const dBad = await run('dig', ['-y', spec, '@127.0.0.1', '-p', r, '+norec', '+tries=1', '+time=2', 'example.com', 'SOA']);
      assert.match(dBad.stdout + dBad.stderr, /Couldn't verify signature|tsig verify failure/i, `dig noticed the flipped MAC: ${dBad.stdout}${dBad.stderr}`);
      const kBad = await run('kdig', ['-y', spec, '@127.0.0.1', '-p', r, '+norec', '+retry=0', '+time=2', 'example.com', 'SOA']);
      assert.match(kBad.stdout + kBad.stderr, /reply verification .*failed to verify TSIG/, `kdig noticed the flipped MAC: ${kBad.stdout}${kBad.stderr}`);
      // Our refusals: another secret is BADSIG; the key name under another algorithm is BADKEY.
      const wrong = await run('kdig', ['-y', `${key.algorithm}:${key.name}:${Buffer.from('wrong').toString('base64')}`, '@127.0.0.1', '-p', p, 'example.com', 'SOA']);
      assert.match(wrong.stdout + wrong.stderr, /BADSIG/);
      const otherAlg = await run('dig', ['-y', `hmac-sha256:${key.name}:${key.secret}`, '@127.0.0.1', '-p', p, '+tries=1', 'example.com', 'SOA']);
      assert.match(otherAlg.stdout + otherAlg.stderr, /BADKEY/);
    } finally {
      relay.close();
      await dns.close();
      handlers.close();
      env.cleanup();
    }
  });
}
