/**
 * Every type's codec: presentation -> RData -> wire -> RData -> presentation round trips, the RFC
 * 3597 generic form for every type, exact wire lengths (the size limits), the RFC 4034 canonical
 * form, TYPEnnn mnemonics, the API's TXT rule, and one error per checked field naming that field.
 */
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import {
  RDataError,
  canonicalApiValue,
  canonicalRDataWire,
  formatRData,
  formatRDataGeneric,
  parseApiValue,
  parseRData,
  rdataFromWire,
  rdataTargets,
  rdataToWire,
} from '../../src/records/rdata.ts';
import { parseRRType, rrTypeCode, RR_TYPES, RR_TYPE_BY_CODE, isRRType, type RData, type RRType } from '../../src/records/types.ts';
import { rdataWireLength } from '../../src/records/wire-size.ts';
import { encodeMessage } from '../../src/dns/wire.ts';
import { readName } from '../../src/dns/transfer/message.ts';
import { EVERY_TYPE } from './every-type.ts';
import { dnskeyKeyTag } from '../../src/records/rrtypes/dnssec.ts';
import { nameToWire } from '../../src/records/names.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('every type round-trips', () => {
  it('the corpus covers every known type and RFC 3597 ones', () => {
    const covered = new Set(EVERY_TYPE.map(([, t]) => t));
    for (const t of RR_TYPES) if (t !== 'SOA') assert.ok(covered.has(t), `${t} is in the corpus`);
    assert.ok(covered.has('TYPE65400'));
  });

  for (const [owner, type, input, canonical] of EVERY_TYPE) {
    it(`${owner} ${type} ${input.length > 50 ? input.slice(0, 50) + '…' : input}`, () => {
      const d = parseRData(type, input);
      assert.equal(d.type, type);
      assert.equal(formatRData(d), canonical);
      // Canonical text reads back to the same value, with or without an origin.
      assert.deepEqual(parseRData(type, canonical), d);
      assert.deepEqual(parseRData(type, canonical, 'elsewhere.test.'), d);
      // Wire and back.
      const wire = rdataToWire(d);
      assert.equal(rdataWireLength(d), wire.length, 'wire length is exact');
      const back = rdataFromWire(type, wire, 0, wire.length);
      assert.deepEqual(back, d);
      assert.equal(formatRData(back), canonical);
      // The RFC 3597 generic form of any type reads as that type.
      const generic = formatRDataGeneric(d);
      assert.match(generic, /^\\# \d+/);
      assert.deepEqual(parseRData(type, generic), d);
      // Inside a message, after other names (compression where the type allows it), the decoder
      // reads what the encoder wrote.
      const msg = encodeMessage({
        id: 1,
        flags: 0x8400,
        question: [{ name: `${owner}.example.net.`, type: rrTypeCode(type), class: 1 }],
        answer: [
          { name: `${owner}.example.net.`, type, ttl: 300, data: d },
          { name: `${owner}.example.net.`, type, ttl: 300, data: d },
        ],
        authority: [],
        additional: [],
      }).bytes;
      let p = 12;
      p = readName(msg, p).end + 4;
      for (let i = 0; i < 2; i++) {
        const end = readName(msg, p).end;
        assert.equal(msg.readUInt16BE(end), rrTypeCode(type));
        const rdlen = msg.readUInt16BE(end + 8);
        assert.deepEqual(rdataFromWire(type, msg, end + 10, end + 10 + rdlen), d);
        p = end + 10 + rdlen;
      }
      assert.equal(p, msg.length);
    });
  }

  it('only the RFC 1035 types compress names inside rdata (RFC 3597 4)', () => {
    const at = (type: RRType, value: string): Buffer =>
      encodeMessage({
        id: 1,
        flags: 0x8400,
        question: [{ name: 'example.net.', type: rrTypeCode(type), class: 1 }],
        answer: [{ name: 'example.net.', type, ttl: 1, data: parseRData(type, value) }],
        authority: [],
        additional: [],
      }).bytes;
    // MX: the exchange points back at the question; DNAME, SRV, SVCB and NAPTR write theirs in full.
    assert.ok(at('MX', '1 example.net.').length < at('DNAME', 'example.net.').length);
    for (const [type, value] of [
      ['DNAME', 'example.net.'],
      ['SRV', '1 1 1 example.net.'],
      ['SVCB', '1 example.net.'],
      ['NAPTR', '1 1 "" "" "" example.net.'],
      ['RRSIG', 'A 13 2 1 1 1 1 example.net. AQID'],
      ['NSEC', 'example.net. A'],
      ['RP', 'example.net. example.net.'],
    ] as [RRType, string][]) {
      assert.ok(at(type, value).includes(Buffer.from('\x07example\x03net\x00', 'latin1'), 30), `${type} writes its name in full`);
    }
  });

  it('the canonical form lowercases names for the types RFC 4034 6.2 lists, not NSEC (RFC 6840 5.1)', () => {
    const upper: RData[] = [
      { type: 'MX', preference: 1, exchange: 'MAIL.Example.NET.' },
      { type: 'RRSIG', typeCovered: 1, algorithm: 13, labels: 2, originalTtl: 1, expiration: 2, inception: 1, keyTag: 1, signerName: 'Example.NET.', signature: Uint8Array.of(1) },
      { type: 'NSEC', nextName: 'Next.Example.NET.', types: [1, 46, 47] },
      { type: 'SRV', priority: 0, weight: 0, port: 1, target: 'SIP.example.net.' },
      { type: 'DNAME', target: 'T.example.net.' },
    ];
    for (const d of upper) {
      const c = Buffer.from(canonicalRDataWire(d)).toString('latin1');
      if (d.type === 'NSEC') assert.ok(c.includes('Next'), 'NSEC next name keeps its case');
      else assert.equal(c, c.toLowerCase(), `${d.type} names lowercased`);
    }
    // Compression never appears in the canonical form.
    assert.equal(hex(canonicalRDataWire(parseRData('SOA', 'a.example. b.example. 1 2 3 4 5'))), hex(rdataToWire(parseRData('SOA', 'a.example. b.example. 1 2 3 4 5'))));
  });

  it('the key tag of a DNSKEY (RFC 4034 B) is the one ldns and BIND give', () => {
    // ldns-read-zone prints ";{id = 2371 (ksk), size = 256b}" for this key.
    const key = parseRData('DNSKEY', '257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==');
    assert.equal(dnskeyKeyTag(key as Parameters<typeof dnskeyKeyTag>[0]), 2371);
    // RFC 4034 5.4: this key's DS names it 60485.
    const rfc = parseRData('DNSKEY', '256 3 5 AQOeiiR0GOMYkDshWoSKz9Xz fwJr1AYtsmx3TGkJaNXVbfi/ 2pHm822aJ5iI9BMzNXxeYCmZ DRD99WYwYqUSdjMmmAphXdvx egXd/M5+X7OrzKBaMbCVdFLU Uh6DhweJBjEVv5f2wwjM9Xzc nOf+EPbtG9DMBmADjFDc2w/r ljwvFw==');
    assert.equal(dnskeyKeyTag(rfc as Parameters<typeof dnskeyKeyTag>[0]), 60485);
    // ...and its digest over owner and canonical rdata (RFC 4034 5.1.4) is the DS's.
    const digest = createHash('sha1').update(nameToWire('dskey.example.com.')).update(canonicalRDataWire(rfc)).digest('hex').toUpperCase();
    assert.equal(digest, '2BB183AF5F22588179A53B0A98631FAD1A292118');
  });

  it('names inside values are lowercased, as every name MCNS stores', () => {
    assert.equal(formatRData(parseRData('DNAME', 'Target.Example.NET.')), 'target.example.net.');
    assert.equal(formatRData(parseRData('RRSIG', 'A 13 2 1 1 1 1 Example.NET. AQID')), 'A 13 2 1 19700101000001 19700101000001 1 example.net. AQID');
  });

  it('names the targets the additional section looks up', () => {
    assert.deepEqual(rdataTargets(parseRData('MX', '10 mail.example.net.')), ['mail.example.net.']);
    assert.deepEqual(rdataTargets(parseRData('SRV', '0 0 1 sip.example.net.')), ['sip.example.net.']);
    assert.deepEqual(rdataTargets(parseRData('HTTPS', '1 svc.example.net. alpn=h2')), ['svc.example.net.']);
    assert.deepEqual(rdataTargets(parseRData('HTTPS', '1 . alpn=h2')), []);
    assert.deepEqual(rdataTargets(parseRData('NAPTR', '1 1 "S" "SIP+D2U" "" _sip._udp.example.net.')), ['_sip._udp.example.net.']);
    assert.deepEqual(rdataTargets(parseRData('TXT', '"x"')), []);
  });
});

