/**
 * Forwarding for names outside our zones: upstreams tried in order with a timeout each, a TCP retry
 * when an upstream answer is truncated, SERVFAIL when every upstream fails, and the response cache
 * (cache.ts) in front. Identical questions in flight share one upstream exchange.
 *
 * Upstream queries are our own (RD, EDNS 1232, a fresh id and a fresh UDP socket per exchange, so
 * the source port is random too); answers are checked against id and question before use.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { McnsError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { cacheTtl, MAX_CACHE_TTL, parseUpstream, ResponseCache, type UpstreamMessage } from './cache.ts';
import type { ParsedQuery } from './query.ts';
import { encodeMessage } from './wire.ts';
import { CD, emptyResponse, emptyResponseBytes, maxResponseSize, OPCODE_BITS, OUR_PAYLOAD_SIZE, QR, RCODE, RD, responseFlags, TC, writeOpt } from './header.ts';

/** An upstream server address. */
export interface Upstream {
  host: string;
  port: number;
}

/** Options of a {@link Forwarder}. */
export interface ForwarderOptions {
  /** "host:port", "[v6]:port" or a bare address (port 53). */
  upstreams: string[];
  /** Per-upstream, per-transport timeout in ms (default 2000). */
  timeoutMs?: number;
  cache?: ResponseCache;
  /** Cap on cached TTLs, seconds (default 300). */
  maxTtl?: number;
  metrics?: Metrics;
  logger?: Logger;
  now?: () => number;
}

/** Parses "host:port", "[v6]:port", "host" (port `defaultPort`) into an address; throws McnsError. */
export function parseHostPort(text: string, defaultPort: number, field: string): Upstream {
  const t = text.trim();
  let host: string;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (net.isIPv6(t)) {
    host = t;
  } else {
    const i = t.lastIndexOf(':');
    if (i >= 0) {
      host = t.slice(0, i);
      port = Number(t.slice(i + 1));
    } else host = t;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !/^\d+$/.test(String(port))) {
    throw new McnsError('invalid', `bad port in "${text}"`, field);
  }
  return { host, port };
}

/** Why an exchange with one upstream failed (for logs and metrics). */
class ExchangeError extends Error {}


/** Forwards questions to upstream resolvers and caches their answers. */
export class Forwarder {
  readonly upstreams: Upstream[];
  readonly cache: ResponseCache;
  private readonly timeoutMs: number;
  private readonly maxTtl: number;
  private readonly metrics?: Metrics;
  private readonly logger?: Logger;
  private readonly now: () => number;
  private readonly inflight = new Map<string, Promise<UpstreamMessage | undefined>>();

  constructor(opts: ForwarderOptions) {
    this.upstreams = opts.upstreams.map((u, i) => parseHostPort(u, 53, `dns.upstreams[${i}]`));
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxTtl = opts.maxTtl ?? MAX_CACHE_TTL;
    this.now = opts.now ?? Date.now;
    this.cache = opts.cache ?? new ResponseCache(10_000, this.now);
    this.metrics = opts.metrics;
    this.logger = opts.logger;
  }

  /** The response to `q` (the client's query) for a name we are not authoritative for. */
  async resolve(q: ParsedQuery, tcp: boolean): Promise<Buffer> {
    const key = ResponseCache.key(q.qnameKey, q.qtype, q.qclass);
    const hit = this.cache.get(key);
    if (hit) {
      this.metrics?.cacheHits.inc();
      const elapsed = Math.floor((this.now() - hit.storedAt) / 1000);
      return serve(hit.message, q, tcp, elapsed);
    }
    this.metrics?.cacheMisses.inc();
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.exchangeAll(q).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const m = await pending;
    if (!m) return servfail(q);
    const ttl = cacheTtl(m, this.maxTtl);
    if (ttl > 0 && !this.cache.get(key)) this.cache.set(key, m, ttl);
    return serve(m, q, tcp, 0);
  }

