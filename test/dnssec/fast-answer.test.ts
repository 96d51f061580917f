/**
 * The DO fast path (src/dns/dnssec-fast-answer.ts: positive answers, NODATA, NXDOMAIN) must answer byte for byte what the general path
 * (answerQuery + addDnssec + encodeMessage) answers, for every question it takes, and decline the
 * rest. A property test over signed zones of both algorithms and both denial modes: names that
 * exist, do not exist, sit under wildcards, empty non-terminals, CNAMEs, delegations (insecure and
 * with DS), glue, the apex, a zone with a DNAME; every type; random letter case; EDNS sizes from 512
 * up and TCP; DO on and off; before and after random writes re-signed through ZoneSigners. It also
 * checks the fast path does take the common questions, positive, NODATA and NXDOMAIN (so the
 * equality is not vacuous).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { generateKey, type AlgorithmName } from '../../src/dnssec/algorithms.ts';
import { KeyStore } from '../../src/dnssec/keystore.ts';
import { ZoneSigners } from '../../src/dnssec/signer.ts';
import { zoneKeyRdata } from '../../src/dnssec/zone-keys.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { answerQuery } from '../../src/dns/answer.ts';
import { addDnssec } from '../../src/dns/dnssec-answer.ts';
import { fastDnssecAnswer } from '../../src/dns/dnssec-fast-answer.ts';
import { maxResponseSize } from '../../src/dns/header.ts';
import { readQuery, type ParsedQuery } from '../../src/dns/query.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { canonicalQueryName, findZone } from '../../src/dns/zones.ts';
import { buildQuery } from '../dns/helpers.ts';
import { tempDir } from '../helpers/ledger.ts';
import { rng } from '../helpers/rng.ts';

const ZONE = 'fast.test.';
const ZONE_FILE = `$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 120
@ NS ns1
@ MX 10 mail
@ TXT "apex text"
ns1 A 192.0.2.1
www A 192.0.2.10
www A 192.0.2.11
www A 192.0.2.9
www AAAA 2001:db8::10
www TXT "one" "two"
www CAA 0 issue "ca.example"
www SSHFP 1 1 ${'ab'.repeat(20)}
_443._tcp.www TLSA 3 1 1 ${'cd'.repeat(32)}
loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
uri URI 10 1 "https://example.com/"
mail A 192.0.2.20
Upper A 192.0.2.30
big TXT "${'x'.repeat(250)}" "${'y'.repeat(250)}" "${'z'.repeat(250)}"
big TXT "${'w'.repeat(250)}" "${'v'.repeat(250)}"
alias CNAME www
*.wild TXT "wildcard"
*.wild A 192.0.2.40
deep.ent TXT "below an empty non-terminal"
sub NS ns.sub
ns.sub A 192.0.2.53
secure NS ns.elsewhere.test.
secure DS 12345 13 2 ${'AB'.repeat(32)}
`;
const DNAME_LINE = 'moved DNAME elsewhere.test.\n';

const NAMES = [ZONE, `www.${ZONE}`, `ns1.${ZONE}`, `mail.${ZONE}`, `upper.${ZONE}`, `big.${ZONE}`, `_443._tcp.www.${ZONE}`, `_tcp.www.${ZONE}`, `loc.${ZONE}`, `uri.${ZONE}`,
  `alias.${ZONE}`, `x.wild.${ZONE}`, `wild.${ZONE}`, `*.wild.${ZONE}`, `deep.ent.${ZONE}`, `ent.${ZONE}`, `sub.${ZONE}`, `ns.sub.${ZONE}`, `a.sub.${ZONE}`,
  `secure.${ZONE}`, `x.secure.${ZONE}`, `nope.${ZONE}`, `a.b.nope.${ZONE}`, `zz.${ZONE}`, `a.${ZONE}`, `x.deep.ent.${ZONE}`, `a.ns1.${ZONE}`, `x.y.ent.${ZONE}`, `0.${ZONE}`, `x.x.wild.${ZONE}`, `moved.${ZONE}`, `x.moved.${ZONE}`, `new1.${ZONE}`, `new2.www.${ZONE}`, 'other.test.'];
const TYPES = [1, 28, 16, 257, 44, 52, 53, 61, 29, 256, 2, 5, 6, 15, 33, 39, 43, 46, 47, 48, 50, 51, 59, 60, 255, 99];

function setUp(dir: string, algorithm: AlgorithmName, denial: 'nsec' | 'nsec3', withDname: boolean): Ledger {
  const ledger = Ledger.open({ path: path.join(dir, `${algorithm}-${denial}-${withDname}.db`) });
  ledger.execute(importCommand(ZONE, ZONE_FILE + (withDname ? DNAME_LINE : '')), { actor: 'test' });
  const store = new KeyStore(ledger.db);
  const keys = (['ksk', 'zsk'] as const).map((role) => {
    const m = generateKey(algorithm);
    const { rdata, tag } = zoneKeyRdata({ role, publicKey: m.publicKey, algorithm });
    store.put({ zone: ZONE, tag, algorithm, dnskeySha256: createHash('sha256').update(rdata).digest(), pkcs8: m.privatePkcs8, createdAt: new Date().toISOString() });
    return { tag, role, algorithm, publicKey: Buffer.from(m.publicKey).toString('base64') };
  });
  ledger.execute({ kind: 'dnssec', zone: ZONE, change: { op: 'configure', enabled: true, algorithm, denial, newKeys: keys, at: Math.floor(Date.now() / 1000) } }, { actor: 'admin' });
  return ledger;
}

function spell(name: string, r: () => number): string {
  return [...name].map((c) => (r() < 0.5 ? c.toUpperCase() : c)).join('');
}

/** The general path, as the server runs it for a DO query into a signed zone. */
function general(ledger: Ledger, signers: ZoneSigners, q: ParsedQuery, tcp: boolean, limit: number): Buffer {
  const a = answerQuery(ledger.state, q, { tcp });
  const zone = findZone(ledger.state, canonicalQueryName(q.qnameKey));
  const signed = zone ? signers.get(zone.name) : undefined;
  if (signed && a.zone === signed.zone) addDnssec(a, q, signed);
  return encodeMessage(a.message, limit).bytes;
}

