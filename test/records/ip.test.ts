/** The one address module: byte parsers, canonical text, and the prefixes per-client limits count by. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressBytes, canonicalIPv4, canonicalIPv6, clientPrefix, ipv4ToBytes, ipv6ToBytes } from '../../src/records/ip.ts';

test('ip: byte parsers accept what the canonical forms accept', () => {
  assert.deepEqual([...ipv4ToBytes('192.0.2.1')], [192, 0, 2, 1]);
  assert.deepEqual([...ipv6ToBytes('2001:db8::1')], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...ipv6ToBytes('::ffff:192.0.2.1')].slice(10), [0xff, 0xff, 192, 0, 2, 1]);
  for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', 'a.b.c.d', '']) assert.throws(() => ipv4ToBytes(bad), RangeError, bad);
  for (const bad of ['1::2::3', '12345::', ':1', '1:2:3:4:5:6:7:8:9', 'g::1']) assert.throws(() => ipv6ToBytes(bad), RangeError, bad);
});

test('ip: canonical text (leading zeros refused, RFC 5952 for IPv6)', () => {
  assert.equal(canonicalIPv4('192.0.2.1'), '192.0.2.1');
  assert.equal(canonicalIPv4('192.0.2.01'), null);
  assert.equal(canonicalIPv6('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalIPv6('0:0:0:0:0:ffff:c000:201'), '::ffff:192.0.2.1');
  assert.equal(canonicalIPv6('fe80::1%eth0'), null);
});

test('ip: client prefixes (/24 and /56 as RRL counts, /32 and /56 as the auth limiter counts)', () => {
  assert.equal(clientPrefix('192.0.2.77', 24, 56), '192.0.2.0/24');
  assert.equal(clientPrefix('::ffff:192.0.2.77', 24, 56), '192.0.2.0/24', 'IPv4-mapped counts as IPv4');
  assert.equal(clientPrefix('192.0.2.77', 32, 56), '192.0.2.77/32');
  assert.equal(clientPrefix('2001:db8:aa:bbcc::1', 24, 56), '2001:db8:aa:bb00::/56');
  assert.equal(clientPrefix('2001:db8:aa:bbcc::1', 24, 64), '2001:db8:aa:bbcc::/64');
  assert.equal(clientPrefix('fe80::1%eth0', 24, 56), 'fe80::/56');
  assert.equal(clientPrefix('localhost', 24, 56), undefined);
  assert.equal(addressBytes('nope'), undefined);
});
