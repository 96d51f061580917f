/**
 * The hot path's shortcuts must be invisible: the serving index writes exactly the bytes answerQuery
 * + encodeMessage write, or declines; the answer cache admits on second sight, patches the client's
 * id, RD/CD and question spelling into a hit, keys on the context, and forgets everything on clear.
 * When full it evicts one cold entry at a time (CLOCK): a hot set survives scans of cold keys,
 * both bounds (entries, arena bytes) hold, and every hit is exactly the answer stored for its key.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { answerQuery } from '../../src/dns/answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { AnswerCache } from '../../src/dns/cache.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { buildQuery, FIXTURES, fixtureLedger, fixtureServer, udpExchange, type Ask } from './helpers.ts';

const fx = fixtureLedger();
after(() => fx.cleanup());

function parse(b: Buffer): ParsedQuery {
  const q = readQuery(b);
  assert.equal(q.kind, 'query');
  return q as ParsedQuery;
}

/** The serving index of the fixture state (small: it builds synchronously). */
function fixtureIndex(): ServingIndex {
  const index = new ServingIndex();
  assert.notEqual(index.sync(fx.ledger.state), 'rebuilding');
  return index;
}

test('the serving index equals the general path byte for byte on the fixture zones, or declines', () => {
  const index = fixtureIndex();
  const names = ['www.dns.test.', 'WwW.DnS.tEsT.', 'ns1.dns.test.', 'mail.dns.test.', 'manya.dns.test.', 'dns.test.', 'a.b.c.dns.test.', 'c9.dns.test.', 'host.child.dns.test.', 'nope.dns.test.', 'b.c.dns.test.', 'foo.wild.dns.test.', 'towild.dns.test.', 'x.sub.dns.test.', 'sub.dns.test.', 'ns1.sub.dns.test.'];
  // Declined: out of zone (the general path's).
  const declined = ['example.org.'];
  let answered = 0;
  for (const name of [...names, ...declined]) {
    for (const type of [1, 28, 16]) {
      for (const edns of [undefined, { size: 4096 }, { size: 1232, do: true }, { size: 512 }]) {
        for (const tcp of [false, true]) {
          const ask: Ask = { name, type, edns, rd: true, id: 0x1234 };
          const raw = buildQuery(ask);
          const q = parse(raw);
          const limit = maxResponseSize(q, tcp);
          const d = index.answer(fx.ledger.state, q, raw, limit);
          if (declined.includes(name)) {
            assert.equal(d, undefined, `${name} ${type}`);
            continue;
          }
          const general = encodeMessage(answerQuery(fx.ledger.state, q, { tcp }).message, limit).bytes;
          if (d === undefined) {
            // Declines only what it must: an answer that does not fit whole (the general path drops
            // additional data or truncates), a negative answer whose SOA names would compress against
            // the question (the SOA's MNAME is ns1.dns.test.: negative.ts), a CNAME chain into a
            // wildcard (towild: its target is synthesized), a referral whose names use the question's.
            const whole = encodeMessage(answerQuery(fx.ledger.state, q, { tcp: true }).message).bytes;
            const negativeForMname = general.readUInt16BE(6) === 0 && name.toLowerCase() === 'ns1.dns.test.';
            const chainIntoWildcard = name === 'towild.dns.test.';
            // The referral's NS target ns1.sub.dns.test. would compress against this question.
            const referralNamesQuestion = name === 'ns1.sub.dns.test.';
            assert.ok(whole.length > limit || negativeForMname || chainIntoWildcard || referralNamesQuestion, `${name} ${type} declined`);
            continue;
          }
          answered++;
          assert.deepEqual(d, general, `${name} type ${type} edns ${JSON.stringify(edns)} tcp ${tcp}`);
        }
      }
    }
  }
  assert.ok(answered > 100, `answers from the index: ${answered}`);
});

test('the serving index declines a compressed question, another class, EDNS version 1', () => {
  const index = fixtureIndex();
  const raw = buildQuery({ name: 'www.dns.test.' });
  for (const ask of [{ name: 'www.dns.test.', class: 3 }, { name: 'www.dns.test.', edns: { version: 1 } }]) {
    const b = buildQuery(ask);
    assert.equal(index.answer(fx.ledger.state, parse(b), b, 512), undefined);
  }
  // The question name as a pointer into the header area makes readQuery's name differ; either way no shortcut.
  const ptr = Buffer.concat([raw.subarray(0, 12), Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 12 + 4, 0, 1, 0, 1])]);
  const q = readQuery(ptr);
  if (q.kind === 'query') assert.equal(index.answer(fx.ledger.state, q, ptr, 512), undefined);
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

