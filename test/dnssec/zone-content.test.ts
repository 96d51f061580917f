/**
 * The bridge from the projection to the signer: a zone written through the real ledger, kept signed
 * by applying each write's trie diff (diffZoneRRsets) to a SignedZone, equals the zone signed from
 * scratch from the new state (Ed25519: deterministic bytes) after every write, for writes of many
 * types, deletes, a delegation appearing, and TTL changes; and the full zone passes dnssec-verify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, privateKeyObject } from '../../src/dnssec/algorithms.ts';
import { SignedZone, type SignedZoneOptions } from '../../src/dnssec/signed-zone.ts';
import { zoneKeyRdata, type ZoneKey } from '../../src/dnssec/zone-keys.ts';
import { diffZoneRRsets, zoneRRsets } from '../../src/dnssec/zone-content.ts';
import { testLedger } from '../helpers/ledger.ts';
import { requireTool } from '../helpers/tools.ts';
import type { ZoneState } from '../../src/projections/state.ts';

function serialize(z: SignedZone): string[] {
  return [...z.records()].map((rs) => `${rs.owner} ${rs.type} ${rs.ttl} ${rs.rdatas.map((r) => Buffer.from(r).toString('hex')).sort().join(',')}`).sort();
}

test('a ledger zone kept signed write by write equals the zone signed afresh, and dnssec-verify accepts it', (t) => {
  const { ledger, dir, cleanup } = testLedger();
  t.after(cleanup);
  const actor = { actor: 'test' };
  ledger.execute({ kind: 'createZone', zone: 'signed.test', soa: { primary_ns: 'ns1.signed.test.', admin_email: 'hostmaster@signed.test' } }, actor);
  const m = generateKey('ed25519');
  const { tag } = zoneKeyRdata({ role: 'csk', publicKey: m.publicKey, algorithm: 'ed25519' });
  const keys: ZoneKey[] = [{ role: 'csk', algorithm: 'ed25519', publicKey: m.publicKey, signing: { algorithm: 'ed25519', keyTag: tag, privateKey: privateKeyObject(m.privatePkcs8) } }];
  const opts: SignedZoneOptions = { zone: 'signed.test.', keys, denial: 'nsec3', dnskeyTtl: 3600 };
  // Real time: dnssec-verify checks the validity window against its own clock.
  const now = Math.floor(Date.now() / 1000);
  let zone = ledger.zone('signed.test.') as ZoneState;
  const live = SignedZone.build(opts, zoneRRsets(zone), now);

  const writes: Array<Array<{ op: string; name: string; type: string; value?: string; ttl?: number; id?: string }>> = [
    [{ op: 'create', name: 'ns1.signed.test', type: 'A', value: '192.0.2.1' }],
    [{ op: 'create', name: 'www.signed.test', type: 'A', value: '192.0.2.10' }, { op: 'create', name: 'www.signed.test', type: 'AAAA', value: '2001:db8::10' }],
    [{ op: 'create', name: 'signed.test', type: 'MX', value: '10 mail.signed.test.' }, { op: 'create', name: 'mail.signed.test', type: 'TXT', value: 'v=spf1 mx -all' }],
    [{ op: 'create', name: '_443._tcp.www.signed.test', type: 'TLSA', value: '3 1 1 ' + 'ab'.repeat(32) }],
    [{ op: 'create', name: 'alias.signed.test', type: 'CNAME', value: 'www.signed.test.' }],
    [{ op: 'create', name: 'sub.signed.test', type: 'NS', value: 'ns.sub.signed.test.' }, { op: 'create', name: 'ns.sub.signed.test', type: 'A', value: '192.0.2.53' }],
    [{ op: 'create', name: 'sub.signed.test', type: 'DS', value: '12345 13 2 ' + 'cd'.repeat(32) }],
    [{ op: 'create', name: 'www.signed.test', type: 'A', value: '192.0.2.11', ttl: 60 }],
    [{ op: 'create', name: '*.wild.signed.test', type: 'TXT', value: 'wild' }],
  ];
  for (const ops of writes) {
    ledger.execute({ kind: 'changeRecords', zone: 'signed.test.', ops } as Parameters<typeof ledger.execute>[0], actor);
    const next = ledger.zone('signed.test.') as ZoneState;
    let changes = 0;
    diffZoneRRsets(zone.tree, next.tree, (owner, type, after) => {
      live.replace(owner, type, after, now);
      changes++;
    });
    assert.ok(changes >= 2, 'a write changes its RRsets and the SOA');
    zone = next;
    assert.deepEqual(serialize(live), serialize(SignedZone.build(opts, zoneRRsets(zone), now)), `after ${JSON.stringify(ops)}`);
  }
  const deleteId = [...zone.records.values()].find((r) => r.name === 'alias.signed.test.')?.id as string;
  ledger.execute({ kind: 'changeRecords', zone: 'signed.test.', ops: [{ op: 'delete', id: deleteId }] } as unknown as Parameters<typeof ledger.execute>[0], actor);
  const next = ledger.zone('signed.test.') as ZoneState;
  diffZoneRRsets(zone.tree, next.tree, (owner, type, after) => live.replace(owner, type, after, now));
  assert.deepEqual(serialize(live), serialize(SignedZone.build(opts, zoneRRsets(next), now)), 'after a delete');

  const missing = requireTool('dnssec-verify');
  if (missing) return t.skip(missing);
  const lines = [...live.records()].flatMap((rs) => rs.rdatas.map((r) => `${rs.owner} ${rs.ttl} IN TYPE${rs.type} \\# ${r.length} ${Buffer.from(r).toString('hex')}`));
  const file = join(dir, 'signed.zone');
  writeFileSync(file, lines.join('\n') + '\n');
  const r = spawnSync('dnssec-verify', ['-z', '-o', 'signed.test.', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
