/**
 * IXFR from the event log, as a specification: on randomized histories (creates, updates, deletes,
 * SOA changes, restores), applying the IXFR between ANY two serials to the old zone gives the new
 * zone, per serial step and condensed; the fallbacks to AXFR; and the answers on the wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planIxfr, applyIxfr, type IxfrPlan } from '../../src/dns/transfer/ixfr.ts';
import { createTransferHandlers } from '../../src/dns/transfer/index.ts';
import type { ZoneState } from '../../src/projections/state.ts';
import { allRecords } from '../../src/projections/trie.ts';
import type { RecordOp } from '../../src/projections/decide.ts';
import type { Ledger } from '../../src/ledger.ts';
import { testLedger } from '../helpers/ledger.ts';
import { answerKeys, decode, makeQuery, rcodeOf, run, startMiniDns, streamComplete, tcpExchange, udpExchange } from './helpers.ts';
import { requireTool } from '../helpers/tools.ts';
import { rng } from '../helpers/rng.ts';


const ZONE = 'hist.test.';

/** The zone's records (without SOA) as "name type value" -> ttl. */
function recordSet(zone: ZoneState): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of allRecords(zone.tree)) if (r.type !== 'SOA') m.set(`${r.name} ${r.type} ${r.value}`, r.ttl);
  return m;
}

/** Build a random history; returns each serial with the seq of the batch that set it. */
function randomHistory(ledger: Ledger, seed: number, batches: number): Array<{ serial: number; seq: number }> {
  const rand = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const points: Array<{ serial: number; seq: number }> = [];
  const r0 = ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: 'ns1.hist.test.', admin_email: 'hostmaster.hist.test.' } }, { actor: 'test' });
  points.push({ serial: r0.serial!, seq: r0.lastSeq! });
  const names = ['www', 'mail', 'a', 'b.c', 'deep.er', 'x', 'y', 'z'];
  for (let i = 0; i < batches; i++) {
    const zone = ledger.zone(ZONE)!;
    const records = [...zone.records.values()];
    const roll = rand();
    let res;
    if (roll < 0.08) {
      res = ledger.execute({ kind: 'updateZone', zone: ZONE, soa: { refresh: 1000 + Math.floor(rand() * 5000), ttl: 60 + Math.floor(rand() * 600) } }, { actor: 'test' });
    } else if (roll < 0.16 && points.length > 2) {
      const back = pick(points.slice(0, -1));
      const target = ledger.stateAt({ seq: back.seq }).zones.get(ZONE);
      res = ledger.execute({ kind: 'restoreZone', zone: ZONE, target, atSeq: back.seq }, { actor: 'test' });
    } else {
      const ops: RecordOp[] = [];
      const n = 1 + Math.floor(rand() * 6);
      const touched = new Set<string>();
      for (let k = 0; k < n; k++) {
        const c = rand();
        const victim = records.filter((r) => r.type !== 'NS' && !touched.has(r.id));
        if (c < 0.5 || victim.length === 0) {
          const name = `${pick(names)}.${ZONE}`;
          const type = pick(['A', 'AAAA', 'TXT', 'MX'] as const);
          const value =
            type === 'A' ? `192.0.2.${Math.floor(rand() * 250)}`
            : type === 'AAAA' ? `2001:db8::${Math.floor(rand() * 65535).toString(16)}`
            : type === 'TXT' ? `"t${Math.floor(rand() * 1000)}"`
            : `${Math.floor(rand() * 50)} mx${Math.floor(rand() * 5)}.hist.test.`;
          ops.push({ op: 'create', name, type, value, ttl: pick([60, 300, 3600]) });
        } else if (c < 0.75) {
          const r = pick(victim);
          touched.add(r.id);
          ops.push({ op: 'delete', id: r.id });
        } else {
          const r = pick(victim);
          touched.add(r.id);
          ops.push(rand() < 0.5 ? { op: 'update', id: r.id, ttl: pick([30, 120, 7200]) } : { op: 'update', id: r.id, value: r.type === 'A' ? `198.51.100.${Math.floor(rand() * 250)}` : r.value, ttl: 99 });
        }
      }
      try {
        res = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops }, { actor: 'test' });
      } catch {
        continue; // duplicates and CNAME rules refuse some random batches: nothing was written
      }
    }
    if (res.lastSeq !== undefined && res.serial !== undefined) points.push({ serial: res.serial, seq: res.lastSeq });
  }
  return points;
}

