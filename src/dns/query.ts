/**
 * Fast, allocation-light reader for incoming DNS queries (the UDP/TCP hot path).
 *
 * readQuery never throws: short or response packets are dropped, anything else malformed
 * yields a FORMERR result carrying the id, flags and opcode so the caller can answer.
 * Answer/authority records (NOTIFY's SOA, IXFR's SOA, UPDATE's sections) are skipped, not
 * parsed; the additional section is scanned for OPT (EDNS) and TSIG.
 */

/** A well-formed query (any opcode; the caller routes on `opcode`). */
export type ParsedQuery = {
  kind: 'query';
  id: number;
  /** The raw 16-bit header flags word. */
  flags: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  /** Presentation form with trailing dot, case preserved; `.` `\` as `\.` `\\`, other non-printables as `\DDD`. */
  qname: string;
  /** qname with ASCII letters lowercased. */
  qnameKey: string;
  qtype: number;
  qclass: number;
  /** Offset just after the question section. */
  questionEnd: number;
  /** Present when the query has an OPT RR. `options` is a view into the input buffer (not a copy). */
  edns?: { udpPayloadSize: number; version: number; flags: number; do: boolean; options: Uint8Array };
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  /** True when the last additional record is a TSIG RR (type 250). */
  hasTsig: boolean;
  /** Offset of the TSIG RR's first byte (its owner name), when hasTsig. */
  tsigOffset?: number;
};

/** Outcome of {@link readQuery}. */
export type QueryReadResult =
  | ParsedQuery
  | { kind: 'formerr'; id: number; flags: number; opcode: number; reason: string }
  | { kind: 'drop'; reason: string };

const TYPE_OPT = 41;
const TYPE_TSIG = 250;
/** Smallest possible RR: root owner (1) + type, class, ttl, rdlength (10). */
const MIN_RR = 11;
const MAX_POINTER_HOPS = 128;

/** Presentation output scratch: at most 254 name bytes * 4 chars + dots. */
const pres = Buffer.allocUnsafe(1280);

function formerr(id: number, flags: number, reason: string): QueryReadResult {
  return { kind: 'formerr', id, flags, opcode: (flags >> 11) & 0xf, reason };
}

/** Skips a (possibly compressed) name starting at p. Returns the offset after it, or -1 if malformed. */
function skipName(buf: Uint8Array, p: number, len: number): number {
  let wire = 0;
  for (;;) {
    if (p >= len) return -1;
    const l = buf[p];
    if (l === 0) return p + 1;
    const t = l & 0xc0;
    if (t === 0xc0) return p + 2 <= len ? p + 2 : -1;
    if (t !== 0) return -1;
    wire += l + 1;
    if (wire > 254) return -1;
    p += l + 1;
  }
}

/** Reads a query. Never throws. */
export function readQuery(buf: Uint8Array): QueryReadResult {
  if (buf.length < 12) return { kind: 'drop', reason: 'shorter than a DNS header' };
  const id = (buf[0] << 8) | buf[1];
  const flags = (buf[2] << 8) | buf[3];
  if (flags & 0x8000) return { kind: 'drop', reason: 'QR bit set (a response)' };
  try {
    return parse(buf, id, flags);
  } catch {
    // Defensive only: parse() is written not to throw.
    return formerr(id, flags, 'unparseable');
  }
}

