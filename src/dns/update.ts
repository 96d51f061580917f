/**
 * Dynamic update (RFC 2136) signed with TSIG (RFC 8945), the path ACME DNS-01 clients
 * (certbot-dns-rfc2136, lego, acme.sh nsupdate) use to publish `_acme-challenge` TXT records.
 *
 * One UPDATE message is one ledger write: the prerequisites are checked against the projection,
 * the update section is replayed on a copy of the zone's records (RFC 2136 3.4.2), and the
 * difference becomes one `changeRecords` command executed with the TSIG key name as the actor.
 * decide() then applies the same rules as every other write (CNAME exclusivity, values, TTLs), all
 * or nothing, one serial bump. The whole plan (prerequisites included) is a ledger CommandPlan: when
 * another writer (the offline CLI, another process) appends first and the ledger retries, the
 * prerequisites are checked again against the state the retry decides against, so prerequisites and
 * update stay one atomic step (RFC 2136 3.2) even across processes.
 *
 * Order of checks: TSIG (a bad signature is answered with the TSIG error, RFC 8945 5.2), replay (a
 * signed request seen before is answered BADTIME, RFC 8945 5.2.3; see tsig-replay.ts), the zone
 * section (FORMERR, NOTAUTH), the key's permission (REFUSED), prerequisites (RFC 2136 3.2), the
 * prescan of the update section (3.4.1: FORMERR, NOTZONE), the key's name and type limits
 * (REFUSED, update-policy.ts), then the write. Every answer to a verified request is signed with
 * the request's key.
 */
import { McnsError } from '../errors.ts';
import type { CommandPlan } from '../ledger.ts';
import type { RecordOp } from '../projections/decide.ts';
import type { LedgerState, ZoneState } from '../projections/state.ts';
import { labelsBelow } from '../projections/state.ts';
import { findNode, type RecordState } from '../projections/trie.ts';
import { isInZone, normalizeName } from '../records/names.ts';
import { RDataError, formatRData, rdataFromWire } from '../records/rdata.ts';
import { RR_TYPE_BY_CODE, rrTypeCode, type RRType } from '../records/types.ts';
import type { ParsedQuery } from './query.ts';
import { emptyResponseBytes, RCODE } from './header.ts';
import { readName } from './transfer/message.ts';
import type { TransferLogger } from './transfer/notify.ts';
import { TSIG_ERROR, TsigResponseSigner, tsigErrorResponse, verifyRequest, type TsigKey, type TsigKeyring } from './transfer/tsig.ts';
import { TsigReplayGuard } from './transfer/tsig-replay.ts';
import { updatePolicies, type PolicyRR, type UpdateConfig } from './update-policy.ts';

export { namePattern, type UpdateConfig, type UpdateKeyLimits } from './update-policy.ts';

/** The UPDATE opcode (RFC 2136 1.3). */
export const OPCODE_UPDATE = 5;

/** Response codes an UPDATE can get (RFC 1035 4.1.1, RFC 2136 2.2): the one table in header.ts. */
export const UPDATE_RCODE = RCODE;

const CLASS_IN = 1;
const CLASS_NONE = 254;
const CLASS_ANY = 255;
const TYPE_SOA = 6;
const TYPE_ANY = 255;
/** Meta and query types that never name stored data (OPT, TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY). */
const META_TYPES = new Set([41, 249, 250, 251, 252, 253, 254, 255]);
/** Types that only make sense in a question (RFC 2136 3.4.1.3: IXFR, AXFR, MAILB, MAILA). */
const QUERY_ONLY_TYPES = new Set([251, 252, 253, 254]);

/** What {@link createUpdateHandler} needs. */
export interface UpdateOptions {
  /**
   * The ledger: the current projection and the one write path. The plan is called again on every
   * retry after a concurrent append, against the state that attempt decides on.
   */
  ledger: { readonly state: LedgerState; execute(plan: CommandPlan, opts: { actor: string; surface?: 'update' }): { serial?: number; events: readonly unknown[] } };
  /** The TSIG keys (createTransferHandlers(...).keyring, so transfers and updates share them). */
  keyring: TsigKeyring;
  config: UpdateConfig;
  logger?: TransferLogger;
  /** Clock in seconds for TSIG (tests move it). */
  nowSec?: () => number;
  /**
   * Called once per UPDATE with its outcome (metrics): applied, unchanged, badtsig, replay, or the
   * rcode's name in lowercase (refused, nxrrset, yxdomain, formerr, notauth, notzone, servfail, ...).
   */
  onOutcome?: (outcome: string) => void;
  /** Signed requests remembered per key for replay detection (default DEFAULT_REPLAY_MEMORY). */
  replayMemory?: number;
}

