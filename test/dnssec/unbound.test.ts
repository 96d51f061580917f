/**
 * The proof that MCNS's signed answers validate: a real Unbound, given MCNS as the stub for the
 * zone and the DS MCNS publishes as its only trust anchor, answers every kind of query with the AD
 * bit — positive, NODATA, NXDOMAIN, wildcard, CNAME, a referral, DNSKEY itself — for both
 * algorithms and both denial modes, before and after a change (written by another process, as
 * `mcns ... --db` would). The same resolver given a wrong DS answers SERVFAIL, so the test cannot
 * pass vacuously.
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
import { buildQuery, udpExchange } from '../dns/helpers.ts';
import { assertValidates, CASES, NOERROR, resolve, SERVFAIL, signZone, startUnbound, ZONE } from './helpers.ts';

for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
  for (const denial of ['nsec', 'nsec3'] as const) {
    test(`Unbound validates MCNS's answers (${algorithm}, ${denial}), and refuses them under a wrong DS`, async (t) => {
      const missing = requireTool('unbound');
      if (missing) return t.skip(missing);
      const { dir, cleanup } = tempDir();
      t.after(cleanup);
      const db = join(dir, 'mcns.db');
      const anchor = signZone(db, algorithm, denial);
      const server = await startServer(loadConfig({ path: writeServerConfig(dir), env: {} }));
      t.after(() => server.stop('test'));
      const mcnsPort = Number(server.dns[0].udp.split(':').pop());

      const good = await startUnbound(dir, mcnsPort, anchor);
      t.after(good.stop);
      await assertValidates(good.port, 'MCNS');

      // Without DO: no DNSSEC records, except the DNSKEY RRset itself when asked for.
      const plain = await udpExchange(mcnsPort, buildQuery({ name: ZONE, type: 48 }));
      assert.deepEqual([plain[3] & 0xf, plain.readUInt16BE(6)], [NOERROR, 2], 'DNSKEY without DO: the two keys, no RRSIG');
      const www = await udpExchange(mcnsPort, buildQuery({ name: `www.${ZONE}`, type: 1, edns: { size: 1232 } }));
      assert.deepEqual([www[3] & 0xf, www.readUInt16BE(6)], [NOERROR, 1], 'A without DO: the record alone');

      // A change written by another process (as `mcns ... --db` would): served signed within a second.
      const other = Ledger.open({ path: db, create: false });
      other.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `new.${ZONE}`, type: 'A', value: '192.0.2.99' }] }, { actor: 'test' });
      other.close();
      const after = await waitFor(async () => {
        const r = await resolve(good.port, `new.${ZONE}`, 1);
        return r.rcode === NOERROR && r.answers > 0 && r;
      }, { what: 'the new record to resolve', timeoutMs: 10_000 });
      assert.equal(after.ad, true, 'a record added after signing validates');
      await assertValidates(good.port, 'after the change', CASES.slice(0, 5));

      // A restore to before the change is re-signed like any write: the name is gone, provably.
      const seqBefore = server.ledger.state.seq - 2; // before the batch (its record and its serial bump)
      const target = server.ledger.stateAt({ seq: seqBefore }).zones.get(ZONE);
      server.ledger.execute({ kind: 'restoreZone', zone: ZONE, target, atSeq: seqBefore }, { actor: 'test' });
      const gone = await resolve(good.port, `new.${ZONE}`, 1);
      assert.deepEqual([gone.rcode, gone.ad], [3, true], 'after the restore: NXDOMAIN, validated');
      await assertValidates(good.port, 'after the restore', CASES.slice(0, 5));

      // The control: the same resolver setup with a DS that matches no key must fail validation.
      const wrong = anchor.replace(/[0-9A-F]{64}$/, 'CD'.repeat(32));
      const bad = await startUnbound(dir, mcnsPort, wrong);
      t.after(bad.stop);
      assert.equal((await resolve(bad.port, `www.${ZONE}`, 1)).rcode, SERVFAIL, 'a wrong DS must give SERVFAIL');
    });
  }
}
