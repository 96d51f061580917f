/**
 * A signed zone kept current as the zone changes: the zone's RRsets, the DNSKEY (and NSEC3PARAM)
 * RRset signing adds, the NSEC or NSEC3 chain, and an RRSIG for every RRset that needs one.
 *
 * `build` signs a whole zone; `replace` applies one RRset change and re-signs only what it
 * touches (the RRset, the denial records whose next-name or bitmap changed); `refresh` re-signs
 * what is about to expire. Built and kept-current states are the same by construction of the
 * tests (test/dnssec/signed-zone.test.ts compares them byte for byte with Ed25519, whose
 * signatures are deterministic).
 *
 * The rules of what is signed and chained (RFC 4035 section 2, RFC 5155, RFC 9276, RFC 9077):
 * - A name strictly below a delegation point (a non-apex name with NS) is not authoritative:
 *   glue is neither signed nor chained.
 * - At a delegation point only DS and the denial record are signed.
 * - DNSKEY, CDS and CDNSKEY are signed by the KSKs (or CSK), everything else by the ZSKs (or CSK).
 * - NSEC/NSEC3 TTL is min(SOA TTL, SOA minimum).
 * - NSEC3: SHA-1, 0 iterations, empty salt, no opt-out; empty non-terminals are chained with an
 *   empty bitmap; an unsigned delegation's bitmap has no RRSIG bit; NSEC3PARAM at the apex, TTL 0.
 */
import { canonicalNameKey, isInZone, nameToWire, splitLabels } from '../records/names.ts';
import { dsRdata } from './dnskey.ts';
import { nsec3Hash, nsec3paramRdata, nsec3Rdata, nsecRdataFromWire, base32hex } from './denial.ts';
import { RRsetSigner, type CanonicalRRset, type SigningKey } from './rrsig.ts';
import { longLivedCopy } from './slab.ts';
import { TYPE, zoneKeyRdata, type ZoneKey } from './zone-keys.ts';
import { negativeTemplate, type NegativeTemplate } from '../dns/negative.ts';
import { hashKey, NameTable } from '../dns/name-table.ts';
import { labelsBelow, type ZoneState } from '../projections/state.ts';
import { lookup } from '../projections/trie.ts';
import { denialProof } from './proofs.ts';

/** Types the signer derives: a signed zone serves its own, never records of these types written by users. */
export const DERIVED_TYPES: ReadonlySet<number> = new Set([TYPE.DNSKEY, TYPE.CDS, TYPE.CDNSKEY, TYPE.RRSIG, TYPE.NSEC, TYPE.NSEC3, TYPE.NSEC3PARAM]);

/** Signature timing, seconds. */
export interface SigningPolicy {
  /** Lifetime of a new signature, from the signing time. */
  validity: number;
  /** Re-sign when less than this remains before expiration. */
  refreshBefore: number;
  /** Inception is this far before the signing time, for validators whose clocks run behind. */
  backdate: number;
}

/** Knot's defaults: signatures live 14 days and are refreshed 7 days before they expire; 1 h back-dating. */
export const DEFAULT_SIGNING_POLICY: SigningPolicy = { validity: 14 * 86400, refreshBefore: 7 * 86400, backdate: 3600 };

export interface SignedZoneOptions {
  /** Absolute lowercase apex. */
  zone: string;
  keys: readonly ZoneKey[];
  denial: 'nsec' | 'nsec3';
  dnskeyTtl: number;
  policy?: SigningPolicy;
}

/**
 * The RRSIG RDATA over one RRset: the one signature's when one key signs it (the usual case, a ZSK
 * or a CSK), else one per key. Not an object holding an array and a number: a 100,000-name zone
 * holds 240,000 of these, each a young survivor the garbage collector copies.
 */
type Signatures = Uint8Array | readonly Uint8Array[];

/** The RRSIG RDATAs of `s` as a list (a new one-element array for a single signature). */
function sigRdatas(s: Signatures): readonly Uint8Array[] {
  return s instanceof Uint8Array ? [s] : s;
}

/** The earliest expiration among `s`: the RRSIG's Signature Expiration field (RFC 4034 3.1.5). */
function sigExpiration(s: Signatures): number {
  if (s instanceof Uint8Array) return rrsigExpiration(s);
  let t = Infinity;
  for (const r of s) t = Math.min(t, rrsigExpiration(r));
  return t;
}

function rrsigExpiration(r: Uint8Array): number {
  return ((r[8] << 24) | (r[9] << 16) | (r[10] << 8) | r[11]) >>> 0;
}

/** An NSEC or NSEC3 RRset with the RRSIG over it, as an answer's authority section carries them. */
export interface DenialRecord {
  rrset: CanonicalRRset;
  rrsig: CanonicalRRset;
}

/** One IXFR step of a signed zone: see {@link SignedZone.takeDelta}. */
export interface SignedDelta {
  removed: CanonicalRRset[];
  added: CanonicalRRset[];
  soaBefore?: CanonicalRRset;
  soaAfter?: CanonicalRRset;
}

/** An RRset and its RRSIG set (either may be absent) at one moment. */
interface Before {
  sets: [CanonicalRRset | undefined, CanonicalRRset | undefined];
}

/** Pair the before and after of each of the two slots (the RRset, its RRSIGs). */
function pairUp(b: Before, a: Before): Array<[CanonicalRRset | undefined, CanonicalRRset | undefined]> {
  return [
    [b.sets[0], a.sets[0]],
    [b.sets[1], a.sets[1]],
  ];
}

const TYPE_DNAME = 39;
const TYPE_CNAME = 5;

const hex = (r: Uint8Array): string => Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('hex');

