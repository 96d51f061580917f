/**
 * Waiting on a condition instead of sleeping: a test that needs something to have happened (a
 * counter flushed, a connection released, a daemon loaded) polls that very thing until it holds or
 * a deadline passes, and then fails saying what it waited for and what it saw last.
 */

/** Options of `waitFor`. */
export interface WaitOptions {
  /** What is awaited, for the failure message (a function: evaluated when the wait fails). */
  what: string | (() => string);
  /** Give up after this many ms (default 10 s: generous on a loaded machine, bounded everywhere). */
  timeoutMs?: number;
  /** Between two checks, in ms (default 20). */
  intervalMs?: number;
}

/** What a truthy result of a check can be. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Resolves with the first truthy result of `check` (sync or async); a check that throws counts as
 * "not yet" and its error is reported if the deadline passes.
 */
export async function waitFor<T>(check: () => T | Promise<T>, opts: WaitOptions): Promise<Truthy<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as Truthy<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      const what = typeof opts.what === 'function' ? opts.what() : opts.what;
      throw new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${what} (last: ${seen})`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/** One turn of the event loop: lets I/O that is already readable (a loopback peer's bytes) be handled. */
export function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
