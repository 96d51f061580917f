/**
 * The signed zones of the current projection: one SignedZone per zone whose DNSSEC is on, built
 * from the zone's records and its keys (public halves from the log, private halves from the key
 * store) and kept current by the trie diff of every new state. Answers, transfers and the API read
 * signatures, denial records, DNSKEY and CDS/CDNSKEY from here. Derived state only: nothing here is
 * written anywhere, and a restart rebuilds it from the log and the keys.
 *
 * Signing times are quantized to whole days (inception = start of the UTC day minus the back-dating),
 * so a zone signed again after a restart gets signatures of the same validity window as before:
 * the secondaries' copies and ours expire together and are refreshed together.
 */
import { createHash } from 'node:crypto';
import type { LedgerState, ZoneState } from '../projections/state.ts';
import type { DnssecKeyInfo } from '../projections/dnssec-state.ts';
import { inCds } from './lifecycle.ts';
import { privateKeyObject } from './algorithms.ts';
import type { KeyStore } from './keystore.ts';
import { DERIVED_TYPES, DEFAULT_SIGNING_POLICY, SignedZone, type SignedDelta, type SigningPolicy } from './signed-zone.ts';
import type { CanonicalRRset } from './rrsig.ts';
import { zoneKeyRdata, type ZoneKey } from './zone-keys.ts';
import { diffZoneRRsets, zoneRRsetList } from './zone-content.ts';
import { PMap } from '../projections/pmap.ts';

const DAY = 86400;

/** The signing time used for signatures made at `now` (seconds): the start of its UTC day. */
export function signingTime(now: number): number {
  return Math.floor(now / DAY) * DAY;
}

export interface ZoneSignersOptions {
  keys: KeyStore;
  /** Seconds since the epoch. */
  clock: () => number;
  policy?: SigningPolicy;
  /** Told when a signed zone cannot be signed (a private key is missing): it is then served unsigned. */
  onError?: (zone: string, err: Error) => void;
  /** Owners whose DO fast answers are encoded per slice after a whole-zone build (default ANSWERS_PER_SLICE). */
  answersPerSlice?: number;
}

/** One IXFR step of a signed zone, from serial `from` to `to`. */
export interface SignedStep extends SignedDelta {
  from: number;
  to: number;
  soaBefore: CanonicalRRset;
  soaAfter: CanonicalRRset;
}

/**
 * RRsets re-signed per refresh call (the driver calls once a minute). Every signature of a zone is
 * made on the same day and falls due together: re-signing them all at once would stall answers for
 * seconds on a large zone, while a few thousand a minute finish a 100,000-name zone in under two
 * hours of a refresh window measured in days.
 */
export const REFRESH_PER_CALL = 2000;

/**
 * Owners whose DO fast answers (SignedZone.buildAnswers) are encoded per slice after a whole-zone
 * build: the first slice at once, the rest one per turn of the event loop, as the serving index
 * does its second pass. On a 100,000-name zone the table takes about half a second, which would
 * otherwise be added to the signing and stall answers; meanwhile DO questions whose owner is not
 * encoded yet take the general path, which answers them the same. A zone this small or smaller is
 * complete when update() returns.
 */
export const ANSWERS_PER_SLICE = 2000;

/** Steps kept per zone for IXFR; an older client gets the whole signed zone. */
const JOURNAL_STEPS = 200;

interface Entry {
  /** The zone state the signed zone was last brought in line with. */
  zone: ZoneState;
  /** The serial the last step ended at. */
  serial: number;
  /** The newest IXFR steps, oldest first, consecutive. */
  journal: SignedStep[];
  /** What the keys and settings were when it was built: another value means a rebuild. */
  fingerprint: string;
  signed: SignedZone;
}

function fingerprint(zone: ZoneState): string {
  const d = zone.dnssec;
  if (!d) return '';
  return JSON.stringify([d.denial, d.keys.filter((k) => k.state !== 'removed').map((k) => [k.tag, k.state, k.ds, k.role])]);
}

export class ZoneSigners {
  private readonly zones = new Map<string, Entry>();
  /** The zones map of the last state `update` saw. */
  private lastZones: LedgerState['zones'] | undefined;
  private readonly policy: SigningPolicy;

  constructor(private readonly opts: ZoneSignersOptions) {
    this.policy = opts.policy ?? DEFAULT_SIGNING_POLICY;
  }

  /** How many zones are signed. */
  get size(): number {
    return this.zones.size;
  }

  /** The signed form of `zone`, when its DNSSEC is on and it could be signed. */
  get(zone: string): SignedZone | undefined {
    return this.zones.get(zone)?.signed;
  }

  /**
   * Bring every signed zone in line with `state` (call with each new projection state). Only the
   * zones that changed since the last state are looked at (the zone maps share every untouched
   * subtree), so a write to one zone costs the same with one zone as with thousands.
   */
  update(state: LedgerState): void {
    const before = this.lastZones;
    this.lastZones = state.zones;
    if (before === undefined) {
      for (const [name, zone] of state.zones.entries()) this.updateZone(name, zone);
      return;
    }
    PMap.diff(before, state.zones, (name, _was, zone) => this.updateZone(name, zone));
  }