/** Asks `cache` the question in `raw` as the server does (UDP, no EDNS); on a miss offers `answer`. True on a hit. */
function askCache(cache: AnswerCache, raw: Buffer, answer: Buffer = Buffer.alloc(40)): boolean {
  const q = parse(raw);
  if (cache.get(raw, q.questionEnd, 0, 0, 512, false)) return true;
  cache.put(raw, answer, 0);
  return false;
}

const nameQuery = (name: string): Buffer => buildQuery({ name: `${name}.dns.test.` });

test('answer cache: bounded by its entry count, evicting one entry at a time rather than everything', () => {
  const cache = new AnswerCache(4);
  for (let i = 0; i < 10; i++) {
    const raw = nameQuery(`n${i}`);
    askCache(cache, raw);
    askCache(cache, raw);
    assert.ok(cache.size <= 4, `size ${cache.size}`);
  }
  // The old design emptied itself when full; this one keeps the 4 most recently stored.
  assert.equal(cache.size, 4);
  for (let i = 6; i < 10; i++) assert.ok(askCache(cache, nameQuery(`n${i}`)), `n${i} kept`);
  assert.equal(askCache(cache, nameQuery('n0')), false, 'n0 evicted');
  const none = new AnswerCache(0);
  const raw = nameQuery('www');
  for (let k = 0; k < 3; k++) assert.equal(askCache(none, raw), false);
  assert.equal(none.size, 0);
});

test('answer cache: a hot set survives a stream of cold keys many times the capacity', () => {
  // 20 hot names asked after every 10 cold ones; 3,000 cold names, each asked twice (so each is
  // admitted): 30 times the capacity of 100. Clearing when full lost the hot set every 100 stores.
  const cache = new AnswerCache(100);
  const hot = Array.from({ length: 20 }, (_, i) => nameQuery(`hot${i}`));
  let hotMisses = 0;
  for (let c = 0; c < 3000; c++) {
    const cold = nameQuery(`cold${c}`);
    assert.equal(askCache(cache, cold), false);
    askCache(cache, cold);
    if (c % 10 === 9) {
      for (const h of hot) if (!askCache(cache, h) && c >= 50) hotMisses++;
    }
    assert.ok(cache.size <= 100);
  }
  assert.equal(hotMisses, 0, 'every hot question is a hit once warm');
  assert.ok(cache.evictions > 2500, `evictions ${cache.evictions}`);
});

test('answer cache: a hot set used before a scan of twice the capacity is still there after it', () => {
  const cache = new AnswerCache(100);
  const hot = Array.from({ length: 30 }, (_, i) => nameQuery(`hot${i}`));
  // Stored on the second sight, then hit three times: the most a use counter remembers.
  for (let k = 0; k < 5; k++) for (const h of hot) askCache(cache, h);
  // 200 cold names, each asked twice (stored) and never again.
  for (let c = 0; c < 200; c++) {
    const cold = nameQuery(`cold${c}`);
    askCache(cache, cold);
    askCache(cache, cold);
  }
  const kept = hot.filter((h) => askCache(cache, h)).length;
  assert.equal(kept, hot.length);
  // The cold scan itself was evicted in order, oldest first.
  assert.equal(askCache(cache, nameQuery('cold0')), false);
  assert.ok(askCache(cache, nameQuery('cold199')));
});

