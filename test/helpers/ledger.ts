/** Test helpers for the ledger: a ledger on a real SQLite file in a fresh temp dir, with a controllable clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger, type LedgerOptions } from '../../src/ledger.ts';
import { evolve, type LedgerState } from '../../src/projections/state.ts';

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public ms = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A temp directory removed by `cleanup`. */
export function tempDir(prefix = 'mcns-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A ledger on a temp database with deterministic ids ("r1", "r2", …) and a test clock. */
export function testLedger(opts: Partial<LedgerOptions> = {}): { ledger: Ledger; clock: TestClock; path: string; dir: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  const clock = new TestClock();
  let n = 0;
  const path = join(dir, 'mcns.db');
  const ledger = Ledger.open({ path, clock: clock.now, newId: () => `r${++n}`, ...opts });
  return {
    ledger,
    clock,
    path,
    dir,
    cleanup: () => {
      ledger.close();
      cleanup();
    },
  };
}

/**
 * `a` and `b` each evolved by the same events, in order: a state loaded from a checkpoint against
 * the state it was saved from, say, whose digests must then still agree.
 */
export function evolveBoth(a: LedgerState, b: LedgerState, events: ReadonlyArray<Parameters<typeof evolve>[1]>): [LedgerState, LedgerState] {
  for (const e of events) {
    a = evolve(a, e);
    b = evolve(b, e);
  }
  return [a, b];
}
