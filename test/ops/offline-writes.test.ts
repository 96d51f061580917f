/**
 * Offline writes to the live database (`mcns zone import --db` on the server's own file, which the
 * README allows) are served by the running server within a second, without any API write to make it
 * read the log: the server follows other processes' appends by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { Ledger } from '../../src/ledger.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { startServer } from '../../src/server.ts';
import { buildQuery, flatten, udpExchange } from '../dns/helpers.ts';
import { tempDir } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { waitFor } from '../helpers/wait.ts';

test('a zone imported offline into the live database is answered within a second, with no API write', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer(loadConfig({ path: writeServerConfig(dir), env: {} }));
  const offline = Ledger.open({ path: join(dir, 'mcns.db'), create: false });
  try {
    const port = Number(server.dns[0].udp.split(':').pop());
    const before = flatten(await udpExchange(port, buildQuery({ name: 'www.offline.test.' })));
    assert.equal(before.rcode, 'REFUSED', 'not our zone yet');
    // What `mcns zone import offline.test FILE --db <the server's file>` does, from another connection.
    offline.execute(importCommand('offline.test', '$TTL 60\n@ SOA ns.offline.test. h.offline.test. 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n'), { actor: 'import' });
    const answer = await waitFor(
      async () => {
        const r = flatten(await udpExchange(port, buildQuery({ name: 'www.offline.test.' })));
        return r.rcode === 'NOERROR' && r;
      },
      // The server looks twice a second; 5 s leaves room for a loaded machine (without the poll it never sees it).
      { what: 'the offline import to be served', timeoutMs: 5000, intervalMs: 50 },
    );
    assert.deepEqual(answer.answer, ['www.offline.test. 60 IN A 192.0.2.80']);
    assert.equal(server.ledger.state.zones.get('offline.test.')?.serial, offline.state.zones.get('offline.test.')?.serial);
  } finally {
    offline.close();
    await server.stop('test');
    cleanup();
  }
});