describe('RFC 3597', () => {
  it('TYPEnnn mnemonics: a known code is its type, another data type is TYPEnnn, meta types are not stored', () => {
    assert.equal(parseRRType('TYPE1'), 'A');
    assert.equal(parseRRType('type65'), 'HTTPS');
    assert.equal(parseRRType('https'), 'HTTPS');
    assert.equal(parseRRType('TYPE65400'), 'TYPE65400');
    assert.equal(parseRRType('type99'), 'TYPE99');
    for (const bad of ['TYPE0', 'TYPE41', 'TYPE250', 'TYPE255', 'TYPE65536', 'TYPE01', 'SPF', 'TYPE', 'TYPE-1']) assert.equal(parseRRType(bad), undefined, bad);
    assert.ok(isRRType('TYPE65400'));
    assert.ok(!isRRType('TYPE1'), 'the stored spelling of type 1 is A');
    assert.equal(rrTypeCode('TYPE65400'), 65400);
    assert.equal(rrTypeCode('CAA'), 257);
    assert.equal(RR_TYPE_BY_CODE.get(65400), 'TYPE65400');
    assert.equal(RR_TYPE_BY_CODE.get(52), 'TLSA');
    assert.equal(RR_TYPE_BY_CODE.get(255), undefined);
    assert.equal(RR_TYPE_BY_CODE.get(41), undefined);
  });

  it('an unknown type is kept byte for byte and written back upper-case, like BIND', () => {
    const d = parseRData('TYPE65400', '\\# 4 0a00 0001');
    assert.deepEqual(d, { type: 'TYPE65400', data: Uint8Array.of(10, 0, 0, 1) });
    assert.equal(formatRData(d), '\\# 4 0A000001');
    assert.equal(hex(rdataToWire(d)), '0a000001');
    assert.deepEqual(parseRData('TYPE65401', '\\# 0'), { type: 'TYPE65401', data: new Uint8Array(0) });
  });

  it('the generic form of a known type reads as that type, with that type\'s checks', () => {
    assert.deepEqual(parseRData('A', '\\# 4 C0000201'), { type: 'A', address: '192.0.2.1' });
    assert.deepEqual(parseRData('TXT', '\\# 3 026869'), { type: 'TXT', strings: [Uint8Array.from([0x68, 0x69])] });
    assert.throws(() => parseRData('A', '\\# 3 C00002'), /A rdata is too short/);
    assert.throws(() => parseRData('A', '\\# 5 C000020101'), /A rdata has 1 stray byte/);
    assert.throws(() => parseRData('DS', '\\# 5 0001080201'), /DS digest: a digest of type 2 \(SHA-256\) must be 32 bytes/);
    // A compression pointer has nothing to point to in a generic value.
    assert.throws(() => parseRData('MX', '\\# 6 000a0161c002'), /MX generic data holds a compressed name/);
  });
});

