/**
 * The metrics MCNS exports at GET /metrics, through prom-client (the standard Prometheus client for
 * Node.js): its registries, metric types and text exposition, and its default process and Node.js
 * runtime metrics (CPU, memory, heap, GC, event-loop lag, file descriptors).
 *
 * Counting stays cheap: the DNS listener answers tens of thousands of queries a second on one
 * thread, and a prom-client `inc({labels})` hashes its label object on every call. So every counter
 * and histogram here keeps its numbers in plain Maps and typed arrays, and hands them to prom-client
 * only when /metrics is scraped (prom-client's `collect()` callbacks). Label values that are codes
 * on the hot path (rcode, qtype) become names there too (`rcode="NXDOMAIN"`, `qtype="AAAA"`).
 */
import client from 'prom-client';
import { RCODE } from './dns/header.ts';
import { RR_TYPE_CODES, type KnownRRType } from './records/types.ts';

type Labels = Record<string, string>;

/** Default process and Node.js metrics: one set per process, shared by every server it runs (tests run many). */
let processRegistry: client.Registry | undefined;

function processMetrics(): client.Registry {
  if (!processRegistry) {
    processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: processRegistry });
    // Gauges named like counters (a `_total` suffix on a gauge, which `promtool check metrics`
    // rejects). The same numbers stay, correctly named, as nodejs_active_handles, _requests, _resources.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) processRegistry.removeSingleMetric(name);
  }
  return processRegistry;
}

/**
 * A counter, optionally labelled: `inc` adds to a Map entry (its key joins the label values in the
 * declared order), and a scrape hands every series to prom-client. `relabel` rewrites a series'
 * labels at scrape time (codes to names); series that end up with equal labels are added up.
 */
export class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    registry: client.Registry,
    readonly name: string,
    help: string,
    private readonly labelNames: readonly string[] = [],
    relabel: (labels: Labels) => Labels = (l) => l,
  ) {
    const series = this.series;
    new client.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series.values()) this.inc(relabel(s.labels), s.value);
      },
    });
  }

  /** Add `n` (default 1) to the series with these labels (absent labels are left out of the series). */
  inc(labels: Labels = {}, n = 1): void {
    const k = this.key(labels);
    const s = this.series.get(k);
    if (s) s.value += n;
    else {
      // Stored in the declared order, which is the order of the labels in the exposition.
      const ordered: Labels = {};
      for (const name of this.labelNames) if (labels[name] !== undefined) ordered[name] = labels[name];
      this.series.set(k, { labels: ordered, value: n });
    }
  }

  /** Current value of one series, as counted (before relabelling; tests). */
  get(labels: Labels = {}): number {
    return this.series.get(this.key(labels))?.value ?? 0;
  }

  private key(labels: Labels): string {
    let k = '';
    let seen = 0;
    for (const n of this.labelNames) {
      const v = labels[n];
      if (v !== undefined) seen++;
      k += `${v ?? ''}\u0000`;
    }
    if (seen !== Object.keys(labels).length) {
      throw new Error(`${this.name}: labels ${Object.keys(labels).join(', ')} given; this counter has ${this.labelNames.join(', ') || 'no labels'}`);
    }
    return k;
  }
}

/**
 * A histogram of fixed buckets (seconds) kept in a typed array: `observe` is a short loop and three
 * additions. A scrape hands the buckets to prom-client in the exposition's shape (cumulative
 * `_bucket{le}`, `+Inf`, `_sum`, `_count`); prom-client's own Histogram has no way to be given counts.
 */
export class Histogram {
  /** Observations per bucket, not cumulative; the last one is +Inf. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  /** `registry` undefined: a histogram that no scrape shows (unexported). */
  constructor(
    registry: client.Registry | undefined,
    readonly name: string,
    help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = new Float64Array(buckets.length + 1);
    if (registry === undefined) return;
    const snapshot = () => {
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      let cumulative = 0;
      for (let i = 0; i < buckets.length; i++) {
        cumulative += this.counts[i];
        values.push({ metricName: `${name}_bucket`, labels: { le: buckets[i] }, value: cumulative });
      }
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: this.count });
      values.push({ metricName: `${name}_sum`, labels: {}, value: this.sum });
      values.push({ metricName: `${name}_count`, labels: {}, value: this.count });
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    };
    // A prom-client Histogram for its registration and type; its values are this one's.
    const h = new client.Histogram({ name, help, buckets: [...buckets], registers: [registry] });
    const exported = h as unknown as { get: () => Promise<unknown>; getForPromString: () => Promise<unknown> };
    exported.get = async () => snapshot();
    exported.getForPromString = async () => snapshot();
  }

  /** Record one observation (seconds). */
  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    // The bucket is the number of bounds below v, counted over every bound: each operation here runs
    // on every call, so V8 never meets one that it has not seen run (a loop that stopped at the first
    // bound above v never counted for the DNS warm-up's fast answers, and V8 threw this code away at
    // the first slower client answer).
    const buckets = this.buckets;
    let i = 0;
    for (let k = 0; k < buckets.length; k++) i += v > buckets[k] ? 1 : 0;
    this.counts[i] += 1;
  }

  /**
   * A histogram of the same buckets that no scrape shows: the DNS warm-up times its queries into one
   * (src/dns/server.ts), so that the code timing the clients' is ready without counting them.
   */
  unexported(): Histogram {
    return new Histogram(undefined, this.name, '', this.buckets);
  }

  /** Observations so far (tests). */
  get observed(): number {
    return this.count;
  }
}

