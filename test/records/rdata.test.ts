import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RDataError,
  canonicalValue,
  formatRData,
  parseRData,
  parseTtl,
  rdataEquals,
} from '../../src/records/rdata.ts';
import { MAX_TTL, type RRType } from '../../src/records/types.ts';

const ORIGIN = 'example.com.';

/** [type, input, origin (undefined = API), canonical output] */
const valid: [RRType, string, string | undefined, string][] = [
  ['A', '192.0.2.1', undefined, '192.0.2.1'],
  ['A', '0.0.0.0', undefined, '0.0.0.0'],
  ['A', '255.255.255.255', undefined, '255.255.255.255'],
  ['A', '  10.0.0.1  ', undefined, '10.0.0.1'],
  ['AAAA', '2001:db8::1', undefined, '2001:db8::1'],
  ['AAAA', '2001:DB8:0:0:0:0:0:1', undefined, '2001:db8::1'],
  ['AAAA', '2001:0db8:0000:0000:0001:0000:0000:0001', undefined, '2001:db8::1:0:0:1'],
  ['AAAA', '2001:db8:0:1:1:1:1:1', undefined, '2001:db8:0:1:1:1:1:1'],
  ['AAAA', '1:0:0:2:0:0:0:3', undefined, '1:0:0:2::3'],
  ['AAAA', '1:0:0:2:2:0:0:3', undefined, '1::2:2:0:0:3'],
  ['AAAA', '::', undefined, '::'],
  ['AAAA', '::1', undefined, '::1'],
  ['AAAA', '1::', undefined, '1::'],
  ['AAAA', '1:2:3:4:5:6:7::', undefined, '1:2:3:4:5:6:7:0'],
  ['AAAA', '::ffff:192.0.2.1', undefined, '::ffff:192.0.2.1'],
  ['AAAA', '::FFFF:c000:0201', undefined, '::ffff:192.0.2.1'],
  ['AAAA', '64:ff9b::192.0.2.1', undefined, '64:ff9b::c000:201'],
  ['CNAME', 'www.example.com.', undefined, 'www.example.com.'],
  ['CNAME', 'WWW.Example.com', undefined, 'www.example.com.'],
  ['CNAME', 'www', ORIGIN, 'www.example.com.'],
  ['CNAME', '@', ORIGIN, 'example.com.'],
  ['CNAME', 'other.net.', ORIGIN, 'other.net.'],
  ['NS', 'ns1.example.net', undefined, 'ns1.example.net.'],
  ['NS', 'ns1', ORIGIN, 'ns1.example.com.'],
  ['PTR', 'host.example.com', undefined, 'host.example.com.'],
  ['PTR', 'a\\.b.example.com.', undefined, 'a\\.b.example.com.'],
  ['MX', '10 mail.example.com', undefined, '10 mail.example.com.'],
  ['MX', '0 .', undefined, '0 .'],
  ['MX', '65535 mail', ORIGIN, '65535 mail.example.com.'],
  ['TXT', '"hello world"', undefined, '"hello world"'],
  ['TXT', 'v=spf1 -all', undefined, '"v=spf1" "-all"'],
  ['TXT', '""', undefined, '""'],
  ['TXT', '"a" "" "b"', undefined, '"a" "" "b"'],
  ['TXT', '"say \\"hi\\""', undefined, '"say \\"hi\\""'],
  ['TXT', '"back\\\\slash"', undefined, '"back\\\\slash"'],
  ['TXT', '"\\065\\066"', undefined, '"AB"'],
  ['TXT', '"tab\\009nul\\000del\\127"', undefined, '"tab\\009nul\\000del\\127"'],
  ['TXT', '"café"', undefined, '"caf\\195\\169"'],
  ['TXT', '"emoji 🙂"', undefined, '"emoji \\240\\159\\153\\130"'],
  ['TXT', 'semi;colon (paren) @ $', undefined, '"semi;colon" "(paren)" "@" "$"'],
  ['TXT', 'a\\ b', undefined, '"a b"'],
  ['TXT', '"line\nbreak"', undefined, '"line\\010break"'],
  ['TXT', `"${'x'.repeat(255)}"`, undefined, `"${'x'.repeat(255)}"`],
  ['SRV', '10 60 5060 sip.example.com', undefined, '10 60 5060 sip.example.com.'],
  ['SRV', '0 0 0 .', undefined, '0 0 0 .'],
  ['SRV', '65535 65535 65535 sip', ORIGIN, '65535 65535 65535 sip.example.com.'],
  ['CAA', '0 issue "letsencrypt.org"', undefined, '0 issue "letsencrypt.org"'],
  ['CAA', '0 issue letsencrypt.org', undefined, '0 issue "letsencrypt.org"'],
  ['CAA', '128 ISSUEWILD ";"', undefined, '128 issuewild ";"'],
  ['CAA', '0 iodef "mailto:a@example.com"', undefined, '0 iodef "mailto:a@example.com"'],
  ['CAA', '0 issue ""', undefined, '0 issue ""'],
  ['CAA', '255 tag0123456789ab "v"', undefined, '255 tag0123456789ab "v"'],
  [
    'SOA',
    'ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300',
    undefined,
    'ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300',
  ],
  [
    'SOA',
    'NS1.example.com hostmaster.example.com 4294967295 1h 10M 1w 5m30s',
    undefined,
    'ns1.example.com. hostmaster.example.com. 4294967295 3600 600 604800 330',
  ],
  ['SOA', 'ns1 hostmaster 2024010101 3h 15m 2w 1d', ORIGIN, 'ns1.example.com. hostmaster.example.com. 2024010101 10800 900 1209600 86400'],
  ['SOA', '@ john\\.doe 1 1 1 1 1', ORIGIN, 'example.com. john\\.doe.example.com. 1 1 1 1 1'],
];

