/**
 * The hot path's shortcuts must be invisible: answerDirect writes exactly the bytes answerQuery +
 * encodeMessage write, or declines; the answer cache admits on second sight, patches the client's
 * id, RD/CD and question spelling into a hit, keys on the context, and forgets everything on clear.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { answerDirect, answerQuery, maxResponseSize } from '../../src/dns/answer.ts';
import { AnswerCache } from '../../src/dns/cache.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { buildQuery, fixtureLedger, type Ask } from './helpers.ts';

const fx = fixtureLedger();
after(() => fx.cleanup());

function parse(b: Buffer): ParsedQuery {
  const q = readQuery(b);
  assert.equal(q.kind, 'query');
  return q as ParsedQuery;
}

test('answerDirect equals the general path byte for byte, or declines', () => {
  const names = ['www.dns.test.', 'WwW.DnS.tEsT.', 'ns1.dns.test.', 'mail.dns.test.', 'manya.dns.test.', 'dns.test.', 'a.b.c.dns.test.', 'c9.dns.test.', 'host.child.dns.test.'];
  // Declined: wildcard, below a cut, NXDOMAIN, NODATA (sip has no AAAA), empty non-terminal, out of zone.
  const declined = ['foo.wild.dns.test.', 'ns1.sub.dns.test.', 'x.sub.dns.test.', 'nope.dns.test.', 'b.c.dns.test.', 'example.org.'];
  let direct = 0;
  for (const name of [...names, ...declined]) {
    for (const type of [1, 28]) {
      for (const edns of [undefined, { size: 4096 }, { size: 1232, do: true }, { size: 512 }]) {
        for (const tcp of [false, true]) {
          const ask: Ask = { name, type, edns, rd: true, id: 0x1234 };
          const raw = buildQuery(ask);
          const q = parse(raw);
          const limit = maxResponseSize(q, tcp);
          const d = answerDirect(fx.ledger.state, q, raw, limit);
          if (declined.includes(name)) {
            assert.equal(d, undefined, `${name} ${type}`);
            continue;
          }
          const general = encodeMessage(answerQuery(fx.ledger.state, q, { tcp }).message, limit).bytes;
          if (d === undefined) {
            // Declines only what it must: NODATA for the type, or an answer over the limit.
            assert.ok(general.readUInt16BE(6) === 0 || general.length > limit || (general[2] & 0x02) !== 0, `${name} ${type} declined`);
            continue;
          }
          direct++;
          assert.deepEqual(d, general, `${name} type ${type} edns ${JSON.stringify(edns)} tcp ${tcp}`);
        }
      }
    }
  }
  assert.ok(direct > 40, `direct answers: ${direct}`);
});

test('answerDirect declines a compressed question, another class, EDNS version 1', () => {
  const raw = buildQuery({ name: 'www.dns.test.' });
  for (const ask of [{ name: 'www.dns.test.', class: 3 }, { name: 'www.dns.test.', edns: { version: 1 } }]) {
    const b = buildQuery(ask);
    assert.equal(answerDirect(fx.ledger.state, parse(b), b, 512), undefined);
  }
  // The question name as a pointer into the header area makes readQuery's name differ; either way no shortcut.
  const ptr = Buffer.concat([raw.subarray(0, 12), Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 12 + 4, 0, 1, 0, 1])]);
  const q = readQuery(ptr);
  if (q.kind === 'query') assert.equal(answerDirect(fx.ledger.state, q, ptr, 512), undefined);
});

test('answer cache: admitted on second sight, hit patched with the client id, RD and spelling', () => {
  const cache = new AnswerCache(100);
  const store = (raw: Buffer): Buffer | undefined => {
    const q = parse(raw);
    const hit = cache.get(raw, q.questionEnd, 0, 0, 512, false);
    if (hit) return hit;
    const bytes = encodeMessage(answerQuery(fx.ledger.state, q).message, 512).bytes;
    cache.put(raw, bytes, bytes[3] & 0xf);
    return undefined;
  };
  const first = buildQuery({ name: 'nope.dns.test.', id: 1 });
  assert.equal(store(first), undefined);
  assert.equal(cache.size, 0, 'first sight is not stored');
  assert.equal(store(first), undefined);
  assert.equal(cache.size, 1, 'second sight is');
  const other = buildQuery({ name: 'NoPe.DNS.test.', id: 0xbeef, rd: true });
  const hit = store(other);
  assert.ok(hit);
  const q = parse(other);
  const fresh = encodeMessage(answerQuery(fx.ledger.state, q).message, 512).bytes;
  assert.deepEqual(hit, fresh);
  assert.equal(cache.lastRcode, 3);
  // Another context (TCP, a different limit, EDNS) is another key.
  assert.equal(cache.get(other, q.questionEnd, 0, 0, 65535, true), undefined);
  assert.equal(cache.get(other, q.questionEnd, 0, 1, 512, false), undefined);
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.get(other, q.questionEnd, 0, 0, 512, false), undefined);
});

test('answer cache: bounded (cleared when full), and size 0 caches nothing', () => {
  const cache = new AnswerCache(4);
  const bytes = Buffer.alloc(40);
  for (let i = 0; i < 10; i++) {
    const raw = buildQuery({ name: `n${i}.dns.test.` });
    const q = parse(raw);
    for (let k = 0; k < 2; k++) {
      cache.get(raw, q.questionEnd, 0, 0, 512, false);
      cache.put(raw, bytes, 0);
    }
    assert.ok(cache.size <= 4);
  }
  const none = new AnswerCache(0);
  const raw = buildQuery({ name: 'www.dns.test.' });
  const q = parse(raw);
  for (let k = 0; k < 3; k++) {
    assert.equal(none.get(raw, q.questionEnd, 0, 0, 512, false), undefined);
    none.put(raw, bytes, 0);
  }
  assert.equal(none.size, 0);
});
