/**
 * The DNSSEC core against two independent validators: a zone signed by src/dnssec (both
 * algorithms, both denial modes, KSK+ZSK and CSK) is written out in RFC 3597 generic syntax, so no
 * MCNS formatter is involved, and must pass BIND's dnssec-verify and ldns-verify-zone; the same
 * zone with one signature byte flipped must fail both, so the check cannot pass vacuously.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, privateKeyObject, publicKeyObject, signData, verifyData, type AlgorithmName } from '../../src/dnssec/algorithms.ts';
import { dnskeyRdata, dsPresentation, keyTag } from '../../src/dnssec/dnskey.ts';
import { base32hex, nsec3Hash, typeBitmap } from '../../src/dnssec/denial.ts';
import { signZone } from '../../src/dnssec/signed-zone.ts';
import { zoneKeyRdata, TYPE, type KeyRole, type ZoneKey } from '../../src/dnssec/zone-keys.ts';
import type { CanonicalRRset } from '../../src/dnssec/rrsig.ts';
import { nameToWire } from '../../src/records/names.ts';
import { requireTool } from '../helpers/tools.ts';

const ZONE = 'signed.test.';

function u16(n: number): number[] {
  return [n >> 8, n & 0xff];
}
function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
const name = (n: string): number[] => [...nameToWire(n)];
const a = (ip: string): Uint8Array => new Uint8Array(ip.split('.').map(Number));
const rr = (owner: string, type: number, ttl: number, ...rdatas: Array<Uint8Array | number[]>): CanonicalRRset => ({
  owner,
  type,
  ttl,
  rdatas: rdatas.map((r) => (r instanceof Uint8Array ? r : new Uint8Array(r))),
});
const txt = (s: string): number[] => [s.length, ...Buffer.from(s)];

/** A zone with the shapes that matter to signing: apex, plain names, a wildcard, an empty non-terminal, a delegation with glue and one with DS. */
function zoneRRsets(): CanonicalRRset[] {
  return [
    rr(ZONE, TYPE.SOA, 3600, [...name(`ns1.${ZONE}`), ...name(`hostmaster.${ZONE}`), ...u32(2026120201), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300)]),
    rr(ZONE, TYPE.NS, 3600, name(`ns1.${ZONE}`), name(`ns2.${ZONE}`)),
    rr(ZONE, 15, 3600, [...u16(10), ...name(`mail.${ZONE}`)]),
    rr(`ns1.${ZONE}`, 1, 3600, a('192.0.2.1')),
    rr(`ns2.${ZONE}`, 1, 3600, a('192.0.2.2')),
    rr(`www.${ZONE}`, 1, 300, a('192.0.2.10'), a('192.0.2.11')),
    rr(`mail.${ZONE}`, 1, 300, a('192.0.2.20')),
    rr(`mail.${ZONE}`, 16, 300, txt('v=spf1 mx -all')),
    rr(`*.wild.${ZONE}`, 1, 300, a('192.0.2.30')),
    rr(`deep.ent.${ZONE}`, 16, 300, txt('below an empty non-terminal')),
    rr(`sub.${ZONE}`, TYPE.NS, 3600, name(`ns.sub.${ZONE}`)),
    rr(`ns.sub.${ZONE}`, 1, 3600, a('192.0.2.40')),
    rr(`secure.${ZONE}`, TYPE.NS, 3600, name('ns.elsewhere.test.')),
    rr(`secure.${ZONE}`, TYPE.DS, 3600, [...u16(12345), 13, 2, ...Buffer.alloc(32, 0xab)]),
  ];
}

function makeKeys(algorithm: AlgorithmName, roles: KeyRole[]): ZoneKey[] {
  return roles.map((role) => {
    const m = generateKey(algorithm);
    const { tag } = zoneKeyRdata({ role, publicKey: m.publicKey, algorithm });
    // KSKs and CSKs are listed in CDS/CDNSKEY, so the validators check those signatures too.
    return { role, algorithm, publicKey: m.publicKey, cds: role !== 'zsk', signing: { algorithm, keyTag: tag, privateKey: privateKeyObject(m.privatePkcs8) } };
  });
}

