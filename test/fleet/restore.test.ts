/**
 * Serials after a restore-by-copy (issue 13). The rule (serialAfterRestore) as a table, the mark a
 * snapshot carries, and the RUNBOOK procedure done exactly, with a Knot and a BIND secondary
 * attached (configured from the catalog alone): after the restore, every zone is served with a
 * serial past what the secondaries hold, and they converge to the restored content (the records
 * added after the snapshot disappear from them, and so does a zone created after it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { readSnapshotMark, serialAfterRestore, RESTORE_STRIDE, SNAPSHOT_MARK } from '../../src/dns/transfer/restored-serials.ts';
import { createSnapshot } from '../../src/api/snapshot.ts';
import { tempDir, testLedger } from '../helpers/ledger.ts';
import { freePort } from '../helpers/ports.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { startMcIasFake } from '../helpers/mcias-fake.ts';
import { mcns } from '../cli/run.ts';
import { CATALOG, servedSerial, startPrimary, startSecondary, type Primary, type Secondary } from './fleet.ts';
import { answerKeys, makeQuery, rcodeOf, udpExchange } from '../transfer/helpers.ts';

test('serialAfterRestore: past every reported serial when all secondaries answered; by the stride when one did not', () => {
  const cases: Array<[string, number, { serials: number[]; allAnswered: boolean }, number]> = [
    ['all answered, one ahead', 2026010101, { serials: [2026010105, 2026010103], allAnswered: true }, 2026010106],
    ['all answered, none ahead', 2026010101, { serials: [2026010101], allAnswered: true }, 2026010102],
    ['all answered, none carries the zone', 2026010101, { serials: [], allAnswered: true }, 2026010102],
    ['one silent', 2026010101, { serials: [2026010105], allAnswered: false }, 2026010101 + RESTORE_STRIDE],
    ['one silent, another far ahead', 2026010101, { serials: [2026010101 + 2 * RESTORE_STRIDE], allAnswered: false }, 2026010102 + 2 * RESTORE_STRIDE],
    ['no targets configured', 7, { serials: [], allAnswered: false }, 7 + RESTORE_STRIDE],
    ['across the 2^32 wrap (RFC 1982)', 4294967290, { serials: [3], allAnswered: true }, 4],
  ];
  for (const [what, current, report, want] of cases) assert.equal(serialAfterRestore(current, report), want, what);
});

test('a snapshot is marked; the live database is not', () => {
  const env = testLedger();
  try {
    env.ledger.execute({ kind: 'createZone', zone: 'm.test', soa: { primary_ns: 'ns.m.test.', admin_email: 'h.m.test.' } }, { actor: 't' });
    const snap = createSnapshot(env.ledger, join(env.dir, 'backups'));
    assert.equal(readSnapshotMark(env.ledger.db), undefined);
    const copy = new Database(snap.path, { readonly: true });
    try {
      assert.deepEqual(readSnapshotMark(copy), { seq: snap.seq, created_at: snap.created_at });
    } finally {
      copy.close();
    }
  } finally {
    env.cleanup();
  }
});

/** rcode + sorted answers of one question. */
async function answer(port: number, name: string, type: string): Promise<string> {
  const msg = await udpExchange(port, makeQuery(name, type, { id: Math.floor(Math.random() * 65535) }), 1000);
  return `${rcodeOf(msg)} ${answerKeys(msg).sort().join(' | ')}`;
}

