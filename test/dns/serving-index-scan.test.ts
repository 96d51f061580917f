/**
 * The serving index's first pass over a big zone the checkpoint load left unread (DEFER_CHILDREN):
 * on a start without the index image it scans the zone's checkpoint bytes (DeferredChildren.scan)
 * instead of reading the trie, and its second pass looks the names up once the zone is read. Over
 * random states (nested zones, cuts, DNAMEs, wildcards at and below the apex, CNAME chains in and
 * out of the zones, escaped labels, RRsets of one to many records, several big zones or one), the
 * index built that way holds exactly what the index built from the fully read trie holds: after the
 * first pass, and once complete (then also what a one-pass build holds), entry for entry. Every
 * answer of an index is the general path's (serving-index.test.ts), so this one is too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerQuery } from '../../src/dns/answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { zoneReadFor } from '../../src/dns/zone-read.ts';
import { DEFER_CHILDREN, deserializeState, serializeState, takeUnbuilt } from '../../src/projections/checkpoint.ts';
import type { Command, RecordOp } from '../../src/projections/decide.ts';
import { evolveAll, type LedgerState } from '../../src/projections/state.ts';
import type { Ledger } from '../../src/ledger.ts';
import { testLedger } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';
import { ASKED, QTYPES, ZONES, executeUnlessRefused, query, randomRecordOps } from './random-zones.ts';

/** Children of a big apex: enough that the load defers the zone. */
const WIDE = DEFER_CHILDREN + 60;

