/**
 * The hash chain: each event's hash is SHA-256 over the previous event's hash and the event's own
 * stored bytes, so changing any stored byte of any event breaks every later link.
 */
import { createHash } from 'node:crypto';

/** The "previous hash" of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The stored columns that the hash covers, exactly as they are stored. */
export interface HashedColumns {
  seq: number;
  ts: number;
  actor: string;
  zone: string;
  type: string;
  version: number;
  payload: string;
  batch_id: string;
}

/** SHA-256 hex of `prevHash` and the event's columns in a fixed, unambiguous layout. */
export function eventHash(prevHash: string, e: HashedColumns): string {
  return createHash('sha256')
    .update(
      JSON.stringify([prevHash, e.seq, e.ts, e.actor, e.zone, e.type, e.version, e.batch_id]) + '\n' + e.payload,
    )
    .digest('hex');
}
