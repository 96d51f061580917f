import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ZoneFileError, parseZoneFile, type ZoneFileRecord } from '../../src/zonefile/reader.ts';
import { formatRData, parseRData } from '../../src/records/rdata.ts';
import { rdataWireLength } from '../../src/records/wire-size.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/zones/${name}`, import.meta.url), 'utf8');

/** Records as compact "line name ttl type value" strings. */
const show = (records: ZoneFileRecord[]): string[] =>
  records.map((r) => `${r.line} ${r.name} ${r.ttl} ${r.type} ${r.value}`);

describe('parseZoneFile: example.com fixture', () => {
  const { origin, records } = parseZoneFile(fixture('example.com.zone'), { origin: 'Example.COM' });

  it('returns the normalised zone origin', () => assert.equal(origin, 'example.com.'));

  it('reads every record with its line, owner, TTL and canonical value', () => {
    assert.deepEqual(show(records), [
      '5 example.com. 3600 SOA ns1.example.com. hostmaster.example.com. 2024010101 10800 900 604800 300',
      '12 example.com. 3600 NS ns1.example.com.',
      '13 example.com. 3600 NS ns2.example.net.',
      '14 example.com. 3600 MX 10 mail.example.com.',
      '15 example.com. 3600 MX 20 mail.backup.example.net.',
      '16 example.com. 3600 TXT "v=spf1 mx -all"',
      '17 example.com. 3600 TXT "part one; not a comment" "part two (with parens)"',
      '19 example.com. 3600 CAA 0 issue "letsencrypt.org"',
      '20 example.com. 3600 CAA 128 iodef "mailto:security@example.com"',
      '22 ns1.example.com. 3600 A 192.0.2.1',
      '23 ns1.example.com. 3600 AAAA 2001:db8::53',
      '24 ns2.example.com. 300 A 192.0.2.2',
      '25 mail.example.com. 3600 A 192.0.2.25',
      '26 www.example.com. 3600 CNAME example.com.',
      '27 webmail.example.com. 3600 CNAME mail.example.com.',
      '28 ftp.example.com. 600 CNAME www.example.com.',
      '30 _sip._tcp.example.com. 3600 SRV 10 60 5060 sipserver.example.com.',
      '31 _sip._udp.example.com. 3600 SRV 0 0 0 .',
      '33 txt.example.com. 3600 TXT "He said \\"hi\\"" "back\\\\slash" "caf\\195\\169" "tab\\009end" ""',
      '34 txt.example.com. 3600 TXT "unquoted" "words" "are" "separate" "strings"',
      '35 weird\\.label.example.com. 3600 A 192.0.2.77',
      '36 with\\032space.example.com. 3600 A 192.0.2.78',
      '40 sub.example.com. 172800 NS ns1.example.com.',
      '41 host.sub.example.com. 172800 A 198.51.100.7',
      '42 host.sub.example.com. 172800 AAAA ::ffff:198.51.100.7',
      '45 1.2.0.192.in-addr.arpa.example.com. 172800 PTR ns1.example.com.',
    ]);
  });

  it('covers every record type', () => {
    const types = new Set(records.map((r) => r.type));
    for (const t of ['A', 'AAAA', 'CNAME', 'NS', 'SOA', 'MX', 'TXT', 'SRV', 'PTR', 'CAA']) assert.ok(types.has(t as never), t);
  });

  it('keeps the SOA parsed, and each value canonical with its wire length', () => {
    const soa = records[0].soa;
    assert.equal(soa?.serial, 2024010101);
    assert.ok(records.slice(1).every((r) => r.soa === undefined));
    for (const r of records) {
      const rdata = parseRData(r.type, r.value);
      assert.equal(formatRData(rdata), r.value, `${r.name} ${r.type}`);
      assert.equal(r.rdataLength, rdataWireLength(rdata), `${r.name} ${r.type}`);
    }
    const txt = parseRData('TXT', records.find((r) => r.name === 'txt.example.com.')!.value);
    assert.ok(txt.type === 'TXT');
    if (txt.type === 'TXT') {
      assert.deepEqual([...txt.strings[2]], [...new TextEncoder().encode('café')]);
      assert.deepEqual([...txt.strings[3]], [116, 97, 98, 9, 101, 110, 100]);
    }
  });
});