/** Records of `b` that `a` lacks go to `removed`, records of `a` that `b` lacks to `added` (all of both when the TTL changed). */
function diffRRset(b: CanonicalRRset | undefined, a: CanonicalRRset | undefined, removed: CanonicalRRset[], added: CanonicalRRset[]): void {
  if (b === a) return;
  if (!b || !a || b.ttl !== a.ttl || b.owner !== a.owner || b.type !== a.type) {
    if (b && b.rdatas.length > 0) removed.push(b);
    if (a && a.rdatas.length > 0) added.push(a);
    return;
  }
  const inA = new Set(a.rdatas.map(hex));
  const inB = new Set(b.rdatas.map(hex));
  const gone = b.rdatas.filter((r) => !inA.has(hex(r)));
  const come = a.rdatas.filter((r) => !inB.has(hex(r)));
  if (gone.length > 0) removed.push({ ...b, rdatas: gone });
  if (come.length > 0) added.push({ ...a, rdatas: come });
}

/**
 * The RRsets of one owner by type, the RRSIGs over them, and the owner's lowercase wire name once
 * computed: one array of (type, RRset, signatures) triples in the order the types came, as a Map
 * keeps its keys. An owner holds one to a few types; two Maps per owner (RRsets and signatures,
 * ~500 bytes with their tables) were a third of a signed zone's heap, every byte of it copied by
 * the young generation's collector as the zone was built.
 */
class OwnerSets {
  wire: Uint8Array | undefined = undefined;
  /** type, RRset, Signatures or undefined; repeated. Replaced rather than grown (an array grown by push keeps room for 16 more). */
  private slots: Array<number | CanonicalRRset | Signatures | undefined> = [];

  /** Number of types. */
  get size(): number {
    return this.slots.length / 3;
  }

  typeAt(i: number): number {
    return this.slots[3 * i] as number;
  }

  rrsetAt(i: number): CanonicalRRset {
    return this.slots[3 * i + 1] as CanonicalRRset;
  }

  sigsAt(i: number): Signatures | undefined {
    return this.slots[3 * i + 2] as Signatures | undefined;
  }

  private indexOf(type: number): number {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i += 3) if (slots[i] === type) return i;
    return -1;
  }

  has(type: number): boolean {
    return this.indexOf(type) >= 0;
  }

  get(type: number): CanonicalRRset | undefined {
    const i = this.indexOf(type);
    return i < 0 ? undefined : (this.slots[i + 1] as CanonicalRRset);
  }

  /** Set the RRset of `type`; its signatures, if any, stay until replaced or deleted. */
  set(type: number, rs: CanonicalRRset): void {
    const i = this.indexOf(type);
    if (i >= 0) this.slots[i + 1] = rs;
    else this.slots = [...this.slots, type, rs, undefined];
  }

  /** Delete the RRset of `type` and its signatures. */
  delete(type: number): void {
    const i = this.indexOf(type);
    if (i >= 0) this.slots = [...this.slots.slice(0, i), ...this.slots.slice(i + 3)];
  }

  /** The signatures over the RRset of `type`, if it is signed. */
  sigs(type: number): Signatures | undefined {
    const i = this.indexOf(type);
    return i < 0 ? undefined : (this.slots[i + 2] as Signatures | undefined);
  }

  /** Set (or, with undefined, drop) the signatures over the RRset of `type`, which must be held. */
  setSigs(type: number, sigs: Signatures | undefined): void {
    const i = this.indexOf(type);
    if (i >= 0) this.slots[i + 2] = sigs;
    else if (sigs !== undefined) throw new RangeError(`no RRset of type ${type} to hold signatures`);
  }
}

