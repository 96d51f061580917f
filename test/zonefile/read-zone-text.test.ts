/**
 * readZoneText (src/zonefile/reader.ts), how `mcns zone import --db` and $INCLUDE read a file: the
 * same string readFileSync(path, 'utf8') gives, from a path or a file descriptor, for ASCII, multibyte
 * UTF-8 and malformed bytes (each becomes U+FFFD, as there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readZoneText } from '../../src/zonefile/reader.ts';

test('readZoneText gives the string readFileSync(path, "utf8") gives, from a path and from a descriptor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-read-zone-text-'));
  try {
    const cases: Array<[string, Buffer]> = [
      ['ascii', Buffer.from('$TTL 60\n@ SOA ns1 h 1 2 3 4 5\nwww A 192.0.2.1\n')],
      ['multibyte', Buffer.from('t TXT "café" "中文" "😀"\n')],
      ['empty', Buffer.alloc(0)],
      // A Latin-1 byte, a stray continuation byte, an overlong form and a sequence cut at the end.
      ['malformed', Buffer.concat([Buffer.from('t TXT "caf'), Buffer.from([0xe9, 0x22, 0x20, 0x80, 0xc0, 0xaf, 0x0a, 0xe4, 0xb8])])],
    ];
    for (const [name, bytes] of cases) {
      const path = join(dir, `${name}.zone`);
      writeFileSync(path, bytes);
      const expected = readFileSync(path, 'utf8');
      assert.equal(readZoneText(path), expected, name);
      const fd = openSync(path, 'r');
      try {
        assert.equal(readZoneText(fd), expected, `${name} (descriptor)`);
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