/** The registry of one server: its own metrics, and the process's default ones when rendered. */
export class MetricsRegistry {
  readonly prom = new client.Registry();

  /** Content type of `render()`'s text. */
  readonly contentType = this.prom.contentType;

  /** A counter; `labelNames` are every label its series may carry. */
  counter(name: string, help: string, labelNames: readonly string[] = [], relabel?: (labels: Labels) => Labels): Counter {
    return new Counter(this.prom, name, help, labelNames, relabel);
  }

  /**
   * A gauge. With `read`, its value is read at every scrape (a one-liner for anything the server
   * already knows: `metrics.registry.gauge('mcns_x', 'help', () => x)`); without, set it when the
   * value is known (`metrics.registry.gauge('mcns_y_seconds', 'help').set(1.5)`).
   */
  gauge(name: string, help: string, read?: () => number): client.Gauge {
    return new client.Gauge({
      name,
      help,
      registers: [this.prom],
      ...(read
        ? {
            collect() {
              this.set(read());
            },
          }
        : {}),
    });
  }

  /** A gauge with one label, its series read at every scrape (`[labelValue, value]` pairs). */
  labelledGauge(name: string, help: string, label: string, read: () => Iterable<readonly [string, number]>): client.Gauge {
    return new client.Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.prom],
      collect() {
        this.reset();
        for (const [v, n] of read()) this.set({ [label]: v }, n);
      },
    });
  }

  /** A histogram with fixed buckets. */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return new Histogram(this.prom, name, help, buckets);
  }

  /** The Prometheus text exposition: this server's metrics, then the process's. */
  async render(): Promise<string> {
    return (await this.prom.metrics()) + '\n' + (await processMetrics().metrics());
  }
}

const RCODE_NAMES = new Map<number, string>([
  ...Object.entries(RCODE).map(([name, code]): [number, string] => [code, name]),
  // Extended rcodes of TSIG (RFC 8945) and cookies (RFC 7873): 16 is BADVERS here (EDNS answers).
  [17, 'BADKEY'],
  [18, 'BADTIME'],
  [19, 'BADMODE'],
  [20, 'BADNAME'],
  [21, 'BADALG'],
  [22, 'BADTRUNC'],
  [23, 'BADCOOKIE'],
]);

/** The name of an rcode (`NXDOMAIN`), or `RCODE<n>` for one without a name. */
export function rcodeName(code: number): string {
  return RCODE_NAMES.get(code) ?? `RCODE${code}`;
}

const QTYPE_NAMES = new Map<number, string>([
  ...Object.entries(RR_TYPE_CODES).map(([name, code]): [number, KnownRRType] => [code, name as KnownRRType]),
  [41, 'OPT'],
  [249, 'TKEY'],
  [250, 'TSIG'],
  [251, 'IXFR'],
  [252, 'AXFR'],
  [253, 'MAILB'],
  [254, 'MAILA'],
  [255, 'ANY'],
]);

/**
 * The label of a query type: its mnemonic (`AAAA`), or `other` for a code without one, so that a
 * client asking every one of 65,536 types cannot make 65,536 series. `none` for a query whose
 * question could not be read (FORMERR).
 */
export function qtypeLabel(code: number): string {
  if (code === 0) return 'none';
  return QTYPE_NAMES.get(code) ?? 'other';
}

/** `rcode` and `qtype` given as decimal codes (how the DNS listener counts them) become names. */
function dnsQueryNames(labels: Labels): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) {
    if (k === 'rcode' && /^\d+$/.test(v)) out[k] = rcodeName(Number(v));
    else if (k === 'qtype' && /^\d+$/.test(v)) out[k] = qtypeLabel(Number(v));
    else out[k] = v;
  }
  return out;
}

/**
 * The DNS listener times one query in this many (src/dns/server.ts masks its counter with it, so it must
 * be a power of two); said in the histogram's HELP.
 */
export const DNS_LATENCY_SAMPLE_EVERY = 16;
if ((DNS_LATENCY_SAMPLE_EVERY & (DNS_LATENCY_SAMPLE_EVERY - 1)) !== 0) throw new Error('DNS_LATENCY_SAMPLE_EVERY must be a power of two');

