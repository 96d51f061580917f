/**
 * The offline import's bulk append worker (Ledger.executeInBulk, src/events/bulk-append.ts): the log
 * it writes is the single-threaded append's, row for row and byte for byte (hashes, batch surface,
 * checkpoint), `verify` passes on it, and the import stays all-or-nothing: a failure inside the
 * worker's transaction, on the main thread before the commit, or a worker that dies, leaves the
 * database exactly as it was, with no checkpoint, and the next write works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { Ledger, type LedgerOptions } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import type { DesiredRecord } from '../../src/projections/decide.ts';
import { verifyLedger } from '../../src/projections/verify-ledger.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { chainMac, MIN_CHAIN_KEY_BYTES } from '../../src/events/chain-key.ts';
import { BulkStoredEvent, createdJson, encodeRows, type BulkStats } from '../../src/events/bulk-append.ts';
import type { EventDraft } from '../../src/events/types.ts';
import { TestClock, tempDir } from '../helpers/ledger.ts';

const ZONE = 'bulk.test';
const BIN = fileURLToPath(new URL('../../bin/mcns', import.meta.url));

/** A zone file of about `names` * 1.5 records of several types (the realistic generator's mix, small). */
function zoneText(names: number, serial = 2024010101): string {
  const lines = ['$ORIGIN bulk.test.', '$TTL 3600', `@ SOA ns1 hostmaster ${serial} 7200 3600 1209600 300`, '@ NS ns1', 'ns1 A 127.0.0.1'];
  for (let i = 0; i < names; i++) {
    const h = `h${i}`;
    if (i % 10 === 1) lines.push(`${h} CNAME h${(i * 7) % names}.bulk.test.`);
    else {
      lines.push(`${h} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      if (i % 3 === 0) lines.push(`${h} AAAA 2001:db8::${i.toString(16)}`);
      if (i % 5 === 0) lines.push(`${h} TXT "v=bench1 id=${i}" "second \\"quoted\\" string"`);
      if (i % 7 === 0) lines.push(`${h} MX 10 h${(i * 3) % names}.bulk.test.`);
    }
  }
  return lines.join('\n') + '\n';
}

/** A ledger whose ids, batch ids and clock are deterministic, so two of them write the same bytes. */
function ledgerAt(path: string, extra: Partial<LedgerOptions> = {}): Ledger {
  let n = 0;
  let b = 0;
  const clock = new TestClock();
  return Ledger.open({
    path,
    clock: clock.now,
    newId: () => (++n).toString(16).padStart(16, '0'),
    batchIdSuffix: () => (++b).toString(16).padStart(8, '0'),
    bulk: { workerEvents: 1000, chunkRows: 700 },
    ...extra,
  });
}

function rows(db: Database.Database, sql: string): unknown[] {
  return db.prepare(sql).raw(true).all();
}

/** Everything a log holds that must be the same: every events row, the batch surfaces, the checkpoints but their creation time. */
function logContent(db: Database.Database): { events: unknown[]; surfaces: unknown[]; checkpoints: unknown[]; macs: unknown[] } {
  return {
    events: rows(db, 'SELECT * FROM events ORDER BY seq'),
    surfaces: rows(db, 'SELECT * FROM batch_surfaces ORDER BY batch_id'),
    checkpoints: rows(db, 'SELECT seq, head_hash, format, data FROM checkpoints ORDER BY seq'),
    macs: rows(db, 'SELECT * FROM chain_macs ORDER BY seq'),
  };
}

test('an import through the bulk append worker writes the same rows, hashes and checkpoint as the single-threaded append; verify passes', async () => {
  const { dir, cleanup } = tempDir();
  const one = ledgerAt(join(dir, 'one.db'));
  const bulk = ledgerAt(join(dir, 'bulk.db'));
  try {
    // 11,000 events: a bulk batch, checkpointed at once.
    const text = zoneText(7000);
    for (const l of [one, bulk]) l.execute({ kind: 'createZone', zone: 'other.test', soa: { primary_ns: 'ns.other.test', admin_email: 'h.other.test' } }, { actor: 'setup', surface: 'rest' });
    const a = one.execute(importCommand(ZONE, text, 'f.zone'), { actor: 'import', surface: 'cli' });
    const b = await bulk.executeInBulk(importCommand(ZONE, text, 'f.zone'), { actor: 'import', surface: 'cli' });
    assert.ok(a.events.length > 10_000, `${a.events.length} events`);
    assert.ok(b.events[0] instanceof BulkStoredEvent, 'written by the worker');
    assert.deepEqual({ first: b.firstSeq, last: b.lastSeq, batch: b.batchId, serial: b.serial }, { first: a.firstSeq, last: a.lastSeq, batch: a.batchId, serial: a.serial });
    // The events returned are the stored ones (the hash read from the log).
    assert.deepEqual(b.events.map((e) => [e.seq, e.ts, e.actor, e.zone, e.batchId, e.version, e.body, e.hash]), a.events.map((e) => [e.seq, e.ts, e.actor, e.zone, e.batchId, e.version, e.body, e.hash]));
    assert.equal(stateDigest(bulk.state), stateDigest(one.state));
    const ca = logContent(one.db);
    const cb = logContent(bulk.db);
    assert.equal(cb.checkpoints.length, 1);
    assert.deepEqual(cb, ca);
    assert.deepEqual(verifyLedger(bulk.db), verifyLedger(one.db));
    assert.equal(verifyLedger(bulk.db).ok, true);
    // A second batch for the worker (a re-import that changes every A record: under 10,000 events, not checkpointed) goes the same way too.
    const text2 = text.replace(/ A 10\./g, ' A 11.');
    one.execute(importCommand(ZONE, text2, 'g.zone'), { actor: 'import' });
    await bulk.executeInBulk(importCommand(ZONE, text2, 'g.zone'), { actor: 'import' });
    assert.deepEqual(logContent(bulk.db), logContent(one.db));
    assert.equal(verifyLedger(bulk.db).ok, true);
  } finally {
    one.close();
    bulk.close();
  }
  // Reopened, the bulk database starts from its checkpoint with nothing to replay.
  const again = ledgerAt(join(dir, 'bulk.db'));
  try {
    assert.equal(again.startup.replayed, 0);
    assert.ok(again.zone(`${ZONE}.`)!.records.size > 10_000);
  } finally {
    again.close();
    cleanup();
  }
});

test('a keyed chain: the bulk batch gets its MAC like a single-threaded one', async () => {
  const { dir, cleanup } = tempDir();
  const key = Buffer.alloc(MIN_CHAIN_KEY_BYTES, 7);
  const one = ledgerAt(join(dir, 'one.db'));
  const bulk = ledgerAt(join(dir, 'bulk.db'));
  try {
    for (const l of [one, bulk]) assert.equal(l.log.useChainKey(key).ok, true);
    const text = zoneText(1500);
    one.execute(importCommand(ZONE, text), { actor: 'import' });
    const b = await bulk.executeInBulk(importCommand(ZONE, text), { actor: 'import' });
    const cb = logContent(bulk.db);
    assert.deepEqual(cb, logContent(one.db));
    assert.deepEqual(cb.macs.at(-1), [b.lastSeq, chainMac(key, b.lastSeq!, b.events.at(-1)!.hash)]);
    assert.equal(verifyLedger(bulk.db, undefined, { chainKey: key }).ok, true);
  } finally {
    one.close();
    bulk.close();
    cleanup();
  }
});

/** What a ledger held before a failed bulk import: its database's contents, its projection's digest and seq. */
interface Before {
  log: ReturnType<typeof logContent>;
  digest: string;
  seq: number;
}

/** A ledger with one zone in it, and what it holds, for the failure cases. */
function withBefore(run: (l: Ledger, before: Before, dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const { dir, cleanup } = tempDir();
    const l = ledgerAt(join(dir, 'm.db'));
    try {
      l.execute(importCommand(ZONE, zoneText(20)), { actor: 'setup' });
      await run(l, { log: logContent(l.db), digest: stateDigest(l.state), seq: l.state.seq }, dir);
    } finally {
      l.close();
      cleanup();
    }
  };
}

/** After a failed bulk import: the database and the projection as they were, and the next import works. */
async function nothingWritten(l: Ledger, before: Before): Promise<void> {
  assert.deepEqual(logContent(l.db), before.log);
  assert.equal(l.state.seq, before.seq);
  assert.equal(stateDigest(l.state), before.digest);
  const res = await l.executeInBulk(importCommand(ZONE, zoneText(1500)), { actor: 'import' });
  assert.ok(res.events.length > 1500);
  assert.equal(verifyLedger(l.db).ok, true);
}

test(
  'a failure inside the worker in the middle of the batch (after 1,500 of its rows) leaves the database as it was',
  withBefore(async (l, before) => {
    await assert.rejects(l.executeInBulk(importCommand(ZONE, zoneText(2000)), { actor: 'import', failAfterRows: 1500 }), /injected failure after 1500 rows/);
    await nothingWritten(l, before);
  }),
);

test(
  'a failure on the main thread after every row was sent (before the commit) rolls the worker back',
  withBefore(async (l, before) => {
    await assert.rejects(
      l.executeInBulk(importCommand(ZONE, zoneText(2000)), {
        actor: 'import',
        beforeCommit: () => {
          throw new Error('main thread failed');
        },
      }),
      /main thread failed/,
    );
    await nothingWritten(l, before);
  }),
);

test(
  'a worker that dies in the middle of the batch takes its transaction with it; the next import starts a new one',
  withBefore(async (l, before) => {
    await assert.rejects(
      l.executeInBulk(importCommand(ZONE, zoneText(2000)), {
        actor: 'import',
        beforeCommit: async (worker) => {
          await worker.terminate();
        },
      }),
      /bulk append worker exited .* nothing was written/,
    );
    await nothingWritten(l, before);
  }),
);

test(
  'a bad record refuses the import before anything is sent to the worker',
  withBefore(async (l, before) => {
    const text = zoneText(2000).replace('h1500 A', 'h1500 A 10.0.0.300\nh1500x A');
    assert.throws(() => importCommand(ZONE, text), /line \d+/);
    await assert.rejects(l.executeInBulk({ ...importCommand(ZONE, zoneText(2000)), records: [...importCommand(ZONE, zoneText(2000)).records, { name: 'x.elsewhere.test.', type: 'A', value: '10.0.0.1', ttl: 60 }] }, { actor: 'import' }), /outside|not in zone|elsewhere/);
    await nothingWritten(l, before);
  }),
);

/** Counts the chunks of rows `l`'s bulk append worker is sent (started now). */
function countChunks(l: Ledger): { chunks: number } {
  l.prepareBulkAppend();
  const w = (l as unknown as { bulkWorker: { rows: (...a: unknown[]) => void } }).bulkWorker;
  const rowsOf = w.rows.bind(w);
  const count = { chunks: 0 };
  w.rows = (...a: unknown[]) => {
    count.chunks++;
    rowsOf(...a);
  };
  return count;
}

/**
 * Imports `cmd` into a new zone of two ledgers, one appending on its thread, the other through the
 * worker; both must write the same bytes. Returns the worker's stats (how many rows went while deciding).
 */
async function sameAsOneThread(cmd: ReturnType<typeof importCommand>): Promise<{ stats?: BulkStats; chunks: number }> {
  const { dir, cleanup } = tempDir();
  const one = ledgerAt(join(dir, 'one.db'));
  const bulk = ledgerAt(join(dir, 'bulk.db'));
  const sent = countChunks(bulk);
  try {
    let stats: BulkStats | undefined;
    const a = one.execute(cmd, { actor: 'import', surface: 'cli' });
    const b = await bulk.executeInBulk(cmd, { actor: 'import', surface: 'cli', onStats: (s) => (stats = s) });
    assert.deepEqual({ first: b.firstSeq, last: b.lastSeq, batch: b.batchId, serial: b.serial }, { first: a.firstSeq, last: a.lastSeq, batch: a.batchId, serial: a.serial });
    assert.deepEqual(logContent(bulk.db), logContent(one.db));
    assert.equal(stateDigest(bulk.state), stateDigest(one.state));
    assert.equal(verifyLedger(bulk.db).ok, true);
    return { stats, chunks: sent.chunks };
  } finally {
    one.close();
    bulk.close();
    cleanup();
  }
}

test('into a new zone, rows go to the worker while the import is decided; the same bytes as the single-threaded append', async () => {
  const { stats } = await sameAsOneThread(importCommand(ZONE, zoneText(3000)));
  assert.ok(stats, 'written by the worker');
  // Chunks of 700 rows, offered every 1,024 records: all but the last chunk or two went while deciding.
  assert.ok(stats.rowsSentWhileDeciding >= stats.rows - 2 * 1024, `${stats.rowsSentWhileDeciding} of ${stats.rows}`);
});

test('values UTF-8 carries (é, 中文, 😀) and a lone surrogate (it cannot: that chunk goes as a string) reach the worker exactly: the same bytes as the single-threaded append', async () => {
  const cmd = importCommand(ZONE, zoneText(3000));
  const txt = cmd.records.filter((r) => r.type === 'TXT');
  // decide takes prechecked values as they are: the worker must carry whatever it is handed.
  assert.ok(txt.length > 100, `${txt.length} TXT records`);
  txt[10].value = '"é ü 中文 😀"';
  txt[txt.length - 10].value = '"\ud800 lone"';
  const { stats, chunks } = await sameAsOneThread(cmd);
  assert.ok(stats && chunks > 3, 'written by the worker, in several chunks');
});

test('the bulk creates give up after rows were sent (a DNAME, a TTL to unify at the end): the batch is sent again whole, the same bytes', async () => {
  const cmd = importCommand(ZONE, zoneText(3000));
  const tails: DesiredRecord[] = [
    { name: `zz.${ZONE}.`, type: 'DNAME', value: 'elsewhere.test.', ttl: 3600 },
    // (The reader settles an RRset's TTL; a command built by hand may not.)
    { name: `h0.${ZONE}.`, type: 'A', value: '10.9.9.9', ttl: 7200 },
  ];
  for (const tail of tails) {
    const { stats, chunks } = await sameAsOneThread({ ...cmd, records: [...cmd.records, tail] });
    assert.ok(stats, tail.type);
    assert.equal(stats.rowsSentWhileDeciding, 0, `${tail.type}: sent again after the restart`);
    // Rows went while deciding, then all of them again.
    assert.ok(chunks >= Math.ceil(stats.rows / 700) + 3, `${tail.type}: ${chunks} chunks for ${stats.rows} rows`);
  }
});

test('a big file that decides to a small batch (one record repeated) is appended on this thread with the header drawn for the worker: the same bytes', async () => {
  const lines = ['$TTL 60', '@ SOA ns1 hostmaster 1 7200 3600 1209600 300', '@ NS ns1'];
  for (let i = 0; i < 2500; i++) lines.push('ns1 A 127.0.0.1');
  const { stats, chunks } = await sameAsOneThread(importCommand(ZONE, lines.join('\n')));
  assert.equal(stats, undefined, 'not written by the worker');
  assert.equal(chunks, 0);
});

test('into a new zone: a refusal at the end of decide, after rows were sent, and a failure inside the worker while rows stream, leave the database as it was', async () => {
  const { dir, cleanup } = tempDir();
  const l = ledgerAt(join(dir, 'm.db'));
  try {
    l.execute({ kind: 'createZone', zone: 'other.test', soa: { primary_ns: 'ns.other.test', admin_email: 'h.other.test' } }, { actor: 'setup' });
    const before = { log: logContent(l.db), digest: stateDigest(l.state), seq: l.state.seq };
    const cmd = importCommand(ZONE, zoneText(3000));
    // A CNAME next to the A of the same name, last: the bulk creates give up, the general path refuses it.
    const bad = { ...cmd, records: [...cmd.records, { name: `h2.${ZONE}.`, type: 'CNAME' as const, value: `h3.${ZONE}.`, ttl: 3600 }] };
    const sent = countChunks(l);
    await assert.rejects(l.executeInBulk(bad, { actor: 'import' }), /CNAME/);
    assert.ok(sent.chunks >= 3, `${sent.chunks} chunks were sent before the refusal`);
    assert.deepEqual(logContent(l.db), before.log);
    assert.equal(stateDigest(l.state), before.digest);
    await assert.rejects(l.executeInBulk(cmd, { actor: 'import', failAfterRows: 1500 }), /injected failure after 1500 rows/);
    assert.deepEqual(logContent(l.db), before.log);
    assert.equal(l.state.seq, before.seq);
    const res = await l.executeInBulk(cmd, { actor: 'import' });
    assert.ok(res.events.length > 4000);
    assert.equal(verifyLedger(l.db).ok, true);
  } finally {
    l.close();
    cleanup();
  }
});

test('rows sent as their fields give JSON.stringify\'s bytes; odd payloads go as JSON', () => {
  const odd = ['plain', '', 'quote " and back\\slash', 'tab\tnew\nline', '\u0001\u001f', 'é ü 中文 😀', '\ud800 lone surrogate', '</script>'];
  for (const value of odd) {
    const p = { id: 'a1', name: 'x.bulk.test.', type: 'TXT', value, ttl: 3600 };
    assert.equal(createdJson(p.id, p.name, p.type, p.value, String(p.ttl)), JSON.stringify(p), JSON.stringify(value));
  }
  const drafts: EventDraft[] = [
    { zone: 'z.', body: { type: 'RecordCreated', payload: { id: 'a', name: 'n.z.', type: 'A', value: '10.0.0.1', ttl: 0 } } },
    // Keys in another order: sent as its JSON, which keeps that order.
    { zone: 'z.', body: { type: 'RecordCreated', payload: { name: 'n.z.', id: 'b', type: 'A', value: '10.0.0.2', ttl: 5 } as never } },
    { zone: 'z.', body: { type: 'SerialBumped', payload: { serial: 7 } } },
  ];
  const fields = ['C', 'a', 'n.z.', 'A', '10.0.0.1', '0', 'RecordCreated', '{"name":"n.z.","id":"b","type":"A","value":"10.0.0.2","ttl":5}', 'b', 'n.z.', 'A', 'SerialBumped', '{"serial":7}', '', '', ''];
  const chunk = encodeRows(drafts, 0, 3);
  assert.ok(chunk.bytes, 'sent as UTF-8 bytes');
  assert.deepEqual({ text: Buffer.from(chunk.bytes).toString('utf8'), fields: chunk.fields }, { text: [...fields, ''].join('\u0000'), fields: fields.length });
  // Every odd value comes back from the chunk exactly; a lone surrogate (UTF-8 cannot carry it) sends the chunk as a string.
  for (const value of odd) {
    const d: EventDraft[] = [drafts[2], { zone: 'z.', body: { type: 'RecordCreated', payload: { id: 'c', name: 'n.z.', type: 'TXT', value, ttl: 1 } } }];
    const c = encodeRows(d, 0, 2);
    const text = c.text ?? Buffer.from(c.bytes).toString('utf8');
    assert.equal(c.text !== undefined, value.includes('\ud800'), JSON.stringify(value));
    assert.deepEqual({ f: text.split('\u0000'), n: c.fields }, { f: ['SerialBumped', '{"serial":7}', '', '', '', 'C', 'c', 'n.z.', 'TXT', value, '1', ''], n: 11 });
  }
});

test('a name holding a NUL fails the batch inside the worker (the chunk splits into more fields than were sent); nothing is written', async () => {
  const { dir, cleanup } = tempDir();
  const l = ledgerAt(join(dir, 'm.db'));
  try {
    l.execute(importCommand(ZONE, zoneText(20)), { actor: 'setup' });
    const before = logContent(l.db);
    const cmd = importCommand(ZONE, zoneText(2000));
    // decide takes prechecked values as they are; a NUL in a value can only come from a bug, but must not corrupt the log.
    const bad = cmd.records.find((r) => r.type === 'TXT')!;
    bad.value = bad.value.replace('v=bench1', 'v=bench\u00001');
    await assert.rejects(l.executeInBulk(cmd, { actor: 'import' }), /a field held a NUL/);
    assert.deepEqual(logContent(l.db), before);
  } finally {
    l.close();
    cleanup();
  }
});

test('bin/mcns zone import of a 2 MB file (75,000 records) goes through the worker, in a process with single-threaded GC or not; mcns verify passes and the same file imported on one thread writes the same events', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'big.zone');
    // (2 MB and more: the size from which the CLI starts the bulk append worker early, and
    // starts itself again with single-threaded GC.)
    writeFileSync(file, zoneText(46_000));
    assert.ok(statSync(file).size >= 2_000_000);
    const run = (db: string, env: Record<string, string> = {}, file_ = file): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, [BIN, 'zone', 'import', ZONE, file_, '--db', db], { encoding: 'utf8', env: { ...process.env, MCNS_IMPORT_STATS: '1', ...env } });
    const ok = (r: ReturnType<typeof run>): ReturnType<typeof run> => {
      assert.equal(r.status, 0, r.stderr);
      return r;
    };
    // The import starts itself again with --single-threaded-gc (src/cli/single-threaded-gc.ts),
    // its output and exit code passed on; or not.
    const bulk = ok(run(join(dir, 'bulk.db'), { MCNS_IMPORT_GC: 'single' }));
    // The stats line is printed only by a batch the worker wrote.
    assert.match(bulk.stderr, /import stats .*"workerCpuMs".*"gc":"single-threaded"/);
    assert.equal(bulk.stderr.match(/import stats/g)?.length, 1);
    assert.match(bulk.stdout, /^bulk\.test imported: \d+ created/m);
    assert.equal(bulk.stdout.match(/imported:/g)?.length, 1);
    const parallel = ok(run(join(dir, 'parallel.db'), { MCNS_IMPORT_GC: 'parallel' }));
    assert.match(parallel.stderr, /import stats .*"gc":"parallel"/);
    const one = ok(run(join(dir, 'one.db'), { MCNS_IMPORT_ONE_THREAD: '1' }));
    assert.doesNotMatch(one.stderr, /import stats/);
    // A refused file: the child's error and exit code, once; nothing written.
    const broken = join(dir, 'broken.zone');
    writeFileSync(broken, zoneText(46_000) + 'h1 CNAME h2\n');
    const refused = run(join(dir, 'refused.db'), { MCNS_IMPORT_GC: 'single' }, broken);
    assert.equal(refused.status, 1, refused.stderr);
    assert.equal(refused.stderr.match(/CNAME/g)?.length, 1, refused.stderr);
    assert.equal(run(join(dir, 'x.db'), { MCNS_IMPORT_GC: 'sometimes' }).status, 2);
    for (const db of ['bulk.db', 'parallel.db', 'one.db']) {
      const v = spawnSync(process.execPath, [BIN, 'verify', '--db', join(dir, db)], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.equal(v.stdout, 'ok\n');
    }
    // Ids, batch ids and times differ between two runs; everything else of every event is the same.
    const content = (db: string): unknown[] => {
      const l = Ledger.open({ path: join(dir, db), create: false });
      try {
        return rows(l.db, "SELECT seq, actor, zone, type, version, CASE WHEN type = 'RecordCreated' THEN json_remove(payload, '$.id') WHEN type = 'SerialBumped' THEN NULL ELSE payload END, name, rtype FROM events ORDER BY seq");
      } finally {
        l.close();
      }
    };
    const a = content('bulk.db');
    assert.ok(a.length > 70_000, `${a.length} events`);
    assert.deepEqual(a, content('one.db'));
    assert.deepEqual(content('parallel.db'), a);
  } finally {
    cleanup();
  }
});
