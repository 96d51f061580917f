/**
 * The DNS listeners: UDP and TCP on every configured address, answering from the projection.
 *
 * The hot path is synchronous: readQuery, then the serving index (every name's encoded A/AAAA
 * answer, NODATA and NXDOMAIN in typed arrays, kept in step with the projection by diffing tries:
 * serving-index.ts), then a look-up in the answer cache (encoded responses keyed by lowercased
 * name, type, class, transport, EDNS presence/DO and the size limit), a copy patched with the
 * client's id, RD/CD and question spelling, and a send. A miss runs answerQuery + encodeMessage
 * (the general path, which also answers everything while the index is being built) and offers the
 * bytes to the cache (AnswerCache: an arena the GC never traces). The cache belongs to one `ledger.state` reference: when the projection swaps, the next
 * query sees a different object and clears it, so an answer is never older than the state the query
 * was read against. No SQLite, no await, no lock on that path.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net, { type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { McnsError } from '../errors.ts';
import { DNS_LATENCY_SAMPLE_EVERY, type Histogram, type Metrics } from '../metrics.ts';
import { statSync } from 'node:fs';
import type { LedgerState } from '../projections/state.ts';
import { answerQuery } from './answer.ts';
import { addDnssec, SIGNER_QTYPES } from './dnssec-answer.ts';
import { fastDnssecAnswer } from './dnssec-fast-answer.ts';
import type { SignedZone } from '../dnssec/signed-zone.ts';
import { canonicalQueryName, findZone } from './zones.ts';
import { emptyResponseBytes, headerOnlyResponse, maxResponseSize, RCODE } from './header.ts';
import { drainSkippedAnswers } from './oversized.ts';
import { AnswerCache } from './cache.ts';
import { ServingIndex } from './serving-index.ts';
import { zoneReadFor } from './zone-read.ts';
import { restoreIndexImage, writeIndexImage, type ImageRestored, type ImageWritten, type LoadedImage } from './index-image.ts';
import { Forwarder, parseHostPort, refusedResponse } from './forwarder.ts';
import { readQuery, type ParsedQuery } from './query.ts';
import { ResponseRateLimiter, type RrlOptions } from './rrl.ts';
import { TCP_LIMIT_DEFAULTS, TcpGuard, type TcpSlot } from './tcp-guard.ts';
import { encodeMessage } from './wire.ts';
import { bindUdp, WARM_UP_ANSWERS, WARM_UP_NAMES, warmUp, warmUpQuestions, type WarmUpResult } from './warm-up.ts';

/** Who sent a query. */
export interface Peer {
  address: string;
  port: number;
  transport: 'udp' | 'tcp';
}

/** Where a message came from: a UDP datagram's RemoteInfo, or a TCP connection's peer. */
interface Source {
  readonly address: string;
  readonly port: number;
}

/** Sends a message back: to `to` over UDP, or on the connection over TCP. */
type Sender = (msg: Buffer, to: Source) => void;

/** The Peer of a message, made only where a hook or a log line needs one (not per UDP answer). */
function peerOf(from: Source, tcp: boolean): Peer {
  return { address: from.address, port: from.port, transport: tcp ? 'tcp' : 'udp' };
}

/** A hook for an opcode (NOTIFY = 4, UPDATE = 5): returns the response bytes, or undefined for none. */
export type OpcodeHandler = (q: ParsedQuery, raw: Buffer, peer: Peer) => Buffer | Promise<Buffer | undefined> | undefined;

