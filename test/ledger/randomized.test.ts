/**
 * A randomized specification of the ledger: 1,500 random commands, valid and invalid, over several
 * zones. After it: the live projection, a full replay, and the newest checkpoint plus the tail are
 * deeply equal; every refused command changed nothing; the chain verifies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../src/ledger.ts';
import { McnsError } from '../../src/errors.ts';
import { stateDigest } from '../../src/projections/digest.ts';
import { EMPTY_STATE, evolveAll } from '../../src/projections/state.ts';
import { loadCheckpoint } from '../../src/projections/checkpoint.ts';
import { verifyLedger } from '../../src/projections/verify-ledger.ts';
import type { Command, RecordOp } from '../../src/projections/decide.ts';
import { testLedger } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';


const ZONES = ['a.test', 'b.test', 'sub.a.test', 'c.example'];
const NAMES = ['@', 'www', 'mail', 'x.y', '*.w', 'deep.er.name', 'alias', 'sub'];
const VALUES: Record<string, string[]> = {
  A: ['192.0.2.1', '192.0.2.2', '198.51.100.7', '300.1.1.1', 'not-an-ip'],
  AAAA: ['2001:db8::1', '2001:DB8:0:0::2', 'zz::1'],
  CNAME: ['target.a.test.', 'www.b.test', 'bad..name'],
  MX: ['10 mail.a.test.', '20 mx.b.test', 'ten mail'],
  TXT: ['"hello world"', '"a" "b"', '"v=spf1 -all"'],
  NS: ['ns1.a.test.', 'ns2.b.test'],
  SRV: ['10 5 5060 sip.a.test.', '1 2 70000 x.'],
  CAA: ['0 issue "letsencrypt.org"', '0 iodef "mailto:x@a.test"', '999 issue "x"'],
  PTR: ['host.a.test.'],
  HINFO: ['"pc" "linux"'],
};

test('1,500 random commands: live == full replay == checkpoint + tail; refused commands change nothing', () => {
  const random = rng(20261128);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const t = testLedger({ checkpointEvery: 400 });
  let accepted = 0;
  let refused = 0;
  try {
    const { ledger, clock } = t;
    for (let i = 0; i < 1500; i++) {
      clock.advance(Math.floor(random() * 3600_000) - 600_000);
      const zone = pick(ZONES);
      const z = ledger.state.zones.get(`${zone}.`);
      const ids = z ? [...z.records.keys()] : [];
      const r = random();
      let cmd: Command;
      if (r < 0.05 || (!z && r < 0.5)) cmd = { kind: 'createZone', zone, soa: { primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}`, ttl: pick([60, 300, -1]) } };
      else if (r < 0.07) cmd = { kind: 'deleteZone', zone };
      else if (r < 0.1) cmd = { kind: 'updateZone', zone, soa: { refresh: pick([1800, 7200, -3]), minimum: pick([60, 300]) } };
      else if (r < 0.12 && z) {
        const at = { seq: Math.floor(random() * ledger.state.seq) };
        cmd = { kind: 'restoreZone', zone, target: ledger.stateAt(at).zones.get(`${zone}.`), atSeq: at.seq };
      } else {
        const ops: RecordOp[] = [];
        const n = 1 + Math.floor(random() * 3);
        for (let k = 0; k < n; k++) {
          const o = random();
          if (o < 0.6 || ids.length === 0) {
            const type = pick(Object.keys(VALUES));
            const name = pick(NAMES);
            ops.push({ op: 'create', name: name === '@' ? zone : `${name}.${random() < 0.9 ? zone : 'elsewhere.org'}`, type, value: random() < 0.8 ? VALUES[type][0] : pick(VALUES[type]), ttl: pick([undefined, 60, 3600, 60, 2147483648]) });
          } else if (o < 0.8) ops.push({ op: 'update', id: pick([...ids, 'missing']), ttl: pick([30, 600]) });
          else ops.push({ op: 'delete', id: pick([...ids, 'missing']) });
        }
        cmd = { kind: 'changeRecords', zone, ops };
      }
      const before = stateDigest(ledger.state);
      const head = ledger.log.head();
      try {
        ledger.execute(cmd, { actor: `user${i % 3}` });
        accepted++;
      } catch (err) {
        assert.ok(err instanceof McnsError, `command ${i} threw a non-domain error: ${(err as Error).stack}`);
        assert.ok(err.message.length > 0);
        assert.equal(stateDigest(ledger.state), before, `refused command ${i} changed the projection`);
        assert.deepEqual(ledger.log.head(), head, `refused command ${i} wrote to the log`);
        refused++;
      }
    }
    assert.ok(accepted > 300, `accepted ${accepted}`);
    assert.ok(refused > 300, `refused ${refused}`);

    const live = stateDigest(ledger.state);
    const full = stateDigest(evolveAll(EMPTY_STATE, ledger.log.iterate()));
    assert.equal(full, live, 'full replay differs from the live projection');

    const cp = loadCheckpoint(ledger.db);
    assert.ok(cp.state && cp.seq! > 0 && cp.seq! < ledger.state.seq, 'a checkpoint below the head exists');
    const fromCheckpoint = stateDigest(evolveAll(cp.state!, ledger.log.iterate(cp.seq)));
    assert.equal(fromCheckpoint, live, 'checkpoint + tail differs from the live projection');

    const reopened = Ledger.open({ path: t.path });
    assert.equal(stateDigest(reopened.state), live);
    reopened.close();
    assert.deepEqual(verifyLedger(ledger.db), { ok: true, events: ledger.state.seq });
  } finally {
    t.cleanup();
  }
});