/** Where an UPDATE came from. */
export interface UpdatePeer {
  address: string;
  port: number;
  transport: 'tcp' | 'udp';
}

/** One resource record of the prerequisite or update section, as read off the wire. */
export interface UpdateRR {
  /** Absolute, lowercase, canonical owner name. */
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Offset and length of the rdata in the message (names in it may point anywhere before). */
  rdStart: number;
  rdLength: number;
}

/** A parsed UPDATE: the zone section and the two sections the RFC gives meaning to. */
export interface UpdateMessage {
  zone: string;
  zoneClass: number;
  zoneType: number;
  prerequisites: UpdateRR[];
  updates: UpdateRR[];
}

/** Outcome of {@link planUpdate}: an rcode to answer with, or the record operations to execute. */
export type UpdatePlan = { kind: 'reply'; rcode: number; reason: string } | { kind: 'apply'; ops: RecordOp[] };

/** A malformed message: answered FORMERR. */
class FormatError extends Error {}

/**
 * Read the sections of an UPDATE (the zone section is readQuery's question; the prerequisite and
 * update sections are its answer and authority sections). Throws FormatError when malformed.
 */
export function parseUpdate(raw: Uint8Array, q: ParsedQuery): UpdateMessage {
  let p = q.questionEnd;
  const read = (count: number): UpdateRR[] => {
    const out: UpdateRR[] = [];
    for (let i = 0; i < count; i++) {
      let owner: { name: string; end: number };
      try {
        owner = readName(raw, p);
      } catch (err) {
        throw new FormatError((err as Error).message);
      }
      const e = owner.end;
      if (e + 10 > raw.length) throw new FormatError('truncated record');
      const rdLength = (raw[e + 8] << 8) | raw[e + 9];
      if (e + 10 + rdLength > raw.length) throw new FormatError('truncated rdata');
      out.push({
        name: canonicalName(owner.name),
        type: (raw[e] << 8) | raw[e + 1],
        class: (raw[e + 2] << 8) | raw[e + 3],
        ttl: ((raw[e + 4] << 24) | (raw[e + 5] << 16) | (raw[e + 6] << 8) | raw[e + 7]) >>> 0,
        rdStart: e + 10,
        rdLength,
      });
      p = e + 10 + rdLength;
    }
    return out;
  };
  const prerequisites = read(q.ancount);
  const updates = read(q.nscount);
  return { zone: canonicalName(q.qnameKey), zoneClass: q.qclass, zoneType: q.qtype, prerequisites, updates };
}

function canonicalName(name: string): string {
  try {
    return normalizeName(name);
  } catch (err) {
    throw new FormatError((err as Error).message);
  }
}

/**
 * The canonical presentation value of an RR's rdata (the form the ledger stores), or undefined for
 * a meta or query type (every data type is stored: unknown ones as RFC 3597 bytes). Throws
 * FormatError when the rdata does not parse for its type.
 */
export function rdataValue(raw: Uint8Array, rr: UpdateRR): string | undefined {
  const type = RR_TYPE_BY_CODE.get(rr.type);
  if (!type) return undefined;
  // Names in rdata may be compressed where RFC 3597 4 allows it; every value gets the checks a
  // presentation value gets (rdataFromWire reads its text back).
  try {
    return formatRData(rdataFromWire(type, raw, rr.rdStart, rr.rdStart + rr.rdLength));
  } catch (err) {
    if (err instanceof RDataError) throw new FormatError(err.message);
    throw err;
  }
}

/** The RRsets at a name of the zone (undefined: no node; an empty map: an empty non-terminal). */
function rrsetsAt(zone: ZoneState, name: string): ReadonlyMap<RRType, { records: readonly RecordState[] }> | undefined {
  return findNode(zone.tree, labelsBelow(name, zone.apexLabels))?.rrsets;
}

