/**
 * The hash chain: each event's hash is SHA-256 over the previous event's hash and the event's own
 * stored bytes, so changing any stored byte of any event breaks every later link.
 */
import * as crypto from 'node:crypto';
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

/** One-shot SHA-256 where Node has it (20.12+): no Hash object per event. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/**
 * {@link eventHash} for the events of one batch, which share ts, actor and batch id: the JSON of
 * those is built once per batch instead of once per event (a million-record import appends a
 * million events). Gives exactly eventHash's bytes and hash (test/ledger/hash-batch.test.ts).
 */
export function batchEventHasher(ts: number, actor: string, batchId: string): (prevHash: string, seq: number, zone: string, type: string, version: number, payload: string) => string {
  // JSON.stringify of an integer is its decimal form, and of a hex hash the hash in quotes.
  const tsJson = JSON.stringify(ts);
  const actorJson = JSON.stringify(actor);
  const batchJson = JSON.stringify(batchId);
  let lastZone = '';
  let lastZoneJson = '""';
  let lastType = '';
  let middle = '';
  /** The hash this hasher returned last: hex by construction, so the next call need not check it. */
  let returned = '';
  return (prevHash, seq, zone, type, version, payload) => {
    if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(version) || (prevHash !== returned && !/^[0-9a-f]*$/.test(prevHash))) {
      return eventHash(prevHash, { seq, ts, actor, zone, type, version, payload, batch_id: batchId });
    }
    if (zone !== lastZone || type !== lastType || middle === '') {
      if (zone !== lastZone || middle === '') lastZoneJson = JSON.stringify(zone);
      lastZone = zone;
      lastType = type;
      middle = `,${tsJson},${actorJson},${lastZoneJson},${JSON.stringify(type)},`;
    }
    const text = `["${prevHash}",${seq}${middle}${version},${batchJson}]\n${payload}`;
    returned = oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
    return returned;
  };
}
