/**
 * Whether an id repeats one before it, in runs of up to millions of ids that mostly ascend (the
 * ledger draws record ids in ascending order: recordIdSequence). While each id is above the one
 * before, none can repeat and no set of them is kept: a million set inserts are mostly cache
 * misses. The set is made, from the ids so far, only at the first id that is not above its
 * predecessor (ids given by the caller, or drawn by a test's own sequence).
 */
export class RepeatedIds {
  private seen: Set<string> | undefined;
  private last = '';

  /** True when `id` is among `before[0..count)` (the ids given so far, in order); else it is noted. */
  repeats(id: string, before: readonly string[], count: number): boolean {
    if (!this.seen && id <= this.last) this.seen = new Set(before.slice(0, count));
    if (this.seen?.has(id)) return true;
    this.seen?.add(id);
    this.last = id;
    return false;
  }
}