/** Options of {@link startDns}. */
export interface DnsServerOptions {
  /**
   * Anything with the current projection (the Ledger). Read once per query, never awaited. A Ledger
   * whose tail waits (LedgerOptions.deferTail) gives the serving index its stand-in (servingState)
   * and says when the tail is applied (whenSettled); `state` then applies it: the general path,
   * transfers and everything else read the real projection.
   */
  ledger: {
    readonly state: LedgerState;
    readonly servingState?: LedgerState;
    whenSettled?(fn: (standIn: LedgerState, settled: LedgerState) => void): void;
  };
  /** "127.0.0.1:5353", "[::1]:5353", ":53" (all addresses). Port 0 picks a free port per address. */
  listen: string[];
  /** Forwarding targets for names outside our zones; none: REFUSED. */
  upstreams?: string[];
  /** Per-upstream timeout in ms. */
  upstreamTimeoutMs?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Idle TCP connections are closed after this many ms (default 10 s, RFC 7766 section 6.2.3). */
  tcpIdleMs?: number;
  /** Concurrent TCP connections held (default 1000); when full, an idle or a hog's connection makes room, else the newcomer is closed. */
  maxTcpConnections?: number;
  /** Concurrent TCP connections one client (IPv4 address, IPv6 /64) holds (default 20); more are closed at once. */
  maxTcpPerClient?: number;
  /** A TCP connection whose incoming message has not arrived whole this many ms after its first byte is closed (default 1000; 0: no deadline). */
  tcpMessageMs?: number;
  /** Response rate limiting of UDP answers ([dns.rrl]); off when absent or responsesPerSecond is 0. */
  rrl?: Omit<RrlOptions, 'logger' | 'metrics'>;
  /** Opcode hooks; an opcode without one (other than QUERY) is answered NOTIMP. */
  handlers?: Partial<Record<number, OpcodeHandler>>;
  /**
   * Zone transfer hook (src/dns/transfer): offered every AXFR/IXFR query and every TSIG-signed query
   * before normal answering; returns true when it answered, through `send` (one or more messages).
   */
  transfer?: (q: ParsedQuery, raw: Buffer, peer: Peer, send: (msg: Buffer) => void) => boolean | Promise<void>;
  /** Answers the answer cache holds at most; when full it evicts the coldest (default 100,000; 0: no cache). */
  answerCacheSize?: number;
  /**
   * The answer cache, made by the caller before the ledger opened (its ~25 MB of buffers allocated
   * after a large projection has loaded push V8's external memory over the limit set at the load's
   * last full GC, which then marks the whole projection heap: ~0.5 s in the first second of serving).
   * Default: one of answerCacheSize answers, made here.
   */
  answerCache?: AnswerCache;
  /** Log this fraction (0..1) of queries at info level ([dns] query_log_sample when query_log is on); 0: off. */
  queryLogSample?: number;
  /**
   * Milliseconds of warm-up before the listeners bind (warm-up.ts): the server answers questions of
   * its own through loopback sockets, so its first clients meet optimized code. Only when the
   * serving index is complete at that point (restored from its image, or a small zone's build).
   * Default 0: none.
   */
  warmUpMs?: number;
  /**
   * The signed zones (src/dnssec/signer.ts): a query into one is answered by the general path with
   * DNSSEC added (dnssec-answer.ts); the serving index knows nothing of signatures.
   */
  signers?: { readonly size: number; get(zone: string): SignedZone | undefined };
  /**
   * The serving-index image (index-image.ts): restored at start when it was taken of the state being
   * served, instead of building the index; written by `saveIndexImage` at exit. `hashAt` gives the
   * log's hash of the event at a seq (the image's binding). Absent: the index is always built.
   */
  indexImage?: {
    path: string;
    hashAt: (seq: number) => string | undefined;
    /**
     * The image as loaded before the ledger opened (loadIndexImage; cheaper then), else it is read
     * here. Taken: startDns sets it to undefined, so an image not used is not kept alive by the options.
     */
    loaded?: LoadedImage | ImageRestored;
    /**
     * The state the ledger opened at, when writes may have followed before DNS started (seeding,
     * the catalog, DNSSEC steps): the image is bound to it and the index then diffs to the state
     * being served. Taken like `loaded`. Default: the state being served.
     */
    opened?: LedgerState;
  };
}

/** A running DNS listener set. */
export interface DnsServer {
  /** The bound addresses, one pair per listen entry. */
  addresses: Array<{ udp: AddressInfo; tcp: AddressInfo }>;
  /** The forwarder, when upstreams are configured (tests inspect its cache). */
  forwarder?: Forwarder;
  /** Resolves once the serving index has been built for the first time (answers are right before too, only slower). */
  indexed(): Promise<void>;
  /** Messages received so far, over every listener (background work paces itself while this moves). */
  received(): number;
  /** What the warm-up did (undefined when there was none). */
  warmUp?: WarmUpResult;
  /** What became of the serving-index image at start (undefined without `indexImage`). */
  indexImage?: ImageRestored;
  /** The serving index is exactly the index of the state being served now (no write waits for it). */
  indexCurrent(): boolean;
  /**
   * Writes the serving-index image for the state being served, when the index is its complete
   * index (else removes an older image); call after close(), before the database closes. Undefined
   * without `indexImage`. Throws what the file system throws.
   */
  saveIndexImage(): ImageWritten | undefined;
  /** Stops accepting; in-flight TCP answers are written before their connections close. */
  close(): Promise<void>;
}

