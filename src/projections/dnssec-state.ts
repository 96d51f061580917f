/**
 * A zone's DNSSEC decisions as the projection holds them: whether it is signed, with which
 * algorithm and denial, and its keys with their lifecycle state (public halves only). Folded from
 * the DnssecConfigured, DnssecKeyCreated and DnssecKeyChanged events by `evolveDnssec`, called
 * from state.ts's evolve, so replay, checkpoints and point-in-time reads all see the same thing.
 * Signatures and denial chains are not here: they are derived from this and the zone's records
 * (src/dnssec/signer.ts).
 */
import type { EventBody } from '../events/types.ts';

export type DnssecAlgorithm = 'ecdsap256sha256' | 'ed25519';
export type DnssecKeyRole = 'ksk' | 'zsk' | 'csk';
export type DnssecKeyState = 'created' | 'published' | 'active' | 'retired' | 'removed';

export interface DnssecKeyInfo {
  readonly tag: number;
  readonly role: DnssecKeyRole;
  readonly algorithm: DnssecAlgorithm;
  /** Base64 of the DNSKEY public-key field. */
  readonly publicKey: string;
  readonly state: DnssecKeyState;
  /** Its DS is wanted at the parent (CDS/CDNSKEY list it). */
  readonly ds: boolean;
  /** When it entered `state`, seconds since the epoch. */
  readonly since: number;
  /** When it was created, seconds since the epoch. */
  readonly createdAt: number;
  /** The key it replaces while a rollover runs. */
  readonly replaces?: number;
}

export interface DnssecState {
  readonly enabled: boolean;
  readonly algorithm: DnssecAlgorithm;
  readonly denial: 'nsec' | 'nsec3';
  /** Every key the zone has had, removed ones included (the status and history show them). */
  readonly keys: readonly DnssecKeyInfo[];
}

/** True for the event types this module folds. */
export function isDnssecEvent(b: EventBody): boolean {
  return b.type === 'DnssecConfigured' || b.type === 'DnssecKeyCreated' || b.type === 'DnssecKeyChanged';
}

/** Fold one DNSSEC event into a zone's DNSSEC state (undefined: the zone was never signed). */
export function evolveDnssec(prev: DnssecState | undefined, b: EventBody): DnssecState | undefined {
  switch (b.type) {
    case 'DnssecConfigured':
      return { enabled: b.payload.enabled, algorithm: b.payload.algorithm, denial: b.payload.denial, keys: prev?.keys ?? [] };
    case 'DnssecKeyCreated': {
      const p = b.payload;
      const key: DnssecKeyInfo = {
        tag: p.tag,
        role: p.role,
        algorithm: p.algorithm,
        publicKey: p.public_key,
        state: p.state,
        ds: p.ds,
        since: p.at,
        createdAt: p.at,
        ...(p.replaces !== undefined ? { replaces: p.replaces } : {}),
      };
      const base = prev ?? { enabled: false, algorithm: p.algorithm, denial: 'nsec' as const, keys: [] };
      return { ...base, keys: [...base.keys, key] };
    }
    case 'DnssecKeyChanged': {
      if (!prev) return prev;
      const p = b.payload;
      // The newest key with that tag (a removed key's tag may be reused by a later key).
      let idx = -1;
      for (let i = prev.keys.length - 1; i >= 0; i--) {
        if (prev.keys[i].tag === p.tag && prev.keys[i].state !== 'removed') {
          idx = i;
          break;
        }
      }
      if (idx < 0) return prev;
      const keys = prev.keys.map((k, i) => {
        if (i === idx) return { ...k, state: p.state, ds: p.ds, since: p.at };
        // A rollover is over for the key that replaced this one once this one is gone.
        if (p.state === 'removed' && k.replaces === p.tag) return withoutReplaces(k);
        return k;
      });
      return { ...prev, keys };
    }
    default:
      return prev;
  }
}

function withoutReplaces(k: DnssecKeyInfo): DnssecKeyInfo {
  const { replaces: _gone, ...rest } = k;
  return rest;
}
