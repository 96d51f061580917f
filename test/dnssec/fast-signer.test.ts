/**
 * The signer's fast framing (RRsetSigner: one scratch buffer, RRSIG RDATA written directly, slab
 * views) must give the bytes of the reference path (signRRset + the RRSIG codec) for every owner
 * shape (apex, wildcard, escapes, upper case), TTL, RRset size and order, and both algorithms
 * (ECDSA by verification, its signatures being random; Ed25519 byte for byte). NSEC RDATA from a
 * cached wire name must equal the NSEC codec's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKey, privateKeyObject, publicKeyObject, type AlgorithmName } from '../../src/dnssec/algorithms.ts';
import { RRsetSigner, rrsigRdata, signRRset, verifyRRset, type CanonicalRRset, type SigningKey } from '../../src/dnssec/rrsig.ts';
import { nsecRdata, nsecRdataFromWire } from '../../src/dnssec/denial.ts';
import { zoneKeyRdata } from '../../src/dnssec/zone-keys.ts';
import { nameToWire } from '../../src/records/names.ts';
import { canonicalRDataWire, rdataFromWire } from '../../src/records/rdata.ts';
import { canonicalRRset } from '../../src/dnssec/zone-content.ts';
import { rng } from '../helpers/rng.ts';

const ZONE = 'Fast.Test.';
const OWNERS = [ZONE, 'a.fast.test.', '*.w.fast.test.', 'MiXeD.fast.test.', 'a\\.b.fast.test.', 'x.y.z.fast.test.', '*.fast.test.'];

function key(algorithm: AlgorithmName): { signing: SigningKey; publicKey: Uint8Array } {
  const m = generateKey(algorithm);
  const { tag } = zoneKeyRdata({ role: 'zsk', publicKey: m.publicKey, algorithm });
  return { signing: { algorithm, keyTag: tag, privateKey: privateKeyObject(m.privatePkcs8) }, publicKey: m.publicKey };
}

for (const algorithm of ['ed25519', 'ecdsap256sha256'] as const) {
  test(`RRsetSigner gives the reference RRSIG for ${algorithm}`, () => {
    const rand = rng(algorithm.length);
    const r = { int: (n: number): number => Math.floor(rand() * n) };
    const k = key(algorithm);
    const signer = new RRsetSigner(ZONE);
    for (let i = 0; i < 300; i++) {
      const owner = OWNERS[r.int(OWNERS.length)];
      const n = 1 + r.int(6);
      const rdatas = Array.from({ length: n }, () => new Uint8Array(Array.from({ length: r.int(3) === 0 ? 600 + r.int(3000) : 1 + r.int(40) }, () => r.int(256))));
      if (n > 2) rdatas.push(rdatas[0]); // a duplicate: signed once
      const rs: CanonicalRRset = { owner, type: 1 + r.int(300), ttl: r.int(2 ** 31), rdatas };
      const fast = signer.sign(rs, nameToWire(owner.toLowerCase()), k.signing, 1_700_000_000 + i, 1_800_000_000 + i);
      const ref = rrsigRdata(signRRset(rs, ZONE, k.signing, 1_700_000_000 + i, 1_800_000_000 + i));
      if (algorithm === 'ed25519') assert.deepEqual(Buffer.from(fast), Buffer.from(ref), `${owner} ${rs.type}`);
      else {
        assert.equal(fast.length, ref.length);
        assert.deepEqual(Buffer.from(fast.subarray(0, ref.length - 64)), Buffer.from(ref.subarray(0, ref.length - 64)));
        const sig = rdataFromWire('RRSIG', fast, 0, fast.length, false) as unknown as Parameters<typeof verifyRRset>[1];
        assert.ok(verifyRRset(rs, sig, algorithm, publicKeyObject(algorithm, k.publicKey)), `${owner} ${rs.type} verifies`);
      }
    }
  });
}

test('NSEC RDATA from a cached wire name equals the NSEC codec', () => {
  for (const next of OWNERS) {
    for (const types of [[1, 47, 46], [6, 2, 48, 47, 46, 51], [1, 28, 257, 65280, 47, 46]]) {
      assert.deepEqual(Buffer.from(nsecRdataFromWire(nameToWire(next.toLowerCase()), types)), Buffer.from(nsecRdata(next, types)));
    }
  }
});

test('address RRsets in the signer form equal the A and AAAA codecs, and a bad address is refused by name', () => {
  const values = {
    A: ['192.0.2.1', '0.0.0.0', '255.255.255.255', '10.1.2.3'],
    AAAA: ['2001:db8::1', '::', '::1', '::ffff:192.0.2.7', '2001:db8:0:1:2:3:4:5', 'fe80::'],
  } as const;
  for (const type of ['A', 'AAAA'] as const) {
    const records = values[type].map((value, i) => ({ id: `r${i}`, name: 'a.fast.test.', type, ttl: 300, value }));
    const rs = canonicalRRset('a.fast.test.', { type, records });
    assert.equal(rs.type, type === 'A' ? 1 : 28);
    assert.equal(rs.ttl, 300);
    assert.deepEqual(rs.rdatas.map((r) => Buffer.from(r).toString('hex')), values[type].map((address) => Buffer.from(canonicalRDataWire({ type, address })).toString('hex')));
  }
  assert.throws(() => canonicalRRset('b.fast.test.', { type: 'A', records: [{ id: 'x', name: 'b.fast.test.', type: 'A', ttl: 1, value: '1.2.3' }] }), /invalid A address "1\.2\.3" at b\.fast\.test\./);
});

for (const algorithm of ['ed25519', 'ecdsap256sha256'] as const) {
  test(`RRsetSigner in a batch gives the bytes of one-at-a-time signing (${algorithm}), across batch boundaries`, () => {
    const k = key(algorithm);
    const publicKey = publicKeyObject(algorithm, k.publicKey);
    const batched = new RRsetSigner(ZONE);
    const single = new RRsetSigner(ZONE);
    const sets: CanonicalRRset[] = Array.from({ length: 4096 + 300 }, (_, i) => ({
      owner: OWNERS[i % OWNERS.length],
      type: 1 + (i % 7),
      ttl: 60 + i,
      rdatas: i % 5 === 0 ? [new Uint8Array([i & 255, 2, 3]), new Uint8Array([1, i & 255])] : [new Uint8Array([(i >> 8) & 255, i & 255])],
    }));
    const sign = (s: RRsetSigner, rs: CanonicalRRset): Uint8Array => s.sign(rs, nameToWire(rs.owner.toLowerCase()), k.signing, 1_700_000_000, 1_800_000_000);
    let inside: Uint8Array[] = [];
    const out = batched.batch(() => {
      inside = sets.map((rs) => sign(batched, rs));
      return inside;
    });
    assert.equal(out, inside);
    for (let i = 0; i < sets.length; i += algorithm === 'ed25519' ? 1 : 97) {
      const want = sign(single, sets[i]);
      if (algorithm === 'ed25519') assert.deepEqual(Buffer.from(out[i]), Buffer.from(want), `signature ${i}`);
      else {
        assert.deepEqual(Buffer.from(out[i].subarray(0, want.length - 64)), Buffer.from(want.subarray(0, want.length - 64)));
        const sig = rdataFromWire('RRSIG', out[i], 0, out[i].length, false) as unknown as Parameters<typeof verifyRRset>[1];
        assert.ok(verifyRRset(sets[i], sig, algorithm, publicKey), `signature ${i} verifies`);
      }
    }
    // A batch that throws leaves the signer signing one at a time again.
    assert.throws(() => batched.batch(() => {
      sign(batched, sets[0]);
      throw new Error('stop');
    }), /stop/);
    const after = sign(batched, sets[1]);
    assert.ok(after.subarray(after.length - 64).some((b) => b !== 0), 'signed at once outside a batch');
  });
}
