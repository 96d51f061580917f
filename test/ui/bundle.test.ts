/**
 * The checked-in console (src/ui/dist) is exactly what `npm run build:ui` makes from src/ui/app (so
 * `npm ci` and the --omit=dev Docker image serve it without a build step, and a stale build fails
 * here), the JavaScript shipped is under 100 KB gzipped, and the page has nothing inline (the CSP
 * has no 'unsafe-inline') and nothing from another origin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UI_DIST } from '../../src/ui/serve.ts';

const files = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();

test('src/ui/dist is the build of src/ui/app (run npm run build:ui after changing the app)', () => {
  const out = mkdtempSync(join(tmpdir(), 'mcns-ui-build-'));
  try {
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'src/ui/vite.config.ts'], { env: { ...process.env, MCNS_UI_OUT: out }, stdio: 'pipe' });
    assert.deepEqual(files(out), files(UI_DIST));
    for (const f of files(out)) {
      assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(UI_DIST, f))), `src/ui/dist/${f} is stale: run npm run build:ui and commit it`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the JavaScript shipped is under 100 KB gzipped', () => {
  const js = files(UI_DIST).filter((f) => f.endsWith('.js'));
  assert.ok(js.length > 0);
  const total = js.reduce((n, f) => n + gzipSync(readFileSync(join(UI_DIST, f)), { level: 9 }).length, 0);
  console.log(`# console JavaScript: ${js.join(', ')} = ${total} bytes gzipped`);
  assert.ok(total < 100 * 1024, `${total} bytes`);
});

test('index.html has no inline script or style and loads nothing from another origin', () => {
  const html = readFileSync(join(UI_DIST, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script has a src');
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no other origin');
  for (const f of files(UI_DIST).filter((x) => /\.(js|css)$/.test(x))) {
    assert.doesNotMatch(readFileSync(join(UI_DIST, f), 'utf8'), /https?:\/\/(?!www\.w3\.org)[a-z]/i, `${f} names no other origin`);
  }
});