/** The records of `count` names under `zone`'s apex, of every shape the first pass meets. */
function fillerOps(zone: string, count: number, random: () => number): { safe: RecordOp[]; risky: RecordOp[] } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const safe: RecordOp[] = [];
  const risky: RecordOp[] = [];
  const at = (label: string): string => `${label}.${zone}`;
  // Names the SOA's MNAME and RNAME compress against when a chain's NODATA answer holds them (each holds a TXT).
  const soaNames = [`ns1.${zone}.`, `x.ns1.${zone}.`, `hostmaster.${zone}.`, `x.hostmaster.${zone}.`];
  const targets = [`f1.${zone}.`, `f2.${zone}.`, `w.${zone}.`, `missing.${zone}.`, 'www.b.test.', 'alias.a.test.', 'q.w.a.test.', 'nowhere.example.', `x.cut3.${zone}.`];
  for (let i = 0; i < count; i++) {
    const name = at(`f${i}`);
    const r = random();
    const ttl = pick([undefined, 60, 300, 3600]);
    if (r < 0.45) {
      // One to five addresses (a large RRset now and then), with AAAA beside them sometimes.
      for (let k = 1 + Math.floor(random() * (random() < 0.1 ? 5 : 2)); k > 0; k--) safe.push({ op: 'create', name, type: 'A', value: `10.${i >> 8}.${i & 255}.${k}`, ttl });
      if (random() < 0.3) safe.push({ op: 'create', name, type: 'AAAA', value: `2001:db8::${i.toString(16)}:${Math.floor(random() * 9)}`, ttl });
      if (random() < 0.15) safe.push({ op: 'create', name, type: 'TXT', value: `"t ${i}"` });
    } else if (r < 0.55) safe.push({ op: 'create', name, type: 'AAAA', value: `2001:db8:1::${i.toString(16)}`, ttl });
    else if (r < 0.65) {
      const j = Math.floor(random() * count);
      // To a name of the zone (a deeper one now and then, which a cut above it could hide later; a
      // child of the owner, the apex: the names the answer compresses against differ), or further.
      const c = random();
      const to = c < 0.4 ? `f${j}.${zone}.` : c < 0.55 ? `y.x.f${j}.${zone}.` : c < 0.7 ? `c.f${i}.${zone}.` : c < 0.75 ? `${zone}.` : c < 0.8 ? pick(soaNames) : pick(targets);
      safe.push({ op: 'create', name, type: 'CNAME', value: to });
      if (c >= 0.55 && c < 0.7) safe.push(random() < 0.7 ? { op: 'create', name: at(`c.f${i}`), type: 'A', value: `192.0.2.${i & 255}` } : { op: 'create', name: at(`c.f${i}`), type: 'AAAA', value: `2001:db8:c::${i.toString(16)}` });
    }
    else if (r < 0.72) safe.push({ op: 'create', name, type: 'MX', value: `10 f${Math.floor(random() * count)}.${zone}.` }, { op: 'create', name, type: 'A', value: '192.0.2.9' });
    else if (r < 0.77) safe.push({ op: 'create', name: at(`x.f${i}`), type: 'TXT', value: `"below ${i}"` }, { op: 'create', name: at(`y.x.f${i}`), type: 'A', value: '192.0.2.10' });
    else if (r < 0.8) safe.push({ op: 'create', name: at(`*.f${i}`), type: pick(['A', 'TXT', 'MX']) as 'A', value: '' });
    else if (r < 0.83) {
      // A delegation with glue below it, and a name below the glue.
      safe.push({ op: 'create', name, type: 'NS', value: `ns.f${i}.${zone}.` }, { op: 'create', name: at(`ns.f${i}`), type: 'A', value: '198.51.100.53' });
      if (random() < 0.5) safe.push({ op: 'create', name: at(`deep.ns.f${i}`), type: 'AAAA', value: '2001:db8::53' });
    } else if (r < 0.85) safe.push({ op: 'create', name, type: 'DNAME', value: pick(['b.test.', `f1.${zone}.`, 'elsewhere.example.']) });
    else if (r < 0.87) risky.push({ op: 'create', name: at(`a\\.f${i}`), type: 'A', value: '192.0.2.12' });
    else if (r < 0.9) safe.push({ op: 'create', name, type: 'SRV', value: `0 0 443 f${Math.floor(random() * count)}.${zone}.` });
    else safe.push({ op: 'create', name, type: 'A', value: `172.16.${i >> 8}.${i & 255}`, ttl });
  }
  // Wildcards get values of their type.
  for (const op of safe) {
    if (op.op !== 'create' || op.value !== '') continue;
    op.value = op.type === 'A' ? '192.0.2.77' : op.type === 'TXT' ? '"wild"' : `10 f1.${zone}.`;
  }
  // A wildcard right under the apex now and then (the apex's own flag then comes from the scan).
  if (random() < 0.5) safe.push({ op: 'create', name: at('*'), type: 'A', value: '192.0.2.99' });
  for (const name of soaNames) risky.push({ op: 'create', name, type: 'TXT', value: '"soa"' });
  // Chains from below them too (the question's own label under the apex, in any case).
  risky.push({ op: 'create', name: at('y.ns1'), type: 'CNAME', value: `hostmaster.${zone}.` }, { op: 'create', name: at('y.hostmaster'), type: 'CNAME', value: `f2.${zone}.` });
  // Names of a zone nested inside this one (a.test holds sub.a.test): another zone's apex and
  // what lies below it in this zone's trie are that zone's.
  risky.push({ op: 'create', name: at('in.sub'), type: 'A', value: '192.0.2.13' }, { op: 'create', name: at('sub'), type: 'TXT', value: '"occluded?"' });
  return { safe, risky };
}

