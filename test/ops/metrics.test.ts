/**
 * The server's observability: GET /metrics (prom-client) carries DNS queries by rcode and type as
 * names, the answer-latency histogram (sampled, and says so), a serial per zone, NOTIFY outcomes,
 * events appended, the projection lag and the default process and Node.js metrics; `promtool check
 * metrics` finds nothing to say about it. `[dns] query_log` logs sampled queries.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { createMetrics, qtypeLabel, rcodeName } from '../../src/metrics.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { tempDir } from '../helpers/ledger.ts';
import { buildQuery, udpExchange } from '../dns/helpers.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { httpsText, sampleOrZero } from '../helpers/scrape.ts';
import { requireTool } from '../helpers/tools.ts';
import { rng } from '../helpers/rng.ts';
import { waitFor } from '../helpers/wait.ts';

function value(metrics: string, line: RegExp): number {
  const m = metrics.split('\n').find((l) => line.test(l));
  assert.ok(m, `no metric line matching ${line}`);
  return Number(m.split(' ').pop());
}

/** `promtool check metrics` on `text`: its complaints (empty when it has none). */
function promtoolProblems(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`.trim() || `promtool exited ${r.status}`;
}

test('/metrics: queries by rcode and qtype names, sampled latency, zone serials, runtime metrics, events, lag; promtool finds nothing; sampled query log', async () => {
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
    server.ledger.execute(importCommand('m.test', '$TTL 60\n@ SOA ns.m.test. h.m.test. 2026120201 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n'), { actor: 'test' });
    const port = Number(server.dns[0].udp.split(':').pop());
    for (let i = 0; i < 40; i++) await udpExchange(port, buildQuery({ name: i % 2 ? 'ns.m.test.' : 'nope.m.test.' }));
    await udpExchange(port, buildQuery({ name: 'ns.m.test.', type: 28 }));
    // A type without a mnemonic is counted as "other", so 65,536 types cannot make 65,536 series.
    await udpExchange(port, buildQuery({ name: 'ns.m.test.', type: 65000 }));
    await udpExchange(port, buildQuery({ name: 'ns.m.test.', type: 65001 }));
    // Query counts reach the registry on a once-a-second flush: poll /metrics until they show.
    const restPort = Number(server.rest.split(':').pop());
    const metrics = await waitFor(
      async () => {
        const m = await httpsText(restPort, '/metrics');
        const flushed =
          sampleOrZero(m, /^mcns_dns_queries_total\{rcode="NOERROR",qtype="A",transport="udp"\}/) >= 20 &&
          sampleOrZero(m, /^mcns_dns_queries_total\{rcode="NXDOMAIN",qtype="A",transport="udp"\}/) >= 20 &&
          sampleOrZero(m, /^mcns_dns_queries_total\{rcode="NOERROR",qtype="other",transport="udp"\}/) >= 2;
        return flushed && m;
      },
      { what: 'the queries to be counted in /metrics' },
    );
    assert.ok(value(metrics, /^mcns_dns_queries_total\{rcode="NOERROR",qtype="A",transport="udp"\}/) >= 20);
    assert.ok(value(metrics, /^mcns_dns_queries_total\{rcode="NXDOMAIN",qtype="A",transport="udp"\}/) >= 20, 'NXDOMAIN counted by rcode name');
    assert.equal(value(metrics, /^mcns_dns_queries_total\{rcode="NOERROR",qtype="AAAA",transport="udp"\}/), 1, 'qtype by mnemonic');
    assert.equal(value(metrics, /^mcns_dns_queries_total\{rcode="NOERROR",qtype="other",transport="udp"\}/), 2, 'types without a mnemonic share one series');
    assert.doesNotMatch(metrics, /^mcns_dns_queries_total\{[^}]*(rcode|qtype)="\d+"/m, 'no numeric rcode or qtype label');
    // The latency histogram is sampled and its HELP says so.
    assert.match(metrics, /^# HELP mcns_dns_answer_seconds .*sampled: one query in 16 is timed/m);
    assert.match(metrics, /^# TYPE mcns_dns_answer_seconds histogram$/m);
    assert.ok(value(metrics, /^mcns_dns_answer_seconds_count /) >= 2, 'latency is sampled into the histogram');
    assert.equal(value(metrics, /^mcns_dns_answer_seconds_bucket\{le="\+Inf"\} /), value(metrics, /^mcns_dns_answer_seconds_count /));
    // One serial per zone.
    assert.match(metrics, /^# TYPE mcns_zone_serial gauge$/m);
    assert.equal(value(metrics, /^mcns_zone_serial\{zone="m\.test\."\} /), server.ledger.state.zones.get('m.test.')?.serial);
    assert.ok(value(metrics, /^mcns_events_appended_total /) >= 4);
    assert.equal(value(metrics, /^mcns_projection_lag_events /), 0);
    assert.equal(value(metrics, /^mcns_projection_seq /), server.ledger.state.seq);
    // prom-client's default process and Node.js runtime metrics.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_version_info', 'nodejs_active_handles']) {
      assert.match(metrics, new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'), `default metric ${name}`);
    }
    assert.equal(new Set(metrics.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2])).size, metrics.split('\n').filter((l) => l.startsWith('# TYPE ')).length, 'each metric once');

    const logged = lines.filter((l) => l.msg === 'dns query');
    assert.ok(logged.length >= 40, `every query logged at sample 1.0 (${logged.length})`);
    assert.ok(logged.some((l) => l.qname === 'nope.m.test.' && l.rcode === 3));

    const skip = requireTool('promtool');
    if (!skip) assert.equal(promtoolProblems(metrics), '', 'promtool check metrics finds nothing');
  } finally {
    await server.stop('test');
    cleanup();
  }
});

test('every series the server can export passes promtool check metrics, NOTIFY outcomes split by rcode included', async (t) => {
  const skip = requireTool('promtool');
  const m = createMetrics();
  // One series of everything, as the listeners count them.
  m.dnsQueries.inc({ rcode: '0', qtype: '1', transport: 'udp' }, 5);
  m.dnsQueries.inc({ rcode: '18', qtype: '250', transport: 'tcp' });
  m.dnsQueries.inc({ rcode: '1', qtype: '0', transport: 'udp' });
  m.dnsLatency.observe(0.0003);
  m.dnsLatency.observe(7);
  m.notifySent('acked', 'a.test.', 'NOERROR');
  m.notifySent('refused', 'a.test.', 'NOTAUTH');
  m.notifySent('refused', 'a.test.', 'NOTAUTH');
  m.notifySent('timeout', 'b.test.');
  m.notifySent('retry', 'b.test.');
  m.transfers.inc({ kind: 'axfr', outcome: 'ok' });
  m.apiRequests.inc({ surface: 'rest', route: 'GET /v1/zones/:zone', status: '200' });
  m.mciasRequests.inc({ call: 'validate', status: '0' });
  m.upstreamFailures.inc({ upstream: '[2001:db8::1]:53' });
  m.recordsSkipped.inc({ path: 'axfr' }, 3);
  m.dnsTcpClosed.inc({ reason: 'message_timeout' });
  m.dnsUpdates.inc({ outcome: 'applied' });
  m.notifiesReceived.inc({ outcome: 'refused' });
  m.registry.gauge('mcns_test_value', 'A gauge read at scrape', () => 42);
  m.registry.gauge('mcns_test_set_seconds', 'A gauge set once').set(0.25);
  const text = await m.registry.render();

  assert.match(text, /^mcns_dns_queries_total\{rcode="NOERROR",qtype="A",transport="udp"\} 5$/m);
  assert.match(text, /^mcns_dns_queries_total\{rcode="BADTIME",qtype="TSIG",transport="tcp"\} 1$/m);
  assert.match(text, /^mcns_dns_queries_total\{rcode="FORMERR",qtype="none",transport="udp"\} 1$/m);
  assert.match(text, /^mcns_notify_total\{outcome="acked",zone="a\.test\.",rcode="NOERROR"\} 1$/m);
  assert.match(text, /^mcns_notify_total\{outcome="refused",zone="a\.test\.",rcode="NOTAUTH"\} 2$/m);
  assert.match(text, /^mcns_notify_total\{outcome="timeout",zone="b\.test\."\} 1$/m);
  assert.match(text, /^mcns_dns_answer_seconds_bucket\{le="0\.0005"\} 1$/m);
  assert.match(text, /^mcns_dns_answer_seconds_bucket\{le="5"\} 1$/m);
  assert.match(text, /^mcns_dns_answer_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^mcns_dns_answer_seconds_sum 7\.0003$/m);
  assert.match(text, /^mcns_test_value 42$/m);
  assert.match(text, /^mcns_test_set_seconds 0\.25$/m);
  // Counted values stay readable without a scrape (tests of other parts use this).
  assert.equal(m.notifies.get({ outcome: 'refused', zone: 'a.test.', rcode: 'NOTAUTH' }), 2);
  assert.equal(m.dnsLatency.observed, 2);
  // A label the counter does not have is a programming error, named at once, not at the next scrape.
  assert.throws(() => m.transfers.inc({ kind: 'axfr', peer: 'x' }), /mcns_zone_transfers_total: labels kind, peer given; this counter has kind, outcome/);
  // A second scrape counts the same (collect() rebuilds the series from the counts, it does not add to them).
  assert.match(await m.registry.render(), /^mcns_notify_total\{outcome="refused",zone="a\.test\.",rcode="NOTAUTH"\} 2$/m);

  if (skip) {
    t.skip(skip);
    return;
  }
  assert.equal(promtoolProblems(text), '', 'promtool check metrics finds nothing');
});

test('rcode and qtype names', () => {
  assert.equal(rcodeName(0), 'NOERROR');
  assert.equal(rcodeName(3), 'NXDOMAIN');
  assert.equal(rcodeName(16), 'BADVERS');
  assert.equal(rcodeName(4000), 'RCODE4000');
  assert.equal(qtypeLabel(1), 'A');
  assert.equal(qtypeLabel(28), 'AAAA');
  assert.equal(qtypeLabel(65), 'HTTPS');
  assert.equal(qtypeLabel(252), 'AXFR');
  assert.equal(qtypeLabel(255), 'ANY');
  assert.equal(qtypeLabel(65280), 'other');
  assert.equal(qtypeLabel(0), 'none');
});

test('Histogram: every observation in the first bucket whose bound is not below it (+Inf past the last), on random values and at the bounds; an unexported copy is not in the exposition', async () => {
  const metrics = createMetrics();
  const h = metrics.dnsLatency;
  const bounds = h.buckets;
  const random = rng(17);
  const values = [...bounds, ...bounds.map((b) => b * (1 + 1e-9)), 0, -1, bounds[bounds.length - 1] * 10, ...Array.from({ length: 2000 }, () => Math.exp(random() * 14 - 11))];
  for (const v of values) h.observe(v);
  h.unexported().observe(1);
  const text = await metrics.registry.render();
  const sample = (series: string): number => sampleOrZero(text, new RegExp(`^${series.replace(/[{}.+"]/g, '\\$&')} `));
  for (const [k, le] of bounds.entries()) {
    const expected = values.filter((v) => v <= bounds[k]).length;
    assert.equal(sample(`mcns_dns_answer_seconds_bucket{le="${le}"}`), expected, `le ${le}`);
  }
  assert.equal(sample('mcns_dns_answer_seconds_bucket{le="+Inf"}'), values.length);
  assert.equal(sample('mcns_dns_answer_seconds_count'), values.length, 'the unexported copy observed nothing here');
});
