/**
 * Serves the web console (SPEC 4: GET /ui/) from the REST listener: the files Vite built into
 * src/ui/dist (checked in, and checked against a fresh build by test/ui/bundle.test.ts), read once
 * at start-up. Every /ui/ response carries a Content-Security-Policy without 'unsafe-inline' (the page
 * has no inline script or style), and the page talks only to this origin's REST API.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where the built console lives. */
export const UI_DIST = fileURLToPath(new URL('./dist/', import.meta.url));

/** The policy of every /ui/ response: this origin only, nothing inline, no framing, no forms posting away. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface Asset {
  body: Buffer;
  type: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else out.set(path, { body: readFileSync(join(dir, path)), type: TYPES[extname(entry.name)] ?? 'application/octet-stream' });
    }
  };
  if (existsSync(dir)) walk('');
  return out;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    // File names carry no hash: revalidate every time (the listener is local; files are small).
    .header('cache-control', 'no-cache');
}

/** Register GET /ui, /ui/ and /ui/<file> on the REST listener. */
// Any server and logger type: the REST listener is HTTPS with a pino logger.
export function registerConsole(app: FastifyInstance<any, any, any, any>, dir = UI_DIST): void {
  const assets = loadAssets(dir);
  const send = (reply: FastifyReply, path: string): FastifyReply => {
    const a = assets.get(path);
    if (!a) {
      const why = assets.size === 0 ? 'the web console is not built (npm run build:ui)' : `no file ${path} in the web console`;
      return secure(reply).code(404).type('application/json; charset=utf-8').send({ error: why });
    }
    return secure(reply).type(a.type).send(a.body);
  };
  app.get('/ui', (_req, reply) => secure(reply).redirect('/ui/', 301));
  app.get('/ui/', (_req, reply) => send(reply, 'index.html'));
  app.get('/ui/*', (req, reply) => send(reply, (req.params as { '*': string })['*']));
}