describe('TXT in the API and the CLI', () => {
  it('a value without a leading quote is one string', () => {
    assert.equal(canonicalApiValue('TXT', 'v=spf1 mx -all'), '"v=spf1 mx -all"');
    assert.equal(canonicalApiValue('TXT', 'hello world'), '"hello world"');
    assert.equal(canonicalApiValue('TXT', 'say "hi"'), '"say \\"hi\\""');
    assert.equal(canonicalApiValue('TXT', 'back\\slash'), '"back\\\\slash"');
    assert.equal(canonicalApiValue('TXT', 'café'), '"caf\\195\\169"');
    assert.equal(canonicalApiValue('TXT', '\\#tag'), '"\\\\#tag"');
    assert.equal(canonicalApiValue('TXT', '\\# 3 026869'), '"hi"');
  });

  it('a value that begins with a double quote is presentation format', () => {
    assert.equal(canonicalApiValue('TXT', '"v=spf1" "mx"'), '"v=spf1" "mx"');
    assert.equal(canonicalApiValue('TXT', '"a \\"b\\""'), '"a \\"b\\""');
    assert.throws(() => parseApiValue('TXT', '"unterminated'), /unterminated quoted string/);
  });

  it('a long value is split into 255-byte strings', () => {
    const d = parseApiValue('TXT', 'x'.repeat(600));
    assert.equal(d.type, 'TXT');
    assert.deepEqual((d as { strings: Uint8Array[] }).strings.map((s) => s.length), [255, 255, 90]);
    // A DKIM key as people paste it.
    const dkim = `v=DKIM1; k=rsa; p=${'A'.repeat(400)}`;
    assert.equal(formatRData(parseRData('TXT', canonicalApiValue('TXT', dkim))).replace(/" "/g, '').slice(1, -1), dkim);
  });

  it('other types keep presentation format', () => {
    assert.equal(canonicalApiValue('MX', '10 mail.example.net'), '10 mail.example.net.');
    assert.equal(canonicalApiValue('CAA', '0 issue "ca.example"'), '0 issue "ca.example"');
  });
});

