/**
 * One record of every type MCNS knows by name, plus RFC 3597 ones: the corpus the codec, golden,
 * serving and checkpoint tests share. Each entry is [owner label, type, value as written, value
 * as MCNS writes it back]. The written-back form is BIND's (named-checkzone -D), hex and base64
 * unbroken. Names are lower-case here: MCNS lowercases names inside values (as every name it
 * stores), where BIND and ldns keep their case.
 */
import type { RRType } from '../../src/records/types.ts';

/** [owner label, type, input, canonical]. */
export const EVERY_TYPE: [string, RRType, string, string][] = [
  ['a', 'A', '192.0.2.1', '192.0.2.1'],
  ['aaaa', 'AAAA', '2001:DB8::1', '2001:db8::1'],
  ['cname', 'CNAME', 'target.example.net.', 'target.example.net.'],
  ['ns', 'NS', 'ns.example.net.', 'ns.example.net.'],
  ['ptr', 'PTR', 'host.example.net.', 'host.example.net.'],
  ['mx', 'MX', '10 mail.example.net.', '10 mail.example.net.'],
  ['txt', 'TXT', '"a" "b\\"c" "\\255"', '"a" "b\\"c" "\\255"'],
  ['srv', 'SRV', '10 60 5060 sip.example.net.', '10 60 5060 sip.example.net.'],
  ['caa', 'CAA', '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'],
  ['dname', 'DNAME', 'target.example.net.', 'target.example.net.'],
  ['ds', 'DS', '12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118c6b1c3ae5a4b0a4e 8ee5f7ae', '12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118C6B1C3AE5A4B0A4E8EE5F7AE'],
  ['ds1', 'DS', '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118', '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118'],
  ['ds4', 'DS', `1 ECDSAP384SHA384 4 ${'ab'.repeat(48)}`, `1 14 4 ${'AB'.repeat(48)}`],
  ['cds', 'CDS', '0 0 0 00', '0 0 0 00'],
  [
    'dnskey',
    'DNSKEY',
    '257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+ KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==',
    '257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==',
  ],
  ['cdnskey', 'CDNSKEY', '0 3 0 AA==', '0 3 0 AA=='],
  [
    'https',
    'HTTPS',
    '1 . alpn="h2,h3" ipv4hint=192.0.2.1,192.0.2.2 port=8443 mandatory=alpn,port ech=AEX+DQBBpAAgACCF6rJ4 ipv6hint=2001:db8::1 no-default-alpn',
    '1 . mandatory=alpn,port alpn="h2,h3" no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech=AEX+DQBBpAAgACCF6rJ4 ipv6hint=2001:db8::1',
  ],
  ['https0', 'HTTPS', '0 svc.example.net.', '0 svc.example.net.'],
  ['svcb', 'SVCB', '1 svc.example.net. key65000=abc port="53"', '1 svc.example.net. port=53 key65000="abc"'],
  ['doh', 'SVCB', '1 doh.example.net. alpn=h2 dohpath=/dns-query{?dns}', '1 doh.example.net. alpn="h2" dohpath="/dns-query{?dns}"'],
  ['ohttp', 'SVCB', '1 . alpn=h2 ohttp', '1 . alpn="h2" ohttp'],
  ['tlsa', 'TLSA', `3 1 1 ${'0123456789abcdef'.repeat(4)}`, `3 1 1 ${'0123456789ABCDEF'.repeat(4)}`],
  ['tlsa0', 'TLSA', '3 0 0 30820122300d06092a864886f70d01010105000382010f00', '3 0 0 30820122300D06092A864886F70D01010105000382010F00'],
  ['smimea', 'SMIMEA', `3 1 2 ${'ab'.repeat(64)}`, `3 1 2 ${'AB'.repeat(64)}`],
  ['sshfp', 'SSHFP', `4 2 ${'0123456789abcdef'.repeat(4)}`, `4 2 ${'0123456789ABCDEF'.repeat(4)}`],
  ['sshfp1', 'SSHFP', '1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac', '1 1 DD465C09CFA51FB45020CC83316FFF21B9EC74AC'],
  ['naptr', 'NAPTR', '100 10 "S" "SIP+D2U" "" _sip._udp.example.net.', '100 10 "S" "SIP+D2U" "" _sip._udp.example.net.'],
  ['naptr2', 'NAPTR', '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.net!" .', '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.net!" .'],
  ['uri', 'URI', '10 1 "https://example.net/"', '10 1 "https://example.net/"'],
  ['loc', 'LOC', '52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m', '52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m'],
  ['loc2', 'LOC', '42 21 54 N 71 06 18 W -24m 30m', '42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m'],
  ['loc3', 'LOC', '42 N 71 W 1m 1.5m 1m 1m', '42 0 0.000 N 71 0 0.000 W 1.00m 1m 1m 1m'],
  ['loc4', 'LOC', '90 S 180 E 42849672.95m 90000000m 0.5m 0.05m', '90 0 0.000 S 180 0 0.000 E 42849672.95m 90000000m 0.50m 0.05m'],
  ['hinfo', 'HINFO', '"PC" "Linux"', '"PC" "Linux"'],
  ['rp', 'RP', 'admin.example.net. txt.example.net.', 'admin.example.net. txt.example.net.'],
  ['openpgpkey', 'OPENPGPKEY', 'AQID BAU=', 'AQIDBAU='],
  ['cert', 'CERT', 'PGP 0 0 AQID', 'PGP 0 0 AQID'],
  ['cert2', 'CERT', '1 12 8 AQID', 'PKIX 12 RSASHA256 AQID'],
  ['rrsig', 'RRSIG', 'A 13 3 300 20300101000000 20251201000000 12345 example.net. AQID', 'A 13 3 300 20300101000000 20251201000000 12345 example.net. AQID'],
  ['rrsig2', 'RRSIG', 'TYPE65400 ED25519 2 60 1893456000 1764547200 1 example.net. AQID', 'TYPE65400 15 2 60 20300101000000 20251201000000 1 example.net. AQID'],
  ['nsec', 'NSEC', 'next.example.net. A NS SOA RRSIG NSEC DNSKEY TYPE65400', 'next.example.net. A NS SOA RRSIG NSEC DNSKEY TYPE65400'],
  // An NSEC3 owner is a hashed name: BIND's dig refuses a transfer with any other (check-names).
  ['8c93uj8ouhnnm0jrn1lu6cijpqnm59uq', 'NSEC3', '1 1 10 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG', '1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG'],
  ['nsec3param', 'NSEC3PARAM', '1 0 0 -', '1 0 0 -'],
  ['unknown', 'TYPE65400', '\\# 4 0a000001', '\\# 4 0A000001'],
  ['empty', 'TYPE65401', '\\# 0', '\\# 0'],
  ['generic', 'A', '\\# 4 C0000201', '192.0.2.1'],
  ['generic-mx', 'MX', '\\# 20 000a 046d61696c076578616d706c65036e657400', '10 mail.example.net.'],
];

/** A zone holding the whole corpus under `origin` (SOA and NS first). */
export function everyTypeZone(origin: string): string {
  const lines = [
    `$ORIGIN ${origin}`,
    '$TTL 300',
    '@ SOA ns1 hostmaster 1 3600 600 86400 300',
    '@ NS ns1',
    'ns1 A 192.0.2.53',
  ];
  for (const [owner, type, input] of EVERY_TYPE) lines.push(`${owner} ${type} ${input}`);
  return lines.join('\n') + '\n';
}
