/**
 * Issue acceptance 0: the offline commands work on a database file with real `bin/mcns` processes —
 * zone import, zone export --at, replay --until, history, verify — and verify fails (exit 1, naming
 * the event) after an event's bytes are changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/ledger.ts';

const bin = fileURLToPath(new URL('../../bin/mcns', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/zones/example.com.zone', import.meta.url));

function mcns(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('offline CLI: import, export --at, replay --until, history, verify, and tamper detection', () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = join(dir, 'mcns.db');
    const first = mcns('zone', 'import', 'example.com', fixture, '--db', db);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /^example\.com imported: \d+ created, 0 updated, 0 deleted \(seq 1\.\.\d+\), serial \d+$/m);
    const v1 = mcns('zone', 'export', 'example.com', '--db', db);
    assert.equal(v1.code, 0, v1.err);
    const seqAfterFirst = Number(/log seq (\d+)/.exec(v1.out)![1]);

    // Re-importing the same file writes nothing; a changed file writes only the differences.
    assert.match(mcns('zone', 'import', 'example.com', fixture, '--db', db).out, /nothing written/);
    const changed = join(dir, 'changed.zone');
    writeFileSync(changed, readFileSync(fixture, 'utf8') + '\nadded-by-test.example.com. 600 IN A 203.0.113.9\n');
    const second = mcns('zone', 'import', 'example.com', changed, '--db', db);
    assert.equal(second.code, 0, second.err);
    const written = /imported: 1 created, 0 updated, 0 deleted \(seq (\d+)\.\.(\d+)\)/.exec(second.out);
    assert.ok(written, second.out);
    assert.equal(Number(written[2]) - Number(written[1]) + 1, 3, 'marker + one record + serial bump');

    const now = mcns('zone', 'export', 'example.com', '--db', db);
    assert.match(now.out, /added-by-test\s+600 IN A\s+203\.0\.113\.9/);
    const past = mcns('zone', 'export', 'example.com', '--at', String(seqAfterFirst), '--db', db);
    assert.equal(past.code, 0, past.err);
    assert.doesNotMatch(past.out, /added-by-test/);
    assert.equal(past.out.replace(/^;.*\n/gm, ''), v1.out.replace(/^;.*\n/gm, ''));

    const replayed = mcns('replay', '--db', db, '--until', String(seqAfterFirst), '--zone', 'example.com');
    assert.equal(replayed.code, 0, replayed.err);
    assert.equal(replayed.out.replace(/^;.*\n/gm, ''), v1.out.replace(/^;.*\n/gm, ''));
    const trace = mcns('replay', '--db', db, '--trace', '--format', 'json');
    const lines = trace.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.added.some((a: string) => a.startsWith('added-by-test.example.com. 600 IN A 203.0.113.9'))));

    const hist = mcns('history', '--db', db, 'example.com', 'added-by-test', 'A');
    assert.equal(hist.code, 0, hist.err);
    assert.match(hist.out, /RecordCreated\s+added-by-test\.example\.com\. A 600 203\.0\.113\.9/);
    assert.match(hist.out, /\bimport\b/);

    assert.deepEqual([mcns('verify', '--db', db).code, mcns('verify', '--db', db).out], [0, 'ok\n']);

    const raw = new Database(db);
    raw.exec('DROP TRIGGER events_no_update');
    raw.prepare("UPDATE events SET payload = replace(payload, '203.0.113.9', '203.0.113.10') WHERE name = 'added-by-test.example.com.'").run();
    const tampered = raw.prepare("SELECT seq FROM events WHERE name = 'added-by-test.example.com.'").get() as { seq: number };
    raw.close();
    const bad = mcns('verify', '--db', db);
    assert.equal(bad.code, 1);
    assert.match(bad.err, new RegExp(`event ${tampered.seq}: hash mismatch`));

    assert.equal(mcns('zone', 'export', 'nope.example', '--db', db).code, 1);
    assert.equal(mcns('replay', '--db', db, '--format', 'yaml').code, 2);
    assert.equal(mcns('zone', 'export', 'example.com', '--db', db, '--at', 'yesterday').code, 1);
    assert.equal(mcns('no-such-command').code, 2);
  } finally {
    cleanup();
  }
});

test('a zone file with a bad line is refused with its line number and nothing is imported', () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = join(dir, 'mcns.db');
    const file = join(dir, 'bad.zone');
    writeFileSync(file, '$TTL 300\n@ IN SOA ns.bad.test. h.bad.test. 1 2 3 4 5\n@ IN NS ns.bad.test.\nwww IN A 1.2.3.999\n');
    const r = mcns('zone', 'import', 'bad.test', file, '--db', db);
    assert.equal(r.code, 1);
    assert.match(r.err, /line 4/);
    const raw = new Database(db);
    assert.equal((raw.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 0);
    raw.close();
  } finally {
    cleanup();
  }
});