/** [type, input, the message must say]. */
const invalid: [RRType, string, RegExp][] = [
  ['HTTPS', '1 . alpn=""', /HTTPS alpn: empty protocol id/],
  ['HTTPS', '1 . alpn=h2,,h3', /HTTPS alpn: empty protocol id/],
  ['SVCB', '1 . alpn', /SVCB alpn: needs a value/],
  ['SVCB', '1 . port=99999', /SVCB port: must be an integer 0\.\.65535 \(got "99999"\)/],
  ['SVCB', '1 . port=80 port=81', /SVCB port: appears twice/],
  ['SVCB', '1 . mandatory=port', /SVCB mandatory: lists port, which the record does not have/],
  ['SVCB', '1 . mandatory=mandatory', /SVCB mandatory: must not list "mandatory" itself/],
  ['SVCB', '1 . mandatory=alpn,alpn alpn=h2', /SVCB mandatory: lists alpn twice/],
  ['SVCB', '1 . no-default-alpn', /SVCB no-default-alpn: needs alpn too/],
  ['SVCB', '1 . no-default-alpn=x alpn=h2', /SVCB no-default-alpn: takes no value/],
  ['SVCB', '1 . ipv4hint=192.0.2.300', /SVCB ipv4hint: "192\.0\.2\.300" is not an IPv4 address/],
  ['SVCB', '1 . ipv6hint=192.0.2.1', /SVCB ipv6hint: "192\.0\.2\.1" is not an IPv6 address/],
  ['SVCB', '1 . ech=not*base64', /SVCB ech is not valid base64/],
  ['SVCB', '1 . dohpath=/dns-query', /SVCB dohpath: must contain the "dns" variable/],
  ['SVCB', '1 . dohpath=dns{?dns}', /SVCB dohpath: must be a relative URI template starting with "\/"/],
  ['SVCB', '1 . key65535=x', /SVCB key65535: key65535 is reserved/],
  ['SVCB', '1 . foo=bar', /SVCB parameters: unknown SvcParamKey "foo"/],
  ['SVCB', '1 . ohttp=1', /SVCB ohttp: takes no value/],
  ['SVCB', '1 . alpn="h2"x', /unexpected "x" after the quoted value of "alpn="/],
  ['SVCB', '70000 .', /SVCB priority must be an integer 0\.\.65535/],
  ['DS', '1 13 2 abcd', /DS digest: a digest of type 2 \(SHA-256\) must be 32 bytes \(64 hex digits\), got 2/],
  ['DS', `1 13 1 ${'ab'.repeat(32)}`, /DS digest: a digest of type 1 \(SHA-1\) must be 20 bytes/],
  ['DS', `1 13 4 ${'ab'.repeat(32)}`, /DS digest: a digest of type 4 \(SHA-384\) must be 48 bytes/],
  ['CDS', `1 13 2 ${'ab'.repeat(31)}zz`, /CDS digest is not valid hex \(character "z"\)/],
  ['DS', `1 13 2 ${'a'.repeat(63)}`, /DS digest is not valid hex \(odd number of digits: 63\)/],
  ['DS', '1 NOSUCHALG 2 00', /DS algorithm: must be a number 0\.\.255 or a mnemonic/],
  ['DS', '1 13 2', /DS value is incomplete: expected "key-tag algorithm digest-type digest" \(digest is missing\)/],
  ['DNSKEY', '257 2 13 AQID', /DNSKEY protocol: must be 3/],
  ['DNSKEY', '257 3 13 AQI', /DNSKEY public key is not valid base64 \(length or padding is wrong\)/],
  ['DNSKEY', '257 3 13 AQ!D', /DNSKEY public key is not valid base64 \(character "!" is not base64\)/],
  ['TLSA', '3 1 1 abcd', /TLSA certificate association data: data of matching type 1 \(SHA-256\) must be 32 bytes/],
  ['SMIMEA', `3 1 2 ${'ab'.repeat(32)}`, /SMIMEA certificate association data: data of matching type 2 \(SHA-512\) must be 64 bytes/],
  ['SSHFP', '4 2 abcd', /SSHFP fingerprint: a fingerprint of type 2 \(SHA-256\) must be 32 bytes/],
  ['SSHFP', `4 1 ${'ab'.repeat(32)}`, /SSHFP fingerprint: a fingerprint of type 1 \(SHA-1\) must be 20 bytes/],
  ['NAPTR', '100 10 "S+" "SIP+D2U" "" .', /NAPTR flags: may hold only letters A-Z and digits 0-9 \(got "\+"\)/],
  ['NAPTR', '100 10 "S" "SIP+D2U" ""', /NAPTR value is incomplete/],
  ['URI', '10 1 https://example.net/', /URI target: must be a quoted string/],
  ['URI', '10 1 ""', /URI target: is empty/],
  ['LOC', '91 N 0 E 0m', /LOC latitude degrees: must be 0\.\.90 \(got "91"\)/],
  ['LOC', '90 1 N 0 E 0m', /LOC latitude: is beyond 90 degrees/],
  ['LOC', '0 60 N 0 E 0m', /LOC latitude minutes: must be 0\.\.59/],
  ['LOC', '0 0 60 N 0 E 0m', /LOC latitude seconds: must be 0\.\.59\.999/],
  ['LOC', '0 N 181 E 0m', /LOC longitude degrees: must be 0\.\.180/],
  ['LOC', '0 N 1 2 3 X 0m 1m', /LOC longitude: expected degrees \[minutes \[seconds\]\] then E or W/],
  ['LOC', '0 N 0 E -100000.01m', /LOC altitude: must be -100000\.00\.\.42849672\.95 metres/],
  ['LOC', '0 N 0 E 42849672.96m', /LOC altitude: must be/],
  ['LOC', '0 N 0 E 0m 90000000.01m', /LOC size: must be 0\.\.90000000\.00 metres/],
  ['LOC', '0 N 0 E 0m 1m -1m', /LOC horizontal precision: must be/],
  ['LOC', '0 N 0 E 0m 1m 1m 1m 1m', /unexpected "1m" after the LOC value/],
  ['RRSIG', 'A 13 2 300 20301301000000 20251201000000 1 example.net. AQID', /RRSIG expiration: "20301301000000" is not a valid date and time/],
  ['RRSIG', 'NOTATYPE 13 2 300 1 1 1 example.net. AQID', /RRSIG type covered: "NOTATYPE" is not a record type/],
  ['NSEC', 'next.example.net. A BOGUS', /NSEC type bitmap: "BOGUS" is not a record type/],
  ['NSEC3', '1 1 10 xyz 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A', /NSEC3 salt is not valid hex/],
  ['NSEC3', '1 1 10 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJW A', /NSEC3 next hashed owner is not valid base32hex \(character "W"\)/],
  ['NSEC3PARAM', '1 0 70000 -', /NSEC3PARAM iterations must be an integer 0\.\.65535/],
  ['CERT', 'BOGUS 0 0 AQID', /CERT type: must be a number or one of PKIX/],
  ['CERT', 'PGP 0 0', /CERT value is incomplete/],
  ['HINFO', '"PC"', /HINFO value is incomplete: expected "cpu os"/],
  ['RP', 'admin.example.net.', /RP value is incomplete/],
  ['OPENPGPKEY', '', /OPENPGPKEY value is incomplete/],
  ['DNAME', 'a..b', /invalid DNAME target "a\.\.b": empty label/],
  ['TYPE65400', '0a000001', /TYPE65400 is not a type MCNS knows by name: write its value in RFC 3597 generic form/],
  ['TYPE65400', '\\# 3 0a000001', /TYPE65400 generic data is 4 bytes but its length says 3/],
  ['TYPE65400', '\\# 4 0a0000zz', /TYPE65400 generic data is not valid hex/],
  ['TYPE65400', '\\#', /TYPE65400 value "\\#" needs a length and hex data/],
  ['TYPE65400', '\\# x', /TYPE65400 generic data length must be an integer/],
];