function typeName(code: number): string {
  return RR_TYPE_BY_CODE.get(code) ?? `TYPE${code}`;
}

/** RFC 2136 3.2: check the prerequisite section against the zone; an rcode when one fails. */
function checkPrerequisites(raw: Uint8Array, zone: ZoneState, prereqs: UpdateRR[]): { rcode: number; reason: string } | undefined {
  // Value-dependent RRset-exists prerequisites, collected per name and type (3.2.3).
  const wanted = new Map<string, { name: string; type: number; values: Set<string> }>();
  for (const rr of prereqs) {
    const what = `prerequisite ${rr.name} ${typeName(rr.type)}`;
    if (rr.ttl !== 0) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: TTL must be 0` };
    if (!isInZone(rr.name, zone.name)) return { rcode: UPDATE_RCODE.NOTZONE, reason: `${what}: outside zone ${zone.name}` };
    const sets = rrsetsAt(zone, rr.name);
    const type = RR_TYPE_BY_CODE.get(rr.type);
    if (rr.class === CLASS_ANY) {
      if (rr.rdLength !== 0) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: class ANY needs empty rdata` };
      if (rr.type === TYPE_ANY) {
        if (!sets || sets.size === 0) return { rcode: UPDATE_RCODE.NXDOMAIN, reason: `${what}: name is not in use` };
      } else if (!type || !sets?.has(type)) {
        return { rcode: UPDATE_RCODE.NXRRSET, reason: `${what}: RRset does not exist` };
      }
    } else if (rr.class === CLASS_NONE) {
      if (rr.rdLength !== 0) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: class NONE needs empty rdata` };
      if (rr.type === TYPE_ANY) {
        if (sets && sets.size > 0) return { rcode: UPDATE_RCODE.YXDOMAIN, reason: `${what}: name is in use` };
      } else if (type && sets?.has(type)) {
        return { rcode: UPDATE_RCODE.YXRRSET, reason: `${what}: RRset exists` };
      }
    } else if (rr.class === CLASS_IN) {
      if (META_TYPES.has(rr.type)) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: a meta type cannot be compared` };
      const value = rdataValue(raw, rr);
      const key = `${rr.name}\u0000${rr.type}`;
      let w = wanted.get(key);
      if (!w) wanted.set(key, (w = { name: rr.name, type: rr.type, values: new Set() }));
      // An unstored type can never match: keep a value no stored record has.
      w.values.add(value ?? `\u0000unstored:${rr.rdStart}`);
    } else {
      return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: class ${rr.class} is not IN, ANY or NONE` };
    }
  }
  for (const w of wanted.values()) {
    const type = RR_TYPE_BY_CODE.get(w.type);
    const have = new Set((type && rrsetsAt(zone, w.name)?.get(type)?.records.map((r) => r.value)) || []);
    const same = have.size === w.values.size && [...w.values].every((v) => have.has(v));
    if (!same) return { rcode: UPDATE_RCODE.NXRRSET, reason: `prerequisite ${w.name} ${typeName(w.type)}: RRset differs from the one given` };
  }
  return undefined;
}

/** RFC 2136 3.4.1: the prescan of the update section, before anything is changed. */
function prescan(zone: ZoneState, updates: UpdateRR[]): { rcode: number; reason: string } | undefined {
  for (const rr of updates) {
    const what = `update ${rr.name} ${typeName(rr.type)}`;
    if (!isInZone(rr.name, zone.name)) return { rcode: UPDATE_RCODE.NOTZONE, reason: `${what}: outside zone ${zone.name}` };
    if (rr.class === CLASS_IN) {
      if (META_TYPES.has(rr.type)) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: cannot add a meta type` };
    } else if (rr.class === CLASS_ANY) {
      if (rr.ttl !== 0 || rr.rdLength !== 0) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: a class ANY delete needs TTL 0 and empty rdata` };
      if (QUERY_ONLY_TYPES.has(rr.type)) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: cannot delete a query type` };
    } else if (rr.class === CLASS_NONE) {
      if (rr.ttl !== 0) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: a class NONE delete needs TTL 0` };
      if (rr.type === TYPE_ANY || QUERY_ONLY_TYPES.has(rr.type)) return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: cannot delete a meta type` };
    } else {
      return { rcode: UPDATE_RCODE.FORMERR, reason: `${what}: class ${rr.class} is not IN, ANY or NONE` };
    }
  }
  return undefined;
}

