/**
 * Authoritative answering: a pure function from one projection snapshot and one parsed query to a
 * result kind and the response message (RFC 1034 4.3.2, 2181, 2308, 4592, 6891, 8482).
 *
 * It walks fixed stages the way Knot does (zone selection, answer with CNAME and DNAME chasing
 * (RFC 6672), authority, additional (additional.ts)) and names its outcome explicitly, CoreDNS
 * style, so NXDOMAIN, NODATA and a referral can never be confused. DS is answered from the parent
 * side of a cut (RFC 4035 3.1.4.1): at a delegation point, and by the parent zone when we serve
 * both sides. The listeners only decode, call this, and encode; nothing here does I/O or
 * looks at anything but the `state` reference it is handed. It keeps no state of its own: the two
 * memos it reads through are derived from the state and documented where they live (zones.ts: the
 * zone lookup; record-data.ts: each stored record's parsed rdata).
 */
import type { LedgerState, ZoneState } from '../projections/state.ts';
import type { RRset, TrieNode } from '../projections/trie.ts';
import { rrsetTtl } from '../projections/rrset-ttl.ts';
import { splitLabels } from '../records/names.ts';
import { RR_TYPE_BY_CODE, rrTypeCode } from '../records/types.ts';
import { addAdditional } from './additional.ts';
import { pushRRset } from './answer-rrset.ts';
import { substituteDname } from './dname.ts';
import { emptyResponse, RCODE, responseEdns, responseFlags } from './header.ts';
import { negativeSoa } from './negative.ts';
import type { ParsedQuery } from './query.ts';
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
  /** A DNAME substitution would make a name longer than 255 octets (RFC 6672 2.2). */
  | 'yxdomain'
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

/** What answering needs to know about a name in its zone, found in one walk from the apex. */
interface Found {
  /** The node of the name itself, when it exists (possibly an empty non-terminal). */
  exact?: TrieNode;
  /** A zone cut at or above the name (the first node below the apex with NS): a referral answers. */
  cut?: TrieNode;
  /** A DNAME owner strictly above the name (RFC 6672 2.3: everything below it is occluded). */
  dname?: TrieNode;
  /** The wildcard child of the closest encloser, when the name does not exist. */
  wildcard?: TrieNode;
}

/**
 * Walks from the apex toward `labels` (outermost first) and stops at the first node that decides
 * the answer: a cut (NS below the apex; it wins over a DNAME at the same node, as in Knot), a DNAME
 * above the name, the name itself, or the first missing label (the wildcard, if any, then answers).
 */
function find(apex: TrieNode, labels: readonly string[]): Found {
  let node = apex;
  for (let depth = 0; ; depth++) {
    if (depth > 0 && node.rrsets.has('NS')) return { exact: depth === labels.length ? node : undefined, cut: node };
    if (depth === labels.length) return { exact: node };
    if (node.rrsets.has('DNAME')) return { dname: node };
    const child = node.children.get(labels[depth]);
    if (!child) return { wildcard: node.children.get('*') };
    node = child;
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
  /** "target\0type" pairs already in the additional section. */
  const seen = new Set<string>();
  /** CNAME and DNAME RRsets of our zones already in the answer (by identity, as Knot's duplicate check). */
  const inAnswer = new Set<RRset>();
  /** Wildcards whose CNAME a step of the chain has already followed. */
  const wildcardsFollowed = new Set<TrieNode>();
  const maxChain = opts.maxChain ?? DEFAULT_MAX_CHAIN;
  const qtypeName = TYPE_NAMES.get(q.qtype);
  /** Owner for records at the current name: the client's spelling for the query name itself. */
  let owner = q.qname;
  let aa = true;
  let rcode: number = RCODE.NOERROR;
  let result: AnswerResult = 'success';

  for (let step = 0; ; step++) {
    const f = find(zone.tree, labelsIn(name, zone));
    if (f.cut && !(q.qtype === TYPE_DS && f.exact === f.cut)) {
      // Referral (RFC 1034 4.3.2 step 3b): the cut's NS in authority, addresses of its targets as glue.
      // After a CNAME the answer stays authoritative for the CNAMEs (Knot keeps AA there too).
      if (step === 0) aa = false;
      const ns = f.cut.rrsets.get('NS') as RRset;
      const from = authority.length;
      pushRRset(authority, f.cut.name, ns);
      addAdditional(zone, authority, from, additional, seen);
      result = 'delegation';
      break;
    }
    if (f.dname) {
      // RFC 6672 2.2 / 3: the DNAME, a CNAME synthesized from it for the name asked, then the
      // substituted name. Each DNAME followed counts in the chain limit like a CNAME (Knot).
      if (step >= maxChain) break;
      const dname = f.dname.rrsets.get('DNAME') as RRset;
      if (!inAnswer.has(dname)) {
        inAnswer.add(dname);
        pushRRset(answer, f.dname.name, dname);
      }
      const target = substituteDname(name, f.dname.name, (recordData(dname.records[0]) as { target: string }).target);
      if (target === undefined) {
        // RFC 6672 2.2: the substituted name would be longer than a domain name may be.
        rcode = RCODE.YXDOMAIN;
        result = 'yxdomain';
        break;
      }
      answer.push({ name: owner, type: 'CNAME', ttl: rrsetTtl(dname.records), data: { type: 'CNAME', target } });
      // The synthesized CNAME is the answer to a CNAME question (Knot stops there too).
      if (q.qtype === TYPE_CNAME) break;
      const next = findZone(state, target);
      if (!next) break;
      zone = next;
      name = target;
      owner = target;
      continue;
    }
    const node = f.exact ?? f.wildcard;
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
      addAdditional(zone, answer, from, additional, seen);
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
      addAdditional(zone, answer, from, additional, seen);
      break;
    }
    const cname = q.qtype !== TYPE_CNAME ? node.rrsets.get('CNAME') : undefined;
    if (cname) {
      // Over-long chains are cut before the next CNAME: the CNAMEs so far are the answer (Knot's rule).
      if (step >= maxChain) break;
      // A loop is cut as Knot cuts it: before a CNAME already in the answer (an expansion is a new
      // record every time), or after the CNAME of a wildcard already followed.
      if (node === f.exact) {
        if (inAnswer.has(cname)) break;
        inAnswer.add(cname);
      }
      pushRRset(answer, owner, cname);
      if (node.name.startsWith('*.')) {
        if (wildcardsFollowed.has(node)) break;
        wildcardsFollowed.add(node);
      }
      const target = (recordData(cname.records[0]) as { target: string }).target;
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