describe('parseZoneFile: seed zones', () => {
  const seeds: [string, string, string[]][] = [
    ['svc.mcp.metacircular.net.zone', 'svc.mcp.metacircular.net', ['metacrypt', 'mcr', 'sgard', 'mcp-agent']],
    ['mcp.metacircular.net.zone', 'mcp.metacircular.net.', ['rift', 'ns']],
  ];
  for (const [file, zone, hosts] of seeds) {
    it(file, () => {
      const { origin, records } = parseZoneFile(fixture(file), { origin: zone });
      const apex = zone.endsWith('.') ? zone : `${zone}.`;
      assert.equal(origin, apex);
      const expected = [
        `${apex} 300 SOA ns.mcp.metacircular.net. admin.metacircular.net. 1 3600 600 86400 300`,
        `${apex} 300 NS ns.mcp.metacircular.net.`,
        ...hosts.flatMap((h) => [`${h}.${apex} 300 A 192.168.88.181`, `${h}.${apex} 300 A 100.95.252.120`]),
      ];
      assert.deepEqual(
        records.map((r) => `${r.name} ${r.ttl} ${r.type} ${r.value}`),
        expected,
      );
    });
  }
});

/** [description, zone text, expected "line name ttl type value" records] (origin example.com., no defaultTtl) */
const validCases: [string, string, string[]][] = [
  ['empty file', '', []],
  ['comments and blank lines only', '; nothing\n\n   ; here\n', []],
  ['explicit TTL and class', 'www 60 IN A 192.0.2.1\n', ['1 www.example.com. 60 A 192.0.2.1']],
  ['class before TTL', 'www IN 60 A 192.0.2.1\n', ['1 www.example.com. 60 A 192.0.2.1']],
  ['lowercase class and type', 'www 60 in a 192.0.2.1', ['1 www.example.com. 60 A 192.0.2.1']],
  ['TTL with units', 'www 1h30m A 192.0.2.1', ['1 www.example.com. 5400 A 192.0.2.1']],
  ['CLASS1 is IN', 'www 60 CLASS1 A 192.0.2.1', ['1 www.example.com. 60 A 192.0.2.1']],
  ['$TTL default', '$TTL 120\nwww A 192.0.2.1', ['2 www.example.com. 120 A 192.0.2.1']],
  [
    'previous TTL when no $TTL',
    'a 60 A 192.0.2.1\nb A 192.0.2.2\nc 70 A 192.0.2.3\nd A 192.0.2.4',
    ['1 a.example.com. 60 A 192.0.2.1', '2 b.example.com. 60 A 192.0.2.2', '3 c.example.com. 70 A 192.0.2.3', '4 d.example.com. 70 A 192.0.2.4'],
  ],
  [
    '$TTL wins over the previous TTL',
    '$TTL 100\na 60 A 192.0.2.1\nb A 192.0.2.2',
    ['2 a.example.com. 60 A 192.0.2.1', '3 b.example.com. 100 A 192.0.2.2'],
  ],
  [
    'omitted owner repeats the previous one',
    'www 60 A 192.0.2.1\n\t60 A 192.0.2.2\n  60 AAAA ::1',
    ['1 www.example.com. 60 A 192.0.2.1', '2 www.example.com. 60 A 192.0.2.2', '3 www.example.com. 60 AAAA ::1'],
  ],
  [
    'omitted owner survives $ORIGIN',
    'www 60 A 192.0.2.1\n$ORIGIN sub.example.com.\n 60 CNAME x',
    ['1 www.example.com. 60 A 192.0.2.1', '3 www.example.com. 60 CNAME x.sub.example.com.'],
  ],
  ['@ and absolute owners', '@ 60 A 192.0.2.1\nexample.com. 60 A 192.0.2.2', ['1 example.com. 60 A 192.0.2.1', '2 example.com. 60 A 192.0.2.2']],
  ['relative $ORIGIN', '$ORIGIN sub\n@ 60 A 192.0.2.1', ['2 sub.example.com. 60 A 192.0.2.1']],
  ['names in values use $ORIGIN', '$ORIGIN sub.example.com.\nx 60 MX 10 mail\n', ['2 x.sub.example.com. 60 MX 10 mail.sub.example.com.']],
  [
    'parentheses spanning lines with comments',
    '@ 60 SOA ns1 admin ( ; comment\n 1 ; serial\n 2 3\n\n 4 ( 5 ) ) \nwww 60 A 192.0.2.1',
    ['1 example.com. 60 SOA ns1.example.com. admin.example.com. 1 2 3 4 5', '6 www.example.com. 60 A 192.0.2.1'],
  ],
  ['semicolon inside quotes is not a comment', 'x 60 TXT "a;b" ; real comment', ['1 x.example.com. 60 TXT "a;b"']],
  ['parenthesis inside quotes', 'x 60 TXT "(" ")"', ['1 x.example.com. 60 TXT "(" ")"']],
  ['escaped semicolon and parenthesis', 'x 60 TXT a\\;b \\(', ['1 x.example.com. 60 TXT "a;b" "("']],
  ['quoted escapes', 'x 60 TXT "q\\"\\\\\\065"', ['1 x.example.com. 60 TXT "q\\"\\\\A"']],
  ['escaped owner names', 'a\\.b 60 A 192.0.2.1\nsp\\032ace 60 A 192.0.2.2\n\\065 60 A 192.0.2.3', [
    '1 a\\.b.example.com. 60 A 192.0.2.1',
    '2 sp\\032ace.example.com. 60 A 192.0.2.2',
    '3 a.example.com. 60 A 192.0.2.3',
  ]],
  ['CRLF line endings and BOM', '\ufeff$TTL 60\r\nwww A 192.0.2.1\r\n', ['2 www.example.com. 60 A 192.0.2.1']],
  ['owner named like a class or type', 'in 60 A 192.0.2.1\na 60 A 192.0.2.2', ['1 in.example.com. 60 A 192.0.2.1', '2 a.example.com. 60 A 192.0.2.2']],
  ['wildcard', '* 60 A 192.0.2.1', ['1 *.example.com. 60 A 192.0.2.1']],
  ['no trailing newline', 'www 60 A 192.0.2.1', ['1 www.example.com. 60 A 192.0.2.1']],
  [
    'key="quoted value" stays one word (SVCB parameters), spaces and ";" inside included',
    'x 60 HTTPS 1 . alpn="h2,h3" port=443 ; comment\ny 60 SVCB 1 . alpn="a b;c" (\n port=8443 )',
    ['1 x.example.com. 60 HTTPS 1 . alpn="h2,h3" port=443', '2 y.example.com. 60 SVCB 1 . alpn="a b;c" port=8443'],
  ],
];

