/**
 * The catalog zone (RFC 9432, version 2) as a zone of the log: the maintainer creates it, lists one
 * member per zone with an ID derived from the event that created the zone (a re-created zone gets a
 * new one), follows creations and deletions with batches of its own (its serial moves), keeps group
 * properties, and the catalog is served by AXFR and by IXFR from the log like any zone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogMaintainer, setZoneGroup } from '../../src/catalog/maintainer.ts';
import { memberId } from '../../src/catalog/catalog.ts';
import { createTransferHandlers } from '../../src/dns/transfer/index.ts';
import { serialCompare } from '../../src/projections/serial.ts';
import { testLedger } from '../helpers/ledger.ts';
import { waitFor } from '../helpers/wait.ts';
import { answerKeys, makeQuery, startMiniDns, streamComplete, tcpExchange } from '../transfer/helpers.ts';
import type { Ledger } from '../../src/ledger.ts';

const CATALOG = 'catalog.mcns.invalid.';

/** Member zone -> ID, from the catalog's PTR records. */
function members(ledger: Ledger): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of ledger.zone(CATALOG)?.records.values() ?? []) {
    if (r.type === 'PTR') out.set(r.value, r.name.slice(0, r.name.indexOf('.')));
  }
  return out;
}

const create = (ledger: Ledger, zone: string): void => {
  ledger.execute({ kind: 'createZone', zone, soa: { primary_ns: `ns.${zone}`, admin_email: `h.${zone}` } }, { actor: 't' });
};

test('the catalog lists every zone once, with version "2" and NS invalid., and follows creations and deletions; a re-created zone gets a new ID', async () => {
  const env = testLedger();
  create(env.ledger, 'a.test.');
  const m = new CatalogMaintainer(env.ledger, CATALOG);
  try {
    m.start();
    const cat = env.ledger.zone(CATALOG)!;
    assert.ok(cat, 'created at start');
    const recs = [...cat.records.values()].map((r) => `${r.name} ${r.type} ${r.value}`);
    assert.ok(recs.includes(`${CATALOG} NS invalid.`));
    assert.ok(recs.includes(`version.${CATALOG} TXT "2"`));
    assert.deepEqual([...members(env.ledger).keys()], ['a.test.']);
    const createdHash = (env.ledger.db.prepare("SELECT hash FROM events WHERE zone = 'a.test.' AND type = 'ZoneCreated'").get() as { hash: string }).hash;
    assert.equal(members(env.ledger).get('a.test.'), memberId(createdHash), 'the ID comes from the ZoneCreated event');
    assert.match(members(env.ledger).get('a.test.')!, /^[a-z0-9]+$/, 'one label');

    const s1 = env.ledger.zone(CATALOG)!.serial;
    create(env.ledger, 'b.test.');
    await waitFor(() => members(env.ledger).has('b.test.'), { what: 'b.test. listed' });
    const s2 = env.ledger.zone(CATALOG)!.serial;
    assert.ok(serialCompare(s2, s1) > 0, 'the catalog serial moved');
    assert.equal(env.ledger.zone(CATALOG)!.records.size, 4, 'NS, version and two members: the catalog does not list itself');

    const idA = members(env.ledger).get('a.test.');
    const idB = members(env.ledger).get('b.test.');
    env.ledger.execute({ kind: 'deleteZone', zone: 'a.test.' }, { actor: 't' });
    await waitFor(() => !members(env.ledger).has('a.test.'), { what: 'a.test. dropped' });
    create(env.ledger, 'a.test.');
    await waitFor(() => members(env.ledger).has('a.test.'), { what: 'a.test. listed again' });
    assert.notEqual(members(env.ledger).get('a.test.'), idA, 'a re-created zone gets a new ID (consumers reset it)');
    assert.equal(members(env.ledger).get('b.test.'), idB, 'the other member keeps its ID');
    const writes = m.writes;
    env.ledger.execute({ kind: 'changeRecords', zone: 'b.test.', ops: [{ op: 'create', name: 'www.b.test.', type: 'A', value: '192.0.2.1' }] }, { actor: 't' });
    create(env.ledger, 'c.test.');
    await waitFor(() => members(env.ledger).has('c.test.'), { what: 'c.test. listed' });
    assert.equal(m.writes, writes + 1, 'a record change writes nothing to the catalog; a new zone one batch');
  } finally {
    m.stop();
    env.cleanup();
  }
});

