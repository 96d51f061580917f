/**
 * A small Prometheus registry: counters and histograms with labels, rendered in the text exposition
 * format for GET /metrics. Hot paths only increment numbers in Maps; rendering happens on scrape.
 */

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

/** A monotonically increasing counter, optionally labelled. */
export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}

  /** Add `n` (default 1) to the series with these labels. */
  inc(labels: Labels = {}, n = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + n);
  }

  /** Current value of one series (tests). */
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.values.size === 0) out += `${this.name} 0\n`;
    for (const [k, v] of this.values) out += `${this.name}${k ? `{${k}}` : ''} ${v}\n`;
    return out;
  }
}

/** A gauge whose value is read when scraped. */
export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => number) {}

  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${this.read()}\n`;
  }
}

/** A histogram with fixed buckets (seconds). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }

  /** Record one observation. */
  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= this.buckets[i]) {
        this.counts[i] += 1;
        return;
      }
    }
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cum = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cum += this.counts[i];
      out += `${this.name}_bucket{le="${this.buckets[i]}"} ${cum}\n`;
    }
    out += `${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${this.sum}\n${this.name}_count ${this.count}\n`;
    return out;
  }
}

/** A set of metrics rendered together. */
export class Registry {
  private readonly metrics: Array<Counter | Gauge | Histogram> = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.metrics.push(c);
    return c;
  }

  gauge(name: string, help: string, read: () => number): Gauge {
    const g = new Gauge(name, help, read);
    this.metrics.push(g);
    return g;
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.metrics.push(h);
    return h;
  }

  /** Prometheus text exposition format. */
  render(): string {
    return this.metrics.map((m) => m.render()).join('');
  }
}

/** The metrics MCNS exports; one instance per server process (tests make their own). */
export function createMetrics() {
  const registry = new Registry();
  // Set by the DNS listener (src/dns/tcp-guard.ts) as connections open and close; read on scrape.
  const dnsTcpOpen = { value: 0 };
  registry.gauge('mcns_dns_tcp_connections', 'DNS TCP connections open', () => dnsTcpOpen.value);
  return {
    registry,
    dnsQueries: registry.counter('mcns_dns_queries_total', 'DNS queries answered, by rcode, qtype and transport'),
    dnsLatency: registry.histogram('mcns_dns_answer_seconds', 'Time to answer a DNS query', [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5]),
    cacheHits: registry.counter('mcns_forward_cache_hits_total', 'Forwarded queries answered from the cache'),
    cacheMisses: registry.counter('mcns_forward_cache_misses_total', 'Forwarded queries sent upstream'),
    upstreamFailures: registry.counter('mcns_upstream_failures_total', 'Upstream queries that failed, by upstream'),
    eventsAppended: registry.counter('mcns_events_appended_total', 'Events appended to the log'),
    apiRequests: registry.counter('mcns_api_requests_total', 'Management API requests, by surface, route and status'),
    authFailures: registry.counter('mcns_api_auth_failures_total', 'Failed authentications that cost an MCIAS call (invalid token, refused login), by surface'),
    authThrottled: registry.counter('mcns_api_auth_throttled_total', 'Requests answered 429 because their client address failed authentication too often, by surface'),
    mciasRequests: registry.counter('mcns_mcias_requests_total', 'Requests sent to MCIAS, by call (validate, login, logout) and HTTP status (0: unreachable)'),
    transfers: registry.counter('mcns_zone_transfers_total', 'Outgoing zone transfers, by kind (axfr, ixfr) and outcome'),
    recordsSkipped: registry.counter('mcns_records_skipped_total', 'Stored records left out of DNS answers and zone transfers because they cannot be encoded (rdata over 65535 bytes, or too large for one message), by path (answer, axfr, ixfr)'),
    notifies: registry.counter('mcns_notify_total', 'NOTIFY messages sent, by outcome'),
    dnsRrlLimited: registry.counter('mcns_dns_rrl_limited_total', 'UDP answers over [dns.rrl] responses_per_second for their source prefix (dropped or slipped)'),
    dnsRrlSlipped: registry.counter('mcns_dns_rrl_slipped_total', 'Rate-limited UDP answers sent truncated (TC=1) so the client retries over TCP ([dns.rrl] slip)'),
    dnsTcpClosed: registry.counter('mcns_dns_tcp_closed_total', 'DNS TCP connections refused or closed by a limit, by reason (per_client_limit, max_clients, message_timeout, idle_timeout, evicted)'),
    dnsTcpOpen,
    notifiesReceived: registry.counter('mcns_notify_received_total', 'NOTIFY messages received, by outcome (accepted, notauth, refused: sender not a configured peer, badtsig)'),
    dnsUpdates: registry.counter('mcns_dns_updates_total', 'DNS UPDATE requests, by outcome (applied, unchanged, badtsig, replay, or the rcode: refused, nxrrset, yxrrset, nxdomain, yxdomain, formerr, notauth, notzone, servfail)'),
  };
}

/** The metrics object type. */
export type Metrics = ReturnType<typeof createMetrics>;
