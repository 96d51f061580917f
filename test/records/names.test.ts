import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiOwnerName,
  apiValueName,
  NameError,
  absoluteName,
  canonicalNameKey,
  compareNames,
  isInZone,
  labelToBytes,
  nameToWire,
  normalizeName,
  relativeName,
  splitLabels,
  wireLabelToPresentation,
} from '../../src/records/names.ts';

const label63 = 'a'.repeat(63);
const label64 = 'b'.repeat(64);
// 4 labels of 63 octets = 4*64 + 1 = 257 octets in wire form; 3 of 63 plus one of 61 = 255.
const name255 = `${label63}.${label63}.${label63}.${'c'.repeat(61)}.`;
const name256 = `${label63}.${label63}.${label63}.${'c'.repeat(62)}.`;

describe('normalizeName', () => {
  const valid: [string, string][] = [
    ['example.com.', 'example.com.'],
    ['example.com', 'example.com.'],
    ['WWW.Example.COM', 'www.example.com.'],
    ['.', '.'],
    ['*.example.com', '*.example.com.'],
    ['_sip._tcp.example.com.', '_sip._tcp.example.com.'],
    ['a-b.c_d.', 'a-b.c_d.'],
    [`${label63}.com`, `${label63}.com.`],
    [name255, name255],
    // escapes: \. kept, \DDD for printable bytes becomes the byte, letters lowercased
    ['a\\.b.example.com', 'a\\.b.example.com.'],
    ['a\\046b.com.', 'a\\.b.com.'],
    ['\\065BC.com', 'abc.com.'],
    ['\\Q.com', 'q.com.'],
    ['with\\032space.com', 'with\\032space.com.'],
    ['with\\ space.com', 'with\\032space.com.'],
    ['back\\\\slash.com', 'back\\\\slash.com.'],
    ['\\000\\255\\127.com', '\\000\\255\\127.com.'],
    ['\\200.com', '\\200.com.'],
    // specials are escaped as \X in canonical form even when written raw or as \DDD
    ['a@b.com', 'a\\@b.com.'],
    ['a\\064b.com', 'a\\@b.com.'],
    ['$x.com', '\\$x.com.'],
    ['q\\"t.com', 'q\\"t.com.'],
    ['p\\(x\\).com', 'p\\(x\\).com.'],
    ['semi\\;colon.com', 'semi\\;colon.com.'],
    // a label of 63 octets written with escapes
    [`${'\\097'.repeat(63)}.com`, `${label63}.com.`],
  ];
  for (const [input, expected] of valid) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      assert.equal(normalizeName(input), expected);
      assert.equal(normalizeName(expected), expected, 'canonical form is a fixed point');
    });
  }

  const invalid: [string, RegExp][] = [
    ['', /empty name/],
    ['..', /empty label/],
    ['a..b.com', /empty label/],
    ['.com', /empty label/],
    [`${label64}.com`, /label "b{20}…" is longer than 63 octets/],
    [`${'\\098'.repeat(64)}.com`, /longer than 63 octets/],
    [name256, /name is longer than 255 octets/],
    ['abc\\', /trailing backslash/],
    ['a\\1b.com', /invalid escape "\\1b\." .*three decimal digits/],
    ['a\\256.com', /invalid escape "\\256".*above 255/],
    ['café.com', /non-ASCII character "é"/],
    ['a b.com', /unescaped control or space character.*\\032/],
    ['tab\there.com', /\\009/],
    ['@', /needs an origin/],
  ];
  for (const [input, re] of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => normalizeName(input), (e: unknown) => e instanceof NameError && re.test(e.message));
    });
  }
});

describe('absoluteName', () => {
  const cases: [string, string, string][] = [
    ['@', 'example.com.', 'example.com.'],
    ['www', 'example.com.', 'www.example.com.'],
    ['WWW', 'example.com.', 'www.example.com.'],
    ['a.b', 'example.com.', 'a.b.example.com.'],
    ['other.net.', 'example.com.', 'other.net.'],
    ['x\\.', 'example.com.', 'x\\..example.com.'],
    ['x\\\\.', 'example.com.', 'x\\\\.'],
    ['www', '.', 'www.'],
    ['www', 'Example.COM', 'www.example.com.'],
    ['.', 'example.com.', '.'],
  ];
  for (const [name, origin, expected] of cases) {
    it(`${JSON.stringify(name)} in ${origin} -> ${expected}`, () => {
      assert.equal(absoluteName(name, origin), expected);
    });
  }
  it('rejects a result that is too long', () => {
    assert.throws(() => absoluteName(label63, name255), /name is longer than 255 octets/);
  });
  it('rejects an empty name', () => {
    assert.throws(() => absoluteName('', 'example.com.'), NameError);
  });
});

describe('relativeName and isInZone', () => {
  const cases: [string, string, string, boolean][] = [
    ['example.com.', 'example.com.', '@', true],
    ['www.example.com.', 'example.com.', 'www', true],
    ['a.b.example.com.', 'example.com.', 'a.b', true],
    ['notexample.com.', 'example.com.', 'notexample.com.', false],
    ['com.', 'example.com.', 'com.', false],
    ['other.net.', 'example.com.', 'other.net.', false],
    ['a\\.example.com.', 'example.com.', 'a\\.example.com.', false],
    ['a\\\\.example.com.', 'example.com.', 'a\\\\', true],
    ['www.example.com.', '.', 'www.example.com', true],
    ['.', '.', '@', true],
  ];
  for (const [name, zone, rel, inZone] of cases) {
    it(`${name} in ${zone}`, () => {
      assert.equal(relativeName(name, zone), rel);
      assert.equal(isInZone(name, zone), inZone);
      if (inZone) assert.equal(absoluteName(rel, zone), name, 'relative name resolves back');
    });
  }
});