test('a catalog maintainer started later catches up with zones created and deleted while it was not running', async () => {
  const env = testLedger();
  const m1 = new CatalogMaintainer(env.ledger, CATALOG);
  m1.start();
  m1.stop();
  create(env.ledger, 'x.test.');
  create(env.ledger, 'y.test.');
  const m2 = new CatalogMaintainer(env.ledger, CATALOG);
  try {
    m2.start();
    assert.deepEqual([...members(env.ledger).keys()].sort(), ['x.test.', 'y.test.']);
  } finally {
    m2.stop();
    env.cleanup();
  }
});

test('group properties are set and cleared per zone and kept while the member lives', async () => {
  const env = testLedger();
  create(env.ledger, 'g.test.');
  const m = new CatalogMaintainer(env.ledger, CATALOG);
  try {
    m.start();
    const id = members(env.ledger).get('g.test.')!;
    setZoneGroup(env.ledger, CATALOG, 'g.test', 'signed-zones', 'admin');
    const groupOf = (): string | undefined => [...env.ledger.zone(CATALOG)!.records.values()].find((r) => r.name === `group.${id}.zones.${CATALOG}`)?.value;
    assert.equal(groupOf(), '"signed-zones"');
    create(env.ledger, 'h.test.');
    await waitFor(() => members(env.ledger).has('h.test.'), { what: 'h.test. listed' });
    assert.equal(groupOf(), '"signed-zones"', 'a catalog update keeps the groups of the members that stay');
    setZoneGroup(env.ledger, CATALOG, 'g.test', undefined, 'admin');
    assert.equal(groupOf(), undefined);
    assert.throws(() => setZoneGroup(env.ledger, CATALOG, 'g.test', ' bad', 'admin'), /printable/);
    assert.throws(() => setZoneGroup(env.ledger, CATALOG, 'nope.test', 'x', 'admin'), /does not exist/);
  } finally {
    m.stop();
    env.cleanup();
  }
});

test('the catalog is served by AXFR and by IXFR from the log, to the transfer ACL', async () => {
  const env = testLedger();
  create(env.ledger, 'p.test.');
  const m = new CatalogMaintainer(env.ledger, CATALOG);
  m.start();
  const xfr = createTransferHandlers({ ledger: env.ledger, config: { allow_from: ['127.0.0.1/32'], allow_keys: [], notify: [], keys: {} } });
  const dns = await startMiniDns(() => env.ledger.state, xfr);
  try {
    const before = env.ledger.zone(CATALOG)!.serial;
    create(env.ledger, 'q.test.');
    await waitFor(() => members(env.ledger).has('q.test.'), { what: 'q.test. listed' });
    const axfr = (await tcpExchange(dns.port, makeQuery(CATALOG, 'AXFR'), streamComplete())).flatMap(answerKeys);
    assert.ok(axfr.some((k) => / PTR \d+ q\.test\.$/.test(k)), `AXFR lists q.test: ${axfr.join('\n')}`);
    assert.ok(axfr.includes(`version.${CATALOG} TXT 0 "2"`), 'AXFR carries the schema version');
    const ixfrQuery = makeQuery(CATALOG, 'IXFR', {
      authority: [{ name: CATALOG.slice(0, -1), type: 'SOA', ttl: 0, class: 'IN', data: { mname: 'invalid', rname: 'invalid', serial: before, refresh: 0, retry: 0, expire: 0, minimum: 0 } }],
    });
    const ixfr = (await tcpExchange(dns.port, ixfrQuery, streamComplete())).flatMap(answerKeys);
    const soas = ixfr.filter((k) => k.includes(' SOA '));
    assert.equal(soas.length, 4, `an incremental answer (new SOA, old SOA, new SOA, new SOA): ${ixfr.join('\n')}`);
    assert.equal(ixfr.filter((k) => k.includes(' PTR ')).length, 1, 'only the added member');
  } finally {
    await dns.close();
    xfr.close();
    m.stop();
    env.cleanup();
  }
});