describe('errors name the field', () => {
  it('HTTPS with a quoted alpn (the issue\'s example) parses', () => {
    assert.equal(formatRData(parseRData('HTTPS', '1 . alpn="h2,h3"')), '1 . alpn="h2,h3"');
    // Escaped commas inside a protocol id (RFC 9460 A.1).
    const d = parseRData('HTTPS', '1 . alpn="f\\\\\\\\oo\\\\,bar,h2"');
    assert.equal(formatRData(d), '1 . alpn="f\\\\\\\\oo\\\\,bar,h2"');
    assert.equal(hex(rdataToWire(d)), '0001' + '00' + '0001' + '000c' + Buffer.from('\x08f\\oo,bar\x02h2', 'latin1').toString('hex'));
  });

  for (const [type, input, re] of invalid) {
    it(`${type} ${input.length > 50 ? input.slice(0, 50) + '…' : input}`, () => {
      assert.throws(
        () => parseRData(type, input),
        (e: unknown) => {
          assert.ok(e instanceof RDataError, `expected RDataError, got ${String(e)}`);
          assert.match(e.message, re);
          return true;
        },
      );
    });
  }

  it('wire values get the same checks as text, and keys out of order are refused', () => {
    // SVCB with port (3) before alpn (1).
    const wire = Buffer.from('0001' + '00' + '0003' + '0002' + '01bb' + '0001' + '0003' + '026832', 'hex');
    assert.throws(() => rdataFromWire('SVCB', wire, 0, wire.length), /SVCB SvcParamKeys are not in increasing order/);
    // mandatory lists port (3) before alpn (1): the text form sorts them, the wire form must be sorted.
    assert.equal(formatRData(parseRData('SVCB', '1 . mandatory=port,alpn alpn=h2 port=1')), '1 . mandatory=alpn,port alpn="h2" port=1');
    const unsorted = Buffer.from('0001' + '00' + '0000' + '0004' + '00030001' + '0001' + '0003' + '026832' + '0003' + '0002' + '0001', 'hex');
    assert.throws(() => rdataFromWire('SVCB', unsorted, 0, unsorted.length), /SVCB mandatory: keys are not in increasing order/);
    const loc = Buffer.from('01' + '00'.repeat(15), 'hex');
    assert.throws(() => rdataFromWire('LOC', loc, 0, loc.length), /LOC version must be 0/);
    const naptr = Buffer.from('0001000101' + '2b' + '00' + '00' + '00', 'hex');
    assert.throws(() => rdataFromWire('NAPTR', naptr, 0, naptr.length), /NAPTR flags/);
    // A compression pointer where RFC 9460 2.2 forbids one (the SVCB target), allowed in an MX.
    const msg = Buffer.from('03' + Buffer.from('abc').toString('hex') + '00' + '0001c000', 'hex');
    assert.throws(() => rdataFromWire('SVCB', msg, 5, 9), /SVCB rdata name is compressed/);
    const mx = Buffer.from('03' + Buffer.from('abc').toString('hex') + '00' + '000a' + 'c000', 'hex');
    assert.deepEqual(rdataFromWire('MX', mx, 5, 9), { type: 'MX', preference: 10, exchange: 'abc.' });
  });
});
