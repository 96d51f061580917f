/**
 * canonicalIPv4 and canonicalIPv6 read the common forms by hand (every A and AAAA of an import goes
 * through them); they must give exactly the answers of their definitions (a regex; node's isIPv6
 * and a split) on every input: valid forms, near misses and random text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIPv4, canonicalIPv4ByRegex, canonicalIPv6, canonicalIPv6General } from '../../src/records/ip.ts';

/** A small deterministic generator (the failures must be reproducible). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('canonicalIPv4 equals its regex definition', () => {
  const fixed = ['0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.', '.1.2.3.4', '1..2.3', '1.2.3.4.5', '10.0.0.1', '1.2.3.04', '00.0.0.0', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.999', '１.2.3.4', ''];
  for (const t of fixed) assert.equal(canonicalIPv4(t), canonicalIPv4ByRegex(t), t);
  const r = rng(4);
  const alphabet = '0123456789.....a ';
  for (let k = 0; k < 50_000; k++) {
    let t = '';
    const len = 1 + Math.floor(r() * 17);
    for (let i = 0; i < len; i++) t += alphabet[Math.floor(r() * alphabet.length)];
    assert.equal(canonicalIPv4(t), canonicalIPv4ByRegex(t), JSON.stringify(t));
    const v = `${Math.floor(r() * 300)}.${Math.floor(r() * 300)}.${Math.floor(r() * 3)}${Math.floor(r() * 10)}.${Math.floor(r() * 256)}`;
    assert.equal(canonicalIPv4(v), canonicalIPv4ByRegex(v), v);
  }
});

test('canonicalIPv6 equals its general definition (isIPv6 and a split)', () => {
  const fixed = [
    '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':::', '1:::2', '1::2::3',
    ':1::', '1::2:', ':1:2:3:4:5:6:7:8', '2001:DB8::1', '2001:db8:0:0:0:0:0:1', '2001:0db8:0000:0000:0000:ff00:0042:8329', '12345::', 'g::1', '::ffff:1.2.3.4',
    '::ffff:0:0', '0:0:0:0:0:ffff:102:304', '::1%eth0', 'fe80::1%1', '1:0:0:2:0:0:0:3', '0:0:1:0:0:1:0:0', '', ':', '1', '::1.2.3.4', '1::1.2.3.04', 'ABCD:EF01:2345:6789:ABCD:EF01:2345:6789',
  ];
  for (const t of fixed) assert.equal(canonicalIPv6(t), canonicalIPv6General(t), t);
  const r = rng(6);
  const alphabet = '0000000123abcdefABF::::::::.%g';
  for (let k = 0; k < 100_000; k++) {
    let t = '';
    const len = 1 + Math.floor(r() * 41);
    for (let i = 0; i < len; i++) t += alphabet[Math.floor(r() * alphabet.length)];
    assert.equal(canonicalIPv6(t), canonicalIPv6General(t), JSON.stringify(t));
    // Near-valid: 8 groups with some zero runs written out, one of them maybe compressed.
    const groups = Array.from({ length: 8 }, () => (r() < 0.4 ? '0' : Math.floor(r() * 0x10000).toString(16)));
    let v = groups.join(':');
    if (r() < 0.5) {
      const at = Math.floor(r() * 8);
      const run = 1 + Math.floor(r() * (8 - at));
      v = `${groups.slice(0, at).join(':')}::${groups.slice(at + run).join(':')}`;
    }
    assert.equal(canonicalIPv6(v), canonicalIPv6General(v), v);
  }
});
