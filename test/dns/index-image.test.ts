/**
 * The serving-index image (src/dns/index-image.ts): an index restored from an image answers every
 * question byte for byte like the index it was taken of, and keeps doing so as both follow the
 * same writes (its dependents are right); an image of another state, another log or another build,
 * or a damaged one, is never used, and the index is then built as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { answerQuery } from '../../src/dns/answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { indexFingerprint, loadIndexImage, probeState, restoreIndexImage, writeIndexImage } from '../../src/dns/index-image.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import type { Command } from '../../src/projections/decide.ts';
import type { LedgerState } from '../../src/projections/state.ts';
import { Ledger } from '../../src/ledger.ts';
import { testLedger } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';
// The random zones of test/dns/serving-index.test.ts.
import { ASKED, QTYPES, ZONES, executeUnlessRefused, query, randomRecordOps } from './random-zones.ts';

/** A random command over the test zones (the generator of serving-index.test.ts, without restores). */
function randomCommand(ledger: Ledger, random: () => number): Command {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const zone = pick(ZONES);
  const z = ledger.state.zones.get(`${zone}.`);
  const ids = z ? [...z.records.keys()] : [];
  const r = random();
  if (r < 0.04 || (!z && r < 0.5)) return { kind: 'createZone', zone, soa: { primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` } };
  if (r < 0.06) return { kind: 'deleteZone', zone };
  if (r < 0.09) return { kind: 'updateZone', zone, soa: pick([{ primary_ns: `ns2.${zone}` }, { admin_email: `dns@x.${zone}` }, { ttl: pick([60, 900]) }, { minimum: pick([30, 600]) }]) };
  return { kind: 'changeRecords', zone, ops: randomRecordOps(zone, ids, random) };
}

/** Applies `n` random commands (refused ones skipped). */
function randomWrites(ledger: Ledger, random: () => number, n: number): void {
  for (let i = 0; i < n; i++) executeUnlessRefused(ledger, randomCommand(ledger, random));
}

/**
 * Every question (names x types, each zone) answered by `a` and `b` for `state`: byte-equal (both
 * decline or both give the same bytes), and equal to the general path when answered. Returns how
 * many the index answered.
 */
function sameAnswers(a: ServingIndex, b: ServingIndex, state: LedgerState, random: () => number, label: string): number {
  let answered = 0;
  for (const zone of ZONES) {
    for (const n of ASKED) {
      const name = n === '@' ? `${zone}.` : `${n}.${zone}.`;
      for (const qtype of QTYPES) {
        const raw = query(name, qtype, random, random() < 0.7, [512, 1232, 4096][Math.floor(random() * 3)]);
        const q = readQuery(raw) as ParsedQuery;
        const limit = maxResponseSize(q, random() < 0.2);
        const fromA = a.answer(state, q, raw, limit);
        const fromB = b.answer(state, q, raw, limit);
        assert.deepEqual(fromB, fromA, `${label}: ${name}/${qtype}: the restored index and the built one differ`);
        if (fromA) {
          answered++;
          assert.deepEqual(fromA, encodeMessage(answerQuery(state, q).message, limit).bytes, `${label}: ${name}/${qtype}: not the general path's answer`);
        }
      }
    }
  }
  return answered;
}

const hashOf = (ledger: Ledger): string => ledger.log.hashAt(ledger.state.seq) as string;

