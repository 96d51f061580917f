/**
 * The body of a background checkpoint, run in a worker thread so that serializing a large
 * projection never stalls DNS answering or API writes in the server's main thread: open the same
 * database on a second connection (its own checkpoint + tail), write a checkpoint, report its seq.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Ledger } from '../ledger.ts';

const { path } = workerData as { path: string };
const ledger = Ledger.open({ path, create: false });
try {
  parentPort?.postMessage({ seq: ledger.checkpoint() });
} finally {
  ledger.close();
}
