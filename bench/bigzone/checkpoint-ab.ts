/**
 * Checkpoint decode CPU, this tree against another, alternating in one process (so both see the
 * same machine load): the newest checkpoint of DB decoded by this tree's `deserializeState` and by
 * OTHER's, `--rounds` times each, the order swapped every round, each decode's CPU time (user+system
 * of the process, GC threads included) and the main thread's alone. OTHER is a directory holding
 * another version's src/, for instance:
 *
 *   mkdir /tmp/old && git archive REV src | tar -x -C /tmp/old && ln -s "$PWD/node_modules" /tmp/old/
 *   node --expose-gc --import tsx bench/bigzone/checkpoint-ab.ts DB /tmp/old [--rounds N]
 *
 * DB is only read. Both versions must read the checkpoint's format.
 */
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deserializeState } from '../../src/projections/checkpoint.ts';

const [path, other] = process.argv.slice(2);
if (!path || !other) throw new Error('usage: checkpoint-ab.ts DB OTHER_TREE [--rounds N]');
const ri = process.argv.indexOf('--rounds');
const rounds = ri > 0 ? Number(process.argv[ri + 1]) : 4;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const theirs = (await import(pathToFileURL(join(resolve(other), 'src/projections/checkpoint.ts')).href)) as { deserializeState: typeof deserializeState };

const db = new Database(path, { readonly: true });
const row = db.prepare('SELECT data FROM checkpoints ORDER BY seq DESC LIMIT 1').get() as { data: Buffer } | undefined;
db.close();
if (!row) throw new Error(`${path} has no checkpoint`);

/** CPU ms of the main thread (Linux: /proc/self/task/PID/stat, utime + stime in clock ticks of 10 ms). */
function mainThreadMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const decoders = { this: deserializeState, other: theirs.deserializeState };
const results: Record<keyof typeof decoders, string[]> = { this: [], other: [] };
const held: { state?: unknown } = {};
console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; other = ${resolve(other)}`);
for (let r = 0; r < rounds; r++) {
  const order: Array<keyof typeof decoders> = r % 2 === 0 ? ['other', 'this'] : ['this', 'other'];
  for (const name of order) {
    delete held.state;
    gc();
    const main0 = mainThreadMs();
    const cpu0 = process.cpuUsage();
    held.state = decoders[name](row.data);
    const cpu = process.cpuUsage(cpu0);
    results[name].push(`${((cpu.user + cpu.system) / 1000).toFixed(0)}/${mainThreadMs() - main0}`);
  }
}
for (const name of ['other', 'this'] as const) console.log(`${name}: process/main-thread CPU ms per decode: ${results[name].join('  ')}`);
console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