test('index image: restored from an image, an index answers every question like the built one, and follows the same writes', () => {
  let answered = 0;
  let diffed = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const random = rng(7000 + seed);
    const t = testLedger();
    try {
      const { ledger } = t;
      randomWrites(ledger, random, 60 + seed * 10);
      const state = ledger.state;
      const built = new ServingIndex();
      assert.notEqual(built.sync(state), 'rebuilding');
      const path = join(t.dir, 'mcns.db.index');
      const written = writeIndexImage(path, built, state, hashOf(ledger));
      assert.ok(written.written, `seed ${seed}: written`);
      assert.equal(written.bytes, statSync(path).size);
      const restored = new ServingIndex();
      const r = restoreIndexImage(path, restored, state, hashOf(ledger));
      assert.ok(r.restored, `seed ${seed}: ${r.restored ? '' : r.reason}`);
      assert.equal(restored.isCurrent(state), true);
      assert.equal(restored.filling, false);
      assert.deepEqual([...restored.entries()].sort(), [...built.entries()].sort(), `seed ${seed}: entries`);
      answered += sameAnswers(built, restored, state, random, `seed ${seed}`);
      // The same writes applied to both: the restored index diffs them (its dependents re-take the
      // answers that read a changed name) into exactly what the built one holds.
      for (let step = 0; step < 25; step++) {
        randomWrites(ledger, random, 1);
        const next = ledger.state;
        const outcome = restored.sync(next);
        built.sync(next);
        if (outcome === 'diffed') diffed++;
        assert.notEqual(outcome, 'rebuilding');
        const fresh = new ServingIndex();
        fresh.sync(next);
        assert.deepEqual([...restored.entries()].sort(), [...fresh.entries()].sort(), `seed ${seed}, write ${step}: the restored index drifted from the state`);
        if (step % 5 === 4) answered += sameAnswers(built, restored, next, random, `seed ${seed}, write ${step}`);
      }
      assert.equal(restored.failure, undefined);
    } finally {
      t.cleanup();
    }
  }
  assert.ok(answered > 2000, `answered ${answered}`);
  assert.ok(diffed > 100, `diffed ${diffed}`);
});

/** A ledger with a few hundred random writes and the image of its complete index at `path`. */
function withImage(seed: number): { t: ReturnType<typeof testLedger>; path: string; built: ServingIndex } {
  const t = testLedger();
  randomWrites(t.ledger, rng(seed), 200);
  const built = new ServingIndex();
  built.sync(t.ledger.state);
  const path = join(t.dir, 'mcns.db.index');
  assert.ok(writeIndexImage(path, built, t.ledger.state, hashOf(t.ledger)).written);
  return { t, path, built };
}

/** Not restored, for `reason`; the index untouched, then built as usual and answering right. */
function refused(path: string, state: LedgerState, hash: string | undefined, reason: RegExp, problem: boolean, ledgerFor: LedgerState): void {
  const index = new ServingIndex();
  const r = restoreIndexImage(path, index, state, hash);
  assert.equal(r.restored, false);
  if (!r.restored) {
    assert.match(r.reason, reason);
    assert.equal(r.problem, problem, r.reason);
  }
  assert.equal(index.isCurrent(state), false, 'nothing restored');
  assert.notEqual(index.sync(ledgerFor), 'rebuilding');
  const fresh = new ServingIndex();
  fresh.sync(ledgerFor);
  assert.equal(sameAnswers(fresh, index, ledgerFor, rng(1), 'after a refused image') > 0, true);
}

test('index image: another seq, another log, another build, or a damaged file is never used', () => {
  const { t, path } = withImage(41);
  try {
    const { ledger } = t;
    const state = ledger.state;
    const hash = hashOf(ledger);
    const good = readFileSync(path);
    // Another state of the same log: one more write after the image was taken.
    ledger.execute({ kind: 'changeRecords', zone: 'a.test', ops: [{ op: 'create', name: 'late.a.test', type: 'A', value: '192.0.2.99' }] }, { actor: 'test' });
    const later = ledger.state;
    refused(path, later, hashOf(ledger), /taken at seq \d+, the state is at seq/, false, later);
    // The same seq of another log (another hash).
    refused(path, state, 'f'.repeat(64), /another log/, false, state);
    refused(path, state, undefined, /another log/, false, state);
    // Written by a build that encodes answers differently: another fingerprint in an intact header.
    const headerLength = good.readUInt32LE(8);
    const header = JSON.parse(good.subarray(16, 16 + headerLength).toString('utf8')) as { fingerprint: string; format: number };
    const rewrite = (h: object): Buffer => {
      const text = Buffer.from(JSON.stringify(h), 'utf8');
      assert.equal(text.length, headerLength, 'same length, so the sections stay where they were');
      const out = Buffer.from(good);
      text.copy(out, 16);
      out.writeUInt32LE(crc32(text), 12);
      return out;
    };
    writeFileSync(path, rewrite({ ...header, fingerprint: indexFingerprint().replace(/^./, (c) => (c === '0' ? '1' : '0')) }));
    refused(path, state, hash, /fingerprint/, false, state);
    writeFileSync(path, rewrite({ ...header, format: header.format + 1 }));
    refused(path, state, hash, /image format/, false, state);
    // One byte changed anywhere: header, slots, arena, dependents.
    for (const at of [20, Math.floor(good.length * 0.2), Math.floor(good.length * 0.6), good.length - 3]) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x01;
      writeFileSync(path, bad);
      refused(path, state, hash, /checksum|JSON|Unexpected|header/, true, state);
    }
    // Cut short, empty, not an image at all.
    writeFileSync(path, good);
    truncateSync(path, good.length - 100);
    refused(path, state, hash, /bytes, the header describes|ends after/, true, state);
    truncateSync(path, 10);
    refused(path, state, hash, /ends after/, true, state);
    writeFileSync(path, 'not an image\n'.repeat(100));
    refused(path, state, hash, /bad magic/, true, state);
    // The log's head known before the ledger opens (the server reads it): another head, not read further.
    writeFileSync(path, good);
    const stale = loadIndexImage(path, { seq: later.seq, hash: hashOf(ledger) });
    assert.ok(!('table' in stale) && /taken at seq \d+, the log is at seq \d+/.test(stale.reason) && !stale.problem, JSON.stringify(stale));
    const foreign = loadIndexImage(path, { seq: state.seq, hash: 'e'.repeat(64) });
    assert.ok(!('table' in foreign) && /another log/.test(foreign.reason), JSON.stringify(foreign));
    assert.ok('table' in loadIndexImage(path, { seq: state.seq, hash }), 'its own head: loaded');
    // The intact image is still good for its own state.
    const index = new ServingIndex();
    assert.equal(restoreIndexImage(path, index, state, hash).restored, true);
    // No file: nothing said.
    const none = restoreIndexImage(join(t.dir, 'none.index'), new ServingIndex(), state, hash);
    assert.equal(none.restored, false);
    if (!none.restored) assert.equal(none.absent, true);
  } finally {
    t.cleanup();
  }
});

