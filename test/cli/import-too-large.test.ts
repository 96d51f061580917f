// A server that does not announce its body limit (no max_body in /v1/health) and refuses an oversized
// import with 413, closing the connection while the client is still writing: the CLI reports the
// size and the limit from the 413, not "cannot reach ...: write EPIPE".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { onlineZoneImport } from '../../src/cli/commands/record.ts';

test('an oversized import refused with 413 mid-upload reports size and limit (no EPIPE)', async () => {
  const limit = 64 * 1024;
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    // Like fastify: answer from the headers alone, then close without reading the body.
    res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ error: `request body is too large: the API accepts at most ${limit} bytes ([server] max_body)` }), () => req.socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const file = join(mkdtempSync(join(tmpdir(), 'mcns-413-')), 'big.zone');
    writeFileSync(file, 'x'.repeat(8 * 1024 * 1024));
    const addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await assert.rejects(onlineZoneImport('big.test', file, { addr, token: 't' }), {
      message: 'zone file is 8 MiB, the API accepts at most 0.1 MiB ([server] max_body); use --db or raise the limit',
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
