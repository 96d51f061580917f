/**
 * The server composition wires [transfer] and [tsig.keys] into the DNS listener: AXFR from an
 * allowed address, REFUSED from another one, and allowed from anywhere with an allowed TSIG key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { tempDir } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { requireTool } from '../helpers/tools.ts';

const SECRET = Buffer.alloc(32, 7).toString('base64');

test('[transfer] and [tsig.keys] from the config govern AXFR', { skip: requireTool('dig') }, async () => {
  const { dir, cleanup } = tempDir();
  const cfg = writeServerConfig(dir, {
    tail: ['[transfer]', 'allow_from = ["127.0.0.1/32"]', 'allow_keys = ["xfr-key"]', '[tsig.keys.xfr-key]', 'algorithm = "hmac-sha256"', `secret = "${SECRET}"`],
  });
  const server = await startServer(loadConfig({ path: cfg, env: {} }), { logger: pino({ level: 'silent' }) });
  try {
    const zone = 'xfr.test';
    server.ledger.execute(importCommand(zone, '$TTL 300\n@ SOA ns.xfr.test. h.xfr.test. 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n'), { actor: 'test' });
    const port = server.dns[0].tcp.split(':').pop()!;
    // Asynchronous: the server runs in this process and must keep answering while dig waits.
    const dig = async (...args: string[]): Promise<string> =>
      (await promisify(execFile)('dig', ['@127.0.0.1', '-p', port, zone, 'AXFR', '+time=3', '+tries=1', ...args], { encoding: 'utf8' })).stdout;
    const allowed = await dig();
    assert.match(allowed, /www\.xfr\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.2/);
    assert.equal((allowed.match(/IN\s+SOA/g) ?? []).length, 2, 'SOA first and last');
    assert.match(await dig('-b', '127.0.0.2'), /Transfer failed|REFUSED/);
    const signed = await dig('-b', '127.0.0.2', '-y', `hmac-sha256:xfr-key:${SECRET}`);
    assert.match(signed, /www\.xfr\.test\./);
    assert.doesNotMatch(signed, /tsig verify failure|Transfer failed/);
  } finally {
    await server.stop('test');
    cleanup();
  }
});