const TCP_DEFAULT_IDLE_MS = 10_000;
const MAX_TCP_DEFAULT = 1000;
const ANSWER_CACHE_DEFAULT = 100_000;
/** How often the serving index takes the writes made since, when no query made it do so. */
const INDEX_FOLLOW_MS = 1000;
const LATENCY_SAMPLE_MASK = DNS_LATENCY_SAMPLE_EVERY - 1;

/** Parses a listen entry into host and port; ":53" means every address. Throws McnsError. */
export function parseListen(text: string, field = 'dns.listen_addr'): { host: string; port: number } {
  const t = text.trim();
  if (/^:\d+$/.test(t)) return { host: '::', port: Number(t.slice(1)) };
  const hp = parseHostPort(t, 53, field);
  if (!net.isIP(hp.host) && hp.host !== 'localhost') throw new McnsError('invalid', `"${text}" is not an IP address and port`, field);
  return { host: hp.host === 'localhost' ? '127.0.0.1' : hp.host, port: hp.port };
}

/**
 * A SERVFAIL for a failure caught on the query path (never expected): with the question echoed
 * (RFC 1035 4.1.1; resolvers discard an answer whose question does not match theirs), header-only
 * only when even that cannot be written.
 */
function servfailResponse(raw: Buffer): Buffer | undefined {
  if (raw.length < 12) return undefined;
  try {
    const q = readQuery(raw);
    if (q.kind === 'query') return emptyResponseBytes(q, RCODE.SERVFAIL);
  } catch {
    // Fall back to the bare header below.
  }
  return headerOnlyResponse(raw.readUInt16BE(0), raw.readUInt16BE(2), RCODE.SERVFAIL);
}

