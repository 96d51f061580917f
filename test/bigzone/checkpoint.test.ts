/**
 * Big zones (issue 17), the ledger side: checkpoint format 5 round-trips every record type and the
 * trie's shape; a bulk write leaves the projection checkpointed (inline offline, in the background in
 * the server), so the next start replays a bounded tail; an older format is ignored once (full replay).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../src/ledger.ts';
import { deserializeState, serializeState, serializeStateSliced, CHECKPOINT_FORMAT } from '../../src/projections/checkpoint.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { EMPTY_STATE, evolveAll } from '../../src/projections/state.ts';
import { allRecords } from '../../src/projections/trie.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { EventLog } from '../../src/events/log.ts';
import { testLedger } from '../helpers/ledger.ts';
import { waitFor } from '../helpers/wait.ts';

/** A zone file of `n` names under `zone` (A, some AAAA and TXT), as an import would get it. */
function bulkZone(zone: string, n: number): string {
  const lines = [`$ORIGIN ${zone}.`, '$TTL 300', `@ SOA ns.${zone}. h.${zone}. 1 3600 600 86400 60`, '@ NS ns', 'ns A 192.0.2.1'];
  for (let i = 0; i < n; i++) {
    lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    if (i % 3 === 0) lines.push(`h${i} AAAA 2001:db8::${i.toString(16)}`);
    if (i % 10 === 0) lines.push(`h${i} TXT "v=spf1 -all ${i}"`);
  }
  return lines.join('\n') + '\n';
}

const MANY_TYPES = [
  '$ORIGIN types.test.',
  '$TTL 60',
  '@ SOA ns.types.test. h.types.test. 7 3600 600 86400 60',
  '@ NS ns',
  '@ MX 10 mail',
  '@ TXT "one string" "two \\"quoted\\" strings" "caf\\195\\169"',
  '@ CAA 0 issue "letsencrypt.org"',
  'ns A 192.0.2.1',
  'ns AAAA 2001:db8::1',
  'mail A 192.0.2.25',
  'www CNAME @',
  '_sip._tcp SRV 10 60 5060 sip',
  'sip A 192.0.2.5',
  '*.wild A 192.0.2.9',
  'deep.empty.non.terminal A 192.0.2.10',
  'sub NS ns.sub',
  'ns.sub A 192.0.2.53',
  'sub DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  'weird\\046dot A 192.0.2.11',
  'ptr PTR host.example.',
  'unknown TYPE65400 \\# 4 0a000001',
  'naptr NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .',
  'tlsa TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  '',
].join('\n');

test('checkpoint format 5: every record type, escaped names, wildcards, empty non-terminals, cuts and a deleted zone round-trip', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('types.test', MANY_TYPES), { actor: 'test' });
    t.ledger.execute(importCommand('gone.test', '@ 60 SOA ns.gone.test. h.gone.test. 1 2 3 4 5\n@ 60 NS ns.gone.test.\n'), { actor: 'test' });
    t.ledger.execute({ kind: 'deleteZone', zone: 'gone.test' }, { actor: 'test' });
    const state = t.ledger.state;
    const blob = serializeState(state, 'h');
    const back = deserializeState(blob);
    assert.ok(back);
    assert.equal(stateDigest(back), stateDigest(state));
    assert.equal(stateDigest(back), stateDigest(evolveAll(EMPTY_STATE, new EventLog(t.ledger.db).iterate())));
    // The tree itself (not only the record index) is rebuilt: every record at its node, names shared.
    const zone = back.zones.get('types.test.')!;
    const inTree = [...allRecords(zone.tree)].filter((r) => r.type !== 'SOA');
    assert.equal(inTree.length, zone.records.size);
    for (const r of inTree) assert.equal(zone.records.get(r.id), r, `${r.name} ${r.type} is the same object in the trie and the index`);
    assert.equal(back.heads.get('gone.test.')?.deleted, true, 'a deleted zone keeps its head (serials never reused)');
    // The sliced writer (background checkpoints) writes the same bytes.
    const sliced = await serializeStateSliced(state, 'h', () => new Promise((res) => setImmediate(res)), 0);
    assert.ok(sliced.equals(blob), 'sliced and one-shot serialization agree byte for byte');
    // Also when its body buffer must grow and the header does not fit the room kept for it.
    const cramped = await serializeStateSliced(state, 'h', () => new Promise((res) => setImmediate(res)), 0, { body: 16, headerRoom: 8 });
    assert.ok(cramped.equals(blob), 'a grown body and a header copied in front give the same bytes');
    assert.equal(CHECKPOINT_FORMAT, 5);
  } finally {
    t.cleanup();
  }
});