describe('parseZoneFile: valid input', () => {
  for (const [what, text, expected] of validCases) {
    it(what, () => {
      assert.deepEqual(show(parseZoneFile(text, { origin: 'example.com.' }).records), expected);
    });
  }
  it('uses opts.defaultTtl last', () => {
    const { records } = parseZoneFile('www A 192.0.2.1\nb 5 A 192.0.2.2\nc A 192.0.2.3', { origin: 'example.com', defaultTtl: 42 });
    assert.deepEqual(records.map((r) => r.ttl), [42, 5, 5]);
  });
});

/** [description, zone text, line, what the message must say] */
const invalidCases: [string, string, number, RegExp][] = [
  ['$INCLUDE with no file to resolve it against', '$INCLUDE other.zone\n', 1, /\$INCLUDE is refused here: this zone file was not read from a file/],
  ['$GENERATE with a bad range', '$TTL 60\n$GENERATE 10-1 host$ A 10.0.0.$', 2, /invalid range "10-1": stop is before start/],
  ['unknown directive', '$FOO bar', 1, /unknown directive "\$FOO" \(known: \$ORIGIN, \$TTL, \$INCLUDE, \$GENERATE\)/],
  ['$ORIGIN without a name', '$ORIGIN', 1, /\$ORIGIN needs exactly one name/],
  ['$TTL with a bad value', '$TTL forever', 1, /invalid TTL "forever"/],
  ['class CH', 'www 60 CH A 192.0.2.1', 1, /class CH is not supported \(only IN\)/],
  ['class HS', '\nwww HS 60 A 192.0.2.1', 2, /class HS is not supported/],
  ['a type MCNS has no codec for', '$TTL 60\nwww AFSDB 1 afs', 2, /record type AFSDB is not supported by MCNS \(write it in RFC 3597 form/],
  ['a meta type by number', 'www 60 TYPE255 \\# 0', 1, /record type TYPE255 is not a data type MCNS can store/],
  ['unknown type', 'www 60 IN FOO bar', 1, /unknown record type "FOO"/],
  ['missing type', 'www 60 IN', 1, /missing record type/],
  ['two TTLs', 'www 60 IN 70 A 192.0.2.1', 1, /expected a record type, got "70"/],
  ['two classes', 'www IN IN A 192.0.2.1', 1, /expected a record type, got the class "IN" again/],
  ['bad TTL', 'www 6O A 192.0.2.1', 1, /invalid TTL "6O"/],
  ['TTL too large', 'www 2147483648 A 192.0.2.1', 1, /TTL "2147483648" is larger than 2147483647/],
  ['no TTL anywhere', '\n\nwww A 192.0.2.1', 3, /no TTL for this record/],
  ['no previous owner', '  60 A 192.0.2.1', 1, /no owner name/],
  ['bad address', '$TTL 60\nwww A 300.1.1.1', 2, /invalid IPv4 address "300\.1\.1\.1"/],
  ['trailing garbage', 'www 60 A 1.2.3.4 extra', 1, /unexpected "extra" after the A value/],
  ['TXT string too long', `x 60 TXT "${'a'.repeat(300)}"`, 1, /TXT string is longer than 255 octets/],
  ['empty TXT', 'x 60 TXT ; nothing', 1, /TXT value needs at least one string/],
  ['bad owner name', 'a..b 60 A 192.0.2.1', 1, /invalid owner name "a\.\.b": empty label/],
  ['long label', `${'x'.repeat(64)} 60 A 192.0.2.1`, 1, /longer than 63 octets/],
  ['owner outside the zone', 'www.example.net. 60 A 192.0.2.1', 1, /owner name "www\.example\.net\." is outside the zone "example\.com\."/],
  ['$ORIGIN outside the zone', '$ORIGIN example.net.\nwww 60 A 192.0.2.1', 2, /outside the zone/],
  ['unterminated quote', 'x 60 TXT "abc', 1, /unterminated quoted string/],
  ['unclosed parenthesis', '$TTL 60\n@ SOA a. b. ( 1 2 3\n 4 5\n', 2, /parenthesis "\(" is never closed/],
  ['unbalanced )', 'x 60 A 192.0.2.1 )', 1, /unbalanced "\)"/],
  ['quote inside a word', 'x 60 TXT ab"c"', 1, /unexpected quote/],
  ['unterminated quoted value after "="', 'x 60 HTTPS 1 . alpn="h2', 1, /unterminated quoted value in "alpn="/],
  ['backslash at end of line', 'x 60 TXT abc\\\n', 1, /backslash at end of line/],
  ['SOA error reported at its first line', '$TTL 60\n@ SOA ns1 admin (\n 1 2 3\n 4 x )', 2, /SOA minimum must be/],
  ['quoted owner', '"www" 60 A 192.0.2.1', 1, /owner name must not be a quoted string/],
  ['SOA below the apex', '$TTL 60\nsub SOA ns1 h 1 2 3 4 5', 2, /the SOA record must be at the zone apex example\.com\., not at sub\.example\.com\./],
  ['a second SOA', '$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n\n@ SOA ns2 h 1 2 3 4 5', 4, /a second SOA record \(the zone's SOA is at line 2\)/],
];

describe('parseZoneFile: invalid input', () => {
  for (const [what, text, line, re] of invalidCases) {
    it(what, () => {
      assert.throws(
        () => parseZoneFile(text, { origin: 'example.com.' }),
        (e: unknown) => {
          assert.ok(e instanceof ZoneFileError, `expected ZoneFileError, got ${String(e)}`);
          assert.equal(e.line, line);
          assert.match(e.message, new RegExp(`^line ${line}: `));
          assert.match(e.message, re);
          assert.equal(e.errors[0].line, line);
          return true;
        },
      );
    });
  }

  it('reports every bad line, one a line in the message, and returns nothing', () => {
    const text = [
      '$TTL 60',
      'ok1 A 192.0.2.1',
      'bad1 A 192.0.2.300',
      'ok2 A 192.0.2.2',
      'bad2 AFSDB x y',
      '     MX 10',
      'bad3 CH A 192.0.2.3',
      'ok3 TXT "fine"',
      'bad4 TXT "unterminated',
      '     A 192.0.2.9',
    ].join('\n');
    assert.throws(
      () => parseZoneFile(text, { origin: 'example.com.' }),
      (e: unknown) => {
        assert.ok(e instanceof ZoneFileError);
        assert.equal(e.message.split('\n')[0], 'line 3: invalid IPv4 address "192.0.2.300"');
        assert.deepEqual(
          e.message.split('\n').map((l) => Number(/^line (\d+): /.exec(l)?.[1])),
          [3, 5, 6, 7, 9],
        );
        assert.deepEqual(
          e.errors.map((x) => x.line),
          [3, 5, 6, 7, 9],
        );
        assert.match(e.errors[1].message, /AFSDB/);
        assert.match(e.errors[2].message, /MX value is incomplete/);
        assert.match(e.errors[3].message, /class CH/);
        assert.match(e.errors[4].message, /unterminated quoted string/);
        return true;
      },
    );
  });

  it('rejects an invalid zone origin', () => {
    assert.throws(() => parseZoneFile('', { origin: 'a..b' }), /empty label/);
  });
});