  /** Tries every upstream in order; undefined when all failed. */
  private async exchangeAll(q: ParsedQuery): Promise<UpstreamMessage | undefined> {
    for (const up of this.upstreams) {
      try {
        let m = await this.exchange(up, q, false);
        if (m.flags & TC) m = await this.exchange(up, q, true);
        if (m.rcode === RCODE.SERVFAIL || m.rcode === RCODE.REFUSED || m.rcode === RCODE.NOTIMP || m.rcode === RCODE.FORMERR) {
          throw new ExchangeError(`rcode ${m.rcode}`);
        }
        return m;
      } catch (err) {
        const upstream = `${up.host}:${up.port}`;
        this.metrics?.upstreamFailures.inc({ upstream });
        this.logger?.debug({ upstream, qname: q.qname, err: (err as Error).message }, 'upstream failed');
      }
    }
    return undefined;
  }

  /** One exchange with one upstream over UDP or TCP; throws on timeout, mismatch or malformed answer. */
  private exchange(up: Upstream, q: ParsedQuery, tcp: boolean): Promise<UpstreamMessage> {
    const id = randomInt(0, 65536);
    const query = encodeMessage({
      id,
      flags: RD | (q.flags & CD), // RD, and CD passed on
      question: [{ name: q.qname, type: q.qtype, class: q.qclass }],
      answer: [],
      authority: [],
      additional: [],
      edns: { udpPayloadSize: OUR_PAYLOAD_SIZE, extendedRcode: 0, version: 0, flags: 0, options: new Uint8Array(0) },
    }).bytes;
    const check = (bytes: Buffer): UpstreamMessage | undefined => {
      if (bytes.length < 12 || bytes.readUInt16BE(0) !== id || !(bytes[2] & 0x80)) return undefined;
      // The question must be ours (RFC 5452 section 9.1), compared without regard to case.
      const qlen = query.length - 11 - 12; // the OPT RR is 11 bytes
      if (bytes.length < 12 + qlen || bytes.readUInt16BE(4) !== 1) return undefined;
      for (let i = 0; i < qlen; i++) {
        let a = bytes[12 + i];
        let b = query[12 + i];
        if (a >= 65 && a <= 90) a |= 0x20;
        if (b >= 65 && b <= 90) b |= 0x20;
        if (a !== b) return undefined;
      }
      return parseUpstream(bytes);
    };
    return tcp ? this.exchangeTcp(up, query, check) : this.exchangeUdp(up, query, check);
  }

  private exchangeUdp(up: Upstream, query: Buffer, check: (b: Buffer) => UpstreamMessage | undefined): Promise<UpstreamMessage> {
    const sock = dgram.createSocket(net.isIPv6(up.host) ? 'udp6' : 'udp4');
    return settleOnce(this.timeoutMs, 'udp', () => sock.close(), (done) => {
      sock.on('error', (err) => done(err));
      sock.on('message', (bytes) => {
        const m = check(bytes);
        if (m) done(undefined, m); // anything else (spoofed, stale) is ignored until the timeout
      });
      sock.send(query, up.port, up.host, (err) => {
        if (err) done(err);
      });
    });
  }

  private exchangeTcp(up: Upstream, query: Buffer, check: (b: Buffer) => UpstreamMessage | undefined): Promise<UpstreamMessage> {
    const sock = net.connect({ host: up.host, port: up.port });
    let buf = Buffer.alloc(0);
    return settleOnce(this.timeoutMs, 'tcp', () => sock.destroy(), (done) => {
      sock.on('error', (err) => done(err));
      sock.on('close', () => done(new ExchangeError('connection closed (tcp)')));
      sock.on('connect', () => {
        const frame = Buffer.allocUnsafe(2 + query.length);
        frame.writeUInt16BE(query.length, 0);
        query.copy(frame, 2);
        sock.write(frame);
      });
      sock.on('data', (chunk) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        const m = check(buf.subarray(2, 2 + len));
        done(m ? undefined : new ExchangeError('mismatched answer (tcp)'), m);
      });
    });
  }
}

/** A SERVFAIL response to `q` (every upstream failed). */
export function servfail(q: ParsedQuery): Buffer {
  // RA: we do forward, so recursion is available even though this attempt failed.
  return emptyResponseBytes(q, RCODE.SERVFAIL, { ra: true });
}