test('a bulk import by a ledger without background checkpoints (the offline CLI) is checkpointed at once: the next start replays nothing', () => {
  const t = testLedger();
  try {
    const res = t.ledger.execute(importCommand('bulk.test', bulkZone('bulk.test', 8000)), { actor: 'import' });
    assert.ok(res.events.length >= 10_000, `a bulk batch (${res.events.length} events)`);
    const newest = t.ledger.db.prepare('SELECT max(seq) AS seq FROM checkpoints').get() as { seq: number };
    assert.equal(newest.seq, t.ledger.state.seq, 'checkpointed at the import');
    const reopened = Ledger.open({ path: t.path });
    try {
      assert.equal(reopened.startup.checkpointSeq, t.ledger.state.seq);
      assert.equal(reopened.startup.replayed, 0);
      assert.equal(typeof reopened.startup.phases.checkpointLoadMs, 'number');
      assert.equal(stateDigest(reopened.state), stateDigest(t.ledger.state));
    } finally {
      reopened.close();
    }
  } finally {
    t.cleanup();
  }
});

test('in the server (background checkpoints), a bulk import is checkpointed in the background and a restart replays a bounded tail', async () => {
  const t = testLedger({ checkpointEvery: 1000, checkpointInBackground: true });
  try {
    t.ledger.execute(importCommand('bulk.test', bulkZone('bulk.test', 8000)), { actor: 'import' });
    const seq = t.ledger.state.seq;
    await waitFor(() => (t.ledger.db.prepare('SELECT max(seq) AS seq FROM checkpoints').get() as { seq: number | null }).seq === seq, {
      what: 'the background checkpoint of the import',
      timeoutMs: 30_000,
    });
    // A few small writes after it stay a tail (no checkpoint per write for them).
    for (let i = 0; i < 5; i++) t.ledger.execute({ kind: 'changeRecords', zone: 'bulk.test', ops: [{ op: 'create', name: `late${i}.bulk.test`, type: 'A', value: '192.0.2.7' }] }, { actor: 't' });
    await t.ledger.checkpointOnExit();
    const reopened = Ledger.open({ path: t.path });
    try {
      assert.ok(reopened.startup.replayed <= 1000, `tail replayed: ${reopened.startup.replayed}`);
      assert.equal(stateDigest(reopened.state), stateDigest(t.ledger.state), 'nothing lost');
    } finally {
      reopened.close();
    }
  } finally {
    t.cleanup();
  }
});

test('a checkpoint of an older format is ignored (full replay once), and the server-mode ledger writes a new one in the background', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('old.test', bulkZone('old.test', 200)), { actor: 'import' });
    t.ledger.checkpoint();
    t.ledger.db.prepare('UPDATE checkpoints SET format = 4').run();
    const reopened = Ledger.open({ path: t.path, checkpointEvery: 1000, checkpointInBackground: true });
    try {
      assert.equal(reopened.startup.checkpointSeq, undefined);
      assert.match(reopened.startup.skipped ?? '', /format 4, this build reads 5/);
      assert.equal(reopened.startup.replayed, t.ledger.state.seq);
      // 200 names are far from the bulk threshold: the full replay itself is the tail that is due.
      await reopened.checkpointBackground();
      const row = reopened.db.prepare('SELECT format FROM checkpoints WHERE seq = ?').get(reopened.state.seq) as { format: number };
      assert.equal(row.format, 5);
    } finally {
      reopened.close();
    }
  } finally {
    t.cleanup();
  }
});

test('exit on a large zone: a running background checkpoint is finished; a small tail is left to the log (nothing written, nothing lost)', async () => {
  // exitCheckpointRecords: 100 makes this 8,000-name zone "large" for the exit rule.
  const t = testLedger({ checkpointEvery: 1000, checkpointInBackground: true, exitCheckpointRecords: 100 });
  try {
    t.ledger.execute(importCommand('exit.test', bulkZone('exit.test', 8000)), { actor: 'import' });
    // The bulk import started a background checkpoint; exit finishes it rather than abandoning it.
    const first = await t.ledger.checkpointOnExit();
    assert.equal(first.action, 'finished-background');
    assert.equal(first.seq, t.ledger.state.seq);
    for (let i = 0; i < 5; i++) t.ledger.execute({ kind: 'changeRecords', zone: 'exit.test', ops: [{ op: 'create', name: `tail${i}.exit.test`, type: 'A', value: '192.0.2.8' }] }, { actor: 't' });
    const before = (t.ledger.db.prepare('SELECT count(*) AS n FROM checkpoints').get() as { n: number }).n;
    const second = await t.ledger.checkpointOnExit();
    assert.equal(second.action, 'left-tail');
    assert.equal(second.tail, 10, 'five writes of two events each');
    assert.equal((t.ledger.db.prepare('SELECT count(*) AS n FROM checkpoints').get() as { n: number }).n, before, 'nothing written at exit');
    assertReopensReplaying(t.path, t.ledger, 10);
  } finally {
    t.cleanup();
  }
});

