/**
 * Where an import's CPU goes, phase by phase, in-process: `node --import tsx bench/import/phases.ts FILE [--runs N]`.
 * Parses FILE (readImport), decides the import against an empty ledger, appends it to a fresh
 * database (hash chain, SQLite), folds it into the projection, then writes the checkpoint; prints
 * the CPU milliseconds (user + sys) of each phase, the best of N runs (default 1).
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, loadavg } from 'node:os';
import { Ledger, randomRecordId } from '../../src/ledger.ts';
import { readImport } from '../../src/projections/zone-files.ts';
import { decide } from '../../src/projections/decide.ts';

const file = process.argv[2];
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 1;
const text = readFileSync(file, 'utf8');
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const best: Record<string, number> = {};
for (let run = 0; run < runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'imp-phases-'));
  const ledger = Ledger.open({ path: join(dir, 'm.db') });
  const t: Record<string, number> = {};
  let c = cpu();
  const lap = (name: string): void => {
    const now = cpu();
    t[name] = now - c;
    c = now;
  };
  const { command } = readImport('bench.test', text, { source: file });
  lap('parse');
  const d = decide(ledger.state, command, { now: Date.now(), newId: randomRecordId });
  lap('decide');
  // The ledger's own write path (decides again: subtract the decide above for append + fold).
  const res = ledger.execute(command, { actor: 'bench', surface: 'cli' });
  lap('execute (decide + append + fold + checkpoint)');
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of Object.entries(t)) best[k] = Math.min(best[k] ?? Infinity, v);
  if (run === 0) console.log(`${command.records.length} records, ${d.drafts.length} drafts, ${res.events.length} events`);
}
console.log(Object.entries(best).map(([k, v]) => `${k}: ${v.toFixed(0)} ms CPU`).join('\n'), `\nload ${loadavg()[0].toFixed(1)}`);
