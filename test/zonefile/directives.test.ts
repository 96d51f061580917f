/**
 * Zone files as BIND operators write them: $GENERATE (ranges, modifiers, limits), $INCLUDE (relative
 * to the including file, depth-limited, refused without a file), TTL rules (SOA minimum without
 * $TTL, one TTL per RRset), and every error listed with its line and file, up to 100.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_ERRORS, MAX_INCLUDE_DEPTH, ZoneFileError, parseZoneFile, type ZoneFileRecord } from '../../src/zonefile/reader.ts';
import { MAX_GENERATED_PER_FILE, MAX_GENERATE_RECORDS, parseRange, substitute } from '../../src/zonefile/generate.ts';
import { tempDir } from '../helpers/ledger.ts';

const show = (records: ZoneFileRecord[]): string[] => records.map((r) => `${r.name} ${r.ttl} ${r.type} ${r.value}`);
const parse = (text: string, extra: { path?: string } = {}) => parseZoneFile(text, { origin: 'example.com.', ...extra });

/** The ZoneFileError `fn` throws. */
function zoneError(fn: () => unknown): ZoneFileError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ZoneFileError, `expected a ZoneFileError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ZoneFileError');
}

describe('$GENERATE templates (outputs checked against named-checkzone 9.18)', () => {
  const cases: [string, number, string][] = [
    ['host$', 7, 'host7'],
    ['$$', 7, '$'],
    ['a$$b', 7, 'a$b'],
    ['\\$', 7, '\\$'],
    ['a\\\\$', 1, 'a\\\\1'],
    ['${0}', 7, '7'],
    ['${-5}', 1, '-4'],
    ['${+2}', 1, '3'],
    ['${2,3}', 1, '003'],
    ['${2,3,d}', 1, '003'],
    ['${10,3,x}', 0, '00a'],
    ['${0,4,X}', 255, '00FF'],
    ['${1,0,o}', 7, '10'],
    ['${0,3,n}', 1, '1.0'],
    ['${0,2,n}', 0, '0.'],
    ['${0,0,n}', 0x1a2, '2.a.1'],
    ['${0,0,N}', 0xab, 'B.A'],
    ['${0,7,n}', 0xab, 'b.a.0.0'],
    ['x${0,0,x}', 1, 'x1'],
  ];
  for (const [template, value, want] of cases) {
    it(`${template} at ${value} -> ${want}`, () => assert.equal(substitute(template, value), want));
  }
  it('refuses malformed modifiers, naming the expected form', () => {
    assert.throws(() => substitute('${2,}', 1), /invalid modifier "\$\{2,\}".*base d, o, x, X, n or N/);
    assert.throws(() => substitute('${1,2,q}', 1), /invalid modifier/);
    assert.throws(() => substitute('x${0,0,x', 1), /without its closing "\}"/);
    assert.throws(() => substitute('${0,500}', 1), /too wide/);
    assert.throws(() => substitute('${-5,0,n}', 1), /negative value/);
  });
  it('ranges: start-stop and /step; refused when reversed, malformed or huge', () => {
    assert.deepEqual(parseRange('1-5/2'), { start: 1, stop: 5, step: 2 });
    assert.deepEqual(parseRange('0-0'), { start: 0, stop: 0, step: 1 });
    assert.throws(() => parseRange('5-1'), /stop is before start/);
    assert.throws(() => parseRange('1-5/0'), /step must be at least 1/);
    assert.throws(() => parseRange('1..5'), /invalid range "1\.\.5"/);
    assert.throws(() => parseRange('1-5x'), /invalid range/);
    assert.throws(() => parseRange('0-99999999'), new RegExp(`would generate 100000000 records; one \\$GENERATE makes at most ${MAX_GENERATE_RECORDS}`));
    assert.equal(parseRange(`1-${MAX_GENERATE_RECORDS}`).stop, MAX_GENERATE_RECORDS);
  });
});

describe('$GENERATE in a zone file', () => {
  it('generates one record per value, any type, with $TTL, its own TTL and class, and a quoted rhs', () => {
    const { records } = parse(
      [
        '$TTL 300',
        '$GENERATE 1-3 host$ A 192.0.2.$',
        '$GENERATE 1-5/2 mx$ IN 60 MX "10 mail$"',
        '$GENERATE 0-1 ${0,3,n}.rev 120 PTR host${1}.example.com.',
        '$GENERATE 8-9 t$ TXT "\\"v=$ $$\\" tail"',
      ].join('\n'),
    );
    assert.deepEqual(show(records), [
      'host1.example.com. 300 A 192.0.2.1',
      'host2.example.com. 300 A 192.0.2.2',
      'host3.example.com. 300 A 192.0.2.3',
      'mx1.example.com. 60 MX 10 mail1.example.com.',
      'mx3.example.com. 60 MX 10 mail3.example.com.',
      'mx5.example.com. 60 MX 10 mail5.example.com.',
      '0.0.rev.example.com. 120 PTR host1.example.com.',
      '1.0.rev.example.com. 120 PTR host2.example.com.',
      't8.example.com. 300 TXT "v=8 $" "tail"',
      't9.example.com. 300 TXT "v=9 $" "tail"',
    ]);
    assert.ok(records.every((r) => r.line >= 2));
  });

  it('takes names relative to $ORIGIN, "@" included, and does not change the owner of the next indented line', () => {
    const { records } = parse('$TTL 60\nwww A 192.0.2.1\n$ORIGIN sub.example.com.\n$GENERATE 1-1 @ TXT x$\n  AAAA ::1');
    assert.deepEqual(show(records), ['www.example.com. 60 A 192.0.2.1', 'sub.example.com. 60 TXT "x1"', 'www.example.com. 60 AAAA ::1']);
  });

  it(`refuses more than ${MAX_GENERATED_PER_FILE} generated records in one file, at the directive that goes over`, () => {
    const lines = ['$TTL 60'];
    const per = 65536;
    const directives = Math.floor(MAX_GENERATED_PER_FILE / per) + 1;
    for (let d = 0; d < directives; d++) lines.push(`$GENERATE 1-${per} h$.d${d} TXT "x"`);
    const e = zoneError(() => parse(lines.join('\n')));
    assert.equal(e.errors.length, 1);
    assert.equal(e.errors[0].line, directives + 1);
    assert.match(e.errors[0].message, new RegExp(`would make more than ${MAX_GENERATED_PER_FILE} records in all`));
  });

  it('reports one error per bad directive, with the value that failed and the line', () => {
    const e = zoneError(() =>
      parse(
        [
          '$TTL 60',
          '$GENERATE 250-260 h$ A 192.0.2.$',
          '$GENERATE 1-2 h$ MX 10 mail$',
          '$GENERATE 1-2 h$ A',
          '$GENERATE 0-99999999 h$ A 192.0.2.1',
          '$GENERATE 1-2 ${0,2,q}.h A 192.0.2.1',
          '$GENERATE 1-2 h$.example.net. A 192.0.2.1',
          '$GENERATE 1-2 h$ FOO x',
        ].join('\n'),
      ),
    );
    assert.deepEqual(
      e.errors.map((x) => x.line),
      [2, 3, 4, 5, 6, 7, 8],
    );
    assert.match(e.errors[0].message, /^\$GENERATE at 256: invalid IPv4 address "192\.0\.2\.256"/);
    assert.match(e.errors[1].message, /takes its value as one field: quote it when it has spaces \("10 mail\$"\)/);
    assert.match(e.errors[2].message, /needs a range, an owner, a type and a value/);
    assert.match(e.errors[3].message, /would generate 100000000 records/);
    assert.match(e.errors[4].message, /invalid modifier "\$\{0,2,q\}"/);
    assert.match(e.errors[5].message, /\$GENERATE at 1: owner name "h1\.example\.net\." is outside the zone/);
    assert.match(e.errors[6].message, /unknown record type "FOO"/);
  });
});

describe('$INCLUDE', () => {
  /** Write `files` (relative path -> text) in a fresh dir; returns the dir. */
  function tree(files: Record<string, string>): { dir: string; cleanup: () => void } {
    const t = tempDir('mcns-include-');
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(t.dir, rel, '..'), { recursive: true });
      writeFileSync(join(t.dir, rel), text);
    }
    return t;
  }

  it('reads the file relative to the including one, with its own origin; the includer keeps its origin and owner', () => {
    const t = tree({
      'top.zone': '$TTL 300\nwww A 192.0.2.1\n$INCLUDE inc/hosts.inc lab\n  AAAA ::1\nafter A 192.0.2.9\n$INCLUDE inc/plain.inc\n',
      'inc/hosts.inc': 'h1 A 192.0.2.11\n  TXT "same owner"\n@ 60 MX 10 mail\n$INCLUDE deeper.inc\n',
      'inc/deeper.inc': '$ORIGIN deep.example.com.\nd A 192.0.2.12\n',
      'inc/plain.inc': ' TXT "inherits the owner before the $INCLUDE"\n',
    });
    try {
      const path = join(t.dir, 'top.zone');
      const { records } = parseZoneFile(`${'$TTL 300\nwww A 192.0.2.1\n$INCLUDE inc/hosts.inc lab\n  AAAA ::1\nafter A 192.0.2.9\n$INCLUDE inc/plain.inc\n'}`, { origin: 'example.com', path });
      assert.deepEqual(
        records.map((r) => `${r.file ?? '-'}:${r.line} ${r.name} ${r.ttl} ${r.type} ${r.value}`),
        [
          '-:2 www.example.com. 300 A 192.0.2.1',
          'inc/hosts.inc:1 h1.lab.example.com. 300 A 192.0.2.11',
          'inc/hosts.inc:2 h1.lab.example.com. 300 TXT "same owner"',
          'inc/hosts.inc:3 lab.example.com. 60 MX 10 mail.lab.example.com.',
          'inc/deeper.inc:2 d.deep.example.com. 300 A 192.0.2.12',
          '-:4 www.example.com. 300 AAAA ::1',
          '-:5 after.example.com. 300 A 192.0.2.9',
          'inc/plain.inc:1 after.example.com. 300 TXT "inherits the owner before the $INCLUDE"',
        ],
      );
    } finally {
      t.cleanup();
    }
  });

  it('names the included file and its line in errors, in file order, and goes on after them', () => {
    const t = tree({
      'top.zone': '$TTL 60\nbad1 A 1.2.3.999\n$INCLUDE a.inc\nbad3 A x\n',
      'a.inc': 'ok A 192.0.2.1\nbad2 AAAA nope\n',
    });
    try {
      const path = join(t.dir, 'top.zone');
      const e = zoneError(() => parseZoneFile('$TTL 60\nbad1 A 1.2.3.999\n$INCLUDE a.inc\nbad3 A x\n', { origin: 'example.com', path }));
      assert.deepEqual(
        e.message.split('\n').map((l) => l.replace(/: .*/, '')),
        ['line 2', 'a.inc line 2', 'line 4'],
      );
      assert.equal(e.errors[1].file, 'a.inc');
    } finally {
      t.cleanup();
    }
  });

  it('is refused with a clear error when the text has no file (API imports), a file is missing, includes itself, or nests too deep', () => {
    assert.match(zoneError(() => parse('$INCLUDE x.inc')).message, /^line 1: \$INCLUDE is refused here: this zone file was not read from a file \(API imports take one self-contained file\)/);
    const files: Record<string, string> = { 'top.zone': '', 'self.inc': '$INCLUDE self.inc\n', 'loop1.inc': '$INCLUDE loop2.inc\n', 'loop2.inc': '$INCLUDE loop1.inc\n' };
    for (let i = 0; i <= MAX_INCLUDE_DEPTH + 1; i++) files[`d${i}.inc`] = `$INCLUDE d${i + 1}.inc\n`;
    files[`d${MAX_INCLUDE_DEPTH + 2}.inc`] = 'end 60 A 192.0.2.1\n';
    const t = tree(files);
    try {
      const path = join(t.dir, 'top.zone');
      const at = (text: string) => zoneError(() => parseZoneFile(text, { origin: 'example.com', path }));
      assert.match(at('$INCLUDE missing.inc').message, /^line 1: cannot read \$INCLUDE file "missing\.inc" \(.*missing\.inc\): no such file$/);
      assert.match(at('$INCLUDE self.inc').message, /^self\.inc line 1: \$INCLUDE of "self\.inc" includes itself \(top\.zone -> self\.inc -> self\.inc\)/);
      assert.match(at('$INCLUDE loop1.inc').message, /^loop2\.inc line 1: .*includes itself \(top\.zone -> loop1\.inc -> loop2\.inc -> loop1\.inc\)/);
      const deep = at('$INCLUDE d1.inc');
      assert.equal(deep.errors.length, 1);
      assert.equal(deep.errors[0].file, `d${MAX_INCLUDE_DEPTH}.inc`);
      assert.match(deep.errors[0].message, new RegExp(`nested too deep \\(at most ${MAX_INCLUDE_DEPTH} levels`));
      assert.match(at('$INCLUDE').message, /\$INCLUDE needs a file name/);
      // Exactly MAX_INCLUDE_DEPTH levels is fine.
      const ok = parseZoneFile(`$INCLUDE d${3}.inc`, { origin: 'example.com', path });
      assert.deepEqual(show(ok.records), ['end.example.com. 60 A 192.0.2.1']);
    } finally {
      t.cleanup();
    }
  });
});

describe('TTLs as BIND sets them', () => {
  it('no $TTL: the SOA minimum becomes the default, with a warning', () => {
    const { records, warnings } = parse('@ SOA ns1 host 1 2 3 4 77\n@ NS ns1\nns1 30 A 192.0.2.1\nns2 A 192.0.2.2');
    assert.deepEqual(records.map((r) => r.ttl), [77, 77, 30, 77]);
    assert.deepEqual(warnings, [{ line: 1, message: 'no $TTL and no TTL on the SOA: using the SOA minimum (77) as the default TTL, as BIND does' }]);
  });

  it('no $TTL but a TTL on the SOA: later records take the previous TTL (RFC 1035), with a warning once', () => {
    const { records, warnings } = parse('@ 600 SOA ns1 host 1 2 3 4 77\n@ NS ns1\nns1 30 A 192.0.2.1\nns2 A 192.0.2.2');
    assert.deepEqual(records.map((r) => r.ttl), [600, 600, 30, 30]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /^no \$TTL: this record takes the TTL of the record before it \(600\), as RFC 1035 says$/);
    assert.equal(warnings[0].line, 2);
  });

  it('one TTL per RRset: a later record with another TTL takes the first, with a warning naming both lines', () => {
    const { records, warnings } = parse('$TTL 300\nx 100 A 192.0.2.1\nx 200 A 192.0.2.2\nx A 192.0.2.3\ny A 192.0.2.4\nx 50 TXT "a"\nx TXT "b"\nx 100 A 192.0.2.5');
    assert.deepEqual(show(records), [
      'x.example.com. 100 A 192.0.2.1',
      'x.example.com. 100 A 192.0.2.2',
      'x.example.com. 100 A 192.0.2.3',
      'y.example.com. 300 A 192.0.2.4',
      'x.example.com. 50 TXT "a"',
      'x.example.com. 50 TXT "b"',
      'x.example.com. 100 A 192.0.2.5',
    ]);
    assert.deepEqual(
      warnings.map((w) => [w.line, w.message]),
      [
        [3, 'TTL 200 differs from the TTL 100 of the x.example.com. A RRset (set at line 2): using 100, one TTL per RRset (RFC 2181 5.2), as named-checkzone does'],
        [4, 'TTL 300 differs from the TTL 100 of the x.example.com. A RRset (set at line 2): using 100, one TTL per RRset (RFC 2181 5.2), as named-checkzone does'],
        [7, 'TTL 300 differs from the TTL 50 of the x.example.com. TXT RRset (set at line 6): using 50, one TTL per RRset (RFC 2181 5.2), as named-checkzone does'],
      ],
    );
  });
});

describe('errors: every one with its line, at most MAX_ERRORS', () => {
  it(`lists the first ${MAX_ERRORS} of 150 bad lines and says it stopped`, () => {
    const lines = ['$TTL 60'];
    for (let i = 0; i < 150; i++) lines.push(`h${i} A 192.0.2.${300 + i}`);
    const e = zoneError(() => parse(lines.join('\n')));
    assert.equal(e.errors.length, MAX_ERRORS);
    assert.equal(e.truncated, true);
    assert.deepEqual(
      e.errors.map((x) => x.line),
      Array.from({ length: MAX_ERRORS }, (_, i) => i + 2),
    );
    const msg = e.message.split('\n');
    assert.equal(msg.length, MAX_ERRORS + 1);
    assert.equal(msg[0], 'line 2: invalid IPv4 address "192.0.2.300"');
    assert.equal(msg[MAX_ERRORS], `(stopped after ${MAX_ERRORS} errors)`);
  });
});