for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
  for (const denial of ['nsec', 'nsec3'] as const) {
    for (const withDname of [false, true]) {
      test(`the DO fast path equals the general path: ${algorithm}, ${denial}${withDname ? ', zone with a DNAME' : ''}`, () => {
        const { dir, cleanup } = tempDir();
        const ledger = setUp(dir, algorithm, denial, withDname);
        try {
          const now = Math.floor(Date.now() / 1000);
          const signers = new ZoneSigners({ keys: new KeyStore(ledger.db), clock: () => now });
          signers.update(ledger.state);
          const r = rng(algorithm.length * 7 + denial.length + (withDname ? 1 : 0));
          let taken = 0;
          let takenNodata = 0;
          let takenNxdomain = 0;
          let compared = 0;
          const created: string[] = [];
          for (let round = 0; round < 4; round++) {
            // Random names too: a random label or two under a random name of the list (mostly NXDOMAIN, some under a wildcard or a cut).
            const randomNames = Array.from({ length: 25 }, () => `${Math.floor(r() * 1e6).toString(36)}.${r() < 0.3 ? `${Math.floor(r() * 100).toString(36)}.` : ''}${NAMES[Math.floor(r() * (NAMES.length - 1))]}`);
            for (const name of [...NAMES, ...randomNames]) {
              for (const type of TYPES) {
                const tcp = r() < 0.15;
                const size = [512, 600, 900, 1232, 4096][Math.floor(r() * 5)];
                const q = readQuery(buildQuery({ name: spell(name, r), type, id: Math.floor(r() * 65536), rd: r() < 0.5, edns: r() < 0.1 ? undefined : { do: r() < 0.9, size } }));
                assert.equal(q.kind, 'query');
                if (q.kind !== 'query') continue;
                const raw = buildQuery({ name: q.qname, type, id: q.id, rd: (q.flags & 0x100) !== 0, edns: q.edns ? { do: q.edns.do, size: q.edns.udpPayloadSize } : undefined });
                const limit = maxResponseSize(q, tcp);
                const zone = findZone(ledger.state, canonicalQueryName(q.qnameKey));
                const signed = zone ? signers.get(zone.name) : undefined;
                const fast = signed ? fastDnssecAnswer(signed, q, raw, limit) : undefined;
                if (fast === undefined) continue;
                taken++;
                if (fast.readUInt16BE(6) === 0 && (fast[3] & 0xf) === 0) takenNodata++;
                if ((fast[3] & 0xf) === 3) takenNxdomain++;
                const want = general(ledger, signers, q, tcp, limit);
                assert.deepEqual(fast.toString('hex'), want.toString('hex'), `${q.qname} type ${type} size ${size} tcp ${tcp}`);
                compared++;
              }
            }
            // Random writes between rounds, re-signed the way the server does it.
            const ops = [];
            for (let i = 0; i < 6; i++) {
              const name = NAMES[Math.floor(r() * (NAMES.length - 1))];
              if (name === ZONE && r() < 0.5) continue;
              ops.push({ op: 'create' as const, name, type: r() < 0.5 ? 'A' : 'TXT', value: r() < 0.5 ? `198.51.100.${Math.floor(r() * 250)}` : `"t${Math.floor(r() * 1000)}"` });
            }
            const valid = ops.filter((o) => !(o.type === 'A' && o.value.startsWith('"')) && !(o.type === 'TXT' && !o.value.startsWith('"')));
            for (const o of valid) {
              try {
                const res = ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [o] }, { actor: 'test' });
                created.push(o.name);
                void res;
              } catch {
                // A write the zone refuses (a CNAME owner, below a DNAME or a cut): not this test's business.
              }
            }
            // And deletes: of an A or TXT record, a name's last one included (its answers must go).
            const zoneNow = ledger.state.zones.get(ZONE);
            const deletable = zoneNow ? [...zoneNow.records.values()].filter((rec) => rec.type === 'A' || rec.type === 'TXT' || rec.type === 'CAA') : [];
            for (let i = 0; i < 3 && deletable.length > 0; i++) {
              const victim = deletable.splice(Math.floor(r() * deletable.length), 1)[0];
              ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'delete', id: victim.id }] }, { actor: 'test' });
            }
            signers.update(ledger.state);
          }
          assert.ok(compared === taken);
          if (!withDname) {
            assert.ok(taken - takenNodata > 30, `the fast path took ${taken - takenNodata} positive questions`);
            assert.ok(takenNodata > 30, `the fast path took ${takenNodata} NODATA questions`);
            assert.ok(takenNxdomain > 30, `the fast path took ${takenNxdomain} NXDOMAIN questions`);
            const q = readQuery(buildQuery({ name: `WwW.${ZONE}`, type: 1, edns: { do: true } }));
            assert.ok(q.kind === 'query' && fastDnssecAnswer(signers.get(ZONE)!, q, buildQuery({ name: `WwW.${ZONE}`, type: 1, edns: { do: true } }), 1232) !== undefined, 'www A with DO is taken');
          }
          else assert.equal(taken, 0, 'a zone with a DNAME is always the general path');
        } finally {
          ledger.close();
          cleanup();
        }
      });
    }
  }
}

