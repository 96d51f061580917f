/**
 * Authoritative answering: a pure function from one projection snapshot and one parsed query to a
 * result kind and the response message (RFC 1034 4.3.2, 2181, 2308, 4592, 6672-free, 6891, 8482).
 *
 * It walks fixed stages the way Knot does (zone selection, answer with CNAME chasing, authority,
 * additional) and names its outcome explicitly, CoreDNS style, so NXDOMAIN, NODATA and a referral
 * can never be confused. The listeners only decode, call this, and encode; nothing here does I/O,
 * allocates beyond the message, or looks at anything but the `state` reference it is handed.
 */
import type { LedgerState, ZoneState } from '../projections/state.ts';
import { findNode, lookup, type RecordState, type RRset, type TrieNode } from '../projections/trie.ts';
import { parseRData } from '../records/rdata.ts';
import { splitLabels } from '../records/names.ts';
import { RR_TYPE_BY_CODE, RR_TYPE_CODES, type RData } from '../records/types.ts';
import type { ParsedQuery } from './query.ts';
import { answerable, noteSkippedAnswer } from './oversized.ts';
import { ipv6ToBytes, type WireMessage, type WireRR } from './wire.ts';

/** How an answer came out (CoreDNS `Success | NameError | Delegation | NoData ...`, plus the protocol errors). */
export type AnswerResult =
  | 'success'
  | 'nxdomain'
  | 'nodata'
  | 'delegation'
  | 'refused'
  | 'notauth'
  | 'notimp'
  | 'formerr'
  | 'badvers'
  /** The name is in none of our zones: the caller forwards it, or answers the REFUSED message given. */
  | 'forward';

/** The outcome of {@link answerQuery}: the result kind and the message to encode. */
export interface Answer {
  result: AnswerResult;
  message: WireMessage;
  /** The apex of the zone that answered (first zone of a CNAME chain), when one did. */
  zone?: string;
}

/** Knobs of {@link answerQuery}; the defaults are what the server uses. */
export interface AnswerOptions {
  /** The query came over TCP: ANY gets every RRset instead of RFC 8482's single one. */
  tcp?: boolean;
  /** Most CNAMEs put in one answer (default 5, as Knot); the data after the last one is still added. */
  maxChain?: number;
}

/** Response header bits and codes (RFC 1035 4.1.1, RFC 6891 9). */
export const QR = 0x8000;
/** Authoritative Answer. */
export const AA = 0x0400;
/** Response codes used here. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, NOTAUTH: 9, BADVERS: 16 } as const;
/** The UDP payload size we advertise and cap UDP answers at (DNS flag day 2020). */
export const OUR_PAYLOAD_SIZE = 1232;
/** The DNSSEC OK bit of the EDNS flags word, copied from the query (RFC 3225). */
export const DO_BIT = 0x8000;

const TYPE_ANY = 255;
const TYPE_DS = 43;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
const TYPE_CNAME = 5;
const CLASS_IN = 1;
const DEFAULT_MAX_CHAIN = 5; // Knot 3.x follows at most 5 CNAMEs
const NO_OPTIONS = new Uint8Array(0);

/** Query type number -> the record type we store, for the types we serve. */
const TYPE_NAMES = RR_TYPE_BY_CODE;

/** Parsed RData per record object: records are immutable, so a parse is good for the record's life. */
const rdataCache = new WeakMap<RecordState, RData>();

/** The structured RData of a stored record (its value is canonical, so it always parses). */
export function recordData(r: RecordState): RData {
  // An address's canonical value is its RData: built fresh, it dies young. Memoizing it would put
  // one WeakMap entry per queried name into old space (on a 1M-name zone the GC then dominates).
  if (r.type === 'A' || r.type === 'AAAA') return { type: r.type, address: r.value };
  let d = rdataCache.get(r);
  if (d === undefined) {
    d = parseRData(r.type, r.value);
    rdataCache.set(r, d);
  }
  return d;
}

