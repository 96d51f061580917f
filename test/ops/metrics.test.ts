/**
 * The server's observability: GET /metrics carries DNS queries by rcode and type, the answer
 * latency histogram, events appended and the projection lag; `[dns] query_log` logs sampled queries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { tempDir } from '../helpers/ledger.ts';
import { buildQuery, udpExchange } from '../dns/helpers.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { httpsText, sampleOrZero } from '../helpers/scrape.ts';
import { waitFor } from '../helpers/wait.ts';


function value(metrics: string, line: RegExp): number {
  const m = metrics.split('\n').find((l) => line.test(l));
  assert.ok(m, `no metric line matching ${line}`);
  return Number(m.split(' ').pop());
}


test('/metrics: queries by rcode and type, latency, events appended, projection lag; sampled query log', async () => {
  const { dir, cleanup } = tempDir();
  const cfg = writeServerConfig(dir, { dns: ['query_log = true', 'query_log_sample = 1.0'] });
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const server = await startServer(loadConfig({ path: cfg, env: {} }), { logger: pino({ level: 'info' }, sink) });
  try {
    server.ledger.execute(importCommand('m.test', '$TTL 60\n@ SOA ns.m.test. h.m.test. 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n'), { actor: 'test' });
    const port = Number(server.dns[0].udp.split(':').pop());
    for (let i = 0; i < 40; i++) await udpExchange(port, buildQuery({ name: i % 2 ? 'ns.m.test.' : 'nope.m.test.' }));
    // Query counts reach the registry on a once-a-second flush: poll /metrics until both rcodes show.
    const restPort = Number(server.rest.split(':').pop());
    const metrics = await waitFor(
      async () => {
        const m = await httpsText(restPort, '/metrics');
        const flushed =
          sampleOrZero(m, /^mcns_dns_queries_total\{qtype="1",rcode="0",transport="udp"\}/) >= 20 &&
          sampleOrZero(m, /^mcns_dns_queries_total\{qtype="1",rcode="3",transport="udp"\}/) >= 20;
        return flushed && m;
      },
      { what: 'the 40 queries to be counted in /metrics' },
    );
    assert.ok(value(metrics, /^mcns_dns_queries_total\{qtype="1",rcode="0",transport="udp"\}/) >= 20);
    assert.ok(value(metrics, /^mcns_dns_queries_total\{qtype="1",rcode="3",transport="udp"\}/) >= 20, 'NXDOMAIN counted by rcode');
    assert.ok(value(metrics, /^mcns_dns_answer_seconds_count /) >= 2, 'latency is sampled into the histogram');
    assert.ok(value(metrics, /^mcns_events_appended_total /) >= 4);
    assert.equal(value(metrics, /^mcns_projection_lag_events /), 0);
    assert.equal(value(metrics, /^mcns_projection_seq /), server.ledger.state.seq);
    const logged = lines.filter((l) => l.msg === 'dns query');
    assert.ok(logged.length >= 40, `every query logged at sample 1.0 (${logged.length})`);
    assert.ok(logged.some((l) => l.qname === 'nope.m.test.' && l.rcode === 3));
  } finally {
    await server.stop('test');
    cleanup();
  }
});