/** A key's limits as planUpdate asks them (KeyPolicy of update-policy.ts). */
export interface UpdatePolicy {
  /** Why the key may not make this change (undefined: it may); `typesAt` lists the type codes a name holds. */
  refusal(rr: PolicyRR, typesAt: (name: string) => readonly number[]): string | undefined;
}

/** A record of the working copy: `id` when it is already in the zone. */
interface Draft {
  id?: string;
  name: string;
  type: RRType;
  value: string;
  ttl: number;
}

/**
 * Plan an UPDATE against a zone (pure: no I/O): check the prerequisites, prescan, replay the update
 * section on a copy of the zone's records per RFC 2136 3.4.2, and return the difference as record
 * operations (deletions first, so a CNAME may replace other data in one update). Adding a record
 * that exists is a no-op (or a TTL change); deleting the SOA, or the last NS of the apex, is
 * skipped as the RFC says. Adding a meta or query type, or an SOA (the ledger owns the
 * serial; SOA parameters change through the API), is REFUSED.
 */
export function planUpdate(raw: Uint8Array, zone: ZoneState, msg: UpdateMessage, policy?: UpdatePolicy): UpdatePlan {
  try {
    const pre = checkPrerequisites(raw, zone, msg.prerequisites);
    if (pre) return { kind: 'reply', ...pre };
    const scan = prescan(zone, msg.updates);
    if (scan) return { kind: 'reply', ...scan };
    const typesAt = (name: string): number[] => [...(rrsetsAt(zone, name)?.keys() ?? [])].map((t) => rrTypeCode(t));
    for (const rr of msg.updates) {
      const refused = policy?.refusal(rr, typesAt);
      if (refused) return { kind: 'reply', rcode: UPDATE_RCODE.REFUSED, reason: refused };
      if (rr.class !== CLASS_IN) continue;
      const type = RR_TYPE_BY_CODE.get(rr.type);
      if (!type) return { kind: 'reply', rcode: UPDATE_RCODE.REFUSED, reason: `update ${rr.name} ${typeName(rr.type)}: a meta or query type cannot be stored` };
      if (type === 'SOA') return { kind: 'reply', rcode: UPDATE_RCODE.REFUSED, reason: `update ${rr.name} SOA: the SOA is managed by MCNS (serials are automatic; change SOA parameters through the API)` };
    }

    let work: Draft[] = [...zone.records.values()].map((r) => ({ id: r.id, name: r.name, type: r.type, value: r.value, ttl: r.ttl }));
    for (const rr of msg.updates) {
      const type = RR_TYPE_BY_CODE.get(rr.type);
      const apex = rr.name === zone.name;
      if (rr.class === CLASS_IN) {
        const value = rdataValue(raw, rr)!;
        const same = work.find((d) => d.name === rr.name && d.type === type && d.value === value);
        if (same) {
          // RFC 2136 3.4.2.2: an RR already present is replaced, which can only change its TTL.
          same.ttl = rr.ttl;
          continue;
        }
        // A CNAME replaces the CNAME already at the name (a name has at most one).
        if (type === 'CNAME') work = work.filter((d) => !(d.name === rr.name && d.type === 'CNAME'));
        work.push({ name: rr.name, type: type!, value, ttl: rr.ttl });
      } else if (rr.class === CLASS_ANY) {
        if (rr.type === TYPE_ANY) {
          // Delete all RRsets from a name; at the apex the SOA and NS stay (3.4.2.3).
          work = work.filter((d) => !(d.name === rr.name && !(apex && d.type === 'NS')));
        } else {
          if (!type || (apex && (type === 'SOA' || type === 'NS'))) continue;
          work = work.filter((d) => !(d.name === rr.name && d.type === type));
        }
      } else {
        if (!type || type === 'SOA') continue;
        const value = rdataValue(raw, rr)!;
        if (apex && type === 'NS' && work.filter((d) => d.name === rr.name && d.type === 'NS').length <= 1) continue;
        work = work.filter((d) => !(d.name === rr.name && d.type === type && d.value === value));
      }
    }

    const kept = new Map(work.filter((d) => d.id !== undefined).map((d) => [d.id!, d]));
    const ops: RecordOp[] = [];
    for (const r of zone.records.values()) if (!kept.has(r.id)) ops.push({ op: 'delete', id: r.id });
    for (const d of kept.values()) if (d.ttl !== zone.records.get(d.id!)!.ttl) ops.push({ op: 'update', id: d.id!, ttl: d.ttl });
    for (const d of work) if (d.id === undefined) ops.push({ op: 'create', name: d.name, type: d.type, value: d.value, ttl: d.ttl });
    return { kind: 'apply', ops };
  } catch (err) {
    if (err instanceof FormatError) return { kind: 'reply', rcode: UPDATE_RCODE.FORMERR, reason: err.message };
    throw err;
  }
}

