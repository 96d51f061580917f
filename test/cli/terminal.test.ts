// Progress and colour are for a person at a terminal: the decision functions, and the real CLI in a
// pseudo-terminal (util-linux `script`) against the same CLI in a pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { colorEnabled, colorsFor, progressEnabled } from '../../src/cli/terminal.ts';
import { mcns, MCNS, REPO } from './run.ts';

test('progress: a terminal only, never with --quiet or TERM=dumb', () => {
  assert.equal(progressEnabled({ isTTY: true }, false, {}), true);
  assert.equal(progressEnabled({ isTTY: true }, true, {}), false, '--quiet');
  assert.equal(progressEnabled({ isTTY: false }, false, {}), false, 'pipe or file');
  assert.equal(progressEnabled({}, false, { CI: 'true' }), false);
  assert.equal(progressEnabled({ isTTY: true }, false, { TERM: 'dumb' }), false);
});

test('colour: a terminal only, honouring NO_COLOR (set and not empty) and TERM=dumb; never a pipe, even under CI or FORCE_COLOR', () => {
  assert.equal(colorEnabled({ isTTY: true }, {}), true);
  assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '' }), true, 'an empty NO_COLOR does not count (no-color.org)');
  assert.equal(colorEnabled({ isTTY: true }, { TERM: 'dumb' }), false);
  assert.equal(colorEnabled({ isTTY: false }, { CI: 'true', FORCE_COLOR: '1' }), false);
  assert.equal(colorsFor({ isTTY: false }, {}).red('mcns: '), 'mcns: ');
  assert.equal(colorsFor({ isTTY: true }, {}).red('mcns: '), '\x1b[31mmcns: \x1b[39m');
});

/** Run `bin/mcns ARGS` in a pseudo-terminal; stdout and stderr both arrive on it. */
function inPty(args: string[], env: Record<string, string> = {}): { code: number | null; out: string } | undefined {
  if (spawnSync('script', ['--version']).error) {
    if (process.env.CI === 'true') assert.fail('util-linux script is required under CI');
    return undefined;
  }
  const cmd = [process.execPath, MCNS, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: REPO, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: '', ...env } });
  return { code: r.status, out: r.stdout };
}

test('in a pseudo-terminal: verify draws progress (cleared afterwards), --quiet does not; errors are red unless NO_COLOR', async (t) => {
  const db = join(mkdtempSync(join(tmpdir(), 'mcns-pty-')), 'mcns.db');
  const imp = await mcns(['zone', 'import', 'example.com', join(REPO, 'test/fixtures/zones/example.com.zone'), '--db', db]);
  assert.equal(imp.code, 0, imp.stderr);
  const verify = inPty(['verify', '--db', db]);
  if (!verify) return t.skip('util-linux script is not installed');
  assert.equal(verify.code, 0, verify.out);
  assert.match(verify.out, /verify/, 'the bar names the work');
  assert.ok(verify.out.includes('\x1b['), 'drawn with escape codes');
  assert.match(verify.out, /ok\r?\n$/);
  const quiet = inPty(['--quiet', 'verify', '--db', db])!;
  assert.equal(quiet.out.replace(/\r/g, ''), 'ok\n', 'nothing but the result');
  const piped = await mcns(['verify', '--db', db]);
  assert.deepEqual([piped.stdout, piped.stderr], ['ok\n', ''], 'in a pipe: the result alone');

  const failing = inPty(['verify', '--db', '/nonexistent/mcns.db'])!;
  assert.equal(failing.code, 1);
  assert.ok(failing.out.includes('\x1b[31mmcns: '), JSON.stringify(failing.out));
  const plain = inPty(['verify', '--db', '/nonexistent/mcns.db'], { NO_COLOR: '1' })!;
  assert.match(plain.out, /^mcns: cannot open database/);
  assert.ok(!plain.out.includes('\x1b'), JSON.stringify(plain.out));
});