/** Every field is written when an entry is made (as undefined if unknown yet): V8 then keeps them all in the object, with no property array added later. */
interface ChainEntry {
  /** The name the entry denies around (for NSEC3, the unhashed name). */
  name: string;
  /** NSEC: the name; NSEC3: the hashed owner. */
  owner: string;
  /** NSEC3 only: the raw hash (the next-hashed field of the predecessor). */
  hash?: Uint8Array;
  rrset?: CanonicalRRset;
  /** Lazily: the owner's lowercase wire name (see chainWire). */
  wire?: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The lowercase wire form of a chain entry's owner (its NSEC's owner and its predecessor's next name), computed once. */
function chainWire(e: ChainEntry, wireOf: (owner: string) => Uint8Array = (o) => nameToWire(o.toLowerCase())): Uint8Array {
  return (e.wire ??= wireOf(e.owner));
}

/**
 * Types the DO fast path answers from pre-encoded bytes (src/dns/dnssec-fast-answer.ts says why
 * these): no domain name in their RDATA, no additional data.
 */
export const FAST_ANSWER_TYPES: ReadonlySet<number> = new Set([1, 28, 16, 257, 44, 52, 53, 61, 29, 256]);

/** Bytes of one fast answer entry for `rs` and its RRSIGs (see {@link encodeAnswerSection}). */
function answerSectionLength(rs: CanonicalRRset, rrsigs: readonly Uint8Array[]): number {
  let len = 6;
  for (const r of rs.rdatas) len += 12 + r.length;
  for (const r of rrsigs) len += 12 + r.length;
  return len;
}

/**
 * One fast answer entry, written into `out` at `at` (returns the offset after it): type, record
 * count, length, then the RRset's records and its RRSIGs with the RRset's TTL, each owned by a
 * pointer to the question (offset 12). Written into a reused buffer: the name table copies it, and
 * a fresh array per owner (over 64 bytes, so off-heap) cost the garbage collector more than the
 * encoding itself on a 100,000-name build.
 */
function encodeAnswerSection(rs: CanonicalRRset, rrsigs: readonly Uint8Array[], out: Uint8Array, at: number): number {
  const len = answerSectionLength(rs, rrsigs);
  const type = rs.type;
  const ttl = rs.ttl >>> 0;
  out[at] = type >> 8;
  out[at + 1] = type & 0xff;
  const count = rs.rdatas.length + rrsigs.length;
  out[at + 2] = count >> 8;
  out[at + 3] = count & 0xff;
  out[at + 4] = (len - 6) >> 8;
  out[at + 5] = (len - 6) & 0xff;
  let w = at + 6;
  const put = (t: number, rdata: Uint8Array): void => {
    out[w] = 0xc0;
    out[w + 1] = 12;
    out[w + 2] = t >> 8;
    out[w + 3] = t & 0xff;
    out[w + 4] = 0;
    out[w + 5] = 1;
    out[w + 6] = ttl >>> 24;
    out[w + 7] = (ttl >>> 16) & 0xff;
    out[w + 8] = (ttl >>> 8) & 0xff;
    out[w + 9] = ttl & 0xff;
    out[w + 10] = rdata.length >> 8;
    out[w + 11] = rdata.length & 0xff;
    out.set(rdata, w + 12);
    w += 12 + rdata.length;
  };
  for (const r of rs.rdatas) put(type, r);
  for (const r of rrsigs) put(TYPE.RRSIG, r);
  return w;
}

/** Room for the character codes of one canonical name key (255 octets at most). */
const keyCodes = new Array<number>(256).fill(0);

/**
 * {@link canonicalNameKey} of a name without escapes, from its lowercase wire form: the labels
 * last to first, each octet plus one, separated by U+0000 — the same string, made in one piece
 * rather than a string per character (a first signing keys every owner of the zone).
 */
function canonicalKeyOfWire(wire: Uint8Array): string {
  const starts: number[] = [];
  for (let p = 0; wire[p] !== 0; p += wire[p] + 1) starts.push(p);
  let n = 0;
  for (let i = starts.length - 1; i >= 0; i--) {
    const p = starts[i];
    for (let j = p + 1; j <= p + wire[p]; j++) keyCodes[n++] = wire[j] + 1;
    if (i > 0) keyCodes[n++] = 0;
  }
  return String.fromCharCode.apply(null, keyCodes.slice(0, n));
}

/** Index of the first element >= key in a sorted string array. */
function lowerBound(arr: readonly string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SignedZone {
  readonly zone: string;
  readonly denial: 'nsec' | 'nsec3';
  private readonly policy: SigningPolicy;
  private readonly ksks: SigningKey[];
  private readonly zsks: SigningKey[];
  private readonly apexLabels: number;
  private readonly signer: RRsetSigner;
  /** Every RRset of the zone by owner and type, DNSKEY and NSEC3PARAM included, denial records not, with the RRSIGs over them. */
  private readonly sets = new Map<string, OwnerSets>();
  /** Non-apex names holding NS. */
  private readonly cuts = new Set<string>();
  /** How many names hold a DNAME (everything below one is answered by substitution). */
  private dnameOwners = 0;
  /**
   * The DO answers of the fast path, pre-encoded when signing (see {@link fastAnswer}): per owner
   * (its lowercase wire name), for each type of FAST_ANSWER_TYPES it holds signed, the records and
   * their RRSIGs as an answer section whose owners point at the question. In typed arrays the
   * garbage collector does not trace.
   */
  private readonly answers = new NameTable(1024, 160);
  /** The owners of a whole-zone build whose answers are not encoded yet, in the order they come (see buildAnswers). */
  private answersPending: Iterator<string> | undefined = undefined;
  /** Owners whose RRsets or signatures changed since the answers were last brought in line. */
  private readonly answersDirty = new Set<string>();
  /** The reused buffer fast answers are encoded in before the name table copies them. */
  private answerScratch = new Uint8Array(4096);
  /** Sorted chain keys (NSEC: canonical name keys; NSEC3: base32hex hashes, which sort as the hashes do). */
  private chainKeys: string[] = [];
  private readonly chain = new Map<string, ChainEntry>();
  /** RRSIGs over the denial records, by chain key. */
  private readonly chainSigs = new Map<string, Signatures>();
  /** NSEC3: authoritative owners strictly below each name (a name with a count and no RRsets is an empty non-terminal). */
  private readonly below = new Map<string, number>();
  private negativeTtl = 0;
  /** Changes are recorded (after the initial build) for {@link takeDelta}. */
  private tracking = false;
  /** What each RRset or chain entry touched since the last takeDelta was before it (see takeDelta). */
  private readonly before = new Map<string, Before>();

  private constructor(opts: SignedZoneOptions) {
    this.zone = opts.zone;
    this.denial = opts.denial;
    this.policy = opts.policy ?? DEFAULT_SIGNING_POLICY;
    this.ksks = opts.keys.filter((k) => k.signing && k.role !== 'zsk').map((k) => k.signing as SigningKey);
    this.zsks = opts.keys.filter((k) => k.signing && k.role !== 'ksk').map((k) => k.signing as SigningKey);
    if (this.ksks.length === 0) throw new RangeError('no active KSK or CSK to sign the DNSKEY RRset with');
    if (this.zsks.length === 0) throw new RangeError('no active ZSK or CSK to sign the zone with');
    this.apexLabels = splitLabels(opts.zone).length;
    this.signer = new RRsetSigner(opts.zone);
    this.put({ owner: opts.zone, type: TYPE.DNSKEY, ttl: opts.dnskeyTtl, rdatas: opts.keys.filter((k) => k.published !== false).map((k) => zoneKeyRdata(k).rdata) });
    const toParent = opts.keys.filter((k) => k.cds);
    if (toParent.length > 0) {
      // RFC 7344: the parent's signal, signed like the DNSKEY RRset by the keys its DS points at.
      const cdnskey = toParent.map((k) => zoneKeyRdata(k));
      this.put({ owner: opts.zone, type: TYPE.CDNSKEY, ttl: opts.dnskeyTtl, rdatas: cdnskey.map((k) => k.rdata) });
      this.put({ owner: opts.zone, type: TYPE.CDS, ttl: opts.dnskeyTtl, rdatas: cdnskey.map((k) => dsRdata(opts.zone, k.rdata)) });
    }
    if (opts.denial === 'nsec3') this.put({ owner: opts.zone, type: TYPE.NSEC3PARAM, ttl: 0, rdatas: [nsec3paramRdata()] });
  }

  /** Sign a whole zone at time `now` (seconds). `rrsets` must hold the SOA and no DNSSEC records. */
  static build(opts: SignedZoneOptions, rrsets: Iterable<CanonicalRRset>, now: number): SignedZone {
    const z = new SignedZone(opts);
    // One batch (rrsig.ts): the signatures are made together, BATCH_SIGNATURES at a time, and are
    // all in place when it returns; nothing in the build reads them before.
    z.signer.batch(() => {
      for (const rs of rrsets) z.put(rs);
      z.rebuild(now);
    });
    // The DO fast answers are encoded afterwards, owner by owner (buildAnswers): a serving cache,
    // not part of the signed zone, which the caller may fill in slices.
    z.answersPending = z.sets.keys();
    z.tracking = true;
    return z;
  }

  /**
   * Encode the DO fast answers (see {@link fastAnswer}) of up to `max` more owners of a whole-zone
   * build; true when every owner's are encoded. Until then a question whose owner is not yet
   * encoded finds no fast answer and takes the general path, which answers it the same (the fast
   * path only ever declines for a missing entry). Writes meanwhile keep the owners they touch in
   * line as always, so the order does not matter: encoding an owner twice gives the same bytes.
   */
  buildAnswers(max = Infinity): boolean {
    const pending = this.answersPending;
    if (pending === undefined) return true;
    const owners: string[] = [];
    while (owners.length < max) {
      const next = pending.next();
      if (next.done === true) {
        this.answersPending = undefined;
        break;
      }
      owners.push(next.value);
    }
    this.encodeAnswers(owners);
    return this.answersPending === undefined;
  }

  /** True when every owner's fast answers are encoded (see {@link buildAnswers}). */
  get answersComplete(): boolean {
    return this.answersPending === undefined;
  }

  /** Replace the RRset (owner, type) with `rrset`, or delete it when `rrset` is undefined; re-sign what changed. */
  replace(owner: string, type: number, rrset: CanonicalRRset | undefined, now: number): void {
    try {
      this.replaceSet(owner, type, rrset, now);
    } finally {
      this.flushAnswers();
    }
  }

  private replaceSet(owner: string, type: number, rrset: CanonicalRRset | undefined, now: number): void {
    if (DERIVED_TYPES.has(type)) {
      throw new RangeError(`type ${type} is derived by the signer and cannot be written`);
    }
    const hadOwner = this.sets.has(owner);
    const wasCut = this.cuts.has(owner);
    if (rrset) this.put(rrset);
    else this.remove(owner, type);
    if (this.cuts.has(owner) !== wasCut || (owner === this.zone && type === TYPE.SOA && this.soaNegativeTtl() !== this.negativeTtl)) {
      // A delegation appeared or went (its subtree changes authority), or the negative TTL of every
      // denial record changed: recompute the chain. The changed RRset loses its old signature first,
      // so the rebuild signs it afresh.
      this.touchRR(owner, type);
      this.sets.get(owner)?.setSigs(type, undefined);
      this.rebuild(now);
      return;
    }
    if (!this.authoritative(owner)) return;
    const current = this.sets.get(owner)?.get(type);
    if (current && this.signable(owner, type)) this.signSet(current, now);
    else {
      this.touchRR(owner, type);
      this.sets.get(owner)?.setSigs(type, undefined);
    }
    const hasOwner = this.sets.has(owner);
    const dirty = new Set<string>();
    if (hasOwner && !hadOwner) this.chainInsert(owner, dirty);
    else if (!hasOwner && hadOwner) this.chainRemove(owner, dirty);
    dirty.add(this.keyOf(owner));
    this.refreshEntries(dirty, now);
  }

  /**
   * Re-sign the signatures that expire within the policy's refresh window, at most `max` RRsets (the
   * rest on the next call); returns how many were re-signed.
   */
  refresh(now: number, max = Infinity): number {
    try {
      return this.refreshSome(now, max);
    } finally {
      this.flushAnswers();
    }
  }

  private refreshSome(now: number, max: number): number {
    let n = 0;
    for (const byType of this.sets.values()) {
      for (let i = 0; i < byType.size; i++) {
        const s = byType.sigsAt(i);
        if (s === undefined) continue;
        if (n >= max) return n;
        if (sigExpiration(s) - now < this.policy.refreshBefore) {
          this.signSet(byType.rrsetAt(i), now);
          n++;
        }
      }
    }
    for (const [key, s] of this.chainSigs) {
      if (n >= max) return n;
      if (sigExpiration(s) - now < this.policy.refreshBefore) {
        this.touchChain(key);
        this.chainSigs.set(key, this.sign(this.chain.get(key)?.rrset as CanonicalRRset, now));
        n++;
      }
    }
    return n;
  }

  /** The earliest time a signature needs refreshing (for the scheduler). */
  nextRefresh(): number {
    let t = Infinity;
    for (const byType of this.sets.values()) {
      for (let i = 0; i < byType.size; i++) {
        const s = byType.sigsAt(i);
        if (s !== undefined) t = Math.min(t, sigExpiration(s) - this.policy.refreshBefore);
      }
    }
    for (const s of this.chainSigs.values()) t = Math.min(t, sigExpiration(s) - this.policy.refreshBefore);
    return t;
  }

  /** RRSIG RDATAs over (owner, type), for the answer path; undefined when that RRset is not signed. */
  rrsigs(owner: string, type: number): readonly Uint8Array[] | undefined {
    const s = type === TYPE.NSEC || type === TYPE.NSEC3 ? this.chainSigsOf(owner, type) : this.sets.get(owner)?.sigs(type);
    return s === undefined ? undefined : sigRdatas(s);
  }

  /** The RRSIGs over the NSEC or NSEC3 record owned by `owner`. */
  private chainSigsOf(owner: string, type: number): Signatures | undefined {
    const key = type === TYPE.NSEC ? canonicalNameKey(owner) : splitLabels(owner)[0];
    return this.chain.get(key)?.owner === owner ? this.chainSigs.get(key) : undefined;
  }

  /**
   * The pre-encoded DO answer for the question name `bytes[start, end)` (wire form, any letter case)
   * and `type`, one of FAST_ANSWER_TYPES, when the general path answers that question with exactly
   * that RRset — a signed (so authoritative) RRset at a name that is no delegation point, in a zone
   * without any DNAME (which would occlude names below it): the answer section (records then
   * RRSIGs, owners a pointer to offset 12) at `data[at, at + length)`, with `count` records.
   */
  fastAnswer(bytes: Uint8Array, start: number, end: number, type: number): { data: Uint8Array; at: number; length: number; count: number } | undefined {
    if (this.dnameOwners > 0) return undefined;
    const table = this.answers;
    const off = table.find(bytes, start, end, hashKey(bytes, start, end));
    if (off < 0) return undefined;
    const data = table.data;
    const end2 = table.valueStart(off) + table.valueLength(off);
    for (let p = table.valueStart(off); p < end2; ) {
      const length = (data[p + 4] << 8) | data[p + 5];
      if (((data[p] << 8) | data[p + 1]) === type) return { data, at: p + 6, length, count: (data[p + 2] << 8) | data[p + 3] };
      p += 6 + length;
    }
    return undefined;
  }

  /** Bring the pre-encoded answers of the owners that changed in line with their RRsets and signatures. */
  private flushAnswers(): void {
    this.encodeAnswers(this.answersDirty);
    this.answersDirty.clear();
  }

  /** Encode the fast answers of `owners` from their RRsets and signatures as they are now (or drop them). */
  private encodeAnswers(owners: Iterable<string>): void {
    for (const owner of owners) {
      let key: Uint8Array;
      try {
        key = this.ownerWire(owner);
      } catch {
        continue; // not a name a question can spell
      }
      const byType = this.cuts.has(owner) ? undefined : this.sets.get(owner);
      let total = 0;
      if (byType) {
        for (let i = 0; i < byType.size; i++) {
          const rs = byType.rrsetAt(i);
          if (!FAST_ANSWER_TYPES.has(byType.typeAt(i)) || rs.rdatas.length === 0) continue;
          const sigs = byType.sigsAt(i);
          if (sigs) total += answerSectionLength(rs, sigRdatas(sigs));
        }
      }
      if (total === 0 || total > 0xffff) {
        this.answers.delete(key);
        continue;
      }
      if (total > this.answerScratch.length) this.answerScratch = new Uint8Array(Math.max(total, this.answerScratch.length * 2));
      const out = this.answerScratch;
      let o = 0;
      for (let i = 0; i < byType!.size; i++) {
        const rs = byType!.rrsetAt(i);
        if (!FAST_ANSWER_TYPES.has(byType!.typeAt(i)) || rs.rdatas.length === 0) continue;
        const sigs = byType!.sigsAt(i);
        if (sigs) o = encodeAnswerSection(rs, sigRdatas(sigs), out, o);
      }
      this.answers.set(key, out.subarray(0, o), 0);
    }
  }

  private readonly wireOfOwner = (owner: string): Uint8Array => this.ownerWire(owner);

  /**
   * The owner's lowercase wire name, kept with its RRsets: its signatures, its NSEC (and the NSEC
   * before it) and its fast answer key share one conversion (three per owner before).
   */
  private ownerWire(owner: string): Uint8Array {
    return this.ownerWireOf(owner, this.sets.get(owner));
  }

  /** {@link ownerWire} when the owner's RRsets are at hand. */
  private ownerWireOf(owner: string, byType: OwnerSets | undefined): Uint8Array {
    if (!byType) return nameToWire(owner.toLowerCase());
    return (byType.wire ??= longLivedCopy(nameToWire(owner.toLowerCase())));
  }

  /**
   * For the DNSSEC answer fast path: what a NODATA answer for (owner, type) carries beside the SOA —
   * the SOA's RRSIG RDATAs and the denial record matching the owner with its RRSIG — when the
   * general path answers that question NODATA at the name itself: an authoritative name holding
   * RRsets (not an empty non-terminal), no delegation point, no CNAME, without `type`, in a zone
   * without DNAME; undefined otherwise.
   */
  signedNodata(owner: string, type: number): { soaRrsigs: readonly Uint8Array[]; proof: DenialRecord } | undefined {
    if (this.dnameOwners > 0 || this.cuts.has(owner)) return undefined;
    const byType = this.sets.get(owner);
    if (!byType || byType.has(type) || byType.has(TYPE_CNAME) || !this.authoritative(owner)) return undefined;
    const soaRrsigs = this.rrsigs(this.zone, TYPE.SOA);
    const proof = this.denialMatching(owner);
    if (!soaRrsigs || !proof || (this.denial === 'nsec' && proof.rrset.owner !== owner)) return undefined;
    return { soaRrsigs, proof };
  }

  /**
   * For the DNSSEC answer fast path: what an NXDOMAIN answer for `qname` carries beside the SOA —
   * the SOA's RRSIG RDATAs and the denial proof addDnssec adds (proofs.ts) — when the general path
   * answers `qname` NXDOMAIN: walking the zone's trie (as answer.ts does) the name is missing, no
   * delegation point or DNAME is met on the way, and its closest encloser has no wildcard child.
   * Undefined otherwise.
   */
  signedNxdomain(qname: string): { soaRrsigs: readonly Uint8Array[]; proof: CanonicalRRset[] } | undefined {
    const zone = this.zoneState;
    if (!zone || this.dnameOwners > 0 || !isInZone(qname, this.zone) || qname === this.zone) return undefined;
    const found = lookup(zone.tree, labelsBelow(qname, zone.apexLabels));
    if (found.exact || found.cut || found.wildcard) return undefined;
    const soaRrsigs = this.rrsigs(this.zone, TYPE.SOA);
    // The general path answers NXDOMAIN here, and addDnssec adds exactly this proof.
    return soaRrsigs ? { soaRrsigs, proof: denialProof(this, { kind: 'nxdomain', qname }) } : undefined;
  }

  /** The zone state this signed zone is in line with (set by ZoneSigners), for {@link negativeTemplate}. */
  zoneState?: ZoneState;
  private templateOf?: ZoneState;
  private template?: NegativeTemplate;

  /**
   * The negative answer template (src/dns/negative.ts) of {@link zoneState}: made on the first
   * NODATA after a change rather than on every write (each write changes the SOA serial).
   */
  get negativeTemplate(): NegativeTemplate | undefined {
    if (this.templateOf !== this.zoneState) {
      this.templateOf = this.zoneState;
      this.template = this.zoneState ? negativeTemplate(this.zoneState) : undefined;
    }
    return this.template;
  }

  /** True when `name` is an authoritative name of the zone or an empty non-terminal above one. */
  exists(name: string): boolean {
    if (this.denial === 'nsec3') return this.chain.has(this.keyOf(name));
    const key = canonicalNameKey(name);
    if (this.chain.has(key)) return true;
    // An empty non-terminal has no NSEC of its own; the first chained name after it is below it.
    const i = lowerBound(this.chainKeys, key);
    const next = this.chain.get(this.chainKeys[i % this.chainKeys.length]) as ChainEntry;
    return i < this.chainKeys.length && next.name.endsWith(`.${name}`) && isInZone(next.name, name);
  }

  /** The denial record owned by `name` (NSEC) or by its hash (NSEC3), with its RRSIG; undefined when there is none. */
  denialMatching(name: string): DenialRecord | undefined {
    const key = this.keyOf(name);
    return this.chain.has(key) ? this.denialRecord(key) : undefined;
  }

  /**
   * The denial record whose span covers `name` (or its hash): the last chained key before it, or the
   * last of the chain when it sorts before every key (the chain wraps). `name` must not be chained.
   */
  denialCovering(name: string): DenialRecord {
    const key = this.keyOf(name);
    const i = lowerBound(this.chainKeys, key);
    const n = this.chainKeys.length;
    return this.denialRecord(this.chainKeys[(i - 1 + n) % n]);
  }

  private denialRecord(key: string): DenialRecord {
    const e = this.chain.get(key) as ChainEntry;
    const rrset = e.rrset as CanonicalRRset;
    const sigs = this.chainSigs.get(key) as Signatures;
    return { rrset, rrsig: { owner: e.owner, type: TYPE.RRSIG, ttl: rrset.ttl, rdatas: sigRdatas(sigs) } };
  }

  /** An RRset of the signed zone (content or derived), or undefined. */
  rrset(owner: string, type: number): CanonicalRRset | undefined {
    return this.sets.get(owner)?.get(type);
  }

  /** A derived apex RRset (DNSKEY, CDS, CDNSKEY, NSEC3PARAM), or undefined when the zone has none of it. */
  derivedAtApex(type: number): CanonicalRRset | undefined {
    return DERIVED_TYPES.has(type) ? this.sets.get(this.zone)?.get(type) : undefined;
  }

  /** True when `name` is in the zone and not strictly below one of its delegation points. */
  isAuthoritative(name: string): boolean {
    return isInZone(name, this.zone) && this.authoritative(name);
  }

  /** The DNSKEY RRset the zone publishes. */
  dnskey(): CanonicalRRset {
    return this.sets.get(this.zone)?.get(TYPE.DNSKEY) as CanonicalRRset;
  }

  /** Every record of the signed zone (for AXFR and for comparisons), RRSIGs grouped per owner and covered type. */
  *records(): Generator<CanonicalRRset> {
    for (const [owner, byType] of this.sets) {
      for (let i = 0; i < byType.size; i++) {
        const rs = byType.rrsetAt(i);
        yield rs;
        const s = byType.sigsAt(i);
        if (s) yield { owner, type: TYPE.RRSIG, ttl: rs.ttl, rdatas: sigRdatas(s) };
      }
    }
    for (const key of this.chainKeys) {
      const e = this.chain.get(key) as ChainEntry;
      if (!e.rrset) continue;
      yield e.rrset;
      const s = this.chainSigs.get(key);
      if (s) yield { owner: e.owner, type: TYPE.RRSIG, ttl: e.rrset.ttl, rdatas: sigRdatas(s) };
    }
  }

  /**
   * The records that changed since the last call (or since the build): what was removed and what
   * was added, RRSIGs and denial records included, each side without the records both hold. With
   * the SOA before and after, it is one IXFR step (RFC 1995) of the signed zone.
   */
  takeDelta(): SignedDelta {
    const removed: CanonicalRRset[] = [];
    const added: CanonicalRRset[] = [];
    let soaBefore: CanonicalRRset | undefined;
    let soaAfter: CanonicalRRset | undefined;
    for (const [key, was] of this.before) {
      const now = key.startsWith('c|') ? this.chainNow(key.slice(2)) : this.rrNow(key);
      for (const [b, a] of pairUp(was, now)) {
        if (b?.type === TYPE.SOA || a?.type === TYPE.SOA) {
          soaBefore ??= b;
          soaAfter = a;
          continue;
        }
        diffRRset(b, a, removed, added);
      }
    }
    this.before.clear();
    return { removed, added, soaBefore, soaAfter };
  }

  private touchRR(owner: string, type: number): void {
    if (!this.tracking) return; // a build's owners are all pending for buildAnswers
    this.answersDirty.add(owner);
    const key = `r|${owner}|${type}`;
    if (!this.before.has(key)) this.before.set(key, this.rrNow(key));
  }

  private touchChain(key: string): void {
    if (!this.tracking) return;
    const k = `c|${key}`;
    if (!this.before.has(k)) this.before.set(k, this.chainNow(key));
  }

  /** The RRset `r|owner|type` and its RRSIG set as they are now. */
  private rrNow(key: string): Before {
    const bar = key.lastIndexOf('|');
    const owner = key.slice(2, bar);
    const type = Number(key.slice(bar + 1));
    const byType = this.sets.get(owner);
    const rs = byType?.get(type);
    const sigs = byType?.sigs(type);
    return { sets: [rs, rs && sigs ? { owner, type: TYPE.RRSIG, ttl: rs.ttl, rdatas: sigRdatas(sigs) } : undefined] };
  }

  /** The denial record of chain key `key` and its RRSIG set as they are now. */
  private chainNow(key: string): Before {
    const e = this.chain.get(key);
    const rs = e?.rrset;
    const sigs = this.chainSigs.get(key);
    return { sets: [rs, rs && sigs ? { owner: rs.owner, type: TYPE.RRSIG, ttl: rs.ttl, rdatas: sigRdatas(sigs) } : undefined] };
  }

  // --- content -------------------------------------------------------------------------------

  private put(rs: CanonicalRRset): void {
    if (!isInZone(rs.owner, this.zone)) throw new RangeError(`${rs.owner} is not in zone ${this.zone}`);
    let byType = this.sets.get(rs.owner);
    if (!byType) this.sets.set(rs.owner, (byType = new OwnerSets()));
    this.touchRR(rs.owner, rs.type);
    if (rs.type === TYPE_DNAME && !byType.has(TYPE_DNAME)) this.dnameOwners++;
    byType.set(rs.type, rs);
    if (rs.type === TYPE.NS && rs.owner !== this.zone) this.cuts.add(rs.owner);
  }

  private remove(owner: string, type: number): void {
    const byType = this.sets.get(owner);
    if (!byType) return;
    this.touchRR(owner, type);
    if (type === TYPE_DNAME && byType.has(TYPE_DNAME)) this.dnameOwners--;
    byType.delete(type);
    if (type === TYPE.NS) this.cuts.delete(owner);
    if (byType.size === 0) this.sets.delete(owner);
  }

  /** Not strictly below a delegation point. */
  private authoritative(owner: string): boolean {
    if (this.cuts.size === 0) return true;
    if (!owner.includes('\\')) {
      // The ancestors are the suffixes after each dot (no escaped dots in this name), down to the apex's parent-most child.
      const stop = owner.length - this.zone.length - 1;
      for (let p = owner.indexOf('.'); p >= 0 && p < stop; p = owner.indexOf('.', p + 1)) {
        if (this.cuts.has(owner.slice(p + 1))) return false;
      }
      return true;
    }
    const labels = splitLabels(owner);
    for (let n = labels.length - 1; n > this.apexLabels; n--) {
      if (this.cuts.has(`${labels.slice(labels.length - n).join('.')}.`)) return false;
    }
    return true;
  }

  private signable(owner: string, type: number): boolean {
    return !this.cuts.has(owner) || type === TYPE.DS;
  }

  // --- signatures ----------------------------------------------------------------------------

  private sign(rs: CanonicalRRset, now: number, ownerWire = this.ownerWire(rs.owner)): Signatures {
    const keys = rs.type === TYPE.DNSKEY || rs.type === TYPE.CDS || rs.type === TYPE.CDNSKEY ? this.ksks : this.zsks;
    const inception = now - this.policy.backdate;
    const expiration = now + this.policy.validity;
    if (keys.length === 1) return this.signer.sign(rs, ownerWire, keys[0], inception, expiration);
    const rdatas = new Array<Uint8Array>(keys.length);
    for (let i = 0; i < keys.length; i++) rdatas[i] = this.signer.sign(rs, ownerWire, keys[i], inception, expiration);
    return rdatas;
  }

  /** Sign `rs`, an RRset held in `sets`, and keep the signatures with it. */
  private signSet(rs: CanonicalRRset, now: number, byType = this.sets.get(rs.owner) as OwnerSets): void {
    this.touchRR(rs.owner, rs.type);
    byType.setSigs(rs.type, this.sign(rs, now, this.ownerWireOf(rs.owner, byType)));
  }

  // --- the denial chain ----------------------------------------------------------------------

  private keyOf(name: string): string {
    return this.denial === 'nsec' ? canonicalNameKey(name) : base32hex(nsec3Hash(name));
  }

  /** Ancestors of `owner` strictly between it and the apex, nearest first. */
  private ancestors(owner: string): string[] {
    const labels = splitLabels(owner);
    const out: string[] = [];
    for (let n = labels.length - 1; n > this.apexLabels; n--) out.push(`${labels.slice(labels.length - n).join('.')}.`);
    return out;
  }

  private addKey(name: string, dirty: Set<string>): void {
    const key = this.keyOf(name);
    if (this.chain.has(key)) return;
    const i = lowerBound(this.chainKeys, key);
    this.chainKeys.splice(i, 0, key);
    const hash = this.denial === 'nsec3' ? nsec3Hash(name) : undefined;
    this.touchChain(key);
    this.chain.set(key, { name, owner: this.denial === 'nsec' ? name : `${key}.${this.zone}`, hash, rrset: undefined, wire: undefined });
    dirty.add(key);
    dirty.add(this.chainKeys[(i - 1 + this.chainKeys.length) % this.chainKeys.length]);
  }

  private dropKey(name: string, dirty: Set<string>): void {
    const key = this.keyOf(name);
    if (!this.chain.has(key)) return;
    const i = lowerBound(this.chainKeys, key);
    this.chainKeys.splice(i, 1);
    this.touchChain(key);
    this.chain.delete(key);
    this.chainSigs.delete(key);
    dirty.delete(key);
    if (this.chainKeys.length > 0) dirty.add(this.chainKeys[(i - 1 + this.chainKeys.length) % this.chainKeys.length]);
  }

  private chainInsert(owner: string, dirty: Set<string>): void {
    this.addKey(owner, dirty);
    if (this.denial !== 'nsec3') return;
    for (const a of this.ancestors(owner)) {
      this.below.set(a, (this.below.get(a) ?? 0) + 1);
      this.addKey(a, dirty);
    }
  }

  private chainRemove(owner: string, dirty: Set<string>): void {
    if (this.denial === 'nsec3') {
      for (const a of this.ancestors(owner)) {
        const n = (this.below.get(a) ?? 0) - 1;
        if (n > 0) this.below.set(a, n);
        else this.below.delete(a);
        if (n <= 0 && !this.sets.has(a)) this.dropKey(a, dirty);
        else dirty.add(this.keyOf(a));
      }
      if ((this.below.get(owner) ?? 0) > 0) {
        dirty.add(this.keyOf(owner)); // now an empty non-terminal
        return;
      }
    }
    this.dropKey(owner, dirty);
  }

  /** Recompute the denial records of `keys` (still in the chain) and re-sign those whose bytes changed. */
  private refreshEntries(keys: Iterable<string>, now: number): void {
    for (const key of keys) {
      if (this.chain.has(key)) this.refreshEntry(lowerBound(this.chainKeys, key), now);
    }
  }

  /** Recompute the denial record at position `i` of the chain and re-sign it when its bytes changed. */
  private refreshEntry(i: number, now: number): void {
    const keys = this.chainKeys;
    const key = keys[i];
    const e = this.chain.get(key) as ChainEntry;
    const next = this.chain.get(keys[i + 1 === keys.length ? 0 : i + 1]) as ChainEntry;
    const byType = this.sets.get(e.name);
    const types: number[] = [];
    if (byType) for (let t = 0; t < byType.size; t++) types.push(byType.typeAt(t));
    let rdata: Uint8Array;
    if (this.denial === 'nsec') {
      types.push(TYPE.NSEC, TYPE.RRSIG);
      rdata = nsecRdataFromWire(chainWire(next, this.wireOfOwner), types);
    } else {
      const signedHere = byType !== undefined && (!this.cuts.has(e.name) || byType.has(TYPE.DS));
      if (signedHere) types.push(TYPE.RRSIG);
      rdata = nsec3Rdata(next.hash as Uint8Array, types);
    }
    if (e.rrset && e.rrset.ttl === this.negativeTtl && e.rrset.rdatas.length === 1 && sameBytes(e.rrset.rdatas[0], rdata) && this.chainSigs.has(key)) return;
    const rrset: CanonicalRRset = { owner: e.owner, type: this.denial === 'nsec' ? TYPE.NSEC : TYPE.NSEC3, ttl: this.negativeTtl, rdatas: [rdata] };
    this.touchChain(key);
    e.rrset = rrset;
    this.chainSigs.set(key, this.sign(rrset, now, chainWire(e, this.wireOfOwner)));
  }

  /** min(SOA TTL, SOA minimum): the TTL of every denial record (RFC 9077). */
  private soaNegativeTtl(): number {
    const soa = this.sets.get(this.zone)?.get(TYPE.SOA);
    if (!soa) throw new RangeError(`zone ${this.zone} has no SOA`);
    const r = soa.rdatas[0];
    return Math.min(new DataView(r.buffer, r.byteOffset, r.byteLength).getUint32(r.length - 4), soa.ttl);
  }

  /**
   * Recompute which names are authoritative and the whole chain; sign RRsets that became signable
   * and drop signatures of those that did not stay so. Records whose bytes did not change keep
   * their signatures.
   */
  private rebuild(now: number): void {
    const negativeTtl = this.soaNegativeTtl();
    const ttlChanged = negativeTtl !== this.negativeTtl;
    this.negativeTtl = negativeTtl;

    // A first NSEC build chains every authoritative owner in the same walk that signs it, keyed
    // once; otherwise the chain is recomputed from the set of names and compared with the old one.
    const fresh = this.denial === 'nsec' && this.chain.size === 0;
    const freshKeys: string[] = [];
    for (const [owner, byType] of this.sets) {
      const auth = this.authoritative(owner);
      for (let i = 0; i < byType.size; i++) {
        const type = byType.typeAt(i);
        const want = auth && this.signable(owner, type);
        const have = byType.sigsAt(i) !== undefined;
        if (want && !have) this.signSet(byType.rrsetAt(i), now, byType);
        else if (!want && have) {
          this.touchRR(owner, type);
          byType.setSigs(type, undefined);
        }
      }
      if (fresh && auth) {
        const wire = this.ownerWireOf(owner, byType);
        const key = owner.includes('\\') ? canonicalNameKey(owner) : canonicalKeyOfWire(wire);
        if (!this.chain.has(key)) freshKeys.push(key);
        this.touchChain(key);
        this.chain.set(key, { name: owner, owner, hash: undefined, rrset: undefined, wire });
      }
    }
    if (fresh) {
      this.chainKeys = freshKeys.sort();
      this.below.clear();
      for (let i = 0; i < this.chainKeys.length; i++) this.refreshEntry(i, now);
      return;
    }

    const names = new Set<string>();
    this.below.clear();
    for (const owner of this.sets.keys()) {
      if (!this.authoritative(owner)) continue;
      names.add(owner);
      if (this.denial === 'nsec3') {
        for (const a of this.ancestors(owner)) {
          this.below.set(a, (this.below.get(a) ?? 0) + 1);
          names.add(a);
        }
      }
    }
    const wanted = new Map<string, string>();
    for (const name of names) wanted.set(this.keyOf(name), name);
    for (const key of [...this.chain.keys()]) {
      if (!wanted.has(key)) {
        this.touchChain(key);
        this.chain.delete(key);
        this.chainSigs.delete(key);
      }
    }
    for (const [key, name] of wanted) {
      if (!this.chain.has(key)) {
        this.touchChain(key);
        this.chain.set(key, { name, owner: this.denial === 'nsec' ? name : `${key}.${this.zone}`, hash: this.denial === 'nsec3' ? nsec3Hash(name) : undefined, rrset: undefined, wire: undefined });
      }
    }
    this.chainKeys = [...wanted.keys()].sort();
    if (ttlChanged) {
      for (const [key, e] of this.chain) {
        this.touchChain(key);
        e.rrset = undefined;
      }
    }
    for (let i = 0; i < this.chainKeys.length; i++) this.refreshEntry(i, now);
  }
}

/** The records signing adds to a zone (DNSKEY, NSEC3PARAM, the chain and every RRSIG), signed at `now`. */
export function signZone(opts: SignedZoneOptions, rrsets: readonly CanonicalRRset[], now: number): CanonicalRRset[] {
  const given = new Set(rrsets);
  return [...SignedZone.build(opts, rrsets, now).records()].filter((rs) => !given.has(rs));
}