/** Zone states by seq, computed once per point (the projection is the independent oracle here). */
const zoneCache = new Map<string, ZoneState>();
function zoneAt(ledger: Ledger, seq: number): ZoneState {
  const k = `${ledger.db.name}|${seq}`;
  let z = zoneCache.get(k);
  if (!z) {
    z = ledger.stateAt({ seq }).zones.get(ZONE)!;
    zoneCache.set(k, z);
  }
  return z;
}

function checkPair(ledger: Ledger, from: { serial: number; seq: number }, to: { serial: number; seq: number }, condense: boolean): IxfrPlan['kind'] {
  const old = zoneAt(ledger, from.seq);
  const neu = zoneAt(ledger, to.seq);
  const plan = planIxfr(ledger.db, neu, from.serial, { condense });
  if (from.serial === to.serial) {
    assert.equal(plan.kind, 'uptodate');
    return plan.kind;
  }
  if (plan.kind === 'axfr') {
    // Only allowed when the difference really is larger than the zone.
    const a = recordSet(old);
    const b = recordSet(neu);
    let diff = 0;
    for (const [k, ttl] of a) if (b.get(k) !== ttl) diff++;
    for (const [k, ttl] of b) if (a.get(k) !== ttl) diff++;
    assert.ok(diff + 2 > neu.records.size + 1, `fell back to AXFR (${plan.reason}) for a difference of ${diff} in a zone of ${neu.records.size}`);
    return plan.kind;
  }
  if (plan.kind !== 'ixfr') return assert.fail(`unexpected ${plan.kind}`);
  assert.equal(plan.steps[0].fromSerial, from.serial);
  assert.equal(plan.steps[plan.steps.length - 1].toSerial, to.serial);
  assert.equal(plan.steps[0].fromSoa.value, old.tree.rrsets.get('SOA')!.records[0].value, 'first step starts from the old SOA');
  assert.equal(plan.soa.value, neu.tree.rrsets.get('SOA')!.records[0].value, 'the answer is framed by the new SOA');
  for (let i = 1; i < plan.steps.length; i++) assert.equal(plan.steps[i].fromSerial, plan.steps[i - 1].toSerial);
  assert.deepEqual(applyIxfr(recordSet(old), plan), recordSet(neu), `IXFR ${from.serial} -> ${to.serial} (condense=${condense})`);
  return plan.kind;
}

for (const seed of [1, 2, 3]) {
  test(`randomized history (seed ${seed}): the IXFR between any two serials turns the old zone into the new one`, () => {
    const env = testLedger();
    try {
      const points = randomHistory(env.ledger, seed, 50);
      assert.ok(points.length > 30, `${points.length} serials`);
      const kinds = new Map<string, number>();
      for (let i = 0; i < points.length; i++) {
        for (let j = i; j < points.length; j++) {
          for (const condense of [false, true]) {
            const k = checkPair(env.ledger, points[i], points[j], condense);
            kinds.set(k, (kinds.get(k) ?? 0) + 1);
          }
        }
      }
      assert.ok((kinds.get("ixfr") ?? 0) > 300, JSON.stringify([...kinds]));
    } finally {
      env.cleanup();
    }
  });
}

test('IXFR falls back to AXFR for an unknown serial, a serial from before the zone was re-created, and a difference larger than the zone', () => {
  const env = testLedger();
  try {
    const { ledger } = env;
    ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: 'ns1.hist.test.', admin_email: 'h.hist.test.' } }, { actor: 't' });
    const ops: RecordOp[] = Array.from({ length: 20 }, (_, i) => ({ op: 'create', name: `n${i}.${ZONE}`, type: 'A', value: `192.0.2.${i}` }));
    const r1 = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops }, { actor: 't' });
    assert.equal(planIxfr(ledger.db, ledger.zone(ZONE)!, 12345).kind, 'axfr');
    // r1 -> r2 deletes 20 records and adds one: 21 changes for a zone of 2 records.
    const dels: RecordOp[] = [...ledger.zone(ZONE)!.records.values()].filter((r) => r.type === 'A').map((r) => ({ op: 'delete', id: r.id }));
    const r2 = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [...dels, { op: 'create', name: `v.${ZONE}`, type: 'A', value: '192.0.2.98' }] }, { actor: 't' });
    const big = planIxfr(ledger.db, ledger.zone(ZONE)!, r1.serial!);
    assert.equal(big.kind, 'axfr');
    const small = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `w.${ZONE}`, type: 'A', value: '192.0.2.99' }] }, { actor: 't' });
    const p = planIxfr(ledger.db, ledger.zone(ZONE)!, r2.serial!);
    assert.equal(p.kind, 'ixfr');
    assert.equal(planIxfr(ledger.db, ledger.zone(ZONE)!, small.serial!).kind, 'uptodate');
    ledger.execute({ kind: 'deleteZone', zone: ZONE }, { actor: 't' });
    ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: 'ns1.hist.test.', admin_email: 'h.hist.test.' } }, { actor: 't' });
    const again = planIxfr(ledger.db, ledger.zone(ZONE)!, small.serial!);
    assert.equal(again.kind, 'axfr');
  } finally {
    env.cleanup();
  }
});

