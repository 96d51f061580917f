/**
 * Checkpoint digests. The attack: edit a stored checkpoint (inflate its record block, change one
 * address, deflate, fix up the header's block lengths) and restart. The checkpoint must be refused
 * (its digest, bound to the log's hash at its seq, no longer matches), an error logged, and the true
 * data served: by the ledger, by a point-in-time read, and over DNS by the real server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { deflateSync, inflateSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { Ledger } from '../../src/ledger.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { startServer } from '../../src/server.ts';
import { ask } from '../dns/helpers.ts';
import { tempDir, testLedger } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';

const ZONE = 'forge.test';
const ZONE_FILE = `$TTL 60\n@ SOA ns.${ZONE}. h.${ZONE}. 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n`;

/**
 * Where the JSON header starts in a stored checkpoint: right at the start, or after a fixed-size
 * prefix (a digest). Found by looking, as an attacker would, so this forgery works on any layout.
 */
function headerOffset(blob: Buffer): number {
  for (const off of [0, 32, 64]) {
    if (blob.length < off + 4) continue;
    const len = blob.readUInt32BE(off);
    try {
      const h = JSON.parse(blob.toString('utf8', off + 4, off + 4 + len)) as { blocks?: unknown };
      if (Array.isArray(h.blocks)) return off;
    } catch {
      // not here
    }
  }
  throw new Error('no checkpoint header found');
}

/** Inflate each block, replace `from` by `to` in the record lines, deflate, rewrite the header's block sizes. */
function forge(blob: Buffer, from: string, to: string): Buffer {
  const off = headerOffset(blob);
  const headLen = blob.readUInt32BE(off);
  const header = JSON.parse(blob.toString('utf8', off + 4, off + 4 + headLen)) as { blocks: number[] };
  let pos = off + 4 + headLen;
  let changed = false;
  const blocks = header.blocks.map((size) => {
    const text = inflateSync(blob.subarray(pos, pos + size)).toString('latin1');
    pos += size;
    if (text.includes(from)) changed = true;
    return deflateSync(Buffer.from(text.replace(from, to), 'latin1'), { level: 1 });
  });
  assert.ok(changed, `the checkpoint holds ${from}`);
  header.blocks = blocks.map((b) => b.length);
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([blob.subarray(0, off), len, head, ...blocks]);
}

function forgeCheckpoint(db: Database.Database, seq: number, from: string, to: string): void {
  const { data } = db.prepare('SELECT data FROM checkpoints WHERE seq = ?').get(seq) as { data: Buffer };
  db.prepare('UPDATE checkpoints SET data = ? WHERE seq = ?').run(forge(data, from, to), seq);
}

function wwwAddress(ledger: Ledger): string | undefined {
  return [...(ledger.zone(`${ZONE}.`)?.records.values() ?? [])].find((r) => r.name === `www.${ZONE}.` && r.type === 'A')?.value;
}

test('an edited checkpoint is refused at start-up (error reported), and the true data is loaded', () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand(ZONE, ZONE_FILE), { actor: 'test' });
    const seq = t.ledger.checkpoint();
    const live = stateDigest(t.ledger.state);
    forgeCheckpoint(t.ledger.db, seq, '192.0.2.80', '203.0.113.6');
    const reported: string[] = [];
    const reopened = Ledger.open({ path: t.path, onCheckpointRejected: (r) => reported.push(...r) });
    try {
      assert.equal(wwwAddress(reopened), '192.0.2.80', 'the true address, not the forged one');
      assert.equal(stateDigest(reopened.state), live);
      assert.equal(reopened.startup.checkpointSeq, undefined, 'the forged checkpoint was not used');
      assert.match(reported.join('\n'), new RegExp(`checkpoint at ${seq} does not match its digest`));
      assert.deepEqual(reopened.startup.rejected, reported);
    } finally {
      reopened.close();
    }
  } finally {
    t.cleanup();
  }
});

test('an edited newest checkpoint falls back to the older intact one; a point-in-time read also refuses it', async () => {
  const t = testLedger();
  try {
    t.ledger.execute(importCommand(ZONE, ZONE_FILE), { actor: 'test' });
    const older = t.ledger.checkpoint();
    t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `mail.${ZONE}.`, type: 'A', value: '192.0.2.25' }] }, { actor: 'test' });
    const newer = t.ledger.checkpoint();
    t.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `ftp.${ZONE}.`, type: 'A', value: '192.0.2.21' }] }, { actor: 'test' });
    const live = stateDigest(t.ledger.state);
    forgeCheckpoint(t.ledger.db, newer, '192.0.2.80', '203.0.113.6');
    const reported: Array<[string[], string]> = [];
    const reopened = Ledger.open({ path: t.path, onCheckpointRejected: (r, during) => reported.push([r, during]) });
    try {
      assert.equal(reopened.startup.checkpointSeq, older);
      assert.equal(stateDigest(reopened.state), live);
      assert.equal(reported.length, 1);
      assert.equal(reported[0][1], 'startup');
      // The past at the forged checkpoint's own seq: the worker passes over it too, and says so.
      const at = await reopened.pointInTime.read(newer, { kind: 'records', zone: `${ZONE}.`, name: `www.${ZONE}.`, type: 'A' });
      assert.ok(!at.missing);
      assert.deepEqual(at.value.records.map((r) => r.value), ['192.0.2.80']);
      assert.equal(reopened.pointInTime.lastStats?.base, older, 'folded from the older, intact checkpoint');
      assert.equal(reported.length, 2);
      assert.equal(reported[1][1], 'point-in-time read');
      assert.match(reported[1][0].join(), new RegExp(`checkpoint at ${newer} does not match its digest`));
    } finally {
      reopened.close();
    }
  } finally {
    t.cleanup();
  }
});

test('the real server: a forged checkpoint is logged as an error and DNS serves the true address; checkpoints log the chain head', async () => {
  const { dir, cleanup } = tempDir();
  const cfg = writeServerConfig(dir);
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  );
  try {
    const first = await startServer(loadConfig({ path: cfg, env: {} }), { logger });
    first.ledger.execute(importCommand(ZONE, ZONE_FILE), { actor: 'test' });
    const head = first.ledger.log.head();
    await first.stop('test'); // writes the checkpoint at exit
    const written = lines.find((l) => l.msg === 'checkpoint written');
    assert.ok(written, 'the checkpoint written at exit is logged');
    assert.equal(written.seq, head.seq);
    assert.equal(written.hash, head.hash, 'with the chain head it was taken at');
    assert.match(String(written.digest), /^[0-9a-f]{64}$/);

    const db = Ledger.open({ path: `${dir}/mcns.db`, create: false });
    forgeCheckpoint(db.db, head.seq, '192.0.2.80', '203.0.113.6');
    db.close();

    lines.length = 0;
    const second = await startServer(loadConfig({ path: cfg, env: {} }), { logger });
    try {
      const errors = lines.filter((l) => l.level === 50 && String(l.msg).startsWith('checkpoint rejected'));
      assert.equal(errors.length, 1, 'one error line names the rejected checkpoint');
      assert.match(JSON.stringify(errors[0].rejected), /does not match its digest/);
      const port = Number(second.dns[0].udp.split(':').pop());
      const reply = await ask(port, { name: `www.${ZONE}.` });
      assert.equal(reply.rcode, 'NOERROR');
      assert.deepEqual(reply.answer, [`www.${ZONE}. 60 IN A 192.0.2.80`]);
    } finally {
      await second.stop('test');
    }
  } finally {
    cleanup();
  }
});