/** Buckets of the answer-latency histogram (seconds): 100 µs to 5 s. */
export const DNS_LATENCY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5];

/** Outcome of one NOTIFY sent (`mcns_notify_total{outcome}`); `rcode` names the answer when there was one. */
export type NotifySentOutcome = 'acked' | 'refused' | 'timeout' | 'retry';

/** The metrics MCNS exports; one instance per server process (tests make their own). */
export function createMetrics() {
  const registry = new MetricsRegistry();
  // Set by the DNS listener (src/dns/tcp-guard.ts) as connections open and close; read on scrape.
  const dnsTcpOpen = { value: 0 };
  registry.gauge('mcns_dns_tcp_connections', 'DNS TCP connections open', () => dnsTcpOpen.value);
  const notifies = registry.counter(
    'mcns_notify_total',
    'NOTIFY messages sent to secondaries, by zone and outcome: acked (answered NOERROR), refused (answered with another rcode, named in rcode), timeout (no answer after every retry), retry (one more attempt after no answer)',
    ['outcome', 'zone', 'rcode'],
  );
  return {
    registry,
    dnsQueries: registry.counter('mcns_dns_queries_total', 'DNS queries answered, by rcode, qtype and transport (qtype "other": a type without a mnemonic; "none": no readable question)', ['rcode', 'qtype', 'transport'], dnsQueryNames),
    dnsLatency: registry.histogram(
      'mcns_dns_answer_seconds',
      `Time to answer a DNS query, sampled: one query in ${DNS_LATENCY_SAMPLE_EVERY} is timed, so _count is about 1/${DNS_LATENCY_SAMPLE_EVERY} of mcns_dns_queries_total (quantiles are unbiased)`,
      DNS_LATENCY_BUCKETS,
    ),
    cacheHits: registry.counter('mcns_forward_cache_hits_total', 'Forwarded queries answered from the cache'),
    cacheMisses: registry.counter('mcns_forward_cache_misses_total', 'Forwarded queries sent upstream'),
    upstreamFailures: registry.counter('mcns_upstream_failures_total', 'Upstream queries that failed, by upstream', ['upstream']),
    eventsAppended: registry.counter('mcns_events_appended_total', 'Events appended to the log'),
    apiRequests: registry.counter('mcns_api_requests_total', 'Management API requests, by surface, route and status', ['surface', 'route', 'status']),
    authFailures: registry.counter('mcns_api_auth_failures_total', 'Failed authentications that cost an MCIAS call (invalid token, refused login), by surface', ['surface']),
    authThrottled: registry.counter('mcns_api_auth_throttled_total', 'Requests answered 429 because their client address failed authentication too often, by surface', ['surface']),
    mciasRequests: registry.counter('mcns_mcias_requests_total', 'Requests sent to MCIAS, by call (validate, login, logout) and HTTP status (0: unreachable)', ['call', 'status']),
    transfers: registry.counter('mcns_zone_transfers_total', 'Outgoing zone transfers, by kind (axfr, ixfr) and outcome', ['kind', 'outcome']),
    recordsSkipped: registry.counter('mcns_records_skipped_total', 'Stored records left out of DNS answers and zone transfers because they cannot be encoded (rdata over 65535 bytes, or too large for one message), by path (answer, axfr, ixfr)', ['path']),
    notifies,
    /** Count one NOTIFY sent: `notifySent('refused', 'example.com.', 'NOTAUTH')`. */
    notifySent: (outcome: NotifySentOutcome, zone: string, rcode?: string): void => notifies.inc(rcode === undefined ? { outcome, zone } : { outcome, zone, rcode }),
    dnsRrlLimited: registry.counter('mcns_dns_rrl_limited_total', 'UDP answers over [dns.rrl] responses_per_second for their source prefix (dropped or slipped)'),
    dnsRrlSlipped: registry.counter('mcns_dns_rrl_slipped_total', 'Rate-limited UDP answers sent truncated (TC=1) so the client retries over TCP ([dns.rrl] slip)'),
    dnsTcpClosed: registry.counter('mcns_dns_tcp_closed_total', 'DNS TCP connections refused or closed by a limit, by reason (per_client_limit, max_clients, message_timeout, idle_timeout, evicted)', ['reason']),
    dnsTcpOpen,
    notifiesReceived: registry.counter('mcns_notify_received_total', 'NOTIFY messages received, by outcome (accepted, notauth, refused: sender not a configured peer, badtsig)', ['outcome']),
    dnsUpdates: registry.counter('mcns_dns_updates_total', 'DNS UPDATE requests, by outcome (applied, unchanged, badtsig, replay, or the rcode: refused, nxrrset, yxrrset, nxdomain, yxdomain, formerr, notauth, notzone, servfail)', ['outcome']),
  };
}

/** The metrics object type. */
export type Metrics = ReturnType<typeof createMetrics>;
