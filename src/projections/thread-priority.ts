/**
 * Background threads (point-in-time reads, checkpoints) yield the CPU to the thread that answers
 * DNS. On Linux a thread has its own nice value, and setpriority(PRIO_PROCESS, tid) changes only
 * that thread, so a worker lowers itself: when cores are scarce (a shared or small machine) the
 * scheduler runs the DNS thread first, and the worker still gets every idle cycle.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Nice value of background work: the lowest priority. */
const BACKGROUND_NICE = 19;

/** Lower the calling thread's CPU priority; returns whether it could (Linux only; elsewhere unchanged). */
export function lowerThisThreadPriority(): boolean {
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>" of the thread that reads it.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, BACKGROUND_NICE);
    return true;
  } catch {
    return false;
  }
}
