/**
 * The body of a background checkpoint, run in a worker thread so that serializing a large
 * projection never stalls DNS answering or API writes in the server's main thread: open the same
 * database on a second connection (its own checkpoint + tail), write a checkpoint, report what it
 * wrote (seq, the log's hash there, digest) so the server can log the chain head.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Ledger } from '../ledger.ts';
import type { CheckpointWritten } from './checkpoint.ts';
import { lowerThisThreadPriority } from './thread-priority.ts';

lowerThisThreadPriority();

const { path } = workerData as { path: string };
let written: CheckpointWritten = { seq: 0, hash: '', digest: '' };
const ledger = Ledger.open({ path, create: false, onCheckpoint: ({ seq, hash, digest }) => (written = { seq, hash, digest }) });
try {
  ledger.checkpoint();
  parentPort?.postMessage(written);
} finally {
  ledger.close();
}