/** A deterministic pseudo-random sequence (the property test must replay the same way). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('answer cache: under random sizes, keys and clears every hit is the stored answer, and both bounds hold', () => {
  const random = rng(7);
  for (const capacity of [1, 7, 50, 600]) {
    const cache = new AnswerCache(capacity);
    /** key name -> the answer stored for it (what a hit must return, patched). */
    const stored = new Map<string, Buffer>();
    const names = Array.from({ length: 900 }, (_, i) => `k${i}.x${'y'.repeat(i % 40)}`);
    let hits = 0;
    for (let step = 0; step < 30_000; step++) {
      // Skewed choice: low indexes far more often, so some keys are hot and most cold.
      const name = names[Math.floor(names.length * random() ** 3)];
      const id = Math.floor(random() * 65536);
      const raw = buildQuery({ name: `${name}.dns.test.`, id, rd: random() < 0.5 });
      const q = parse(raw);
      const hit = cache.get(raw, q.questionEnd, 0, 0, 512, false);
      if (hit) {
        hits++;
        const want = Buffer.from(stored.get(name) ?? assert.fail(`hit for ${name}, never stored`));
        want.writeUInt16BE(id, 0);
        want[2] = (want[2] & 0xfe) | (raw[2] & 1);
        raw.copy(want, 12, 12, q.questionEnd);
        assert.deepEqual(hit, want, `hit for ${name} at step ${step}`);
      } else {
        // A fresh answer per offer: the question then a body of 0..4,100 bytes (most short;
        // over 4,096 bytes is not cached), filled with a per-offer byte.
        const body = random() < 0.9 ? Math.floor(random() * 200) : Math.floor(random() * 4100);
        const answer = Buffer.concat([raw.subarray(0, q.questionEnd), Buffer.alloc(body, step & 0xff)]);
        answer.writeUInt16BE(0, 0);
        // A put that stores adds one to size + evictions (whatever it evicted to make room).
        const before = cache.size + cache.evictions;
        cache.put(raw, answer, 0);
        if (cache.size + cache.evictions > before) stored.set(name, answer);
      }
      assert.ok(cache.size <= capacity, `size ${cache.size} > ${capacity}`);
      const { used, capacity: bytes } = cache.bytes;
      assert.ok(used <= bytes, `bytes ${used} > ${bytes}`);
      if (random() < 0.0005) {
        cache.clear();
        stored.clear();
        assert.equal(cache.size, 0);
      }
    }
    assert.ok(hits > 1000, `capacity ${capacity}: ${hits} hits`);
  }
});

test('answer cache: clear forgets every answer, also after the ring has wrapped and entries moved', () => {
  const cache = new AnswerCache(10);
  const hot = nameQuery('hot');
  for (let c = 0; c < 100; c++) {
    const cold = nameQuery(`cold${c}`);
    askCache(cache, cold);
    askCache(cache, cold);
    askCache(cache, hot);
  }
  assert.ok(cache.moves > 0 && cache.evictions > 0);
  assert.ok(askCache(cache, hot));
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.bytes.used, 0);
  assert.equal(askCache(cache, hot), false, 'a cleared answer is never served');
  for (let c = 95; c < 100; c++) assert.equal(askCache(cache, nameQuery(`cold${c}`)), false);
  // Stored again (by the second sight the small first-sight table still remembers) and served.
  askCache(cache, hot);
  askCache(cache, hot);
  assert.ok(askCache(cache, hot));
});

test('server: with a small cache evicting constantly, a write is seen by the next query', async () => {
  const srv = await fixtureServer({ answerCacheSize: 8 });
  try {
    // Wildcard answers come from the general path, through the answer cache.
    const ask = async (name: string): Promise<string> => {
      const reply = await udpExchange(srv.port, buildQuery({ name, id: 7 }));
      assert.equal(reply[3] & 0xf, 0, name);
      return reply.subarray(reply.length - 4).join('.');
    };
    const hot = 'hot.wild.dns.test.';
    for (let round = 0; round < 3; round++) {
      for (let c = 0; c < 30; c++) {
        assert.equal(await ask(`cold${c}.wild.dns.test.`), '192.0.2.100');
        assert.equal(await ask(hot), '192.0.2.100');
      }
    }
    const zone = fs.readFileSync(path.join(FIXTURES, 'dns.test.zone'), 'utf8');
    const changed = zone.replace('*.wild      A     192.0.2.100', '*.wild      A     192.0.2.200');
    assert.notEqual(changed, zone);
    srv.ledger.execute(importCommand('dns.test.', changed), { actor: 'test' });
    assert.equal(await ask(hot), '192.0.2.200');
    for (let c = 0; c < 30; c++) assert.equal(await ask(`cold${c}.wild.dns.test.`), '192.0.2.200');
  } finally {
    await srv.close();
  }
});