test('index image: written only for a current, complete index (the stale one removed), also after the index closed', async () => {
  const { t, path, built } = withImage(43);
  try {
    const { ledger } = t;
    // The state moved on and the index has not followed: not its index any more.
    ledger.execute({ kind: 'changeRecords', zone: 'a.test', ops: [{ op: 'create', name: 'late.a.test', type: 'A', value: '192.0.2.99' }] }, { actor: 'test' });
    const w = writeIndexImage(path, built, ledger.state, hashOf(ledger));
    assert.equal(w.written, false);
    assert.equal(existsSync(path), false, 'the older image is removed');
    // A large rebuild's second pass still to run: not complete.
    const slow = new ServingIndex({ rebuildSlice: 3 });
    slow.sync(ledger.state);
    while (!slow.isCurrent(ledger.state)) await new Promise((r) => setImmediate(r));
    assert.equal(slow.filling, true);
    assert.equal(writeIndexImage(path, slow, ledger.state, hashOf(ledger)).written, false);
    while (slow.filling) await new Promise((r) => setImmediate(r));
    // Complete, then closed (the server writes the image after its listeners closed).
    slow.close();
    // Temporaries of writes that died: an old one is removed, a recent one (another writer) kept.
    const oldTemp = `${path}.tmp-99999`;
    const newTemp = `${path}.tmp-99998`;
    writeFileSync(oldTemp, 'partial');
    writeFileSync(newTemp, 'partial');
    utimesSync(oldTemp, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const done = writeIndexImage(path, slow, ledger.state, hashOf(ledger));
    assert.equal(done.written, true);
    assert.equal(existsSync(oldTemp), false, 'a crashed write\'s temporary is removed');
    assert.equal(existsSync(newTemp), true, 'a recent one is left to its writer');
    assert.equal(existsSync(`${path}.tmp-${process.pid}`), false, 'its own temporary was renamed');
    const restored = new ServingIndex();
    assert.equal(restoreIndexImage(path, restored, ledger.state, hashOf(ledger)).restored, true);
    const fresh = new ServingIndex();
    fresh.sync(ledger.state);
    assert.deepEqual([...restored.entries()].sort(), [...fresh.entries()].sort(), 'the image of a two-pass build is the full index');
    assert.ok(sameAnswers(fresh, restored, ledger.state, rng(2), 'two-pass image') > 100);
    // A closed index whose rebuild had not finished writes nothing.
    const unfinished = new ServingIndex({ rebuildSlice: 3 });
    unfinished.sync(ledger.state);
    unfinished.close();
    assert.equal(writeIndexImage(path, unfinished, ledger.state, hashOf(ledger)).written, false);
    assert.equal(existsSync(path), false);
  } finally {
    t.cleanup();
  }
});

test('index image fingerprint: stable, and its probe zone holds every kind of answer the index encodes', () => {
  const f = indexFingerprint();
  assert.match(f, /^[0-9a-f]{64}$/);
  assert.equal(indexFingerprint(), f);
  const state = probeState();
  const index = new ServingIndex();
  index.sync(state);
  const entries = [...index.entries()];
  const entry = (name: string): string => entries.find((e) => e.startsWith(`${name}.probe.mcns-image.test./`)) ?? '';
  const descriptors = (e: string): string[] => e.split('/').slice(5).join('/').split(';');
  // name/A/AAAA/other types/flags/answers
  assert.match(entry('www'), /^www\.[^/]+\/2\/1\/\/0\//, 'two A and an AAAA');
  assert.match(entry('mail'), /\/15,16\/0\//, 'MX (with its additional A) and TXT');
  assert.match(entry('alias2'), /\/0,5\/8\//, 'a chain of two CNAMEs (only listed types)');
  // A descriptor: type:ANCOUNT NSCOUNT ARCOUNT bits (AA 0x400, SOA tail 2, NXDOMAIN 4):bytes.
  assert.ok(descriptors(entry('dangling')).some((d) => /^0:[0-9a-f]{12}0406:/.test(d)), 'a chain ending NXDOMAIN (SOA tail)');
  assert.ok(descriptors(entry('cross')).some((d) => /^0:[0-9a-f]{12}0402:/.test(d)), 'a chain ending NODATA in another zone (SOA tail)');
  assert.ok(descriptors(entry('out')).some((d) => /^0:0001000000000400:/.test(d)), 'a chain out of our zones');
  assert.match(entry('*.wild'), /\/1\/0\/16\/0\//, 'a wildcard with an A and a TXT');
  assert.match(entries.find((e) => e.startsWith('wild.probe')) ?? '', /\/4\//, 'a wildcard below');
  assert.match(entry('cut'), /\/1\/0:/, 'a delegation with its referral');
  assert.match(entry('dn'), /\/1\/$/, 'a DNAME owner held like a cut');
  assert.match(entry('srv'), /\/33\//);
  assert.match(entry('caa'), /\/257\//);
  // Every type the index answers from the general path's bytes, answered (not declined) in the probe.
  const answered = new Set<number>();
  for (const e of entries) for (const d of descriptors(e)) if (d && !d.endsWith(':declined')) answered.add(Number(d.split(':')[0]));
  for (const type of [1, 28, 2, 6, 5, 15, 16, 33, 257, 12, 65, 64, 52, 53, 44, 35, 256, 29, 13, 17, 61, 37, 65400]) assert.ok(answered.has(type), `type ${type} in the probe`);
});

test('index image: the image of a live state serves the same state reopened from its checkpoint and tail, byte for byte like a build of it', () => {
  for (let seed = 1; seed <= 4; seed++) {
    const random = rng(9100 + seed);
    const t = testLedger();
    let reopened: Ledger | undefined;
    try {
      const { ledger } = t;
      randomWrites(ledger, random, 80);
      // A checkpoint part-way, then a tail: the next open loads the first and replays the second.
      ledger.checkpoint();
      randomWrites(ledger, random, 40);
      const live = new ServingIndex();
      live.sync(ledger.state);
      const path = join(t.dir, 'mcns.db.index');
      assert.ok(writeIndexImage(path, live, ledger.state, hashOf(ledger)).written);
      const seq = ledger.state.seq;
      ledger.close();
      reopened = Ledger.open({ path: t.path });
      const state = reopened.state;
      assert.equal(state.seq, seq);
      assert.ok(reopened.startup.replayed > 0, 'a tail was replayed');
      const restored = new ServingIndex();
      const r = restoreIndexImage(path, restored, state, reopened.log.hashAt(state.seq));
      assert.ok(r.restored, r.restored ? '' : r.reason);
      const built = new ServingIndex();
      built.sync(state);
      assert.deepEqual([...restored.entries()].sort(), [...built.entries()].sort(), `seed ${seed}: the reopened state's own index`);
      assert.ok(sameAnswers(built, restored, state, random, `seed ${seed} reopened`) > 100);
    } finally {
      reopened?.close();
      t.cleanup();
    }
  }
});
