/**
 * Ledger benchmark (issue: ledger core). Measures, in one run on this machine:
 *  - the raw floor: a bare better-sqlite3 one-row `synchronous=FULL` transaction loop (WAL);
 *  - durable single-record writes through Ledger.execute (decide + append + projection), as a ratio;
 *  - 1,000-record batches per second;
 *  - full replay of 1,000,000 events (time, peak RSS) in a fresh process;
 *  - checkpoint load of a 1,000,000-record zone (time, peak RSS) in a fresh process;
 *  - one trie lookup's cost on that zone.
 * Start-up is measured in fresh processes started with --max-semi-space-size=64 (a larger young
 * generation than bin/mcns runs with: these figures are a lower bound of the server's).
 * Usage: node --import tsx bench/ledger/run.ts [--events 1000000] [--seconds 5] [--write-results]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Ledger } from '../../src/ledger.ts';
import { EventLog } from '../../src/events/log.ts';
import { openDatabase } from '../../src/events/schema.ts';
import type { EventDraft } from '../../src/events/types.ts';
import { lookup } from '../../src/projections/trie.ts';
import { labelsBelow } from '../../src/projections/state.ts';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

/**
 * The floor: a bare better-sqlite3 database (default rollback journal) with
 * synchronous=FULL, one row per transaction. `wal` measures the same loop in WAL mode, for context:
 * the ledger runs in WAL, which commits with one fsync instead of the journal's several.
 */
function rawFloor(dir: string, seconds: number, wal = false): number {
  const db = new Database(join(dir, wal ? 'raw-wal.db' : 'raw.db'));
  if (wal) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
  const tx = db.transaction((v: string) => ins.run(v));
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    tx(`row ${n}`);
    n++;
  }
  db.close();
  return n / seconds;
}

function ledgerSingles(dir: string, seconds: number): number {
  const ledger = Ledger.open({ path: join(dir, 'single.db') });
  ledger.execute({ kind: 'createZone', zone: 'bench.test', soa: { primary_ns: 'ns.bench.test', admin_email: 'h@bench.test' } }, { actor: 'bench' });
  const start = performance.now();
  const end = start + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    ledger.execute({ kind: 'changeRecords', zone: 'bench.test', ops: [{ op: 'create', name: `h${n}.bench.test`, type: 'A', value: '192.0.2.1' }] }, { actor: 'bench' });
    n++;
  }
  const rate = n / ((performance.now() - start) / 1000);
  ledger.close();
  return rate;
}

function ledgerBatches(dir: string, seconds: number): number {
  const ledger = Ledger.open({ path: join(dir, 'batch.db') });
  ledger.execute({ kind: 'createZone', zone: 'bench.test', soa: { primary_ns: 'ns.bench.test', admin_email: 'h@bench.test' } }, { actor: 'bench' });
  const start = performance.now();
  const end = start + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    const ops = Array.from({ length: 1000 }, (_, i) => ({ op: 'create' as const, name: `b${n}-${i}.bench.test`, type: 'A', value: '192.0.2.1' }));
    ledger.execute({ kind: 'changeRecords', zone: 'bench.test', ops }, { actor: 'bench' });
    n++;
  }
  const rate = n / ((performance.now() - start) / 1000);
  ledger.close();
  return rate;
}

