/**
 * The operator's DNSSEC decisions on a zone (SPEC 4, `PUT|GET /v1/zones/{zone}/dnssec`,
 * `POST .../dnssec/rollover`, `mcns zone dnssec ...`): the one place keys are made for a zone.
 * A decision that needs a new key generates it here, stores its private half in the key store
 * (the `dnssec_private_keys` table of the ledger database) BEFORE the batch is appended, and then
 * executes the ledger command with only the public half, so the log, the history and every answer
 * carry public keys only. The REST service and the offline CLI both call these functions.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ALGORITHM_NUMBERS, generateKey, type AlgorithmName, type KeyMaterial } from '../dnssec/algorithms.ts';
import { dsPresentation } from '../dnssec/dnskey.ts';
import { KeyStore } from '../dnssec/keystore.ts';
import { inCds, rolloverStart } from '../dnssec/lifecycle.ts';
import { dnskeyFlags, zoneKeyRdata, type KeyRole } from '../dnssec/zone-keys.ts';
import { notFound } from '../errors.ts';
import type { Ledger, WriteOptions, WriteResult } from '../ledger.ts';
import type { NewDnssecKey } from '../projections/decide-dnssec.ts';
import { liveKeys } from '../projections/decide-dnssec.ts';
import type { DnssecKeyInfo } from '../projections/dnssec-state.ts';
import type { ZoneState } from '../projections/state.ts';
import { displayZone } from './views.ts';

export const DNSSEC_ALGORITHMS = ['ecdsap256sha256', 'ed25519'] as const;
export const DNSSEC_DENIALS = ['nsec', 'nsec3'] as const;
export const DEFAULT_ALGORITHM: AlgorithmName = 'ecdsap256sha256';

/** PUT /v1/zones/{zone}/dnssec. */
export const DnssecConfigBody = z.strictObject({
  enabled: z.boolean(),
  algorithm: z.enum(DNSSEC_ALGORITHMS).optional(),
  denial: z.enum(DNSSEC_DENIALS).optional(),
});
export type DnssecConfigInput = z.output<typeof DnssecConfigBody>;

/** POST /v1/zones/{zone}/dnssec/rollover. */
export const DnssecRolloverBody = z.strictObject({ role: z.enum(['zsk', 'ksk', 'csk']) });

/** One key as the API shows it: public half only. */
export interface DnssecKeyView {
  tag: number;
  role: KeyRole;
  algorithm: AlgorithmName;
  state: DnssecKeyInfo['state'];
  /** Its DS is wanted at the parent (it is listed in CDS/CDNSKEY). */
  ds: boolean;
  /** The DNSKEY RDATA in presentation form: "<flags> 3 <alg> <base64>". */
  dnskey: string;
  created_at: string;
  /** When it entered `state`. */
  since: string;
  /** The key it replaces while a rollover runs. */
  replaces?: number;
}