  /** Bring the signed form of zone `name` in line with `zone` (undefined: the zone is gone). */
  private updateZone(name: string, zone: ZoneState | undefined): void {
    if (zone?.dnssec?.enabled !== true) {
      this.zones.delete(name);
      return;
    }
    const entry = this.zones.get(name);
    if (entry && entry.zone === zone) return;
    const fp = fingerprint(zone);
    try {
      if (!entry || entry.fingerprint !== fp) {
        const signed = this.build(zone);
        signed.zoneState = zone;
        this.zones.set(name, { zone, serial: zone.serial, journal: [], fingerprint: fp, signed });
        this.answersInSlices(name, signed);
        return;
      }
      const now = signingTime(this.opts.clock());
      diffZoneRRsets(entry.zone.tree, zone.tree, (owner, type, after) => {
        if (!DERIVED_TYPES.has(type)) entry.signed.replace(owner, type, after, now);
      });
      entry.zone = zone;
      // The DO fast path's NODATA answers carry this state's SOA.
      entry.signed.zoneState = zone;
      if (zone.serial !== entry.serial) this.closeStep(entry, zone.serial);
    } catch (err) {
      this.zones.delete(name);
      this.opts.onError?.(name, err as Error);
    }
  }

  /** Encode the fast answers of a zone just built: one slice now, the rest on later turns of the event loop. */
  private answersInSlices(name: string, signed: SignedZone): void {
    const slice = this.opts.answersPerSlice ?? ANSWERS_PER_SLICE;
    if (signed.buildAnswers(slice)) return;
    const step = (): void => {
      // Rebuilt or unsigned since: that table is no one's any more.
      if (this.zones.get(name)?.signed !== signed) return;
      if (!signed.buildAnswers(slice)) setImmediate(step).unref();
    };
    setImmediate(step).unref();
  }

  /** Encode every signed zone's pending fast answers now (benchmarks and tests; the server lets the slices run). */
  finishAnswers(): void {
    for (const e of this.zones.values()) e.signed.buildAnswers();
  }

  /**
   * Re-sign what nears expiry in every signed zone; returns the zones that changed (each needs a
   * serial bump so secondaries fetch the new signatures).
   */
  refresh(max = REFRESH_PER_CALL): string[] {
    const now = signingTime(this.opts.clock());
    const changed: string[] = [];
    let budget = max;
    for (const [name, e] of this.zones) {
      if (budget <= 0) break;
      const n = e.signed.refresh(now, budget);
      budget -= n;
      if (n > 0) changed.push(name);
    }
    return changed;
  }

  /** The earliest time (seconds) a refresh is due in any zone. */
  nextRefresh(): number {
    let t = Infinity;
    for (const e of this.zones.values()) t = Math.min(t, e.signed.nextRefresh());
    return t;
  }

  /**
   * The IXFR steps from `from` to the zone's current serial, when the journal holds all of them
   * (undefined otherwise: the whole signed zone is sent).
   */
  ixfrSteps(zone: string, from: number): SignedStep[] | undefined {
    const e = this.zones.get(zone);
    if (!e) return undefined;
    const i = e.journal.findIndex((s) => s.from === from);
    if (i < 0) return undefined;
    const steps = e.journal.slice(i);
    return steps[steps.length - 1].to === e.serial ? steps : undefined;
  }

  /** Record what changed since the last serial as one IXFR step ending at `serial`. */
  private closeStep(e: Entry, serial: number): void {
    const d = e.signed.takeDelta();
    if (d.soaBefore && d.soaAfter) {
      e.journal.push({ ...d, from: e.serial, to: serial, soaBefore: d.soaBefore, soaAfter: d.soaAfter });
      if (e.journal.length > JOURNAL_STEPS) e.journal.shift();
    } else {
      e.journal = []; // a serial change without an SOA change cannot be framed: older clients get the whole zone
    }
    e.serial = serial;
  }

  private build(zone: ZoneState): SignedZone {
    const d = zone.dnssec!;
    const keys = d.keys.filter((k) => k.state !== 'removed').map((k) => this.zoneKey(zone.name, k));
    const content = zoneRRsetList(zone).filter((rs) => !DERIVED_TYPES.has(rs.type));
    return SignedZone.build({ zone: zone.name, keys, denial: d.denial, dnskeyTtl: zone.soa.ttl, policy: this.policy }, content, signingTime(this.opts.clock()));
  }

  private zoneKey(zone: string, k: DnssecKeyInfo): ZoneKey {
    const publicKey = new Uint8Array(Buffer.from(k.publicKey, 'base64'));
    const key: ZoneKey = {
      role: k.role,
      algorithm: k.algorithm,
      publicKey,
      published: k.state === 'published' || k.state === 'active' || k.state === 'retired',
      cds: inCds({ tag: k.tag, role: k.role, state: k.state, since: k.since, ds: k.ds }),
    };
    if (k.state === 'active') {
      const { rdata, tag } = zoneKeyRdata(key);
      const stored = this.opts.keys.get(zone, createHash('sha256').update(rdata).digest());
      if (!stored) throw new Error(`the private key of ${k.role.toUpperCase()} ${tag} of ${zone} is not in the key store (restored from a copy without the dnssec_private_keys table?)`);
      key.signing = { algorithm: k.algorithm, keyTag: tag, privateKey: privateKeyObject(stored.pkcs8) };
    }
    return key;
  }
}
