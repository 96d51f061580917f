/** The transfer access list as a table of cases: IPv4/IPv6 CIDRs, IPv4-mapped peers, TSIG key names, bad config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransferAcl } from '../../src/dns/transfer/acl.ts';
import { McnsError } from '../../src/errors.ts';

const acl = TransferAcl.from({ allow_from: ['127.0.0.1/32', '192.0.2.0/24', '2001:db8:1::/48', '::1', '10.0.0.0/8'], allow_keys: ['xfr-key', 'Other.Key.'] });

const cases: Array<[string, string, string | undefined, boolean]> = [
  ['exact IPv4 /32', '127.0.0.1', undefined, true],
  ['another loopback address outside the /32', '127.0.0.2', undefined, false],
  ['inside a /24', '192.0.2.200', undefined, true],
  ['just outside a /24', '192.0.3.1', undefined, false],
  ['inside a /8', '10.255.255.255', undefined, true],
  ['IPv4-mapped IPv6 peer (dual-stack socket)', '::ffff:192.0.2.9', undefined, true],
  ['IPv6 inside a /48', '2001:db8:1:ffff::53', undefined, true],
  ['IPv6 outside a /48', '2001:db8:2::53', undefined, false],
  ['IPv6 loopback without a prefix is a /128', '::1', undefined, true],
  ['IPv6 with a zone id', 'fe80::1%eth0', undefined, false],
  ['not an address', 'localhost', undefined, false],
  ['allowed key from anywhere', '198.51.100.1', 'xfr-key.', true],
  ['key names compare case-insensitively, trailing dot optional', '198.51.100.1', 'other.key', true],
  ['a verified key that is not in allow_keys', '198.51.100.1', 'stranger.', false],
];

for (const [name, address, key, want] of cases) {
  test(`acl: ${name} -> ${want ? 'allowed' : 'refused'}`, () => {
    assert.equal(acl.allows(address, key), want);
  });
}

test('acl: an empty config refuses everyone', () => {
  const none = TransferAcl.from({ allow_from: [], allow_keys: [] });
  assert.equal(none.allows('127.0.0.1'), false);
  assert.equal(none.allows('::1', 'xfr-key.'), false);
});

test('acl: 0.0.0.0/0 and ::/0 allow every address of their family', () => {
  const all = TransferAcl.from({ allow_from: ['0.0.0.0/0', '::/0'], allow_keys: [] });
  assert.equal(all.allows('203.0.113.7'), true);
  assert.equal(all.allows('2001:db8::7'), true);
});

for (const bad of ['300.1.1.1/32', '10.0.0.0/33', '2001:db8::/129', 'example.com', '10.0.0.0/x']) {
  test(`acl: "${bad}" in allow_from is refused with an McnsError naming the entry`, () => {
    assert.throws(() => TransferAcl.from({ allow_from: [bad], allow_keys: [] }), (err: unknown) => err instanceof McnsError && err.field === 'transfer.allow_from[0]');
  });
}
