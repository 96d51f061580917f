/**
 * The body of the point-in-time process: a read-only connection to the ledger database (its path is
 * the one argument), past states folded here (PastStates), and each request answered over IPC with
 * the API answer for it (answerAt), so the server process, which answers DNS, never replays the log
 * for an `?at=` read. It exits when the server closes the channel or goes away.
 */
import { answerAt, type AtQuery } from '../api/at-answers.ts';
import { openDatabase } from '../events/schema.ts';
import { PastStates } from './past-states.ts';
import type { PointFatal, PointRequest, PointResponse } from './point-in-time.ts';

const send = (msg: PointResponse | PointFatal, then?: () => void): void => {
  process.send?.(msg, undefined, undefined, then);
};

const path = process.argv[2];
if (!path || !process.send) {
  process.stderr.write('point-in-time process: run by PointInTimeReader, with an IPC channel and the database path as its argument\n');
  process.exit(2);
}
// The server going away (closed channel, or killed) ends this process: nothing else would.
process.on('disconnect', () => process.exit(0));

let past: PastStates | undefined;
let openError: string | undefined;
try {
  past = new PastStates(openDatabase(path, { readonly: true, create: false }));
} catch (err) {
  openError = `cannot open ${path}: ${(err as Error).message}`;
  send({ fatal: openError }, () => process.exit(1));
}

process.on('message', (req: PointRequest) => {
  let res: PointResponse;
  try {
    if (!past) throw new Error(openError);
    const state = past.stateAt(req.seq);
    res = { id: req.id, answer: answerAt(state, req.query as AtQuery), stats: past.last };
  } catch (err) {
    const e = err as Error & { kind?: string; field?: string };
    res = { id: req.id, error: { message: e.message, kind: e.kind, field: e.field } };
  }
  send(res);
});