test('RUNBOOK "Restore from Snapshot" with Knot and BIND attached: serials move past theirs and they converge to the restored content', { skip: requireTool('knotd', 'named'), timeout: 240_000 }, async () => {
  const tmp = tempDir('mcns-restore-');
  const mcias = await startMcIasFake();
  const ports = { knot: await freePort(true), bind: await freePort(true) };
  const dnsPort = await freePort(true);
  let primary: Primary | undefined = await startPrimary({ dir: tmp.dir, notify: ports, catalog: true, dnsPort }, mcias);
  const secs: Secondary[] = [];
  const until = async (s: Secondary, zone: string, serial: number | undefined, timeoutMs: number): Promise<void> => {
    await waitFor(async () => (await servedSerial(s.port, zone)) === serial, { what: () => `${s.kind} to serve ${zone} at ${serial}\n${s.log().slice(-12000)}`, timeoutMs, intervalMs: 25 });
  };
  try {
    const p = primary;
    assert.equal((await p.api('POST', '/v1/zones', { name: 'r.test', primary_ns: 'ns.r.test', admin_email: 'hostmaster@r.test', refresh: 3600 })).status, 201);
    assert.equal((await p.api('POST', '/v1/zones/r.test/records', { name: 'www', type: 'A', value: '192.0.2.1' })).status, 201);
    await waitFor(() => p.server.ledger.zone(CATALOG)?.records.size === 3, { what: 'the catalog to list r.test' });
    for (const kind of ['knot', 'bind'] as const) secs.push(await startSecondary(kind, p, ports[kind], join(tmp.dir, kind)));
    for (const s of secs) await until(s, 'r.test.', p.server.ledger.zone('r.test.')!.serial, 30_000);

    // Backup (RUNBOOK "Backup (Snapshot)"), then life goes on: changes and a new zone reach the secondaries.
    const snap = await mcns(['snapshot', '--config', p.config]);
    assert.equal(snap.code, 0, snap.stderr);
    const snapshotPath = snap.stdout.trim();
    const snapSerial = p.server.ledger.zone('r.test.')!.serial;
    for (let i = 0; i < 3; i++) assert.equal((await p.api('POST', '/v1/zones/r.test/records', { name: `after${i}`, type: 'A', value: `198.51.100.${i}` })).status, 201);
    assert.equal((await p.api('POST', '/v1/zones', { name: 'late.test', primary_ns: 'ns.late.test', admin_email: 'hostmaster@late.test' })).status, 201);
    const heldSerial = p.server.ledger.zone('r.test.')!.serial;
    for (const s of secs) {
      await until(s, 'r.test.', heldSerial, 10_000);
      await until(s, 'late.test.', p.server.ledger.zone('late.test.')!.serial, 10_000);
    }
    const db = join(tmp.dir, 'mcns.db');

    // 1. Stop the service.
    await p.stop();
    primary = undefined;
    // 2. Back up the current database, and move a WAL left behind out of the way.
    copyFileSync(db, `${db}.pre-restore`);
    for (const f of [`${db}-wal`, `${db}-shm`]) if (existsSync(f)) renameSync(f, `${f}.pre-restore`);
    // 3. Copy the snapshot into place.
    copyFileSync(snapshotPath, db);
    // 4. Start the service.
    primary = await startPrimary({ dir: tmp.dir, notify: ports, catalog: true, dnsPort }, mcias);
    const q = primary;
    const restoredSerial = q.server.ledger.zone('r.test.')!.serial;
    const bumpLog = q.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('started from a restored snapshot'));
    assert.ok(bumpLog, 'the start from a marked snapshot is logged');
    console.log(`r.test: snapshot serial ${snapSerial}, secondaries held ${heldSerial}, served after the restore ${restoredSerial}`);
    assert.ok(restoredSerial > heldSerial, 'the restored zone is served past what the secondaries hold');
    assert.equal(readSnapshotMark(q.server.ledger.db), undefined, 'the mark is consumed: the next start bumps nothing');
    assert.equal((q.server.ledger.db.prepare('SELECT COUNT(*) AS n FROM meta WHERE key = ?').get(SNAPSHOT_MARK) as { n: number }).n, 0);
    // 5./6. Healthy and answering the restored content; the secondaries converge to it.
    const want = await answer(dnsPort, 'after0.r.test', 'A');
    assert.match(want, /^3 /, 'after0 is gone from the restored zone (NXDOMAIN)');
    for (const s of secs) {
      await until(s, 'r.test.', restoredSerial, 10_000);
      assert.equal(await answer(s.port, 'after0.r.test', 'A'), want, `${s.kind} no longer has the record added after the snapshot`);
      assert.equal(await answer(s.port, 'www.r.test', 'A'), await answer(dnsPort, 'www.r.test', 'A'));
      await until(s, 'late.test.', undefined, 10_000);
    }
  } finally {
    for (const s of secs) await s.stop();
    await primary?.stop();
    await mcias.close();
    tmp.cleanup();
  }
});