/** [type, input, origin, what the message must say] */
const invalid: [RRType, string, string | undefined, RegExp][] = [
  ['A', '300.1.1.1', undefined, /invalid IPv4 address "300\.1\.1\.1"/],
  ['A', '01.2.3.4', undefined, /invalid IPv4 address "01\.2\.3\.4"/],
  ['A', '1.2.3', undefined, /invalid IPv4 address "1\.2\.3"/],
  ['A', '1.2.3.4.5', undefined, /invalid IPv4 address/],
  ['A', '::1', undefined, /invalid IPv4 address "::1"/],
  ['A', '"1.2.3.4"', undefined, /invalid IPv4 address/],
  ['A', '', undefined, /A value is incomplete/],
  ['A', '1.2.3.4 extra', undefined, /unexpected "extra" after the A value/],
  ['AAAA', '192.0.2.1', undefined, /invalid IPv6 address "192\.0\.2\.1"/],
  ['AAAA', '2001:db8::1::2', undefined, /invalid IPv6 address/],
  ['AAAA', 'fe80::1%eth0', undefined, /invalid IPv6 address "fe80::1%eth0"/],
  ['AAAA', '12345::', undefined, /invalid IPv6 address/],
  ['AAAA', '::1 ::2', undefined, /unexpected "::2" after the AAAA value/],
  ['CNAME', '', undefined, /CNAME value is incomplete/],
  ['CNAME', 'a..b', undefined, /invalid CNAME target "a\.\.b": empty label/],
  ['CNAME', 'a b', undefined, /unexpected "b" after the CNAME value/],
  ['CNAME', '@', undefined, /CNAME target "@" needs a zone origin/],
  ['CNAME', '"quoted.example."', undefined, /CNAME target must be a domain name, not a quoted string/],
  ['NS', `${'x'.repeat(64)}.com`, undefined, /invalid NS target .*longer than 63 octets/],
  ['PTR', 'bad\\', undefined, /trailing backslash/],
  ['MX', 'mail.example.com', undefined, /MX value is incomplete: expected "preference exchange"/],
  ['MX', '65536 mail.example.com', undefined, /MX preference must be an integer 0\.\.65535 \(got "65536"\)/],
  ['MX', '-1 mail.example.com', undefined, /MX preference must be an integer 0\.\.65535/],
  ['MX', 'ten mail.example.com', undefined, /MX preference must be an integer 0\.\.65535 \(got "ten"\)/],
  ['MX', '10 mail.example.com extra', undefined, /unexpected "extra" after the MX value/],
  ['TXT', '', undefined, /TXT value needs at least one string/],
  ['TXT', '   ', undefined, /TXT value needs at least one string/],
  ['TXT', `"${'x'.repeat(256)}"`, undefined, /TXT string is longer than 255 octets \(256\)/],
  ['TXT', `"${'é'.repeat(128)}"`, undefined, /TXT string is longer than 255 octets \(256\)/],
  ['TXT', '"unterminated', undefined, /unterminated quoted string/],
  ['TXT', 'mid"quote', undefined, /unexpected quote/],
  ['TXT', '"\\256"', undefined, /invalid escape "\\256"/],
  ['TXT', '"\\12"', undefined, /invalid escape "\\12"/],
  ['TXT', 'end\\', undefined, /trailing backslash/],
  ['SRV', '10 60 5060', undefined, /SRV value is incomplete: expected "priority weight port target"/],
  ['SRV', '10 60 70000 sip.example.com', undefined, /SRV port must be an integer 0\.\.65535 \(got "70000"\)/],
  ['SRV', 'x 60 5060 sip.example.com', undefined, /SRV priority must be an integer/],
  ['SRV', '1 -2 5060 sip.example.com', undefined, /SRV weight must be an integer/],
  ['SRV', '1 2 3 sip.example.com more', undefined, /unexpected "more" after the SRV value/],
  ['CAA', '0 issue', undefined, /CAA value is incomplete: expected "flags tag value"/],
  ['CAA', '256 issue "x"', undefined, /CAA flags must be an integer 0\.\.255 \(got "256"\)/],
  ['CAA', '0 is-sue "x"', undefined, /CAA tag must be 1\.\.15 letters or digits \(got "is-sue"\)/],
  ['CAA', '0 abcdefghijklmnop "x"', undefined, /CAA tag must be 1\.\.15 letters or digits/],
  ['CAA', '0 issue "a" "b"', undefined, /unexpected "\\"b\\"" after the CAA value/],
  ['SOA', 'ns1.example.com. hostmaster.example.com. 1 3600 600 86400', undefined, /SOA value is incomplete/],
  ['SOA', 'ns1. host. 4294967296 1 1 1 1', undefined, /SOA serial must be an integer 0\.\.4294967295 \(got "4294967296"\)/],
  ['SOA', 'ns1. host. 1h 1 1 1 1', undefined, /SOA serial must be an integer/],
  ['SOA', 'ns1. host. 1 1x 1 1 1', undefined, /SOA refresh must be 0\.\.4294967295 seconds or a duration like 1h \(got "1x"\)/],
  ['SOA', 'ns1. host. 1 1 -5 1 1', undefined, /SOA retry must be/],
  ['SOA', 'ns1. host. 1 1 1 99999999999 1', undefined, /SOA expire must be/],
  ['SOA', 'ns1. host. 1 1 1 1 x', undefined, /SOA minimum must be/],
  ['SOA', 'ns1. admin@example.com 1 1 1 1 1', undefined, /SOA rname must be a domain name \(write "admin\.example\.com\.", not "admin@example\.com"\)/],
  ['SOA', 'ns1. host. 1 1 1 1 1 1', undefined, /unexpected "1" after the SOA value/],
];

