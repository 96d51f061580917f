/**
 * The body of the point-in-time worker: a read-only connection to the ledger database, past states
 * folded there (PastStates), and each request answered with the API answer for it (answerAt), so
 * the main thread, which answers DNS, never replays the log for an `?at=` read.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { answerAt, type AtQuery } from '../api/at-answers.ts';
import { openDatabase } from '../events/schema.ts';
import { PastStates } from './past-states.ts';
import type { PointRequest, PointResponse } from './point-in-time.ts';
import { lowerThisThreadPriority } from './thread-priority.ts';

lowerThisThreadPriority();

const { path } = workerData as { path: string };
const db = openDatabase(path, { readonly: true, create: false });
const past = new PastStates(db);

parentPort?.on('message', (req: PointRequest) => {
  let res: PointResponse;
  try {
    const state = past.stateAt(req.seq);
    res = { id: req.id, answer: answerAt(state, req.query as AtQuery), stats: past.last };
  } catch (err) {
    const e = err as Error & { kind?: string; field?: string };
    res = { id: req.id, error: { message: e.message, kind: e.kind, field: e.field } };
  }
  parentPort?.postMessage(res);
});