function parse(buf: Uint8Array, id: number, flags: number): QueryReadResult {
  const len = buf.length;
  const qdcount = (buf[4] << 8) | buf[5];
  const ancount = (buf[6] << 8) | buf[7];
  const nscount = (buf[8] << 8) | buf[9];
  const arcount = (buf[10] << 8) | buf[11];
  if (qdcount === 0) return formerr(id, flags, 'no question');
  if (qdcount > 1) return formerr(id, flags, 'more than one question');

  // Question name, following compression pointers with a hop limit: checked here, spelled in
  // presentation form only when asked for (Query.qname: the serving index answers from the bytes).
  let p = 12;
  let end = -1;
  let hops = 0;
  let wire = 0;
  for (;;) {
    if (p >= len) return formerr(id, flags, 'truncated question name');
    const l = buf[p];
    if (l === 0) {
      if (end < 0) end = p + 1;
      break;
    }
    const t = l & 0xc0;
    if (t === 0xc0) {
      if (p + 1 >= len) return formerr(id, flags, 'truncated compression pointer');
      if (end < 0) end = p + 2;
      if (++hops > MAX_POINTER_HOPS) return formerr(id, flags, 'compression pointer loop');
      p = ((l & 0x3f) << 8) | buf[p + 1];
      continue;
    }
    if (t !== 0) return formerr(id, flags, 'unsupported label type');
    wire += l + 1;
    if (wire > 254) return formerr(id, flags, 'name longer than 255 bytes');
    const stop = p + 1 + l;
    if (stop > len) return formerr(id, flags, 'truncated label');
    p = stop;
  }

  const questionEnd = end + 4;
  if (questionEnd > len) return formerr(id, flags, 'truncated question');
  const qtype = (buf[end] << 8) | buf[end + 1];
  const qclass = (buf[end + 2] << 8) | buf[end + 3];

  const rrTotal = ancount + nscount + arcount;
  if (rrTotal * MIN_RR > len - questionEnd) return formerr(id, flags, 'record counts exceed the packet size');

  p = questionEnd;
  // Answer and authority: skipped.
  for (let i = ancount + nscount; i > 0; i--) {
    p = skipName(buf, p, len);
    if (p < 0 || p + 10 > len) return formerr(id, flags, 'truncated record');
    const rdlen = (buf[p + 8] << 8) | buf[p + 9];
    p += 10 + rdlen;
    if (p > len) return formerr(id, flags, 'truncated rdata');
  }

  // Additional: OPT and TSIG.
  let edns: ParsedQuery['edns'];
  let hasTsig = false;
  let tsigOffset: number | undefined;
  for (let i = 0; i < arcount; i++) {
    const start = p;
    p = skipName(buf, p, len);
    if (p < 0 || p + 10 > len) return formerr(id, flags, 'truncated additional record');
    const type = (buf[p] << 8) | buf[p + 1];
    const rdlen = (buf[p + 8] << 8) | buf[p + 9];
    const rdStart = p + 10;
    const rdEnd = rdStart + rdlen;
    if (rdEnd > len) return formerr(id, flags, 'truncated rdata');
    if (hasTsig) return formerr(id, flags, 'TSIG is not the last record');
    if (type === TYPE_OPT) {
      if (edns) return formerr(id, flags, 'more than one OPT record');
      if (p !== start + 1) return formerr(id, flags, 'OPT owner is not the root');
      // Options must tile the rdata exactly.
      for (let q = rdStart; q < rdEnd; ) {
        if (q + 4 > rdEnd) return formerr(id, flags, 'malformed EDNS option');
        q += 4 + ((buf[q + 2] << 8) | buf[q + 3]);
        if (q > rdEnd) return formerr(id, flags, 'malformed EDNS option');
      }
      edns = new Edns(buf, p, rdStart, rdEnd);
    } else if (type === TYPE_TSIG) {
      hasTsig = true;
      tsigOffset = start;
    }
    p = rdEnd;
  }
  if (p !== len) return formerr(id, flags, 'trailing data after the last record');

  return new Query(buf, id, flags, qtype, qclass, questionEnd, edns, qdcount, ancount, nscount, arcount, hasTsig, tsigOffset);
}

/**
 * The presentation form of the (checked) question name of `buf`, and its lowercase form. Reads the
 * message again, so `buf` must not change in between: nothing writes into a received message.
 */
function presentName(buf: Uint8Array): { qname: string; qnameKey: string } {
  let p = 12;
  let o = 0;
  let upper = false;
  for (;;) {
    const l = buf[p];
    if (l === 0) break;
    if ((l & 0xc0) === 0xc0) {
      p = ((l & 0x3f) << 8) | buf[p + 1];
      continue;
    }
    const stop = p + 1 + l;
    for (let k = p + 1; k < stop; k++) {
      const c = buf[k];
      if (c > 32 && c < 127) {
        if (c === 46 || c === 92) {
          pres[o++] = 92;
        } else if (c >= 65 && c <= 90) {
          upper = true;
        }
        pres[o++] = c;
      } else {
        pres[o++] = 92;
        pres[o++] = 48 + ((c / 100) | 0);
        pres[o++] = 48 + (((c / 10) | 0) % 10);
        pres[o++] = 48 + (c % 10);
      }
    }
    pres[o++] = 46;
    p = stop;
  }
  const qname = o === 0 ? '.' : pres.toString('latin1', 0, o);
  return { qname, qnameKey: upper ? qname.toLowerCase() : qname };
}

/**
 * A parsed query. The name's presentation forms are made on first use: a query the serving index
 * answers never needs them, and making the string was about half of reading a query (in-process,
 * 10k-name zone: about 0.5 us per query before, 0.1-0.2 us after).
 */
class Query implements ParsedQuery {
  readonly kind = 'query' as const;
  readonly opcode: number;
  readonly rd: boolean;
  readonly cd: boolean;
  private names: { qname: string; qnameKey: string } | undefined;

  constructor(
    private readonly buf: Uint8Array,
    readonly id: number,
    readonly flags: number,
    readonly qtype: number,
    readonly qclass: number,
    readonly questionEnd: number,
    readonly edns: ParsedQuery['edns'],
    readonly qdcount: number,
    readonly ancount: number,
    readonly nscount: number,
    readonly arcount: number,
    readonly hasTsig: boolean,
    readonly tsigOffset: number | undefined,
  ) {
    this.opcode = (flags >> 11) & 0xf;
    this.rd = (flags & 0x0100) !== 0;
    this.cd = (flags & 0x0010) !== 0;
  }

  get qname(): string {
    return (this.names ??= presentName(this.buf)).qname;
  }

  get qnameKey(): string {
    return (this.names ??= presentName(this.buf)).qnameKey;
  }
}

/** A query's OPT (EDNS); its options are a view made on first use. */
class Edns {
  readonly udpPayloadSize: number;
  readonly version: number;
  readonly flags: number;
  readonly do: boolean;

  constructor(
    private readonly buf: Uint8Array,
    p: number,
    private readonly rdStart: number,
    private readonly rdEnd: number,
  ) {
    this.udpPayloadSize = (buf[p + 2] << 8) | buf[p + 3];
    this.version = buf[p + 5];
    this.flags = (buf[p + 6] << 8) | buf[p + 7];
    this.do = (this.flags & 0x8000) !== 0;
  }

  get options(): Uint8Array {
    return this.buf.subarray(this.rdStart, this.rdEnd);
  }
}