describe('parseRData / formatRData', () => {
  for (const [type, input, origin, expected] of valid) {
    it(`${type} ${JSON.stringify(input)}${origin ? ` (origin ${origin})` : ''}`, () => {
      const parsed = parseRData(type, input, origin);
      assert.equal(parsed.type, type);
      assert.equal(formatRData(parsed), expected);
      assert.equal(canonicalValue(type, input, origin), expected);
      // The invariant: formatting then parsing again gives the same structure...
      assert.deepEqual(parseRData(type, formatRData(parsed)), parsed);
      // ...also when the canonical text is read in a zone file with any origin.
      assert.deepEqual(parseRData(type, formatRData(parsed), 'elsewhere.test.'), parsed);
      assert.ok(rdataEquals(parsed, parseRData(type, expected)));
    });
  }

  for (const [type, input, origin, re] of invalid) {
    it(`rejects ${type} ${JSON.stringify(input.length > 60 ? input.slice(0, 60) + '…' : input)}`, () => {
      assert.throws(
        () => parseRData(type, input, origin),
        (e: unknown) => {
          assert.ok(e instanceof RDataError, `expected RDataError, got ${String(e)}`);
          assert.match(e.message, re);
          return true;
        },
      );
    });
  }

  it('gives structured values', () => {
    assert.deepEqual(parseRData('MX', '10 Mail.Example.com'), { type: 'MX', preference: 10, exchange: 'mail.example.com.' });
    assert.deepEqual(parseRData('SRV', '1 2 3 t', ORIGIN), {
      type: 'SRV',
      priority: 1,
      weight: 2,
      port: 3,
      target: 't.example.com.',
    });
    assert.deepEqual(parseRData('TXT', '"a\\"b" c'), {
      type: 'TXT',
      strings: [Uint8Array.from([97, 34, 98]), Uint8Array.from([99])],
    });
    assert.deepEqual(parseRData('CAA', '0 Issue "ca.example"'), {
      type: 'CAA',
      flags: 0,
      tag: 'issue',
      value: new TextEncoder().encode('ca.example'),
    });
    assert.deepEqual(parseRData('SOA', 'a. b. 7 1h 2h 3h 4h'), {
      type: 'SOA',
      mname: 'a.',
      rname: 'b.',
      serial: 7,
      refresh: 3600,
      retry: 7200,
      expire: 10800,
      minimum: 14400,
    });
  });

  it('rdataEquals compares canonical forms', () => {
    assert.ok(rdataEquals(parseRData('AAAA', '2001:DB8::0:1'), parseRData('AAAA', '2001:db8::1')));
    assert.ok(rdataEquals(parseRData('CNAME', 'a.example.com'), parseRData('CNAME', 'A.EXAMPLE.COM.')));
    assert.ok(rdataEquals(parseRData('TXT', 'abc'), parseRData('TXT', '"\\097bc"')));
    assert.ok(!rdataEquals(parseRData('TXT', '"a b"'), parseRData('TXT', 'a b')));
    assert.ok(!rdataEquals(parseRData('MX', '10 a.'), parseRData('MX', '20 a.')));
    assert.ok(!rdataEquals(parseRData('CNAME', 'a.'), parseRData('NS', 'a.')));
  });
});

describe('parseTtl', () => {
  const valid: [string, number][] = [
    ['0', 0],
    ['300', 300],
    ['1s', 1],
    ['1m', 60],
    ['1h', 3600],
    ['1d', 86400],
    ['1w', 604800],
    ['1w2d3h4m5s', 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5],
    ['1H30M', 5400],
    ['2h2h', 14400],
    [String(MAX_TTL), MAX_TTL],
  ];
  for (const [text, seconds] of valid) {
    it(`${text} = ${seconds}`, () => assert.equal(parseTtl(text), seconds));
  }
  const invalid: [string, RegExp][] = [
    ['', /invalid TTL ""/],
    ['-1', /invalid TTL "-1"/],
    ['1.5', /invalid TTL "1\.5"/],
    ['1x', /invalid TTL "1x"/],
    ['h', /invalid TTL "h"/],
    ['1h30', /invalid TTL "1h30"/],
    [' 300', /invalid TTL " 300"/],
    [String(MAX_TTL + 1), /TTL "2147483648" is larger than 2147483647 seconds/],
    ['3551w', /TTL "3551w" is larger than/],
  ];
  for (const [text, re] of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseTtl(text), (e: unknown) => e instanceof RDataError && re.test(e.message));
    });
  }
});