/** `n` single-record creates (two events each: the record and the serial). */
function smallWrites(ledger: Ledger, zone: string, n: number, tag: string): void {
  for (let i = 0; i < n; i++) {
    ledger.execute({ kind: 'changeRecords', zone, ops: [{ op: 'create', name: `${tag}${i}.${zone}`, type: 'A', value: '192.0.2.9' }] }, { actor: 't' });
  }
}

const checkpointRows = (ledger: Ledger): number => (ledger.db.prepare('SELECT count(*) AS n FROM checkpoints').get() as { n: number }).n;

/** The ledger at `path`, opened again, replays exactly `replayed` events and holds `ledger`'s state (nothing lost). */
function assertReopensReplaying(path: string, ledger: Ledger, replayed: number): void {
  const reopened = Ledger.open({ path });
  try {
    assert.equal(reopened.startup.replayed, replayed);
    assert.equal(stateDigest(reopened.state), stateDigest(ledger.state), 'nothing lost');
  } finally {
    reopened.close();
  }
}

test('many small writes are not a bulk tail: 10,000+ events of single writes wait for the interval, not a checkpoint at once', async () => {
  // checkpointEvery 30,000: the interval a 3M-record zone's records/100 gives; 10,500 events of
  // single writes stay below it. (They used to count as bulk at 10,000 events, which on the 1M zone
  // re-serialized the whole zone every 5,000 writes.)
  const t = testLedger({ checkpointEvery: 30_000, checkpointInBackground: true, exitCheckpointRecords: 100 });
  try {
    t.ledger.execute(importCommand('steady.test', bulkZone('steady.test', 100)), { actor: 'import' });
    t.ledger.checkpoint();
    const rows = checkpointRows(t.ledger);
    const seq0 = t.ledger.state.seq;
    smallWrites(t.ledger, 'steady.test', 5250, 's');
    assert.equal(t.ledger.state.seq - seq0, 10_500);
    assert.equal(t.ledger.tail, 10_500);
    // Exit on a "large" zone leaves the ordinary tail to the log: nothing running to finish, nothing written.
    const exit = await t.ledger.checkpointOnExit();
    assert.deepEqual([exit.action, exit.tail], ['left-tail', 10_500]);
    assert.equal(checkpointRows(t.ledger), rows, 'no checkpoint written for the small writes');
    assertReopensReplaying(t.path, t.ledger, 10_500);
  } finally {
    t.cleanup();
  }
});

test('exit on a large zone abandons a routine background checkpoint (its tail stays in the log, nothing lost, no failure reported)', async () => {
  const t = testLedger({ checkpointEvery: 1000, checkpointInBackground: true, exitCheckpointRecords: 100 });
  try {
    let failures = 0;
    t.ledger.onCheckpointFailed = () => failures++;
    t.ledger.execute(importCommand('routine.test', bulkZone('routine.test', 8000)), { actor: 'import' });
    // The import's own (bulk) background checkpoint, awaited.
    await t.ledger.checkpointBackground();
    assert.equal(t.ledger.tail, 0);
    const rows = checkpointRows(t.ledger);
    // 600 writes: 1,200 events; at 1,000 a routine background checkpoint starts (it runs in slices
    // between event-loop turns, so it is still running when exit comes right after).
    smallWrites(t.ledger, 'routine.test', 600, 'r');
    const exit = await t.ledger.checkpointOnExit();
    assert.deepEqual([exit.action, exit.tail], ['left-tail', 1200], 'abandoned, not finished (finishing re-serializes the whole zone)');
    assert.equal(checkpointRows(t.ledger), rows, 'nothing written at exit');
    assert.equal(failures, 0, 'an abandoned checkpoint is not a failure');
    assertReopensReplaying(t.path, t.ledger, 1200);
  } finally {
    t.cleanup();
  }
});

test('a background checkpoint of several blocks (compressed as they come, copied into one body) has the one-shot bytes, and loads', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand('blocks.test', bulkZone('blocks.test', 40_000)), { actor: 'import' });
    const state = t.ledger.state;
    const blob = serializeState(state, 'h');
    const header = JSON.parse(blob.subarray(36, 36 + blob.readUInt32BE(32)).toString('utf8')) as { blocks: number[] };
    assert.ok(header.blocks.length >= 2, `several blocks (${header.blocks.length})`);
    const pause = (): Promise<void> => new Promise((res) => setImmediate(res));
    for (const sizes of [undefined, { body: 1000, headerRoom: 8 }]) {
      const sliced = await serializeStateSliced(state, 'h', pause, 0, sizes);
      assert.ok(sliced.equals(blob), `same bytes (${JSON.stringify(sizes ?? 'default sizes')})`);
    }
    assert.equal(stateDigest(deserializeState(blob)!), stateDigest(state));
  } finally {
    t.cleanup();
  }
});