test('IXFR on the wire: TCP gets the RFC 1995 sequence, UDP the same when it fits in a datagram (else the single current SOA), dig applies it', async (t) => {
  const env = testLedger();
  const handlers = createTransferHandlers({ ledger: env.ledger, config: { allow_from: ['127.0.0.0/8'], allow_keys: [], notify: [], keys: {} } });
  const dns = await startMiniDns(() => env.ledger.state, handlers);
  try {
    const { ledger } = env;
    const ops: RecordOp[] = Array.from({ length: 30 }, (_, i) => ({ op: 'create', name: `n${i}.${ZONE}`, type: 'A', value: `192.0.2.${i}` }));
    const created = ledger.execute({ kind: 'createZone', zone: ZONE, soa: { primary_ns: 'ns1.hist.test.', admin_email: 'h.hist.test.' } }, { actor: 't' });
    const base = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops }, { actor: 't' });
    const n0 = [...ledger.zone(ZONE)!.records.values()].find((r) => r.name === `n0.${ZONE}`)!;
    const s1 = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'update', id: n0.id, value: '198.51.100.1' }] }, { actor: 't' });
    const s2 = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `new.${ZONE}`, type: 'TXT', value: '"hello"' }] }, { actor: 't' });
    const soaAuth = (serial: number) => [{ name: ZONE.slice(0, -1), type: 'SOA', ttl: 0, class: 'IN', data: { mname: 'ns1.hist.test', rname: 'h.hist.test', serial, refresh: 1, retry: 1, expire: 1, minimum: 1 } }] as never;
    const msgs = await tcpExchange(dns.port, makeQuery(ZONE, 'IXFR', { authority: soaAuth(base.serial!) }), streamComplete());
    const keys = msgs.flatMap(answerKeys);
    const serials = keys.filter((k) => k.includes(' SOA ')).map((k) => Number(k.split(' ')[5]));
    assert.deepEqual(serials, [s2.serial, base.serial, s1.serial, s1.serial, s2.serial, s2.serial]);
    assert.ok(keys[2].includes('A') && keys[2].endsWith('192.0.2.0'), 'step 1 deletes the old A');
    assert.ok(keys[4].endsWith('198.51.100.1'), 'step 1 adds the new A');
    assert.ok(keys[7].endsWith('"hello"'), 'step 2 adds the TXT');
    // Over UDP (RFC 1995 2): the same sequence when it fits in one datagram (512 bytes without EDNS);
    // up to date, or too large (the 30 records of the base batch), the single current SOA.
    const udpSmall = await udpExchange(dns.port, makeQuery(ZONE, 'IXFR', { authority: soaAuth(base.serial!) }));
    assert.ok(udpSmall.length <= 512, `${udpSmall.length} bytes`);
    assert.deepEqual(answerKeys(udpSmall), keys);
    for (const serial of [created.serial!, s2.serial!]) {
      const udp = await udpExchange(dns.port, makeQuery(ZONE, 'IXFR', { authority: soaAuth(serial) }));
      assert.equal(rcodeOf(udp), 0);
      const ans = decode(udp).answers ?? [];
      assert.equal(ans.length, 1);
      assert.equal(ans[0].type, 'SOA');
    }
    // IXFR without the SOA in the authority section is malformed.
    const bare = await tcpExchange(dns.port, makeQuery(ZONE, 'IXFR'), () => true);
    assert.equal(rcodeOf(bare[0]), 1);
    await t.test('dig reads the IXFR', { skip: requireTool('dig') }, async () => {
      const r = await run('dig', ['@127.0.0.1', '-p', String(dns.port), ZONE, `IXFR=${base.serial}`, '+tcp']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /XFR size: 9 records/);
    });
  } finally {
    await dns.close();
    handlers.close();
    env.cleanup();
  }
});
