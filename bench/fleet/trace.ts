/**
 * Where a change's way to a secondary spends its time, from a `bench/fleet/run.ts --trace DIR` run:
 * for every change and secondary, MCNS's debug log gives the NOTIFY sent and acknowledged (by
 * target), the secondary's SOA query and its IXFR served (by source address: each secondary reaches
 * MCNS from its own), and the bench gives the 2xx and the moment the secondary served the serial.
 * Prints p50/p99 of each step, and how many changes waited for each kind of event. A secondary's
 * wait between its SOA query and its IXFR request is mostly its TCP connection waiting to be
 * accepted (bench/fleet/probe.ts, which --trace runs, measures that wait directly).
 *
 *     node --import tsx bench/fleet/trace.ts DIR
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Kind = 'knot' | 'bind' | 'nsd';
interface Change {
  zone: string;
  serial: number;
  at: number;
  visible: Partial<Record<Kind, number>>;
}
interface LogLine {
  time: number;
  msg: string;
  zone?: string;
  serial?: number;
  target?: string;
  peer?: string;
  qtype?: number;
  to?: number;
  from?: number;
  attempts?: number;
  how?: string;
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: trace.ts DIR (written by bench/fleet/run.ts --trace DIR)');
const { ports, sources, changes } = JSON.parse(readFileSync(join(dir, 'changes.json'), 'utf8')) as { ports: Record<Kind, number>; sources: Record<Kind, string>; changes: Change[] };
const lines: LogLine[] = readFileSync(join(dir, 'mcns.log'), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => {
    // pino writes ISO times in this project's logger; zones are absolute names.
    const line = JSON.parse(l) as LogLine & { time: number | string };
    return { ...line, time: typeof line.time === 'string' ? Date.parse(line.time) : line.time, zone: line.zone?.replace(/\.$/, '') };
  });

/** Events by (kind of event, zone, secondary), in time order. */
const events = new Map<string, LogLine[]>();
const add = (what: string, zone: string, kind: Kind, l: LogLine): void => {
  const k = `${what}|${zone}|${kind}`;
  let list = events.get(k);
  if (!list) events.set(k, (list = []));
  list.push(l);
};
const byTarget = new Map<string, Kind>(Object.entries(ports).map(([k, p]) => [`127.0.0.1:${p}`, k as Kind]));
const bySource = new Map<string, Kind>(Object.entries(sources).map(([k, a]) => [a, k as Kind]));
for (const l of lines) {
  if (!l.zone) continue;
  if (l.msg === 'NOTIFY sent' && l.target) add('sent', l.zone, byTarget.get(l.target)!, l);
  else if (l.msg === 'NOTIFY acknowledged' && l.target) add('acked', l.zone, byTarget.get(l.target)!, l);
  else if (l.msg === 'signed query' && l.qtype === 6 && bySource.has(l.peer!)) add('soa', l.zone, bySource.get(l.peer!)!, l);
  else if (l.msg === 'IXFR request' && bySource.has(l.peer!)) add('ixfrreq', l.zone, bySource.get(l.peer!)!, l);
  else if (l.msg === 'zone transfer sent' && bySource.has(l.peer!)) add('served', l.zone, bySource.get(l.peer!)!, l);
}

/** First event at or after `t` matching `ok`. */
const first = (what: string, zone: string, kind: Kind, t: number, ok: (l: LogLine) => boolean = () => true): LogLine | undefined =>
  (events.get(`${what}|${zone}|${kind}`) ?? []).find((l) => l.time >= t && ok(l));

const pct = (xs: number[], p: number): number | string => {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

for (const kind of ['knot', 'bind', 'nsd'] as const) {
  const steps: Record<string, number[]> = { '2xx->NOTIFY sent': [], 'sent->acked': [], 'sent->SOA query': [], 'SOA query->IXFR request': [], 'IXFR request->served': [], 'served->visible': [], '2xx->visible': [] };
  let noSoa = 0;
  let retried = 0;
  const slow: Array<[number, string]> = [];
  for (const c of changes) {
    const vis = c.visible[kind];
    if (vis === undefined) continue;
    steps['2xx->visible'].push(vis - c.at);
    // The NOTIFY carrying this serial (or a later one replacing it); the 2xx can come after it is sent.
    const sent = first('sent', c.zone, kind, 0, (l) => (l.serial ?? 0) >= c.serial);
    const acked = first('acked', c.zone, kind, 0, (l) => (l.serial ?? 0) >= c.serial);
    // The transfer that brought this serial: the first one served whose end serial covers it.
    const served = first('served', c.zone, kind, 0, (l) => (l.serial ?? 0) >= c.serial);
    const req = served ? [...(events.get(`ixfrreq|${c.zone}|${kind}`) ?? [])].reverse().find((l) => l.time <= served.time) : undefined;
    const soa = req ? [...(events.get(`soa|${c.zone}|${kind}`) ?? [])].reverse().find((l) => l.time <= req.time) : undefined;
    if (sent) steps['2xx->NOTIFY sent'].push(sent.time - c.at);
    if (sent && acked) steps['sent->acked'].push(acked.time - sent.time);
    if (sent && acked && acked.attempts !== undefined && acked.attempts > 1) retried++;
    if (sent && soa && soa.time >= sent.time) steps['sent->SOA query'].push(soa.time - sent.time);
    else noSoa++;
    if (soa && req) steps['SOA query->IXFR request'].push(req.time - soa.time);
    if (req && served) steps['IXFR request->served'].push(served.time - req.time);
    if (served) steps['served->visible'].push(vis - served.time);
    if (vis - c.at > 1000) {
      const rel = (l?: LogLine): string => (l ? String(l.time - c.at) : '-');
      slow.push([vis - c.at, `  ${c.zone} serial ${c.serial}: 2xx+${vis - c.at} visible; sent +${rel(sent)} acked +${rel(acked)} soa +${rel(soa)} ixfr-req +${rel(req)} (from ${req?.from}) served +${rel(served)} (to ${served?.serial})`]);
    }
  }
  const how = new Map<string, number>();
  for (const [k, list] of events) if (k.startsWith('served|') && k.endsWith(`|${kind}`)) for (const l of list) how.set(l.how ?? '?', (how.get(l.how ?? '?') ?? 0) + 1);
  console.log(`${kind}: transfers ${[...how].map(([h, n]) => `${h} ${n}`).join(', ')}`);
  for (const [name, xs] of Object.entries(steps)) console.log(`  ${name.padEnd(26)} p50 ${String(pct(xs, 50)).padStart(6)} ms  p99 ${String(pct(xs, 99)).padStart(6)} ms  (${xs.length})`);
  console.log(`  changes whose transfer had no SOA query after the NOTIFY: ${noSoa}; NOTIFYs acknowledged only after a retry: ${retried}`);
  slow.sort((a, b) => b[0] - a[0]);
  if (slow.length) console.log(`  ${slow.length} over 1 s; the slowest, relative to the 2xx in ms:\n${slow.slice(0, 6).map((x) => x[1]).join('\n')}`);
}