/** Size of the file at `path`, or -1 when there is none. */
function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** Starts UDP and TCP listeners on every `listen` address. */
export async function startDns(opts: DnsServerOptions): Promise<DnsServer> {
  const logger = opts.logger;
  const metrics = opts.metrics;
  const handlers = opts.handlers ?? {};
  const forwarder = opts.upstreams && opts.upstreams.length > 0 ? new Forwarder({ upstreams: opts.upstreams, timeoutMs: opts.upstreamTimeoutMs, metrics, logger }) : undefined;
  const tcpIdleMs = opts.tcpIdleMs ?? TCP_DEFAULT_IDLE_MS;
  const maxTcp = opts.maxTcpConnections ?? MAX_TCP_DEFAULT;
  const tcpGuard = new TcpGuard(
    {
      maxClients: maxTcp,
      maxPerClient: opts.maxTcpPerClient ?? TCP_LIMIT_DEFAULTS.maxPerClient,
      messageTimeoutMs: opts.tcpMessageMs ?? TCP_LIMIT_DEFAULTS.messageTimeoutMs,
      idleTimeoutMs: tcpIdleMs,
    },
    logger,
    metrics,
  );
  // Undefined when off, so UDP answers pay one comparison for it.
  const rrl = opts.rrl && opts.rrl.responsesPerSecond > 0 ? new ResponseRateLimiter({ ...opts.rrl, logger, metrics }) : undefined;

  /**
   * The state the answer cache's entries were taken from, held weakly: a strong reference kept it
   * alive for as long as no general-path question came, while every write made the live state
   * diverge from it (the paths a write copies: up to a second copy of a big zone's tries and maps). A state
   * that was collected is not the live one, so a cleared reference clears the cache, as it should.
   */
  let cacheState: WeakRef<LedgerState> | undefined;
  const cache = opts.answerCache ?? new AnswerCache(opts.answerCacheSize ?? ANSWER_CACHE_DEFAULT);
  const index = new ServingIndex();
  index.onRebuilt = (entries, ms) => logger?.[ms >= 100 ? 'info' : 'debug']({ entries, ms: Math.round(ms) }, 'DNS serving index built');
  index.onFilled = (names, ms) => logger?.[ms >= 100 ? 'info' : 'debug']({ names, ms: Math.round(ms) }, 'DNS serving index complete (every type answered)');
  // The image of the state being served, when there is one, instead of a build.
  let imageRestored: ImageRestored | undefined;
  /**
   * The state the image was restored for (saveIndexImage keeps the file when nothing changed since),
   * held weakly: a strong reference kept that whole state alive beside the live one for the life of
   * the process. A state that was collected is not the one being served, so the file is written.
   */
  let restoredState: WeakRef<LedgerState> | undefined;
  const ledger = opts.ledger;
  /** What the serving index answers for: the projection, or the stand-in of a deferred tail's end (the Ledger's servingState). */
  const served = ledger.servingState === undefined ? (): LedgerState => ledger.state : (): LedgerState => ledger.servingState as LedgerState;
  if (opts.indexImage) {
    const { path, hashAt, loaded } = opts.indexImage;
    const state = opts.indexImage.opened ?? served();
    imageRestored = restoreIndexImage(path, index, state, hashAt(state.seq), loaded);
    opts.indexImage.loaded = undefined;
    opts.indexImage.opened = undefined;
    if (imageRestored.restored) {
      restoredState = new WeakRef(state);
      logger?.info({ path, seq: state.seq, entries: imageRestored.entries, bytes: imageRestored.bytes, ms: Math.round(imageRestored.ms) }, 'serving index restored from image');
      // Writes since the ledger opened: diffed in now (a zone created or a large batch rebuilds).
      if (served() !== state) index.sync(served());
      // Restored for a deferred tail's stand-in: once the tail is applied, the index is of its state.
      ledger.whenSettled?.((standIn, settled) => {
        index.rebind(standIn, settled);
        if (restoredState?.deref() === standIn) restoredState = new WeakRef(settled);
      });
    } else if (imageRestored.problem) logger?.warn({ path, reason: imageRestored.reason }, 'serving index image not used (damaged or unreadable): building the index');
    else if (!imageRestored.absent) logger?.info({ path, reason: imageRestored.reason }, 'serving index image not used: building the index');
  }
  // Else start building now (in slices between I/O), so the index is ready by the first queries.
  if (!imageRestored?.restored) index.sync(opts.ledger.state);
  let indexFailureLogged = false;

  /** True while the warm-up asks its questions (warm-up.ts): see `handle`, `observed` and `flush`. */
  let warming = false;
  // Metrics are counted in plain numbers here and flushed to the registry once a second, so the
  // hot path never builds label strings.
  const counts = new Map<number, number>();
  const count = (rcode: number, qtype: number, tcp: boolean): void => {
    const k = (rcode << 18) | ((qtype & 0xffff) << 1) | (tcp ? 1 : 0);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  const flush = (): void => {
    // The warm-up's queries are not the clients': its counts are dropped when it ends.
    if (warming) return;
    const skipped = drainSkippedAnswers();
    if (skipped.count > 0) metrics?.recordsSkipped.inc({ path: 'answer' }, skipped.count);
    for (const r of skipped.firstSeen) {
      logger?.warn({ id: r.id, name: r.name, type: r.type, rdataLength: r.rdataLength }, 'stored record left out of DNS answers: its rdata is longer than 65535 bytes (written by an older build; delete or shorten it)');
    }
    rrl?.flush();
    if (!metrics) return counts.clear();
    for (const [k, n] of counts) {
      metrics.dnsQueries.inc({ rcode: String(k >>> 18), qtype: String((k >>> 1) & 0xffff), transport: k & 1 ? 'tcp' : 'udp' }, n);
    }
    counts.clear();
  };
  /** Messages received so far (DnsServer.received: start-up work slows down while queries come in). */
  let received = 0;
  const flushTimer = setInterval(flush, 1000);
  // The index follows the state at queries; with none coming in, writes would pile up into one diff
  // for the next query or for exit to apply (an hour of writes at 20/s with no queries: 72,000 names,
  // 7.4 s at SIGTERM, then over the diff budget, so no image was written and the next start built
  // the index). Once a second it takes what was written since: a few names, or the start of a rebuild.
  const followTimer = setInterval(() => {
    if (!closing && index.failure === undefined) index.sync(served());
  }, INDEX_FOLLOW_MS);
  followTimer.unref();
  flushTimer.unref();

  const transfer = opts.transfer;
  const signers = opts.signers;
  const signedZoneOf = (state: LedgerState, q: ParsedQuery): SignedZone | undefined => {
    const zone = findZone(state, canonicalQueryName(q.qnameKey));
    return zone?.dnssec?.enabled ? signers?.get(zone.name) : undefined;
  };
  /**
   * Answers one message from `from`; undefined means send nothing. `send` writes extra messages
   * (transfers). Never throws. Nothing is allocated here for an answer but the answer itself.
   */
  /** `waited`: the zone's read this question waited for is done (zoneReadFor); it is not waited for twice. */
  const handle = (raw: Buffer, tcp: boolean, from: Source, send: Sender, waited = false): Buffer | Promise<Buffer | undefined> | undefined => {
    received++;
    try {
      const q = readQuery(raw);
      if (q.kind === 'drop') return undefined;
      if (q.kind === 'formerr') {
        count(RCODE.FORMERR, 0, tcp);
        return headerOnlyResponse(q.id, q.flags, RCODE.FORMERR);
      }
      if (q.opcode !== 0) {
        const h = handlers[q.opcode];
        if (h) return h(q, raw, peerOf(from, tcp));
      }
      if (transfer && (q.qtype === 252 || q.qtype === 251 || q.hasTsig)) {
        // A transfer still being sent is a promise: the TCP connection counts it in flight (shutdown drain).
        const sent = transfer(q, raw, peerOf(from, tcp), (msg) => send(msg, from));
        if (sent === true) return undefined;
        if (sent) return sent.then(() => undefined);
      }
      const qlen = q.questionEnd - 12;
      const limit = maxResponseSize(q, tcp);
      // A DO query into a signed zone, or one for a type the signer derives, skips the serving index
      // (it holds no signatures, denial records or DNSKEYs); other queries into signed zones are
      // answered as for any zone.
      const signed = signers !== undefined && signers.size > 0 && (q.edns?.do === true || SIGNER_QTYPES.has(q.qtype)) ? signedZoneOf(ledger.state, q) : undefined;
      // DO into a signed zone: positive, NODATA or NXDOMAIN from the signed zone's bytes when it can (dnssec-fast-answer.ts).
      const signedFast = signed !== undefined && q.edns?.do === true ? fastDnssecAnswer(signed, q, raw, limit) : undefined;
      if (signedFast !== undefined) {
        count(signedFast[3] & 0xf, q.qtype, tcp);
        return signedFast;
      }
      const indexed = signed ? undefined : index.answer(served(), q, raw, limit);
      if (indexed !== undefined) {
        // NOERROR, or NXDOMAIN for a name that does not exist.
        count(indexed[3] & 0xf, q.qtype, tcp);
        return indexed;
      }
      if (index.failure !== undefined && !indexFailureLogged) {
        indexFailureLogged = true;
        logger?.error({ err: index.failure }, 'DNS serving index switched off; queries take the general path');
      }
      // The warm-up asks only what the index answers: a big zone's read or a cache entry is for clients.
      if (warming) return headerOnlyResponse(q.id, q.flags, RCODE.REFUSED);
      // The general path reads the projection itself (a deferred tail is applied first, at once).
      const state = ledger.state;
      if (cacheState?.deref() !== state) {
        cache.clear();
        cacheState = new WeakRef(state);
      }
      const ednsKey = q.edns ? (q.edns.version === 0 ? (q.edns.do ? 2 : 1) : 3) : 0;
      const hit = cache.get(raw, q.questionEnd, q.opcode, ednsKey, limit, tcp);
      if (hit !== undefined) {
        count(cache.lastRcode, q.qtype, tcp);
        return hit;
      }
      // A big zone not read yet: answered once it is, the index answering meanwhile (zone-read.ts).
      const read = waited ? undefined : zoneReadFor(state, q.qnameKey);
      if (read) {
        const again = (): Buffer | Promise<Buffer | undefined> | undefined => handle(raw, tcp, from, send, true);
        return read.then(again, again);
      }
      const a = answerQuery(state, q, { tcp });
      if (signed && a.zone === signed.zone) addDnssec(a, q, signed);
      if (a.result === 'forward') {
        if (!forwarder) {
          count(RCODE.REFUSED, q.qtype, tcp);
          return refusedResponse(q);
        }
        return forwarder.resolve(q, tcp).then((b) => {
          count(b[3] & 0xf, q.qtype, tcp);
          return b;
        });
      }
      const enc = encodeMessage(a.message, limit);
      const rcode = (a.message.flags & 0xf) | ((a.message.edns?.extendedRcode ?? 0) << 4);
      count(rcode, q.qtype, tcp);
      // Only an uncompressed client question has our question's length; others are answered uncached.
      const ourQlen = enc.bytes.length >= 12 ? questionLength(enc.bytes) : -1;
      if (ourQlen === qlen) cache.put(raw, enc.bytes, rcode);
      return enc.bytes;
    } catch (err) {
      logger?.error({ err, peer: `${from.address}:${from.port}` }, 'DNS query handler failed');
      return servfailResponse(raw);
    }
  };

  // Latency is measured on one query in DNS_LATENCY_SAMPLE_EVERY (a power of two, so a mask) and queries
  // are logged on a sample, in a wrapper, so the common path pays one counter increment for both.
  const logSample = opts.queryLogSample ?? 0;
  let seen = 0;
  /**
   * Times (into `latency`, when given) and logs (`logged`) a query answered with `reply`, `started`
   * being when it came. A function of the server's, not a closure made per query: a timed query
   * then allocates nothing more, and V8 optimizes it early (made anew for one query in
   * DNS_LATENCY_SAMPLE_EVERY, the closure was optimized only seconds into serving).
   */
  const report = (raw: Buffer, tcp: boolean, from: Source, reply: Buffer | undefined, started: number, latency: Histogram | undefined, logged: boolean): void => {
    if (latency !== undefined) latency.observe((performance.now() - started) / 1000);
    if (logged) {
      const q = readQuery(raw);
      logger?.info(
        {
          peer: `${from.address}:${from.port}`,
          transport: tcp ? 'tcp' : 'udp',
          qname: q.kind === 'query' ? q.qname : undefined,
          qtype: q.kind === 'query' ? q.qtype : undefined,
          rcode: reply && reply.length >= 4 ? reply[3] & 0xf : undefined,
          ms: Math.round((performance.now() - started) * 1000) / 1000,
        },
        'dns query',
      );
    }
  };
  // The warm-up's queries are timed as the clients' are, into a histogram no scrape shows: a path
  // the warm-up never took had V8 throw away the code around it at the first client's timed query
  // (--trace-deopt).
  const clientLatency = metrics?.dnsLatency;
  const warmUpLatency = clientLatency?.unexported();
  const observed = (raw: Buffer, tcp: boolean, from: Source, send: Sender): Buffer | Promise<Buffer | undefined> | undefined => {
    const timeIt = metrics !== undefined && (++seen & LATENCY_SAMPLE_MASK) === 0;
    const logIt = logSample > 0 && logger !== undefined && !warming && Math.random() < logSample;
    if (!timeIt && !logIt) return handle(raw, tcp, from, send);
    const started = performance.now();
    const latency = !timeIt ? undefined : warming ? warmUpLatency : clientLatency;
    const r = handle(raw, tcp, from, send);
    if (r !== undefined && isPromise(r)) {
      return r.then((b) => {
        report(raw, tcp, from, b, started, latency, logIt);
        return b;
      });
    }
    report(raw, tcp, from, r, started, latency, logIt);
    return r;
  };

  /**
   * A UDP socket that answers as a listener: every message through `observed`; every answer through
   * `limiter` (response rate limiting, when on): sent, sent truncated (slip) or dropped. The warm-up's
   * sockets are made here too, so that they run the very functions the listeners will.
   */
  const udpListener = (type: 'udp4' | 'udp6', limiter: ResponseRateLimiter | undefined): dgram.Socket => {
    const udp = dgram.createSocket({ type, ipv6Only: false, lookup: literalLookup });
    const reply = (b: Buffer, rinfo: Source): void => {
      const out = limiter === undefined ? b : limiter.filter(b, rinfo.address);
      if (out !== undefined) udp.send(out, rinfo.port, rinfo.address);
    };
    udp.on('message', (msg, rinfo) => {
      const r = observed(msg, false, rinfo, reply);
      if (r === undefined) return;
      if (!isPromise(r)) reply(r, rinfo);
      else
        r.then(
          (b) => {
            if (b && !closing) reply(b, rinfo);
          },
          (err) => logger?.error({ err }, 'async DNS handler failed'),
        );
    });
    udp.on('error', (err) => logger?.error({ err }, 'UDP socket error'));
    return udp;
  };

  /**
   * The warm-up (warm-up.ts), when the serving index is complete for the state being served: with
   * it being built, or no zone, queries take the general path at first anyway (and a warm-up there
   * would start the big zones' reads). Its questions are answered by the index or refused (`handle`),
   * never rate-limited or logged, and timed only into a histogram no scrape shows (`observed`); the
   * query counts and `received` are put back, so metrics show only the clients' queries.
   */
  let warmedUp: WarmUpResult | undefined;
  const warmUpMs = opts.warmUpMs ?? 0;
  if (warmUpMs > 0 && index.isCurrent(served()) && !index.filling && index.failure === undefined && index.size > 0) {
    const questions = warmUpQuestions(index.sampleNames(WARM_UP_NAMES));
    // The family of the first listener (":53", the default, is a dual-stack IPv6 socket), so that the
    // warm-up runs dgram's code for it; IPv4 when ::1 cannot be bound (IPv6 off on the loopback).
    const family = net.isIPv6(parseListen(opts.listen[0] ?? '127.0.0.1:0').host) ? 'udp6' : 'udp4';
    const ask = (type: 'udp4' | 'udp6'): Promise<WarmUpResult> =>
      warmUp(
        [udpListener(type, undefined), udpListener(type, undefined)],
        dgram.createSocket({ type, ipv6Only: false, lookup: literalLookup }),
        questions,
        warmUpMs,
        WARM_UP_ANSWERS,
        type === 'udp6' ? '::1' : '127.0.0.1',
      );
    const receivedBefore = received;
    warming = true;
    let done: WarmUpResult;
    try {
      done = await ask(family);
      if (done.problem !== undefined && family === 'udp6') done = await ask('udp4');
    } catch (err) {
      // Never expected (warmUp does not reject); a socket that cannot even be made, say.
      done = { loopback: '', questions: questions.length, sent: 0, answered: 0, ms: 0, problem: err instanceof Error ? err.message : String(err) };
    } finally {
      // Whatever happened, the clients' questions are never refused for it.
      warming = false;
      received = receivedBefore;
      counts.clear();
    }
    if (done.problem === undefined) logger?.info({ loopback: done.loopback, questions: done.questions, sent: done.sent, answered: done.answered, ms: Math.round(done.ms) }, 'DNS warmed up');
    else logger?.warn({ err: done.problem }, 'DNS warm-up could not run (no UDP socket could be bound on the loopback): the first clients meet code not yet optimized');
    warmedUp = done;
  }

  const udpSockets: dgram.Socket[] = [];
  const tcpServers: net.Server[] = [];
  const connections = new Set<TcpConnection>();
  const addresses: DnsServer['addresses'] = [];
  let closing = false;

  for (const entry of opts.listen) {
    const { host, port } = parseListen(entry);
    const tcpServer = net.createServer({ noDelay: true }, (socket) => {
      if (closing) {
        socket.destroy();
        return;
      }
      const slot = tcpGuard.admit(socket);
      if (!slot) return;
      const c = new TcpConnection(socket, observed, slot, () => connections.delete(c), logger);
      connections.add(c);
    });
    // A backstop only: the guard decides (a full table can make room), and an evicted socket is counted here until it has closed.
    tcpServer.maxConnections = 2 * maxTcp;
    // TCP first: with port 0 its port is then reused for UDP, so both listen on one port.
    await new Promise<void>((resolve, reject) => {
      tcpServer.once('error', reject);
      tcpServer.listen({ host, port, ipv6Only: false }, () => {
        tcpServer.off('error', reject);
        resolve();
      });
    });
    const tcpAddr = tcpServer.address() as AddressInfo;
    const udp = udpListener(net.isIPv6(host) ? 'udp6' : 'udp4', rrl);
    await bindUdp(udp, host, tcpAddr.port);
    try {
      // A deep receive queue rides out bursts (capped by net.core.rmem_max).
      udp.setRecvBufferSize(8 * 1024 * 1024);
    } catch {
      // Not fatal: the kernel default applies.
    }
    udpSockets.push(udp);
    tcpServers.push(tcpServer);
    addresses.push({ udp: udp.address(), tcp: tcpAddr });
    logger?.info({ udp: udp.address(), tcp: tcpAddr }, 'DNS listening');
  }

  return {
    addresses,
    forwarder,
    indexed: () => index.whenBuilt(),
    received: () => received,
    warmUp: warmedUp,
    indexImage: imageRestored,
    indexCurrent: () => index.isCurrent(served()),
    saveIndexImage() {
      if (!opts.indexImage) return undefined;
      const state = served();
      // Nothing written since the image was restored: the file holds this very index already
      // (when it is still there, whole), and exit need not write 100 MB again.
      if (restoredState?.deref() === state && imageRestored?.restored && fileSize(opts.indexImage.path) === imageRestored.bytes && index.imageOf(state)) {
        return { written: false, reason: 'unchanged since it was restored at start', kept: true };
      }
      return writeIndexImage(opts.indexImage.path, index, state, opts.indexImage.hashAt(state.seq));
    },
    async close() {
      closing = true;
      clearInterval(flushTimer);
      clearInterval(followTimer);
      // The index follows the state at queries: writes since the last one are diffed in now, so
      // the image written at exit (saveIndexImage) is of the state being served.
      if (opts.indexImage && !index.filling) index.sync(served());
      index.close();
      flush();
      for (const s of udpSockets) s.close();
      const closed = tcpServers.map((s) => new Promise<void>((r) => s.close(() => r())));
      for (const c of connections) c.drain();
      await Promise.all(closed);
    },
  };
}

/**
 * The UDP sockets' address lookup. dgram looks up the destination of every send, and Node's default
 * (dns.lookup) answers even an IP literal on the next tick: a queued callback, an async-id scope and
 * a regular-expression test per answer. Our destinations are always the literal address a query came
 * from, so the answer is given at once; anything else (never expected) goes to dns.lookup.
 */
function literalLookup(address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  // The last literal's family is kept: answers mostly go back to the addresses that just asked
  // (a resolver, a load generator), and the check is a regular expression.
  if (address === lastLiteral) return callback(null, address, lastFamily);
  const f = net.isIPv4(address) ? 4 : net.isIPv6(address) ? 6 : 0;
  if (f === 0) return dns.lookup(address, family as number, callback as never);
  lastLiteral = address;
  lastFamily = f;
  callback(null, address, f);
}
let lastLiteral = '';
let lastFamily = 4;

function isPromise(r: Buffer | Promise<Buffer | undefined>): r is Promise<Buffer | undefined> {
  return typeof (r as { then?: unknown }).then === 'function';
}

/** Length of the question section of an encoded message with one question (uncompressed name). */
function questionLength(b: Buffer): number {
  if (b.readUInt16BE(4) !== 1) return -1;
  let p = 12;
  while (p < b.length) {
    const l = b[p];
    if (l === 0) return p + 1 + 4 - 12;
    if (l & 0xc0) return -1;
    p += l + 1;
  }
  return -1;
}

/**
 * One TCP connection: two-byte length framing (RFC 1035 4.2.2), any number of pipelined queries
 * answered as they complete (RFC 7766 section 6.2.1.1), partial reads reassembled, writes queued by
 * the socket with reads paused while it is backed up, an idle timeout, and a drain on shutdown.
 */
class TcpConnection {
  private buf: Buffer = Buffer.alloc(0);
  private inflight = 0;
  private draining = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly handle: (raw: Buffer, tcp: boolean, from: Source, send: Sender) => Buffer | Promise<Buffer | undefined> | undefined,
    /** Its place in the connection table: the idle timeout and the deadline of each incoming message (tcp-guard.ts). */
    private readonly slot: TcpSlot,
    private readonly onClose: () => void,
    private readonly logger?: Logger,
  ) {
    const peer: Source = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    socket.on('data', (chunk: Buffer) => this.onData(chunk, peer));
    socket.on('drain', () => socket.resume());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
    socket.on('end', () => {
      // The client half-closed: finish what is in flight, then close our side.
      this.draining = true;
      this.maybeEnd();
    });
  }

  private onData(chunk: Buffer, peer: Source): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    // The answers to the queries of one chunk (pipelined clients send many) leave in one writev.
    this.socket.cork();
    let p: number;
    try {
      p = this.answerFrames(peer);
    } finally {
      this.socket.uncork();
    }
    this.buf = p === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(p);
    // A copy, so one small leftover does not pin a large chunk.
    if (p > 0 && this.buf.length > 0) this.buf = Buffer.from(this.buf);
    // A started message must arrive whole by its deadline (a trickle does not extend it).
    this.slot.received(this.buf.length, p > 0);
  }

  /** Answers every complete frame in the buffer; returns the offset after the last one. */
  private answerFrames(peer: Source): number {
    let p = 0;
    while (this.buf.length - p >= 2) {
      const len = this.buf.readUInt16BE(p);
      if (this.buf.length - p - 2 < len) break;
      const msg = this.buf.subarray(p + 2, p + 2 + len);
      p += 2 + len;
      if (this.draining) continue;
      const r = this.handle(msg, true, peer, this.send);
      if (r === undefined) continue;
      if (!isPromise(r)) this.write(r);
      else {
        this.inflight++;
        r.then(
          (b) => {
            this.inflight--;
            if (b) this.write(b);
            this.maybeEnd();
          },
          (err) => {
            this.inflight--;
            this.logger?.error({ err }, 'async DNS handler failed');
            this.maybeEnd();
          },
        );
      }
    }
    return p;
  }

  private readonly send: Sender = (b) => this.write(b);

  private write(b: Buffer): void {
    if (this.socket.destroyed) return;
    this.slot.sent();
    const frame = Buffer.allocUnsafe(2 + b.length);
    frame.writeUInt16BE(b.length, 0);
    b.copy(frame, 2);
    if (!this.socket.write(frame)) this.socket.pause();
  }

  /** Shutdown: read no more queries; close once every answer in flight is written. */
  drain(): void {
    this.draining = true;
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.draining && this.inflight === 0 && !this.socket.destroyed) this.socket.end();
  }
}
