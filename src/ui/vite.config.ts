/**
 * Builds the web console (src/ui/app) into src/ui/dist, which is checked in so that `npm ci` and
 * the Docker image (npm ci --omit=dev) serve it without a build step; test/ui/bundle.test.ts rebuilds
 * it and fails when the checked-in files differ. Run `npm run build:ui` after changing src/ui/app.
 * File names carry no hash (the server sends Cache-Control: no-cache), so a rebuild diffs cleanly.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./app/', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  plugins: [
    {
      // Built code is not ours to lint (`eslint .` would read the minified bundle); added after minification.
      name: 'mcns-no-lint-banner',
      generateBundle(_opts, bundle) {
        for (const file of Object.values(bundle)) if (file.type === 'chunk') file.code = `/* eslint-disable */\n${file.code}`;
      },
    },
  ],
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: process.env.MCNS_UI_OUT ?? fileURLToPath(new URL('./dist/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    // No inline data: URLs for assets: the CSP has no 'unsafe-inline' and the page needs none.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    rollupOptions: {
      output: { entryFileNames: 'app.js', chunkFileNames: '[name].js', assetFileNames: '[name][extname]' },
    },
  },
});
