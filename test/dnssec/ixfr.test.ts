/**
 * IXFR of a signed zone carries the changed RRSIGs and denial records: kdig's IXFR from an older
 * serial, applied the way a secondary applies it (deletions must exist), turns the old AXFR into
 * exactly the new AXFR; the answer is incremental (the old SOA opens the first step), not the
 * whole zone. A serial older than anything the signer's journal holds still gets the whole zone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { Ledger } from '../../src/ledger.ts';
import { startServer } from '../../src/server.ts';
import { tempDir } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { run } from '../transfer/helpers.ts';
import { signZone, ZONE } from './helpers.ts';

/** The records of a kdig transfer, one normalized line each, in order. */
async function transfer(port: number, kind: string): Promise<string[]> {
  const r = await run('kdig', ['-p', String(port), '@127.0.0.1', kind, ZONE, '+nocomments', '+nostats', '+noquestion', '+noall', '+answer']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' ')).filter((l) => l.length > 0);
}

const isSoa = (l: string): boolean => l.split(' ')[3] === 'SOA';
const serialOf = (l: string): number => Number(l.split(' ')[6]);

/** Apply an IXFR answer (RFC 1995 framing) to a zone's records; throws when a deletion is missing. */
function applyIxfr(zone: Set<string>, answer: string[]): Set<string> {
  const out = new Set([...zone].filter((l) => !isSoa(l)));
  // Between the opening and closing SOA: per step, the old SOA and its deletions, the new SOA and its additions.
  let deleting = false;
  for (const l of answer.slice(1, -1)) {
    if (isSoa(l)) {
      deleting = !deleting;
      continue;
    }
    if (deleting) {
      assert.ok(out.has(l), `the IXFR deletes ${l}, which the zone does not hold at that step`);
      out.delete(l);
    } else {
      out.add(l);
    }
  }
  out.add(answer[0]);
  return out;
}

test('IXFR of a signed zone: the signer journal steps take the old AXFR to the new one', async (t) => {
  const missing = requireTool('kdig');
  if (missing) return t.skip(missing);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'mcns.db');
  signZone(db, 'ecdsap256sha256', 'nsec3');
  const server = await startServer(loadConfig({ path: writeServerConfig(dir, { tail: ['[transfer]', 'allow_from = ["127.0.0.0/8"]'] }), env: {} }));
  t.after(() => server.stop('test'));
  const port = Number(server.dns[0].udp.split(':').pop());

  const old = await transfer(port, 'AXFR');
  const oldSerial = serialOf(old[0]);
  // Three batches from another process: a new name (the NSEC3 chain grows), a change, a delete.
  const writer = Ledger.open({ path: db, create: false });
  writer.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `fresh.${ZONE}`, type: 'A', value: '192.0.2.77' }] }, { actor: 'test' });
  writer.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `www.${ZONE}`, type: 'A', value: '192.0.2.11' }] }, { actor: 'test' });
  const mail = [...writer.state.zones.get(ZONE)!.records.values()].find((r) => r.name === `mail.${ZONE}` && r.type === 'A')!;
  writer.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'delete', id: mail.id }] }, { actor: 'test' });
  const want = writer.state.zones.get(ZONE)!.serial;
  writer.close();
  await waitFor(() => server.ledger.state.zones.get(ZONE)?.serial === want, { what: 'the server to read the writes', timeoutMs: 10_000 });

  const ixfr = await transfer(port, `IXFR=${oldSerial}`);
  assert.ok(isSoa(ixfr[1]) && serialOf(ixfr[1]) === oldSerial, `incremental: the first step opens with the old SOA (got ${ixfr[1]})`);
  assert.ok(ixfr.length < old.length, `smaller than the zone (${ixfr.length} records against ${old.length})`);
  assert.ok(ixfr.some((l) => l.includes(' RRSIG ')) && ixfr.some((l) => l.includes(' NSEC3 ')), 'signatures and chain records move with the data');
  const now = await transfer(port, 'AXFR');
  const applied = applyIxfr(new Set(old.slice(0, -1)), ixfr);
  assert.deepEqual([...applied].sort(), [...new Set(now.slice(0, -1))].sort());

  // A serial the journal never held: the whole signed zone (AXFR-style IXFR answer).
  const ancient = await transfer(port, `IXFR=${oldSerial - 1000}`);
  assert.deepEqual(new Set(ancient.slice(0, -1)), new Set(now.slice(0, -1)));
});
