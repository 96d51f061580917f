/**
 * Authoritative answering: a pure function from one projection snapshot and one parsed query to a
 * result kind and the response message (RFC 1034 4.3.2, 2181, 2308, 4592, 6891, 8482).
 *
 * It walks fixed stages the way Knot does (zone selection, answer with CNAME chasing, authority,
 * additional) and names its outcome explicitly, CoreDNS style, so NXDOMAIN, NODATA and a referral
 * can never be confused. The listeners only decode, call this, and encode; nothing here does I/O or
 * looks at anything but the `state` reference it is handed. It keeps no state of its own: the two
 * memos it reads through are derived from the state and documented where they live (zones.ts: the
 * zone lookup; record-data.ts: each stored record's parsed rdata).
 */
import type { LedgerState, ZoneState } from '../projections/state.ts';
import { findNode, lookup, type RRset, type TrieNode } from '../projections/trie.ts';
import { rrsetTtl } from '../projections/rrset-ttl.ts';
import { splitLabels } from '../records/names.ts';
import { RR_TYPE_BY_CODE, rrTypeCode, type RData } from '../records/types.ts';
import { emptyResponse, RCODE, responseEdns, responseFlags } from './header.ts';
import { negativeSoa } from './negative.ts';
import type { ParsedQuery } from './query.ts';
import { answerable, noteSkippedAnswer } from './oversized.ts';
import { recordData } from './record-data.ts';
import type { WireMessage, WireRR } from './wire.ts';
import { canonicalQueryName, findZone } from './zones.ts';

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

const TYPE_ANY = 255;
const TYPE_DS = 43;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
const TYPE_CNAME = 5;
const CLASS_IN = 1;
const DEFAULT_MAX_CHAIN = 5; // Knot 3.x follows at most 5 CNAMEs

/** Query type number -> the record type we store, for the types we serve. */
const TYPE_NAMES = RR_TYPE_BY_CODE;

/** Labels of canonical `name` below `zone`, outermost first. */
function labelsIn(name: string, zone: ZoneState): string[] {
  const all = splitLabels(name);
  const below = all.length - zone.apexLabels;
  const out = new Array<string>(below);
  for (let i = 0; i < below; i++) out[i] = all[below - 1 - i];
  return out;
}

function pushRRset(out: WireRR[], owner: string, set: RRset): void {
  // One TTL per RRset: an older log's mixed TTLs are served with the lowest (rrset-ttl.ts).
  const ttl = rrsetTtl(set.records);
  for (const r of set.records) {
    // A record an older build stored with rdata over 65,535 bytes cannot be encoded: it is left out
    // (and counted) so the rest of the answer still goes out (oversized.ts).
    if (!answerable(r)) {
      noteSkippedAnswer(r);
      continue;
    }
    out.push({ name: owner, type: r.type, ttl, data: recordData(r) });
  }
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
  return [...node.rrsets.values()].sort((a, b) => rrTypeCode(a.type) - rrTypeCode(b.type));
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
      if (answer.length === from) {
        // Every record of the RRset was left out (unencodable, oversized.ts): NODATA, as if it were absent.
        result = 'nodata';
        authority.push(...negativeSoa(zone));
        break;
      }
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
      flags: responseFlags(q.flags, rcode, { aa }),
      question: [{ name: q.qname, type: q.qtype, class: q.qclass }],
      answer,
      authority,
      additional,
      edns: responseEdns(q, 0),
    },
  };
}

/**
 * True for the questions the byte-level fast path (the serving index) takes: QUERY,
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