/** A refusal decided inside the ledger's CommandPlan: answered with its rcode, nothing written. */
class UpdateRefused extends Error {
  constructor(
    readonly rcode: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Outcomes an anonymous sender can cause at will: warned at most once a minute each, else debug. */
const NOISY_WARN_EVERY_SEC = 60;

/**
 * Build the UPDATE opcode handler for the DNS listeners (`handlers: { 5: update }`). Throws McnsError
 * at start-up when the config names a key that does not exist or a limit that does not parse.
 */
export function createUpdateHandler(opts: UpdateOptions): (q: ParsedQuery, raw: Uint8Array, peer: UpdatePeer) => Buffer | undefined {
  const { ledger, keyring, logger } = opts;
  const nowSec = opts.nowSec ?? (() => Math.floor(Date.now() / 1000));
  const allowed = updatePolicies(opts.config, keyring);
  const replays = new TsigReplayGuard({ startedAt: nowSec(), maxPerKey: opts.replayMemory });
  const rcodeName = new Map<number, string>(Object.entries(UPDATE_RCODE).map(([k, v]) => [v, k.toLowerCase()]));

  // Unsigned, badly signed and replayed requests cost the sender nothing: log them without letting
  // a flood of them flood the log (the metric counts every one).
  const lastWarn = new Map<string, { at: number; suppressed: number }>();
  const noisy = (kind: string, fields: object, msg: string): void => {
    const now = nowSec();
    const w = lastWarn.get(kind);
    if (!w || now - w.at >= NOISY_WARN_EVERY_SEC) {
      logger?.warn({ ...fields, ...(w?.suppressed ? { suppressedSinceLastWarning: w.suppressed } : {}) }, msg);
      lastWarn.set(kind, { at: now, suppressed: 0 });
    } else {
      w.suppressed++;
      logger?.debug?.(fields, msg);
    }
  };

  return (q, raw, peer) => {
    const log = { peer: peer.address, port: peer.port, zone: q.qnameKey };
    // TSIG first: a bad signature gets the TSIG error whatever else is wrong (RFC 8945 5.2).
    let key: TsigKey | undefined;
    let mac: Buffer | undefined;
    if (q.hasTsig && q.tsigOffset !== undefined) {
      const now = nowSec();
      const v = verifyRequest(raw, q.tsigOffset, keyring, now);
      if (!v.ok) {
        opts.onOutcome?.('badtsig');
        noisy('badtsig', { ...log, tsigError: v.error, reason: v.reason }, 'DNS UPDATE refused: TSIG verification failed');
        const base = emptyResponseBytes(q, v.formerr ? UPDATE_RCODE.FORMERR : UPDATE_RCODE.NOTAUTH);
        return v.formerr ? base : tsigErrorResponse(base, v, now);
      }
      // A verified request seen before: BADTIME (RFC 8945 5.2.3), signed, and nothing else is looked at.
      const replay = replays.check(v.key.name, v.digest, v.tsig.timeSigned, v.tsig.fudge, now);
      if (replay) {
        opts.onOutcome?.('replay');
        noisy('replay', { ...log, key: v.key.name, reason: replay }, 'DNS UPDATE refused: replayed TSIG-signed request');
        return tsigErrorResponse(emptyResponseBytes(q, UPDATE_RCODE.NOTAUTH), { ok: false, error: TSIG_ERROR.BADTIME, key: v.key, tsig: v.tsig, reason: replay }, now);
      }
      key = v.key;
      mac = v.tsig.mac;
    }
    const reply = (rcode: number, reason: string, extra: { outcome?: string; [field: string]: unknown } = {}): Buffer => {
      const { outcome, ...more } = extra;
      opts.onOutcome?.(outcome ?? rcodeName.get(rcode) ?? `rcode${rcode}`);
      const fields = { ...log, key: key?.name, rcode, reason, ...more };
      if (rcode === UPDATE_RCODE.NOERROR) logger?.info(fields, 'DNS UPDATE applied');
      else if (!key) noisy('unsigned', fields, 'DNS UPDATE not applied');
      else logger?.warn(fields, 'DNS UPDATE not applied');
      const msg = emptyResponseBytes(q, rcode);
      return key ? new TsigResponseSigner(key, mac!, nowSec).sign(msg) : msg;
    };

    let msg: UpdateMessage;
    try {
      msg = parseUpdate(raw, q);
    } catch (err) {
      if (err instanceof FormatError) return reply(UPDATE_RCODE.FORMERR, err.message);
      throw err;
    }
    // RFC 2136 3.1: one zone, named with type SOA.
    if (msg.zoneType !== TYPE_SOA) return reply(UPDATE_RCODE.FORMERR, `zone section type must be SOA, got ${typeName(msg.zoneType)}`);
    const zone = ledger.state.zones.get(msg.zone);
    if (!zone || msg.zoneClass !== CLASS_IN) return reply(UPDATE_RCODE.NOTAUTH, `not authoritative for zone ${msg.zone}`);
    if (!key) return reply(UPDATE_RCODE.REFUSED, 'unsigned update (updates need a TSIG key listed in [update] allow_keys)');
    const policy = allowed.get(key.name);
    if (!policy) return reply(UPDATE_RCODE.REFUSED, `key ${key.name} is not in [update] allow_keys`);
    if (!policy.allowsZone(zone.name)) return reply(UPDATE_RCODE.REFUSED, `key ${key.name} may not update zone ${zone.name}`);

    // Planned inside the write: a retry after another writer's append checks the prerequisites
    // (and the key's limits) again against the state it decides on, so both stay one atomic step.
    let changes = 0;
    const plan: CommandPlan = (state) => {
      const current = state.zones.get(zone.name);
      if (!current) throw new UpdateRefused(UPDATE_RCODE.NOTAUTH, `zone ${zone.name} was deleted while the update was decided`);
      const p = planUpdate(raw, current, msg, policy);
      if (p.kind === 'reply') throw new UpdateRefused(p.rcode, p.reason);
      changes = p.ops.length;
      return p.ops.length === 0 ? undefined : { kind: 'changeRecords', zone: current.name, ops: p.ops };
    };
    try {
      // The TSIG key is the actor.
      const result = ledger.execute(plan, { actor: key.name.replace(/\.$/, ''), surface: 'update' });
      if (result.events.length === 0) return reply(UPDATE_RCODE.NOERROR, 'nothing to change', { outcome: 'unchanged', serial: ledger.state.zones.get(zone.name)?.serial });
      return reply(UPDATE_RCODE.NOERROR, 'applied', { outcome: 'applied', changes, serial: result.serial });
    } catch (err) {
      if (err instanceof UpdateRefused) return reply(err.rcode, err.reason);
      if (!(err instanceof McnsError)) throw err;
      // The domain rules (CNAME exclusivity, values, TTL range) refused it; nothing was written.
      const rcode = err.kind === 'not_found' ? UPDATE_RCODE.NOTAUTH : err.kind === 'conflict' || err.kind === 'invalid' ? UPDATE_RCODE.REFUSED : UPDATE_RCODE.SERVFAIL;
      return reply(rcode, err.message);
    }
  };
}

/**
 * The UPDATE handler as the server installs it: right after a restart, an UPDATE first waits for
 * the projection's background preparation (`ready`: Ledger.recordMapsReady, the big zones' read),
 * as an API write does, rather than reading a big zone at once while every DNS query waits.
 */
export function afterPreparation<A extends unknown[]>(ready: () => Promise<void> | undefined, handler: (...args: A) => Buffer | undefined): (...args: A) => Buffer | Promise<Buffer | undefined> | undefined {
  return (...args) => {
    const waiting = ready();
    return waiting ? waiting.then(() => handler(...args)) : handler(...args);
  };
}