const SPECIALS_RE = /["();@$]/;
const SPECIALS_G = /["();@$]/g;

/**
 * The ledger's canonical form of a query's lowercased name: readQuery escapes only `.` and `\`,
 * the ledger also escapes `" ( ) ; @ $` (names.ts), so those get a backslash here.
 */
export function canonicalQueryName(qnameKey: string): string {
  return SPECIALS_RE.test(qnameKey) ? qnameKey.replace(SPECIALS_G, '\\$&') : qnameKey;
}

/** The zones map findZone last indexed, and that index (see zoneIndex). */
let indexedZones: LedgerState['zones'] | undefined;
let zoneByName = new Map<string, ZoneState>();

/**
 * A plain Map over the state's zones, rebuilt when the zones map changes (a write: O(zones)). The
 * immutable.js map hashes a key longer than 16 characters through an object-keyed string cache,
 * which interns every new query name; a native Map hashes the string in place.
 */
function zoneIndex(zones: LedgerState['zones']): Map<string, ZoneState> {
  if (zones !== indexedZones) {
    zoneByName = new Map(zones);
    indexedZones = zones;
  }
  return zoneByName;
}

/** The served zone that is the longest suffix of the canonical name `name`, if any. */
export function findZone(state: LedgerState, name: string): ZoneState | undefined {
  const zones = zoneIndex(state.zones);
  if (zones.size === 0) return undefined;
  let i = 0;
  const n = name.length;
  for (;;) {
    const z = zones.get(i === 0 ? name : name.slice(i));
    if (z) return z;
    if (i >= n - 1) break;
    // Advance past the next unescaped dot.
    while (i < n) {
      const c = name.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === 46) {
        i++;
        break;
      } else i++;
    }
    if (i >= n) break;
  }
  return zones.get('.');
}

/** Labels of canonical `name` below `zone`, outermost first. */
function labelsIn(name: string, zone: ZoneState): string[] {
  const all = splitLabels(name);
  const below = all.length - zone.apexLabels;
  const out = new Array<string>(below);
  for (let i = 0; i < below; i++) out[i] = all[below - 1 - i];
  return out;
}

function ednsOf(q: ParsedQuery, extendedRcode: number): WireMessage['edns'] {
  if (!q.edns) return undefined;
  return { udpPayloadSize: OUR_PAYLOAD_SIZE, extendedRcode, version: 0, flags: q.edns.do ? DO_BIT : 0, options: NO_OPTIONS };
}

/** Flags of a response to `q`: QR, the query's opcode, RD and CD copied (RFC 1035 4.1.1, RFC 4035 3.1.6). */
export function responseFlags(q: { flags: number }, aa: boolean, rcode: number): number {
  return QR | (q.flags & 0x7800) | (q.flags & 0x0110) | (aa ? AA : 0) | (rcode & 0xf);
}

/** A response with no records: errors, REFUSED, NOTIMP, BADVERS. The question is echoed. */
export function emptyResponse(q: ParsedQuery, rcode: number, withQuestion = true): WireMessage {
  return {
    id: q.id,
    flags: responseFlags(q, false, rcode),
    question: withQuestion ? [{ name: q.qname, type: q.qtype, class: q.qclass }] : [],
    answer: [],
    authority: [],
    additional: [],
    edns: ednsOf(q, rcode >> 4),
  };
}

function pushRRset(out: WireRR[], owner: string, set: RRset): void {
  for (const r of set.records) {
    // A record an older build stored with rdata over 65,535 bytes cannot be encoded: it is left out
    // (and counted) so the rest of the answer still goes out (oversized.ts).
    if (!answerable(r)) {
      noteSkippedAnswer(r);
      continue;
    }
    out.push({ name: owner, type: r.type, ttl: r.ttl, data: recordData(r) });
  }
}

/** The SOA for a negative answer: TTL = min(SOA TTL, SOA minimum) (RFC 2308 section 3). */
export function negativeSoa(zone: ZoneState): WireRR[] {
  const set = zone.tree.rrsets.get('SOA');
  if (!set) return [];
  const ttl = Math.min(zone.soa.ttl, zone.soa.minimum);
  return set.records.map((r) => ({ name: zone.name, type: 'SOA' as const, ttl, data: recordData(r) }));
}

/** Whether canonical `name` is `zone` or below it. */
function inZone(name: string, zone: string): boolean {
  if (zone === '.') return true;
  if (name === zone) return true;
  return name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46 && !escapedAt(name, name.length - zone.length - 1);
}

function escapedAt(name: string, dot: number): boolean {
  let n = 0;
  for (let i = dot - 1; i >= 0 && name.charCodeAt(i) === 92; i--) n++;
  return n % 2 === 1;
}

/**
 * Additional-section processing (RFC 1034 3.7, 4.3.2 step 6): A and AAAA of a target name that is
 * in `zone`, including glue below a cut (findNode does not stop at cuts). Knot does the same.
 */
function addAddresses(zone: ZoneState, target: string, additional: WireRR[], seen: Set<string>): void {
  if (seen.has(target) || !inZone(target, zone.name)) return;
  seen.add(target);
  const node = findNode(zone.tree, labelsIn(target, zone));
  if (!node) return;
  const a = node.rrsets.get('A');
  if (a) pushRRset(additional, node.name, a);
  const aaaa = node.rrsets.get('AAAA');
  if (aaaa) pushRRset(additional, node.name, aaaa);
}

/** Adds the addresses of the targets of NS, MX and SRV records in `records`. */
function additionalFor(zone: ZoneState, records: readonly WireRR[], from: number, additional: WireRR[], seen: Set<string>): void {
  for (let i = from; i < records.length; i++) {
    const d = records[i].data as RData;
    if (d.type === 'NS') addAddresses(zone, d.target, additional, seen);
    else if (d.type === 'MX') addAddresses(zone, d.exchange, additional, seen);
    else if (d.type === 'SRV') addAddresses(zone, d.target, additional, seen);
  }
}

/** RRsets of a node sorted by type code (the order Knot picks the single ANY RRset in). */
function sortedRRsets(node: TrieNode): RRset[] {
  return [...node.rrsets.values()].sort((a, b) => RR_TYPE_CODES[a.type] - RR_TYPE_CODES[b.type]);
}

/**
 * Answers one query from one projection snapshot. Never throws for a well-formed query; the result
 * kind tells the caller what happened ('forward': none of our zones holds the name).
 */
export function answerQuery(state: LedgerState, q: ParsedQuery, opts: AnswerOptions = {}): Answer {
  if (q.opcode !== 0) return { result: 'notimp', message: emptyResponse(q, RCODE.NOTIMP) };
  if (q.edns && q.edns.version > 0) {
    // RFC 6891 6.1.3: BADVERS, with our highest version (0) in the OPT.
    const m = emptyResponse(q, RCODE.BADVERS);
    return { result: 'badvers', message: m };
  }
  if (q.qclass !== CLASS_IN) return { result: 'refused', message: emptyResponse(q, RCODE.REFUSED) };

  let name = canonicalQueryName(q.qnameKey);
  let zone = findZone(state, name);
  if (zone && q.qtype === TYPE_DS && zone.name === name && name !== '.') {
    // DS lives on the parent side of a cut (RFC 4035 section 3.1.4.1): when we also serve the
    // parent, it answers; otherwise the child answers NODATA (Knot does the same).
    const up = splitLabels(name).slice(1);
    const parent = findZone(state, up.length ? `${up.join('.')}.` : '.');
    if (parent) zone = parent;
  }
  if (!zone) return { result: 'forward', message: emptyResponse(q, RCODE.REFUSED) };
  if (q.qtype === TYPE_AXFR || q.qtype === TYPE_IXFR) {
    // Transfers are not answered here (no ACL grants them on this path): Knot's answer is NOTAUTH.
    return { result: 'notauth', message: emptyResponse(q, RCODE.NOTAUTH), zone: zone.name };
  }

  const firstZone = zone.name;
  const answer: WireRR[] = [];
  const authority: WireRR[] = [];
  const additional: WireRR[] = [];
  const seen = new Set<string>();
  const visited = new Set<string>();
  const maxChain = opts.maxChain ?? DEFAULT_MAX_CHAIN;
  const qtypeName = TYPE_NAMES.get(q.qtype);
  /** Owner for records at the current name: the client's spelling for the query name itself. */
  let owner = q.qname;
  let aa = true;
  let rcode: number = RCODE.NOERROR;
  let result: AnswerResult = 'success';

  for (let step = 0; ; step++) {
    visited.add(name);
    const labels = labelsIn(name, zone);
    const lk = lookup(zone.tree, labels);
    if (lk.cut && !(q.qtype === TYPE_DS && lk.exact === lk.cut)) {
      // Referral (RFC 1034 4.3.2 step 3b): the cut's NS in authority, addresses of its targets as glue.
      // After a CNAME the answer stays authoritative for the CNAMEs (Knot keeps AA there too).
      if (step === 0) aa = false;
      const ns = lk.cut.rrsets.get('NS') as RRset;
      const from = authority.length;
      pushRRset(authority, lk.cut.name, ns);
      additionalFor(zone, authority, from, additional, seen);
      result = 'delegation';
      break;
    }
    const node = lk.exact ?? lk.wildcard;
    if (!node) {
      rcode = RCODE.NXDOMAIN;
      result = 'nxdomain';
      authority.push(...negativeSoa(zone));
      break;
    }
    if (q.qtype === TYPE_ANY) {
      const sets = sortedRRsets(node);
      if (sets.length === 0) {
        result = 'nodata';
        authority.push(...negativeSoa(zone));
        break;
      }
      // RFC 8482 section 4.1: over UDP one RRset (the lowest type, as Knot); over TCP all of them.
      const from = answer.length;
      for (const set of opts.tcp ? sets : sets.slice(0, 1)) pushRRset(answer, owner, set);
      additionalFor(zone, answer, from, additional, seen);
      break;
    }
    const set = qtypeName ? node.rrsets.get(qtypeName) : undefined;
    if (set) {
      const from = answer.length;
      pushRRset(answer, owner, set);
      additionalFor(zone, answer, from, additional, seen);
      break;
    }
    const cname = q.qtype !== TYPE_CNAME ? node.rrsets.get('CNAME') : undefined;
    if (cname) {
      // Over-long chains are cut before the next CNAME: the CNAMEs so far are the answer (Knot's rule).
      if (step >= maxChain) break;
      pushRRset(answer, owner, cname);
      const target = (recordData(cname.records[0]) as { target: string }).target;
      // A loop is cut when it comes back to a name already answered.
      if (visited.has(target)) break;
      const next = findZone(state, target);
      if (!next) break;
      zone = next;
      name = target;
      owner = target;
      continue;
    }
    result = 'nodata';
    authority.push(...negativeSoa(zone));
    break;
  }

  return {
    result,
    zone: firstZone,
    message: {
      id: q.id,
      flags: responseFlags(q, aa, rcode),
      question: [{ name: q.qname, type: q.qtype, class: q.qclass }],
      answer,
      authority,
      additional,
      edns: ednsOf(q, 0),
    },
  };
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

/** Writes dotted-quad `s` (a canonical A value) at out[at..at+4); false if it is not one. */
function writeIPv4(s: string, out: Buffer, at: number): boolean {
  let part = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return false;
      out[at + part++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      v = v * 10 + (c - 48);
      if (v > 255) return false;
      digits++;
    } else return false;
  }
  if (digits === 0 || part !== 3) return false;
  out[at + 3] = v;
  return true;
}

/**
 * The node of canonical `name` in `zone` when the walk to it crosses no zone cut, else undefined
 * (missing names, wildcards and referrals are the general path's). Names with escapes are left to
 * the general path too, so a label here is plain text between dots, as the trie keys it.
 */
function plainNode(zone: ZoneState, name: string): TrieNode | undefined {
  if (name.indexOf('\\') >= 0) return undefined;
  let node: TrieNode | undefined = zone.tree;
  if (name === zone.name) return node;
  // Labels below the apex, outermost first: walk the prefix "a.b." of "a.b.<zone>" right to left.
  let end = name.length - zone.name.length - (zone.name === '.' ? 0 : 1);
  while (end > 0) {
    const dot = name.lastIndexOf('.', end - 1);
    node = node.children.get(name.substring(dot + 1, end));
    if (node === undefined || node.rrsets.has('NS')) return undefined;
    end = dot;
  }
  return node;
}

/**
 * The commonest answer, written straight to wire bytes: an A or AAAA question for a name that
 * exists as such (no CNAME, wildcard, cut or additional processing), answered with its RRset.
 * The bytes are exactly what answerQuery + encodeMessage produce (owner compressed to the question
 * at offset 12), without the intermediate message, RData objects or name-compression map; on a
 * zone too large for the answer cache to help this is the whole query path. Undefined means "use
 * the general path" (also when the answer would not fit `limit`).
 */
export function answerDirect(state: LedgerState, q: ParsedQuery, raw: Uint8Array, limit: number): Buffer | undefined {
  const qtype = q.qtype;
  if ((qtype !== TYPE_A && qtype !== TYPE_AAAA) || !isPlainQuestion(q, raw)) return undefined;
  const edns = q.edns;
  const questionEnd = q.questionEnd;
  const name = canonicalQueryName(q.qnameKey);
  const zone = findZone(state, name);
  if (!zone) return undefined;
  const node = plainNode(zone, name);
  const set = node?.rrsets.get(qtype === TYPE_A ? 'A' : 'AAAA');
  if (!set) return undefined;
  const records = set.records;
  const rdlen = qtype === TYPE_A ? 4 : 16;
  const size = questionEnd + records.length * (12 + rdlen) + (edns ? 11 : 0);
  if (size > limit) return undefined;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(responseFlags(q, true, RCODE.NOERROR), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(records.length, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(edns ? 1 : 0, 10);
  for (let k = 12; k < questionEnd; k++) out[k] = raw[k];
  let w = questionEnd;
  for (const r of records) {
    out[w] = 0xc0;
    out[w + 1] = 12;
    out.writeUInt16BE(qtype, w + 2);
    out.writeUInt16BE(CLASS_IN, w + 4);
    out.writeUInt32BE(r.ttl >>> 0, w + 6);
    out.writeUInt16BE(rdlen, w + 10);
    if (qtype === TYPE_A) {
      if (!writeIPv4(r.value, out, w + 12)) return undefined;
    } else {
      out.set(ipv6ToBytes(r.value), w + 12);
    }
    w += 12 + rdlen;
  }
  if (edns) writeOpt(out, w, edns.do);
  return out;
}

/**
 * True for the questions the byte-level fast paths (answerDirect, the serving index) take: QUERY,
 * class IN, no EDNS or version 0, and an uncompressed question name, which those paths copy
 * verbatim (ours is always written uncompressed, so the lengths agree).
 */
export function isPlainQuestion(q: ParsedQuery, raw: Uint8Array): boolean {
  if (q.opcode !== 0 || q.qclass !== CLASS_IN) return false;
  if (q.edns && q.edns.version !== 0) return false;
  const questionEnd = q.questionEnd;
  let p = 12;
  while (p < questionEnd && raw[p] !== 0) {
    if (raw[p] & 0xc0) return false;
    p += raw[p] + 1;
  }
  return p + 5 === questionEnd;
}

/** Writes our OPT RR at `w` of `out`: payload size OUR_PAYLOAD_SIZE, version 0, the DO bit echoed. */
export function writeOpt(out: Buffer, w: number, dnssecOk: boolean): void {
  out[w] = 0;
  out.writeUInt16BE(41, w + 1);
  out.writeUInt16BE(OUR_PAYLOAD_SIZE, w + 3);
  out.writeUInt32BE(dnssecOk ? DO_BIT : 0, w + 5);
  out.writeUInt16BE(0, w + 9);
}

/** The largest response for a query: 65535 over TCP; over UDP the EDNS size clamped to 512..1232, else 512. */
export function maxResponseSize(q: ParsedQuery, tcp: boolean): number {
  if (tcp) return 65535;
  if (!q.edns) return 512;
  const s = q.edns.udpPayloadSize;
  return s < 512 ? 512 : s > OUR_PAYLOAD_SIZE ? OUR_PAYLOAD_SIZE : s;
}