describe('splitLabels', () => {
  const cases: [string, string[]][] = [
    ['.', []],
    ['com.', ['com']],
    ['www.example.com.', ['www', 'example', 'com']],
    ['a\\.b.c.', ['a\\.b', 'c']],
    ['a\\\\.b.', ['a\\\\', 'b']],
    ['x\\046y.z.', ['x\\046y', 'z']],
  ];
  for (const [name, labels] of cases) {
    it(name, () => assert.deepEqual(splitLabels(name), labels));
  }
});

describe('wire form', () => {
  const labels: [string, number[]][] = [
    ['abc', [97, 98, 99]],
    ['ABC', [65, 66, 67]],
    ['a\\.b', [97, 46, 98]],
    ['\\000\\255', [0, 255]],
    ['\\\\', [92]],
    ['\\ x', [32, 120]],
  ];
  for (const [label, bytes] of labels) {
    it(`labelToBytes ${JSON.stringify(label)}`, () => assert.deepEqual([...labelToBytes(label)], bytes));
  }
  it('labelToBytes rejects bad labels', () => {
    assert.throws(() => labelToBytes(''), /empty label/);
    assert.throws(() => labelToBytes('a.b'), /unescaped dot/);
    assert.throws(() => labelToBytes('x'.repeat(64)), /longer than 63 octets/);
  });

  const names: [string, number[]][] = [
    ['.', [0]],
    ['com.', [3, 99, 111, 109, 0]],
    ['a.b.', [1, 97, 1, 98, 0]],
    ['a\\.b.c.', [3, 97, 46, 98, 1, 99, 0]],
    ['\\200.', [1, 200, 0]],
  ];
  for (const [name, bytes] of names) {
    it(`nameToWire ${name}`, () => assert.deepEqual([...nameToWire(name)], bytes));
  }
  it('nameToWire checks lengths', () => {
    assert.equal(nameToWire(name255).length, 255);
    assert.throws(() => nameToWire(name256), /longer than 255 octets/);
    assert.throws(() => nameToWire(`${label64}.`), /longer than 63 octets/);
  });

  const present: [number[], string][] = [
    [[97, 98, 99], 'abc'],
    [[65, 66, 67], 'abc'],
    [[46], '\\.'],
    [[92], '\\\\'],
    [[34, 40, 41, 59, 64, 36], '\\"\\(\\)\\;\\@\\$'],
    [[32], '\\032'],
    [[0, 9, 127, 128, 255], '\\000\\009\\127\\128\\255'],
    [[42, 45, 95], '*-_'],
  ];
  for (const [bytes, text] of present) {
    it(`wireLabelToPresentation ${JSON.stringify(text)}`, () => {
      assert.equal(wireLabelToPresentation(Uint8Array.from(bytes)), text);
      // The inverse, modulo case.
      assert.deepEqual([...labelToBytes(text)], bytes.map((b) => (b >= 65 && b <= 90 ? b + 32 : b)));
    });
  }
  it('every byte round-trips through presentation form', () => {
    for (let b = 0; b < 256; b++) {
      const text = wireLabelToPresentation(Uint8Array.of(b));
      const lower = b >= 65 && b <= 90 ? b + 32 : b;
      assert.deepEqual([...labelToBytes(text)], [lower], `byte ${b}`);
      assert.equal(normalizeName(text), `${text}.`, `byte ${b} is canonical`);
    }
  });
});

describe('canonical order', () => {
  it('sorts the RFC 4034 section 6.1 example', () => {
    const expected = [
      'example.',
      'a.example.',
      'yljkjljk.a.example.',
      'z.a.example.',
      'zabc.a.example.',
      'z.example.',
      '\\001.z.example.',
      '*.z.example.',
      '\\200.z.example.',
    ];
    const shuffled = [...expected].reverse();
    shuffled.push(shuffled.shift() as string);
    assert.deepEqual(shuffled.sort(compareNames), expected);
  });
  it('compares labels as octets, shorter first', () => {
    assert.ok(compareNames('a.com.', 'ab.com.') < 0);
    assert.ok(compareNames('b.com.', 'a.b.com.') < 0);
    assert.ok(compareNames('a\\.b.com.', 'a.com.') > 0);
    assert.ok(compareNames('com.', 'com.') === 0);
    assert.ok(compareNames('.', 'com.') < 0);
    assert.equal(canonicalNameKey('.'), '');
  });
});

describe('API name rules', () => {
  const owner: Array<[string, string]> = [
    ['@', 'example.com.'],
    ['www', 'www.example.com.'],
    ['x.mcq', 'x.mcq.example.com.'],
    ['WWW.Example.COM', 'www.example.com.'],
    ['example.com', 'example.com.'],
    ['www.example.com.', 'www.example.com.'],
    ['other.org.', 'other.org.'],
    ['www.example.co', 'www.example.co.example.com.'],
  ];
  for (const [input, want] of owner) it(`owner "${input}" -> ${want}`, () => assert.equal(apiOwnerName(input, 'example.com.'), want));
  const value: Array<[string, string]> = [
    ['mail', 'mail.example.com.'],
    ['@', 'example.com.'],
    ['mail.example.net', 'mail.example.net.'],
    ['mail.example.net.', 'mail.example.net.'],
    ['web.example.com', 'web.example.com.'],
    ['tld.', 'tld.'],
  ];
  for (const [input, want] of value) it(`value name "${input}" -> ${want}`, () => assert.equal(apiValueName(input, 'example.com.'), want));
});
