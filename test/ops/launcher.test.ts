/**
 * bin/mcns runs a bundle of src/ that it makes under node_modules/.cache/mcns/ (see the launcher's
 * comment): made once for a set of sources and reused, each module keeping its own import.meta.url
 * (so proto/, src/seed/ and the worker entry points resolve as from the sources), and the same CLI as
 * the sources run through tsx (MCNS_NO_BUNDLE=1). The servers and commands the other tests run
 * through bin/mcns exercise the bundle itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const MCNS = join(ROOT, 'bin', 'mcns');
const CACHE = join(ROOT, 'node_modules', '.cache', 'mcns');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The bundles made so far: a directory each (main.js and its chunks). */
const bundles = (): string[] => readdirSync(CACHE).filter((f) => f.startsWith('cli-') && !f.endsWith('.tmp'));

test('bin/mcns makes a bundle of the sources once and runs it; the sources through tsx give the same CLI', async () => {
  const first = await run(MCNS, ['--version'], { env: { ...process.env, MCNS_NO_BUNDLE: '' } });
  assert.equal(first.stdout.trim(), VERSION);
  // The bundle of the current sources is there (others may be, from other source trees, for a while).
  const made = bundles().map((f) => ({ f, mtime: statSync(join(CACHE, f, 'main.js')).mtimeMs }));
  assert.ok(made.length >= 1, 'a bundle in node_modules/.cache/mcns');
  const again = await run(MCNS, ['--version'], { env: { ...process.env, MCNS_NO_BUNDLE: '' } });
  assert.equal(again.stdout.trim(), VERSION);
  for (const { f, mtime } of made) assert.equal(statSync(join(CACHE, f, 'main.js')).mtimeMs, mtime, `${f} reused, not made again`);

  const viaTsx = await run(MCNS, ['--help'], { env: { ...process.env, MCNS_NO_BUNDLE: '1' } });
  const viaBundle = await run(MCNS, ['--help'], { env: { ...process.env, MCNS_NO_BUNDLE: '' } });
  assert.equal(viaBundle.stdout, viaTsx.stdout);
  assert.match(viaBundle.stdout, /zone/);
});

test('in the bundle every module keeps its own import.meta.url', () => {
  // (This tree's: the quick-start test's copy of the repository shares node_modules, and its bundle.)
  const newest = bundles()
    .map((f) => join(CACHE, f))
    .filter((dir) => readFileSync(join(dir, 'main.js'), 'utf8').includes(JSON.stringify(`file://${join(ROOT, 'src/cli/main.ts')}`)))
    .sort((a, b) => statSync(join(b, 'main.js')).mtimeMs - statSync(join(a, 'main.js')).mtimeMs)[0];
  const text = readdirSync(newest)
    .map((f) => readFileSync(join(newest, f), 'utf8'))
    .join('\n');
  assert.doesNotMatch(text, /import\.meta\.url/);
  for (const source of ['src/api/grpc.ts', 'src/config/dev.ts', 'src/projections/point-in-time.ts', 'src/cli/main.ts']) {
    assert.ok(text.includes(JSON.stringify(`file://${join(ROOT, source)}`)), `${source}'s own URL in the bundle`);
  }
});