/**
 * The client's response from an upstream message: the client's id, RD/CD and question spelling,
 * the upstream's records with TTLs lowered by `elapsed` seconds, our OPT when the client sent one
 * (the upstream's is dropped), and TC when it does not fit the client's transport.
 */
export function serve(m: UpstreamMessage, q: ParsedQuery, tcp: boolean, elapsed: number): Buffer {
  const src = m.bytes;
  // Records up to (not including) a trailing OPT are copied as one block: compression pointers stay
  // valid because header and question keep their length (same name, same type and class).
  let end = src.length;
  let ar = src.readUInt16BE(10);
  const last = m.rrs[m.rrs.length - 1];
  const hasTrailingOpt = last !== undefined && last.type === 41 && last.section === 'additional';
  if (hasTrailingOpt) {
    end = last.start;
    ar--;
  }
  const optLen = q.edns ? 11 : 0;
  const qEnd = m.questionEnd;
  const size = end + optLen;
  const limit = maxResponseSize(q, tcp);
  // The upstream's own bits (AA, RA, AD, its rcode) kept; the bits copied from the query are ours to set.
  const flagsBase = responseFlags(q.flags, 0) | (src.readUInt16BE(2) & ~(QR | OPCODE_BITS | RD | CD | TC));
  const clientQEnd = q.questionEnd;
  if (size > limit || clientQEnd !== qEnd) {
    if (clientQEnd !== qEnd && size <= limit) {
      // The client compressed its question (legal, unusual): answer with our own question spelling.
      return patch(Buffer.from(src.subarray(0, end)), q, flagsBase, ar, elapsed, m, false);
    }
    return truncatedResponse(q, flagsBase);
  }
  const out = Buffer.allocUnsafe(size);
  src.copy(out, 0, 0, end);
  return patch(out, q, flagsBase, ar, elapsed, m, true, end);
}

function patch(out: Buffer, q: ParsedQuery, flags: number, ar: number, elapsed: number, m: UpstreamMessage, copyQuestion: boolean, end = out.length): Buffer {
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(flags & 0xffff, 2);
  if (copyQuestion) {
    // The question as the client spelled it (same length by construction).
    qbuf(q).copy(out, 12);
  }
  for (const rr of m.rrs) {
    if (rr.type === 41 || rr.end > end) continue;
    out.writeUInt32BE(Math.max(0, rr.ttl - elapsed) >>> 0, rr.ttlOffset);
  }
  let arCount = ar;
  if (q.edns && end + 11 <= out.length) {
    writeOpt(out, end, q.edns.do);
    arCount++;
  }
  out.writeUInt16BE(arCount, 10);
  return out;
}

/** The client's question bytes, re-encoded from its presentation form (keeps its letter case). */
function qbuf(q: ParsedQuery): Buffer {
  const b = encodeMessage({ id: 0, flags: 0, question: [{ name: q.qname, type: q.qtype, class: q.qclass }], answer: [], authority: [], additional: [] }).bytes;
  return b.subarray(12);
}

function truncatedResponse(q: ParsedQuery, flags: number): Buffer {
  // The upstream's rcode and bits, TC, no records: the client retries over TCP.
  return encodeMessage({ ...emptyResponse(q, flags & 0xf), flags: flags | TC }).bytes;
}

/** REFUSED for a name outside our zones when no upstream is configured. */
export function refusedResponse(q: ParsedQuery): Buffer {
  return emptyResponseBytes(q, RCODE.REFUSED);
}

/**
 * Run one upstream exchange that settles exactly once: on the first answer, error or the timeout,
 * whichever comes first, then releases its socket.
 */
function settleOnce(
  timeoutMs: number,
  transport: string,
  release: () => void,
  start: (done: (err?: Error, m?: UpstreamMessage) => void) => void,
): Promise<UpstreamMessage> {
  return new Promise((resolve, reject) => {
    let finished = false;
    const done = (err?: Error, m?: UpstreamMessage): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      release();
      if (err) reject(err);
      else resolve(m as UpstreamMessage);
    };
    const timer = setTimeout(() => done(new ExchangeError(`timeout (${transport})`)), timeoutMs);
    start(done);
  });
}
