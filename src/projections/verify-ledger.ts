/**
 * `mcns verify`: SQLite's own integrity check, the hash chain (and its MACs when the chain is keyed),
 * and the newest checkpoint compared with a full replay of the log up to the same point.
 */
import type Database from 'better-sqlite3';
import { verifyChain } from '../events/verify.ts';
import { checkChainMacs } from '../events/chain-key.ts';
import { EventLog } from '../events/log.ts';
import { CHECKPOINT_FORMAT, deserializeState } from './checkpoint.ts';
import { stateDigest } from './digest.ts';
import { EMPTY_STATE, evolveAll } from './state.ts';

/** The verdict: ok, or the first problem found, naming the event or checkpoint. */
export type LedgerCheck = { ok: true; events: number } | { ok: false; problem: string };

/** Run every check; stops at the first problem. With `chainKey` the keyed chain's MACs are checked too. */
export function verifyLedger(db: Database.Database, onProgress?: (seq: number) => void, opts: { chainKey?: Buffer } = {}): LedgerCheck {
  const integrity = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  if (integrity[0]?.integrity_check !== 'ok') {
    return { ok: false, problem: `PRAGMA integrity_check: ${integrity.map((r) => r.integrity_check).join('; ')}` };
  }
  const chain = verifyChain(db, onProgress);
  if (!chain.ok) return { ok: false, problem: `event ${chain.seq}: ${chain.reason}` };
  if (opts.chainKey) {
    const macs = checkChainMacs(db, opts.chainKey);
    if (!macs.ok) return { ok: false, problem: `keyed chain: ${macs.problem}` };
  }
  const cp = db.prepare('SELECT seq, head_hash, format, data FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as
    | { seq: number; head_hash: string; format: number; data: Buffer }
    | undefined;
  if (cp && cp.format === CHECKPOINT_FORMAT) {
    const ev = db.prepare('SELECT hash FROM events WHERE seq = ?').get(cp.seq) as { hash: string } | undefined;
    if (ev?.hash !== cp.head_hash) return { ok: false, problem: `checkpoint ${cp.seq}: taken at an event whose hash is no longer in the log` };
    const state = evolveAll(EMPTY_STATE, new EventLog(db).iterate(0, cp.seq));
    let stored: string | undefined;
    try {
      // The digest reads everything, a big zone below its apex too (a load defers that to first use).
      const back = deserializeState(cp.data);
      stored = back && stateDigest(back);
    } catch (err) {
      return { ok: false, problem: `checkpoint ${cp.seq}: unreadable (${(err as Error).message})` };
    }
    if (!stored || stored !== stateDigest(state)) {
      return { ok: false, problem: `checkpoint ${cp.seq}: differs from a full replay of the log up to seq ${cp.seq}` };
    }
  }
  return { ok: true, events: chain.events };
}
