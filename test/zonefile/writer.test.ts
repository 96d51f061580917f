import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseZoneFile } from '../../src/zonefile/reader.ts';
import { writeZoneFile } from '../../src/zonefile/writer.ts';
import type { RRType } from '../../src/records/types.ts';

type Rec = { name: string; type: RRType; ttl: number; value: string };

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/zones/${name}`, import.meta.url), 'utf8');

const key = (r: Rec): string => `${r.name} ${r.ttl} ${r.type} ${r.value}`;
const asSet = (records: Rec[]): string[] => records.map(key).sort();

/** A zone with every type, escaped names, and TXT/CAA values full of quotes, escapes and non-ASCII bytes. */
const tricky: { origin: string; records: Rec[] } = {
  origin: 'example.org.',
  records: [
    { name: 'www.example.org.', type: 'A', ttl: 300, value: '192.0.2.1' },
    { name: 'example.org.', type: 'NS', ttl: 86400, value: 'ns1.example.org.' },
    { name: 'example.org.', type: 'SOA', ttl: 3600, value: 'ns1.example.org. john\\.doe.example.org. 7 3600 600 86400 300' },
    { name: 'example.org.', type: 'MX', ttl: 300, value: '10 mail.example.org.' },
    { name: 'mail.example.org.', type: 'AAAA', ttl: 300, value: '2001:db8::25' },
    { name: 'alias.example.org.', type: 'CNAME', ttl: 300, value: 'www.example.org.' },
    { name: 'out.example.org.', type: 'CNAME', ttl: 300, value: 'target.example.net.' },
    { name: '_xmpp._tcp.example.org.', type: 'SRV', ttl: 300, value: '5 0 5269 xmpp.example.org.' },
    { name: '1.2.0.192.in-addr.arpa.example.org.', type: 'PTR', ttl: 300, value: 'www.example.org.' },
    { name: 'example.org.', type: 'CAA', ttl: 300, value: '0 issue "ca.example; policy=\\"x\\""' },
    { name: 'txt.example.org.', type: 'TXT', ttl: 300, value: '"quote \\" backslash \\\\ semi ; paren ( ) at @ dollar $"' },
    { name: 'txt.example.org.', type: 'TXT', ttl: 300, value: '"caf\\195\\169 \\000\\001\\127\\255" "" "second"' },
    { name: 'txt.example.org.', type: 'TXT', ttl: 300, value: '"ünïcödé typed directly"' },
    { name: 'a\\.b.example.org.', type: 'A', ttl: 300, value: '192.0.2.2' },
    { name: 'sp\\032ace.example.org.', type: 'A', ttl: 300, value: '192.0.2.3' },
    { name: '\\@\\$\\(\\)\\;\\".example.org.', type: 'A', ttl: 300, value: '192.0.2.4' },
    { name: '\\000\\200.example.org.', type: 'A', ttl: 300, value: '192.0.2.5' },
    { name: '*.example.org.', type: 'A', ttl: 300, value: '192.0.2.6' },
    { name: 'ptr.example.org.', type: 'PTR', ttl: 300, value: 'a\\.b.example.org.' },
  ],
};

describe('writeZoneFile', () => {
  it('starts with $ORIGIN and the SOA, owners relative, names in values absolute', () => {
    const text = writeZoneFile(tricky);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], '$ORIGIN example.org.');
    assert.match(lines[1], /^@ +3600 IN SOA +ns1\.example\.org\. john\\\.doe\.example\.org\. 7 3600 600 86400 300$/);
    assert.ok(text.endsWith('\n'));
    assert.match(text, /^alias +300 IN CNAME www\.example\.org\.$/m);
    assert.match(text, /^out +300 IN CNAME target\.example\.net\.$/m);
    assert.match(text, /^a\\\.b +300 IN A +192\.0\.2\.2$/m);
    // Each record on its own line.
    assert.equal(lines.length, 1 + tricky.records.length);
  });

  it('orders records canonically (RFC 4034 6.1) and by type after the SOA', () => {
    const text = writeZoneFile(tricky);
    const owners = text
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/ +/).slice(0, 4).join(' '));
    assert.deepEqual(owners, [
      '@ 3600 IN SOA',
      '@ 86400 IN NS',
      '@ 300 IN MX',
      '@ 300 IN CAA',
      '\\000\\200 300 IN A',
      '* 300 IN A',
      '\\@\\$\\(\\)\\;\\" 300 IN A',
      '_xmpp._tcp 300 IN SRV',
      'a\\.b 300 IN A', // "a.b" < "alias" < "arpa" (the PTR owner's label next to the origin)
      'alias 300 IN CNAME',
      '1.2.0.192.in-addr.arpa 300 IN PTR',
      'mail 300 IN AAAA',
      'out 300 IN CNAME',
      'ptr 300 IN PTR',
      'sp\\032ace 300 IN A',
      'txt 300 IN TXT', // same owner and type: ordered by value
      'txt 300 IN TXT',
      'txt 300 IN TXT',
      'www 300 IN A',
    ]);
  });

  it('writes a header as comments', () => {
    const text = writeZoneFile({ origin: 'example.org', records: [] }, { header: 'Exported by MCNS\n\nzone example.org' });
    assert.equal(text, '; Exported by MCNS\n;\n; zone example.org\n$ORIGIN example.org.\n');
  });

  it('canonicalises values and names it is given', () => {
    const text = writeZoneFile({
      origin: 'Example.ORG',
      records: [
        { name: 'WWW.example.org', type: 'CNAME', ttl: 5, value: 'Target.Example.NET' },
        { name: 'v6.example.org', type: 'AAAA', ttl: 5, value: '2001:DB8:0::1' },
        { name: 'txt.example.org', type: 'TXT', ttl: 5, value: 'two words' },
      ],
    });
    assert.match(text, /^www +5 IN CNAME target\.example\.net\.$/m);
    assert.match(text, /^v6 +5 IN AAAA +2001:db8::1$/m);
    assert.match(text, /^txt +5 IN TXT +"two" "words"$/m);
  });

  it('rejects an invalid value', () => {
    assert.throws(
      () => writeZoneFile({ origin: 'example.org.', records: [{ name: 'x.example.org.', type: 'A', ttl: 5, value: 'nope' }] }),
      /invalid IPv4 address "nope"/,
    );
  });
});

describe('round trip: parseZoneFile(writeZoneFile(z)) has the same records', () => {
  it('tricky zone (every type, escaped names, TXT escapes and non-ASCII bytes)', () => {
    const text = writeZoneFile(tricky, { header: 'round trip' });
    const back = parseZoneFile(text, { origin: tricky.origin });
    // The input values are already canonical except the directly typed non-ASCII TXT.
    const expected = tricky.records.map((r) =>
      r.value.startsWith('"ünïcödé') ? { ...r, value: '"\\195\\188n\\195\\175c\\195\\182d\\195\\169 typed directly"' } : r,
    );
    assert.deepEqual(asSet(back.records), asSet(expected));
    // Writing again is stable.
    assert.equal(writeZoneFile(back, { header: 'round trip' }), text);
  });

  for (const [file, origin] of [
    ['example.com.zone', 'example.com.'],
    ['svc.mcp.metacircular.net.zone', 'svc.mcp.metacircular.net.'],
    ['mcp.metacircular.net.zone', 'mcp.metacircular.net.'],
  ]) {
    it(file, () => {
      const first = parseZoneFile(fixture(file), { origin });
      const text = writeZoneFile(first);
      const second = parseZoneFile(text, { origin });
      assert.deepEqual(asSet(second.records), asSet(first.records));
      assert.equal(second.records.length, first.records.length);
      assert.equal(writeZoneFile(second), text);
    });
  }

  it('writes values that mean the same under any $ORIGIN', () => {
    // Without the SOA, which may only be at the apex, so the owners can move under another origin.
    const text = writeZoneFile(tricky).replace(/^@ .* SOA .*\n/m, '');
    const moved = parseZoneFile(text.replace('$ORIGIN example.org.', '$ORIGIN elsewhere.example.org.'), {
      origin: 'example.org.',
    });
    const original = parseZoneFile(text, { origin: 'example.org.' });
    assert.deepEqual(
      moved.records.map((r) => r.value),
      original.records.map((r) => r.value),
    );
  });
});
