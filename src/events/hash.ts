/**
 * The hash chain: each event's hash is SHA-256 over the previous event's hash and the event's own
 * stored bytes, so changing any stored byte of any event breaks every later link.
 */
import { createHash } from 'node:crypto';
import { McnsError } from '../errors.ts';

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

/**
 * The stored log does not hash to itself: an event's bytes, order or hash were changed outside
 * MCNS. Raised where the log is read as the truth (start-up replay), naming the first bad event.
 */
export class ChainError extends McnsError {
  constructor(
    readonly seq: number,
    readonly reason: string,
  ) {
    super(
      'internal',
      `event log hash chain broken at seq ${seq}: ${reason}. The log was changed outside MCNS; refusing to serve from it. ` +
        'Compare it with a recorded chain head (mcns verify --head SEQ:HASH) and restore the newest good snapshot (RUNBOOK: Restore from Snapshot)',
    );
    this.name = 'ChainError';
  }
}