/** The zone in RFC 3597 generic syntax: every record `owner ttl IN TYPEn \# len hex`. */
function zoneText(sets: readonly CanonicalRRset[]): string {
  const lines: string[] = [];
  for (const s of sets) {
    for (const r of s.rdatas) lines.push(`${s.owner} ${s.ttl} IN TYPE${s.type} \\# ${r.length} ${r.length ? Buffer.from(r).toString('hex') : ''}`);
  }
  return lines.join('\n') + '\n';
}

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const now = Math.floor(Date.now() / 1000);

for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
  for (const denial of ['nsec', 'nsec3'] as const) {
    for (const roles of [['ksk', 'zsk'], ['csk']] as KeyRole[][]) {
      test(`${algorithm} ${denial} ${roles.join('+')}: dnssec-verify and ldns-verify-zone accept the signed zone, and refuse it with one byte flipped`, (t) => {
        const missing = requireTool('dnssec-verify', 'ldns-verify-zone');
        if (missing) return t.skip(missing);
        const base = zoneRRsets();
        const added = signZone({ zone: ZONE, keys: makeKeys(algorithm, roles), denial, dnskeyTtl: 3600 }, base, now);
        const dir = mkdtempSync(join(tmpdir(), 'mcns-dnssec-'));
        try {
          const file = join(dir, 'zone');
          writeFileSync(file, zoneText([...base, ...added]));
          // A CSK carries the SEP flag (as Knot publishes it), so dnssec-verify must be told with -z
          // that a SEP key signing everything is intended.
          const verifyArgs = roles.includes('csk') ? ['-z', '-o', ZONE, file] : ['-o', ZONE, file];
          const bind = run('dnssec-verify', verifyArgs);
          assert.equal(bind.status, 0, bind.out);
          const ldns = run('ldns-verify-zone', [file]);
          assert.equal(ldns.status, 0, ldns.out);

          // One flipped byte in the signature over www's A RRset.
          const tampered = added.map((s) => {
            if (s.type !== TYPE.RRSIG || s.owner !== `www.${ZONE}`) return s;
            const rdatas = s.rdatas.map((r) => {
              if (((r[0] << 8) | r[1]) !== 1) return r;
              const c = new Uint8Array(r);
              c[c.length - 1] ^= 0x01;
              return c;
            });
            return { ...s, rdatas };
          });
          writeFileSync(file, zoneText([...base, ...tampered]));
          assert.notEqual(run('dnssec-verify', verifyArgs).status, 0, 'dnssec-verify accepted a forged signature');
          assert.notEqual(run('ldns-verify-zone', [file]).status, 0, 'ldns-verify-zone accepted a forged signature');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }
}

test('key tag and DS digest match RFC 4034 appendix B / RFC 4509 worked examples', () => {
  // RFC 4509 section 2.3 example: dskey.example.com. DNSKEY 256 3 5 (...), tag 60485, SHA-256 digest below.
  const pub = Buffer.from(
    'AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
    'base64',
  );
  const rdata = dnskeyRdata({ flags: 256, algorithm: 5, publicKey: pub });
  assert.equal(keyTag(rdata), 60485);
  assert.equal(
    dsPresentation('dskey.example.com.', { flags: 256, algorithm: 5, publicKey: pub }),
    '60485 5 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A',
  );
});

test('NSEC3 hash matches RFC 5155 appendix A (salt aabbccdd, 12 iterations)', () => {
  const salt = Buffer.from('aabbccdd', 'hex');
  assert.equal(base32hex(nsec3Hash('example.', salt, 12)), '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom');
  assert.equal(base32hex(nsec3Hash('a.example.', salt, 12)), '35mthgpgcu1qg68fab165klnsnk3dpvl');
});

test('type bitmap matches RFC 4034 section 4.3 (A MX RRSIG NSEC TYPE1234)', () => {
  assert.equal(Buffer.from(typeBitmap([1, 15, 46, 47, 1234])).toString('hex'), '0006400100000003' + '041b' + '00'.repeat(26) + '20');
});

test('signatures verify with the DNSKEY public key alone, for both algorithms', () => {
  for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
    const m = generateKey(algorithm);
    const data = Buffer.from('signed data');
    const sig = signData(algorithm, privateKeyObject(m.privatePkcs8), data);
    assert.equal(sig.length, 64);
    assert.ok(verifyData(algorithm, publicKeyObject(algorithm, m.publicKey), data, sig));
  }
});
