/**
 * Write turns: API writes run one per turn of the event loop, in the order they arrived.
 *
 * Why: a write is synchronous (decide, append with a durable SQLite commit, fold, index sync, NOTIFY),
 * a few milliseconds each. Several keep-alive clients' requests are read in one poll phase, and
 * without this their writes would all run in that same turn, one after another. Meanwhile nothing
 * else is read, and libuv accepts one TCP connection per turn (libuv#3696), so under a burst of
 * writes the DNS listener accepted only 25-50 connections a second and secondaries' SOA queries and
 * transfers waited up to seconds in the accept queue (bench/fleet, RESULTS "Fleet"). With one write
 * per turn, every turn between two writes reads the sockets and accepts a connection again; a write
 * waits for the writes queued before it, no longer than it waited before, and the order is kept.
 */
export class WriteTurns {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  /** Resolves in a turn of the event loop of its own, after every write that asked before it. */
  next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.release);
      }
    });
  }

  /** Writes waiting for their turn (for tests and metrics). */
  get pending(): number {
    return this.waiting.length;
  }

  /**
   * Let one write go. Its continuation runs in the microtasks right after this callback, so within
   * this turn; an immediate scheduled from inside an immediate runs in the next turn (Node's check
   * phase takes only the immediates queued before it began), which is what spaces the writes.
   */
  private readonly release = (): void => {
    const go = this.waiting.shift();
    if (this.waiting.length > 0) setImmediate(this.release);
    else this.scheduled = false;
    go?.();
  };
}

/** The process's write turns: REST and gRPC share them (one event loop, one ledger). */
export const apiWriteTurns = new WriteTurns();