test('a whole-zone build encodes its fast answers in slices: meanwhile every DO question is answered as the general path answers it', async () => {
  const { dir, cleanup } = tempDir();
  const ledger = setUp(dir, 'ecdsap256sha256', 'nsec', false);
  try {
    const now = Math.floor(Date.now() / 1000);
    const signers = new ZoneSigners({ keys: new KeyStore(ledger.db), clock: () => now, answersPerSlice: 3 });
    signers.update(ledger.state);
    const signed = signers.get(ZONE)!;
    assert.equal(signed.answersComplete, false, 'three owners per slice leave most of the zone for later turns');
    /** Every name and fast type with DO: the fast answers taken, each compared with the general path. */
    const round = (): number => {
      let taken = 0;
      for (const name of NAMES) {
        for (const type of [1, 28, 16, 257, 44, 52]) {
          const raw = buildQuery({ name, type, id: 7, edns: { do: true, size: 1232 } });
          const q = readQuery(raw);
          if (q.kind !== 'query') continue;
          const zone = findZone(ledger.state, canonicalQueryName(q.qnameKey));
          const fast = zone ? fastDnssecAnswer(signers.get(zone.name)!, q, raw, 1232) : undefined;
          if (fast === undefined) continue;
          assert.equal(fast.toString('hex'), general(ledger, signers, q, false, 1232).toString('hex'), `${name} type ${type}`);
          if ((fast[3] & 0xf) === 0 && fast.readUInt16BE(6) > 0) taken++;
        }
      }
      return taken;
    };
    const www = readQuery(buildQuery({ name: `www.${ZONE}`, type: 1, edns: { do: true } }));
    const before = round();
    // A write while the slices are pending: the owners it touches are encoded at once, the rest stay pending.
    ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `new1.${ZONE}`, type: 'A', value: '198.51.100.1' }] }, { actor: 'test' });
    signers.update(ledger.state);
    assert.ok(round() >= 1, 'the written owner is answered from its fast answer');
    // The slices run on later turns of the event loop: wait for the table itself.
    while (!signed.answersComplete) await new Promise((resolve) => setImmediate(resolve));
    const after = round();
    assert.ok(after > before + 5, `positive fast answers: ${before} while pending, ${after} once complete`);
    assert.ok(www.kind === 'query' && fastDnssecAnswer(signed, www, buildQuery({ name: `www.${ZONE}`, type: 1, edns: { do: true } }), 1232) !== undefined, 'www A with DO is taken once complete');
    // finishAnswers completes a zone at once (benchmarks); a complete zone stays complete.
    signers.finishAnswers();
    assert.equal(signed.answersComplete, true);
  } finally {
    ledger.close();
    cleanup();
  }
});
