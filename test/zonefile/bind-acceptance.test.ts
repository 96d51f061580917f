/**
 * Acceptance: zone files as BIND operators write them ($ORIGIN, $TTL, $INCLUDE, $GENERATE, relative
 * names, "@", parentheses, comments, escapes, every record type) go through the real CLI —
 * `mcns zone import` then `mcns zone export` on a temp database — and come out with exactly the
 * records `named-checkzone -D` reads from the same file: same owners, TTLs, types and values, in
 * the presentation form named-checkzone prints. Three documented differences are allowed: the SOA
 * serial (MCNS serves its own, after the file's), owner-name case (MCNS stores names lowercase),
 * and the spaces named-checkzone puts inside long base64/hex fields (see bind-compare.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serialCompare } from '../../src/projections/serial.ts';
import { requireTool } from '../helpers/tools.ts';
import { key, records, type Rec } from './bind-compare.ts';
import { tempDir } from '../helpers/ledger.ts';

const bin = fileURLToPath(new URL('../../bin/mcns', import.meta.url));
const dir = fileURLToPath(new URL('../fixtures/zones/bind/', import.meta.url));

/** [zone, file in test/fixtures/zones/bind/] */
const FIXTURES: Array<[string, string]> = [
  ['bind-style.example', 'bind-style.example.zone'],
  ['bind-nottl.example', 'bind-nottl.example.zone'],
  ['0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa', 'bind-reverse.ip6.zone'],
  ['bind-types.example', 'bind-types.example.zone'],
  ['example.com', '../example.com.zone'],
];

function run(cmd: string, args: string[], cwd?: string): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The SOA serial of a record list (and the list with it blanked for comparison). */
function withoutSerial(recs: Rec[]): { serial: number; recs: Rec[] } {
  const soa = recs.filter((r) => r.type === 'SOA');
  assert.equal(soa.length, 1, 'one SOA');
  const fields = soa[0].value.split(' ');
  const serial = Number(fields[2]);
  fields[2] = 'SERIAL';
  return { serial, recs: recs.map((r) => (r.type === 'SOA' ? { ...r, value: fields.join(' ') } : r)) };
}

for (const [zone, file] of FIXTURES) {
  test(`${file}: mcns zone import + export gives the records named-checkzone -D gives`, (t) => {
    const skip = requireTool('named-checkzone');
    if (skip) return t.skip(skip);
    const bind = run('named-checkzone', ['-D', '-o', '-', zone, file], dir);
    assert.equal(bind.code, 0, `named-checkzone refused ${file}:\n${bind.out}${bind.err}`);

    const tmp = tempDir();
    try {
      const db = join(tmp.dir, 'mcns.db');
      const imported = run(bin, ['zone', 'import', zone, join(dir, file), '--db', db]);
      assert.equal(imported.code, 0, `mcns zone import failed:\n${imported.err}`);
      const exported = run(bin, ['zone', 'export', zone, '--db', db]);
      assert.equal(exported.code, 0, `mcns zone export failed:\n${exported.err}`);

      const theirs = withoutSerial(records(bind.out));
      const ours = withoutSerial(records(exported.out));
      assert.ok(serialCompare(ours.serial, theirs.serial) > 0, `served serial ${ours.serial} must be after the file's ${theirs.serial} (RFC 1982)`);
      const want = theirs.recs.map(key).sort();
      const got = ours.recs.map(key).sort();
      const missing = want.filter((k) => !got.includes(k));
      const extra = got.filter((k) => !want.includes(k));
      assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `records differ from named-checkzone -D for ${file}`);
      assert.equal(got.length, want.length);

      // The export reads back as the same zone: importing it changes nothing.
      const again = join(tmp.dir, 'export.zone');
      writeFileSync(again, exported.out);
      const reimported = run(bin, ['zone', 'import', zone, again, '--db', db]);
      assert.equal(reimported.code, 0, reimported.err);
      assert.equal(reimported.err, '', 'no warnings for an exported file');
      assert.equal(run(bin, ['zone', 'export', zone, '--db', db]).out, exported.out);
    } finally {
      tmp.cleanup();
    }
  });
}

test('bind-nottl.example.zone: the import prints the reader\'s warnings, each with its line, as named-checkzone does', (t) => {
  const skip = requireTool('named-checkzone');
  if (skip) return t.skip(skip);
  const tmp = tempDir();
  try {
    const r = run(bin, ['zone', 'import', 'bind-nottl.example', join(dir, 'bind-nottl.example.zone'), '--db', join(tmp.dir, 'mcns.db')]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /serial 4000000001\n$/);
    assert.deepEqual(r.err.trim().split('\n'), [
      'mcns: warning: line 3: no $TTL and no TTL on the SOA: using the SOA minimum (900) as the default TTL, as BIND does',
      'mcns: warning: line 7: TTL 120 differs from the TTL 60 of the multi.bind-nottl.example. A RRset (set at line 6): using 60, one TTL per RRset (RFC 2181 5.2), as named-checkzone does',
    ]);
    // named-checkzone warns about the same two lines.
    const bind = run('named-checkzone', ['bind-nottl.example', 'bind-nottl.example.zone'], dir);
    assert.match(bind.err + bind.out, /:3: no TTL specified; using SOA MINTTL instead/);
    assert.match(bind.err + bind.out, /:7: TTL set to prior TTL \(60\)/);
  } finally {
    tmp.cleanup();
  }
});

test('from stdin ("-"), $INCLUDE is relative to the current directory', () => {
  const tmp = tempDir();
  try {
    const db = join(tmp.dir, 'mcns.db');
    const r = spawnSync(bin, ['zone', 'import', 'bind-style.example', '-', '--db', db], {
      cwd: dir,
      input: readFileSync(join(dir, 'bind-style.example.zone')),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(run(bin, ['zone', 'export', 'bind-style.example', '--db', db]).out, /^host4\.hosts +600 IN A +192\.0\.2\.44$/m);
  } finally {
    tmp.cleanup();
  }
});

test('a zone file with many bad lines: the CLI lists every error with its line and file, and imports nothing', () => {
  const tmp = tempDir();
  try {
    const top = join(tmp.dir, 'bad.zone');
    const inc = join(tmp.dir, 'bad.inc');
    spawnSync('sh', ['-c', `printf '%s\\n' "$1" > "$2"; printf '%s\\n' "$3" > "$4"`, 'sh',
      '$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\nx A 1.2.3.999\n$INCLUDE bad.inc\n$GENERATE 1-3 g$ MX 10 mail$\ny AAAA nope', top,
      'ok A 192.0.2.2\nz TXT "unterminated', inc]);
    const db = join(tmp.dir, 'mcns.db');
    const r = run(bin, ['zone', 'import', 'bad.test', top, '--db', db]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err.trim().split('\n').map((l) => l.replace(/: .*/, '')), ['mcns', 'bad.inc line 2', 'line 7', 'line 8']);
    assert.match(r.err, /^mcns: zone file: line 5: invalid IPv4 address "1\.2\.3\.999"\n/);
    assert.notEqual(run(bin, ['zone', 'export', 'bad.test', '--db', db]).code, 0, 'nothing imported');
  } finally {
    tmp.cleanup();
  }
});
