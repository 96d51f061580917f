/**
 * Answers the DO fast path gives are counted by their own rcode: an NXDOMAIN for a DO question
 * into a signed zone shows as NXDOMAIN in mcns_dns_queries_total, a positive one as NOERROR.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { tempDir } from '../helpers/ledger.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { httpsText, sampleOrZero } from '../helpers/scrape.ts';
import { waitFor } from '../helpers/wait.ts';
import { buildQuery, udpExchange } from '../dns/helpers.ts';
import { signZone, ZONE } from './helpers.ts';

test('DO answers from the fast path are counted with their rcode (NXDOMAIN, NOERROR)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'mcns.db');
  signZone(db, 'ed25519', 'nsec');
  const server = await startServer(loadConfig({ path: writeServerConfig(dir), env: {} }));
  t.after(() => server.stop('test'));
  const port = Number(server.dns[0].udp.split(':').pop());
  for (let i = 0; i < 5; i++) {
    const nx = await udpExchange(port, buildQuery({ name: `nope${i}.${ZONE}`, type: 1, edns: { do: true } }));
    assert.equal(nx[3] & 0xf, 3, 'NXDOMAIN');
    const ok = await udpExchange(port, buildQuery({ name: `www.${ZONE}`, type: 1, edns: { do: true } }));
    assert.equal(ok[3] & 0xf, 0, 'NOERROR');
  }
  const restPort = Number(server.rest.split(':').pop());
  // Query counts reach the registry on a once-a-second flush: poll /metrics until they show.
  const metrics = await waitFor(
    async () => {
      const m = await httpsText(restPort, '/metrics');
      return sampleOrZero(m, /^mcns_dns_queries_total\{rcode="NOERROR",qtype="A",transport="udp"\}/) >= 5 && m;
    },
    { what: 'the DNS query counts on /metrics', timeoutMs: 10_000 },
  );
  assert.equal(sampleOrZero(metrics, /^mcns_dns_queries_total\{rcode="NXDOMAIN",qtype="A",transport="udp"\}/), 5);
});