function randomState(seed: number): { state: LedgerState; big: string[]; ledger: Ledger; cleanup: () => void } {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const t = testLedger();
  const { ledger } = t;
  const zones = [...ZONES].sort(() => random() - 0.5);
  for (const zone of zones) ledger.execute({ kind: 'createZone', zone, soa: { primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` } }, { actor: 'test' });
  // The vocabulary of the random-zone tests: chains between the zones, cuts, DNAMEs, escapes.
  for (let i = 0; i < 120; i++) {
    const zone = pick(ZONES);
    const ids = [...(ledger.state.zones.get(`${zone}.`)?.records.keys() ?? [])];
    // No DNAME at an apex: nothing could then be below it, and a zone must grow big here.
    const ops = randomRecordOps(zone, ids, random).filter((o) => !(o.op === 'create' && o.type === 'DNAME' && o.name === zone));
    if (ops.length > 0) executeUnlessRefused(ledger, { kind: 'changeRecords', zone, ops });
  }
  // One or two big zones (a.test, which holds sub.a.test, often among them).
  const big = random() < 0.4 ? ['a.test'] : [pick(ZONES)];
  if (random() < 0.4) big.push(pick(ZONES.filter((z) => !big.includes(z))));
  for (const zone of big) {
    const { safe, risky } = fillerOps(zone, WIDE + Math.floor(random() * 400), random);
    const cmd: Command = { kind: 'changeRecords', zone, ops: safe };
    ledger.execute(cmd, { actor: 'test' });
    for (const op of risky) executeUnlessRefused(ledger, { kind: 'changeRecords', zone, ops: [op] });
  }
  return { state: ledger.state, big, ledger, cleanup: t.cleanup };
}

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 20_000) throw new Error(`waited too long for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The index of `state` once its first pass is done (a small rebuild slice: a second pass is left). */
/** Every index a test made: closed at its end (a failed check must not leave a second pass's timers running). */
const made: ServingIndex[] = [];

async function firstPass(state: LedgerState): Promise<ServingIndex> {
  const index = new ServingIndex({ rebuildSlice: 256 });
  made.push(index);
  index.sync(state);
  await index.whenBuilt();
  assert.equal(index.failure, undefined);
  assert.ok(index.isCurrent(state));
  return index;
}

test('serving index: a first pass that scans an unread big zone\'s checkpoint bytes holds what one over the read trie holds; so does the finished index', async () => {
  let scannedZones = 0;
  let entries = 0;
  for (let seed = 1; seed <= 14; seed++) {
    const { state, big, cleanup } = randomState(20261204 + seed);
    try {
      const blob = serializeState(state, 'h');

      // Read whole before the index is built (the walk the server made before this change).
      const read = deserializeState(blob) as LedgerState;
      for (const d of takeUnbuilt(read).deferred) d.finish();
      const walked = await firstPass(read);

      // Left unread: the first pass scans the bytes and must not read the zone.
      const scanned = deserializeState(blob) as LedgerState;
      const left = takeUnbuilt(scanned);
      assert.ok(left.deferred.length >= 1, `seed ${seed}: a big zone (${big.join(', ')}) is deferred`);
      const index = await firstPass(scanned);
      assert.ok(left.deferred.every((d) => !d.done), `seed ${seed}: the first pass left the big zones unread`);
      scannedZones += left.deferred.length;

      const expected = [...walked.entries()].sort();
      assert.deepEqual([...index.entries()].sort(), expected, `seed ${seed}: first pass`);
      entries += expected.length;

      // The second pass waits for the read, then takes the names put aside.
      assert.equal(index.filling, true, `seed ${seed}: a second pass is left`);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(index.filling, true, `seed ${seed}: the second pass waits for the zone's read`);
      for (const d of left.deferred) await d.readInSlices(() => new Promise((r) => setImmediate(r)));
      for (const zone of scanned.zones.values()) zone.tree.children.get('');
      await until(() => !index.filling && !walked.filling, 'the second passes');
      const complete = [...walked.entries()].sort();
      assert.deepEqual([...index.entries()].sort(), complete, `seed ${seed}: complete`);
      const oneGo = new ServingIndex({ rebuildSlice: 1 << 30 });
      oneGo.sync(read);
      assert.deepEqual([...oneGo.entries()].sort(), complete, `seed ${seed}: as a one-pass build`);
      assert.equal(index.failure, undefined);
      index.close();
      walked.close();
    } finally {
      for (const index of made.splice(0)) index.close();
      cleanup();
    }
  }
  console.log(`${scannedZones} big zones scanned, ${entries} entries compared after the first pass`);
});

test('serving index: a scan of a zone whose bytes disagree with its header fails the index (the general path answers), not a wrong entry', async () => {
  const { state, cleanup } = randomState(7);
  try {
    const blob = serializeState(state, 'h');
    const scanned = deserializeState(blob) as LedgerState;
    const left = takeUnbuilt(scanned);
    // The header's record count of the first deferred zone, off by one: the scan checks it at its end, as the read does.
    const d = left.deferred[0] as unknown as { expected: { records: number } };
    d.expected.records += 1;
    const index = new ServingIndex({ rebuildSlice: 256 });
    made.push(index);
    index.sync(scanned);
    await index.whenBuilt();
    assert.ok(index.failure instanceof Error && /records in/.test(index.failure.message), String(index.failure));
    assert.equal(index.isCurrent(scanned), false);
  } finally {
    for (const index of made.splice(0)) index.close();
    cleanup();
  }
});

test('a general-path question in a big zone not yet read waits for the read in slices (zoneReadFor), and then needs no wait', async () => {
  const { state, big, cleanup } = randomState(11);
  try {
    const loaded = deserializeState(serializeState(state, 'h')) as LedgerState;
    const left = takeUnbuilt(loaded);
    const zone = `${big[0]}.`;
    const deferred = left.deferred.find((d) => d.zone === zone);
    assert.ok(deferred, `${zone} is deferred`);
    const small = [...loaded.zones.keys()].find((z) => !left.deferred.some((d) => d.zone === z) && !big.some((b) => z.endsWith(`${b}.`)));
    assert.ok(small, 'a zone that is not deferred');
    assert.equal(zoneReadFor(loaded, `f1.${small}`), undefined, 'a zone read at load needs no wait');
    const wait = zoneReadFor(loaded, `f1.${zone}`);
    assert.ok(wait, 'a question in the unread zone waits');
    assert.equal(zoneReadFor(loaded, `nowhere.${zone}`), wait, 'every question waits for the same read');
    await wait;
    assert.equal(deferred.done, true);
    assert.equal(loaded.zones.get(zone)!.tree.children.built, true, "the apex's children map is built too");
    assert.equal(zoneReadFor(loaded, `f1.${zone}`), undefined, 'then no wait');
  } finally {
    cleanup();
  }
});

/** Every name that holds records in `state`, and the names the random-zone tests ask in each zone. */
function namesOf(state: LedgerState): string[] {
  const names = new Set<string>();
  for (const zone of state.zones.values()) for (const r of zone.records.values()) names.add(r.name);
  for (const zone of ZONES) for (const n of ASKED) names.add(n === '@' ? `${zone}.` : `${n}.${zone}.`);
  return [...names];
}

/**
 * Asks the index every question of `names` x `qtypes` (EDNS or not, UDP sizes, TCP) in `state`;
 * every answer it gives must be the general path's in `general` (the same state, read whole).
 * Returns how many answers were a CNAME chain (the first record a CNAME, the question another type).
 */
function askAll(index: ServingIndex, state: LedgerState, general: LedgerState, names: readonly string[], qtypes: readonly number[], random: () => number, label: string): { answered: number; chains: number } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  let answered = 0;
  let chains = 0;
  for (const name of names) {
    for (const qtype of qtypes) {
      const raw = query(name, qtype, random, random() < 0.7, pick([512, 600, 1232, 4096]));
      const q = readQuery(raw) as ParsedQuery;
      const limit = maxResponseSize(q, random() < 0.2);
      const fromIndex = index.answer(state, q, raw, limit);
      if (!fromIndex) continue;
      answered++;
      if (qtype !== 5 && fromIndex.readUInt16BE(6) > 0 && fromIndex.readUInt16BE(q.questionEnd + 2) === 5) chains++;
      const expected = encodeMessage(answerQuery(general, q).message, limit).bytes;
      assert.deepEqual(fromIndex, expected, `${label}: ${name}/${qtype}: the index and the general path differ`);
    }
  }
  return { answered, chains };
}

test('serving index: before a scanned zone is read, a CNAME owner\'s chain is answered from its target\'s entry, byte for byte as the general path answers it; a write to the target takes it again', async () => {
  let chains = 0;
  let answered = 0;
  let retaken = 0;
  let spliced = 0;
  let splicedNodata = 0;
  for (let seed = 1; seed <= 14; seed++) {
    const { state, ledger, cleanup } = randomState(20261205 + seed);
    const random = rng(seed);
    try {
      const blob = serializeState(state, 'h');
      const read = deserializeState(blob) as LedgerState;
      for (const d of takeUnbuilt(read).deferred) d.finish();
      const scanned = deserializeState(blob) as LedgerState;
      const left = takeUnbuilt(scanned);
      const index = await firstPass(scanned);
      const names = namesOf(read);
      // The same first pass over the read trie (a big zone read at load, or a rebuild with a second
      // pass): its CNAME owners' A and AAAA are spliced too until their turn comes.
      const walked = await firstPass(read);
      const before = askAll(walked, read, read, names, [1, 28], random, `seed ${seed}, walked`);
      spliced += walked.chainsSpliced;
      splicedNodata += walked.chainsSplicedNodata;
      chains += before.chains;
      walked.close();
      // A and AAAA first (a chain then answers them from its target's entry as it is, spliceChain),
      // then every type the random zones hold, a type nobody holds, and the special ones (ANY, DS).
      const first = askAll(index, scanned, read, names, [1, 28], random, `seed ${seed}`);
      const got = askAll(index, scanned, read, names, QTYPES, random, `seed ${seed}`);
      got.answered += first.answered;
      got.chains += first.chains;
      assert.ok(left.deferred.every((d) => !d.done), `seed ${seed}: answered without reading the big zones`);
      assert.equal(index.filling, true, `seed ${seed}: the second pass still waits`);
      assert.equal(index.failure, undefined);
      chains += got.chains;
      answered += got.answered;
      spliced += index.chainsSpliced;
      splicedNodata += index.chainsSplicedNodata;

      // A write to the targets of the chains just answered (an address added, one target's A RRset
      // deleted, a cut put above a deeper one): the owners' answers are taken again, and still the
      // general path's.
      const targets = new Set<string>();
      for (const name of names) {
        const raw = query(name, 1, random, false);
        const q = readQuery(raw) as ParsedQuery;
        const a = answerQuery(read, q).message.answer;
        if (a.length >= 2 && a[0].type === 'CNAME' && a[a.length - 1].type === 'A' && a[a.length - 1].name !== name) targets.add(a[a.length - 1].name);
      }
      const deep = [...targets].filter((t) => t.startsWith('y.x.'));
      const changed = [...deep.slice(0, 2), ...[...targets].filter((t) => !t.startsWith('y.x.')).slice(0, 5)];
      for (const [i, target] of changed.entries()) {
        const zone = [...ledger.state.zones.keys()].filter((z) => target === z || target.endsWith(`.${z}`)).sort((x, y) => y.length - x.length)[0];
        const parent = target.slice(target.indexOf('.') + 1);
        const ops: RecordOp[] = target.startsWith('y.x.')
          ? [{ op: 'create', name: parent.slice(0, -1), type: 'NS', value: 'ns.elsewhere.example.' }]
          : i === changed.length - 1
            ? [...(ledger.state.zones.get(zone)?.records.values() ?? [])].filter((r) => r.name === target && r.type === 'A').map((r) => ({ op: 'delete', id: r.id }) as RecordOp)
            : [{ op: 'create', name: target.slice(0, -1), type: 'A', value: `198.18.0.${i}` }];
        executeUnlessRefused(ledger, { kind: 'changeRecords', zone: zone.slice(0, -1), ops });
      }
      if (changed.length > 0) {
        const after = evolveAll(scanned, ledger.log.iterate(scanned.seq, ledger.state.seq));
        index.sync(after);
        assert.equal(index.failure, undefined);
        const again = askAll(index, after, ledger.state, names, [1, 28, 5, 16, 65400], random, `seed ${seed}, after a write to ${changed.join(', ')}`);
        retaken += again.chains;
      }
      index.close();
    } finally {
      for (const index of made.splice(0)) index.close();
      cleanup();
    }
  }
  console.log(`${answered} answers from the index before the read, ${chains} of them CNAME chains (${spliced} spliced, ${splicedNodata} of them ending in NODATA); ${retaken} chains after writes to their targets`);
  assert.ok(chains >= 100, `chains answered before the read: ${chains}`);
  assert.ok(spliced >= 100 && spliced < chains, `chains spliced before the read: ${spliced}`);
  assert.ok(splicedNodata >= 50 && splicedNodata < spliced, `chains spliced before the read that end in NODATA: ${splicedNodata}`);
  assert.ok(retaken >= 20, `chains answered after writes to their targets: ${retaken}`);
});

test('serving index: a second pass stopped while it waits on a timeout (for a zone\'s read) leaves the process\'s immediates running', async () => {
  const { state, cleanup } = randomState(20261231);
  try {
    const scanned = deserializeState(serializeState(state, 'h')) as LedgerState;
    takeUnbuilt(scanned);
    const index = await firstPass(scanned);
    assert.equal(index.filling, true);
    // Its first step finds the zone unread and waits on a timeout; close() stops it there. (Clearing
    // that timeout with clearImmediate too once lowered Node's count of pending immediates: none ran
    // after it, so a second index's rebuild never finished.)
    await new Promise((resolve) => setTimeout(resolve, 5));
    index.close();
    const ran = await Promise.race([
      new Promise<boolean>((resolve) => setImmediate(() => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500)),
    ]);
    assert.equal(ran, true, 'an immediate set after close() ran');
  } finally {
    cleanup();
  }
});