/** A log of `events` RecordCreated events in one zone (= a zone of that many records), written directly. */
function buildBigLog(path: string, events: number): void {
  const db = openDatabase(path);
  db.pragma('synchronous = OFF'); // building the fixture only; the measured paths use FULL
  const log = new EventLog(db);
  log.append([{ zone: 'big.test.', body: { type: 'ZoneCreated', payload: { primary_ns: 'ns.big.test.', admin_email: 'h.big.test.', ttl: 300, refresh: 3600, retry: 600, expire: 86400, minimum: 300 } } }], { actor: 'bench', expectedVersion: 0 });
  let version = 1;
  for (let done = 1; done < events; ) {
    const n = Math.min(10000, events - done);
    const drafts: EventDraft[] = [];
    for (let i = 0; i < n; i++) {
      const k = done + i;
      drafts.push({ zone: 'big.test.', body: { type: 'RecordCreated', payload: { id: `r${k}`, name: `h${k}.g${k % 100}.big.test.`, type: 'A', value: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`, ttl: 300 } } });
    }
    const stored = log.append(drafts, { actor: 'bench', expectedVersion: version });
    version = stored[stored.length - 1].seq;
    done += n;
  }
  db.close();
}

function child(mode: string, path: string): void {
  const t0 = performance.now();
  const ledger = Ledger.open({ path });
  const ms = performance.now() - t0;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  const out: Record<string, number> = { ms, rssMiB, seq: ledger.state.seq, checkpointSeq: ledger.startup.checkpointSeq ?? 0 };
  if (mode === 'lookup') {
    const z = ledger.zone('big.test.')!;
    const names = Array.from({ length: 100000 }, (_, i) => `h${(i * 7919) % (z.records.size - 1) + 1}.g${((i * 7919) % (z.records.size - 1) + 1) % 100}.big.test.`);
    const labels = names.map((n) => labelsBelow(n, z.apexLabels));
    let found = 0;
    const t1 = performance.now();
    for (let r = 0; r < 10; r++) for (const l of labels) if (lookup(z.tree, l).exact) found++;
    out.lookupNs = ((performance.now() - t1) * 1e6) / (labels.length * 10);
    out.found = found;
  }
  if (mode === 'checkpoint') {
    const t1 = performance.now();
    ledger.checkpoint();
    out.writeMs = performance.now() - t1;
  }
  ledger.close();
  process.stdout.write(JSON.stringify(out));
}

function runChild(mode: string, path: string): Record<string, number> {
  const r = spawnSync(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', self, 'child', mode, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function main(): void {
  if (args[0] === 'child') return child(args[1], args[2]);
  const seconds = opt('seconds', 5);
  const events = opt('events', 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'mcns-bench-ledger-'));
  try {
    const floor = rawFloor(dir, seconds);
    const walFloor = rawFloor(dir, seconds, true);
    const singles = ledgerSingles(dir, seconds);
    const batches = ledgerBatches(dir, seconds);
    const big = join(dir, 'big.db');
    const tb = performance.now();
    buildBigLog(big, events);
    const buildS = (performance.now() - tb) / 1000;
    const replay = runChild('replay', big); // no checkpoint yet: full replay
    const cpWrite = runChild('checkpoint', big); // replays again, then writes the checkpoint
    const cpLoad = runChild('lookup', big); // loads the checkpoint, then measures lookups
    const lines = [
      `### Ledger (${new Date().toISOString().slice(0, 10)}, \`node --import tsx bench/ledger/run.ts\`, ${seconds} s per rate)`,
      '',
      '| measure | result | target |',
      '|---|---|---|',
      `| raw floor: bare better-sqlite3 (default journal) one-row synchronous=FULL transactions | ${floor.toFixed(0)}/s | — |`,
      `| the same loop in WAL mode (context: what the ledger's journal mode allows) | ${walFloor.toFixed(0)}/s | — |`,
      `| durable single-record writes (Ledger.execute: decide, 2 events, hash chain, projection) | ${singles.toFixed(0)}/s = ${((singles / floor) * 100).toFixed(0)}% of the floor, ${((singles / walFloor) * 100).toFixed(0)}% of the WAL loop | ≥ 60% of the floor |`,
      `| 1,000-record batches | ${batches.toFixed(2)}/s (${(batches * 1000).toFixed(0)} records/s) | — |`,
      `| full replay of ${events.toLocaleString('en')} events | ${(replay.ms / 1000).toFixed(2)} s, peak RSS ${replay.rssMiB.toFixed(0)} MiB | < 20 s |`,
      `| checkpoint write of a ${(events - 1).toLocaleString('en')}-record zone | ${(cpWrite.writeMs / 1000).toFixed(2)} s | — |`,
      `| checkpoint load of that zone (start-up) | ${(cpLoad.ms / 1000).toFixed(2)} s, peak RSS ${cpLoad.rssMiB.toFixed(0)} MiB | < 5 s, < 1 GiB |`,
      `| one trie lookup on that zone | ${cpLoad.lookupNs.toFixed(0)} ns | — |`,
      '',
      `(fixture log of ${events.toLocaleString('en')} events built in ${buildS.toFixed(1)} s; checkpoint used at start-up: seq ${cpLoad.checkpointSeq})`,
      '',
      'The floor of the write target is "a bare better-sqlite3 one-row synchronous=FULL transaction loop",',
      'which the issue puts at about 3,900/s on this machine. Bare (default rollback journal) it is the',
      'first row; the ledger itself runs in WAL, whose loop is the second row and the stricter comparison.',
      `Against the issue's 3,900/s the ledger's rate is ${((singles / 3900) * 100).toFixed(0)}%.`,
      'Start-up runs are separate processes started with --max-semi-space-size=64 (bin/mcns runs with the default young generation).',
      '',
    ];
    const text = lines.join('\n');
    process.stdout.write(text + '\n');
    if (args.includes('--write-results')) writeSection('Ledger', text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Replace (or add) this benchmark's section of bench/RESULTS.md, leaving other sections alone. */
function writeSection(name: string, text: string): void {
  const file = fileURLToPath(new URL('../RESULTS.md', import.meta.url));
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nFigures measured on the project machine (2 cores, 24 GiB). Each section says the command that produced it.\n\n';
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${text}\n${end}`;
  const re = new RegExp(`${start}[\\s\\S]*?${end}`);
  writeFileSync(file, re.test(current) ? current.replace(re, block) : `${current.trimEnd()}\n\n${block}\n`);
}

main();