/** GET /v1/zones/{zone}/dnssec. */
export interface DnssecView {
  zone: string;
  enabled: boolean;
  algorithm: AlgorithmName;
  denial: 'nsec' | 'nsec3';
  keys: DnssecKeyView[];
  /** The DS records to give the parent ("<tag> <alg> 2 <HEX>"): KSKs/CSKs whose DS is wanted. */
  ds: string[];
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

function keyView(k: DnssecKeyInfo): DnssecKeyView {
  const publicKey = Buffer.from(k.publicKey, 'base64');
  return {
    tag: k.tag,
    role: k.role,
    algorithm: k.algorithm,
    state: k.state,
    ds: k.ds,
    dnskey: `${dnskeyFlags(k.role)} 3 ${ALGORITHM_NUMBERS[k.algorithm]} ${publicKey.toString('base64')}`,
    created_at: iso(k.createdAt),
    since: iso(k.since),
    ...(k.replaces !== undefined ? { replaces: k.replaces } : {}),
  };
}

/** The zone's DNSSEC settings, keys (public halves) and the DS set for the parent. */
export function dnssecView(zone: ZoneState): DnssecView {
  const d = zone.dnssec;
  const keys = (d?.keys ?? []).map(keyView);
  const ds = d?.enabled
    ? (d.keys ?? [])
        .filter((k) => inCds({ tag: k.tag, role: k.role, state: k.state, since: k.since, ds: k.ds }))
        .map((k) => dsPresentation(zone.name, { flags: dnskeyFlags(k.role), algorithm: ALGORITHM_NUMBERS[k.algorithm], publicKey: Buffer.from(k.publicKey, 'base64') }))
    : [];
  return { zone: displayZone(zone.name), enabled: d?.enabled === true, algorithm: d?.algorithm ?? DEFAULT_ALGORITHM, denial: d?.denial ?? 'nsec', keys, ds };
}

function zoneOf(ledger: Ledger, zone: string): ZoneState {
  const z = ledger.state.zones.get(zone);
  if (!z) throw notFound(`zone ${displayZone(zone)} does not exist`);
  return z;
}

/**
 * A new key for `role`, its private half already in the key store. A key whose tag equals a live
 * key's of the zone (or one made for the same batch) is thrown away and another made: validators
 * find keys by tag, and the lifecycle names keys by tag.
 */
function makeKey(store: KeyStore, zone: ZoneState, role: KeyRole, algorithm: AlgorithmName, taken: Set<number>, generate: KeyGenerator): NewDnssecKey {
  for (;;) {
    const m = generate(algorithm);
    const { rdata, tag } = zoneKeyRdata({ role, publicKey: m.publicKey, algorithm });
    if (taken.has(tag)) continue;
    taken.add(tag);
    store.put({ zone: zone.name, tag, algorithm, dnskeySha256: createHash('sha256').update(rdata).digest(), pkcs8: m.privatePkcs8, createdAt: new Date().toISOString() });
    return { tag, role, algorithm, publicKey: Buffer.from(m.publicKey).toString('base64') };
  }
}

function liveTags(zone: ZoneState): Set<number> {
  return new Set(liveKeys(zone).map((k) => k.tag));
}

/** Makes a key pair (node:crypto's generateKey; tests pass their own). */
export type KeyGenerator = (algorithm: AlgorithmName) => KeyMaterial;

/** Optional inputs of a decision: its time (seconds since the epoch; default now) and the key generator. */
export interface DecisionOptions {
  now?: number;
  generate?: KeyGenerator;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Turn signing on or off, or change the denial. Turning it on makes a KSK and a ZSK. An omitted
 * algorithm keeps a signed zone's own (or takes the default for an unsigned one); an omitted
 * denial keeps the current one (default NSEC).
 */
export function configureDnssec(ledger: Ledger, zone: string, input: DnssecConfigInput, opts: WriteOptions, { now = nowSeconds(), generate = generateKey }: DecisionOptions = {}): WriteResult {
  const z = zoneOf(ledger, zone);
  const cur = z.dnssec;
  const signed = cur?.enabled === true;
  const algorithm = input.algorithm ?? (signed ? cur.algorithm : DEFAULT_ALGORITHM);
  const denial = input.denial ?? (signed ? cur.denial : 'nsec');
  let newKeys: NewDnssecKey[] = [];
  if (input.enabled && !signed) {
    const store = new KeyStore(ledger.db);
    const taken = liveTags(z);
    newKeys = (['ksk', 'zsk'] as const).map((role) => makeKey(store, z, role, algorithm, taken, generate));
  }
  return ledger.execute({ kind: 'dnssec', zone, change: { op: 'configure', enabled: input.enabled, algorithm, denial, newKeys, at: now } }, opts);
}

/** Start a rollover of the zone's active key of `role` (src/dnssec/lifecycle.ts says how it proceeds). */
export function startRollover(ledger: Ledger, zone: string, role: KeyRole, opts: WriteOptions, { now = nowSeconds(), generate = generateKey }: DecisionOptions = {}): WriteResult {
  const z = zoneOf(ledger, zone);
  // The key is made even when decide will refuse (unsigned zone, no such role, rollover running):
  // the command must carry a real key whatever state it is finally decided against, and an unused
  // row in the key store is never published.
  const newKey = makeKey(new KeyStore(ledger.db), z, role, z.dnssec?.algorithm ?? DEFAULT_ALGORITHM, liveTags(z), generate);
  return ledger.execute({ kind: 'dnssec', zone, change: { op: 'rollover', role, newKey, start: rolloverStart(role), at: now } }, opts);
}
