/**
 * Serials that survive a restore-by-copy (RUNBOOK "Restore from Snapshot"). A snapshot holds the log
 * up to the moment it was taken; copying it over the database takes every zone's serial back, and
 * the next change would reuse a serial that the secondaries already hold with other content, so
 * they would never transfer again. Therefore:
 *
 * - every snapshot is marked (a row in its `meta` table: the live database never has one);
 * - the first start from a marked file moves every zone's serial past anything served before it,
 *   then removes the mark: past the newest serial the zone's configured secondaries report (SOA
 *   query) when all of them answer, otherwise by a stride larger than any run of changes a zone
 *   sees between two snapshots. The secondaries then ask for a serial that is not in the restored
 *   log (or newer than it), get a full transfer, and hold the restored content.
 *
 * The bump is one SerialBumped event per zone, like the one closing every batch (RFC 1982 increase,
 * actor `system`), so history shows it.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import Database from 'better-sqlite3';
import dnsPacket from 'dns-packet';
import type { Ledger } from '../../ledger.ts';
import { serialAdd, serialCompare } from '../../projections/serial.ts';
import { parseTarget } from './notify.ts';

/** The `meta` key that marks a snapshot (value: JSON {seq, created_at}). */
export const SNAPSHOT_MARK = 'snapshot_of';

/** How far a serial moves when not every secondary says what it holds (RFC 1982 allows up to 2^31 - 1). */
export const RESTORE_STRIDE = 100_000;

/** What a mark says: the log position and time of the snapshot. */
export interface SnapshotMark {
  seq: number;
  created_at: string;
}

/** Mark the snapshot file at `path` (written by VACUUM INTO, not yet in use). */
export function markSnapshot(path: string, mark: SnapshotMark): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(SNAPSHOT_MARK, JSON.stringify(mark));
  } finally {
    db.close();
  }
}

/** The mark of a database started from a snapshot copy (undefined for a live database). */
export function readSnapshotMark(db: Database.Database): SnapshotMark | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(SNAPSHOT_MARK) as { value: string } | undefined;
  if (!row) return undefined;
  try {
    return JSON.parse(row.value) as SnapshotMark;
  } catch {
    return { seq: 0, created_at: '' };
  }
}

/** What the secondaries of one zone said: the serials reported, and whether every one answered. */
export interface SecondaryReport {
  serials: number[];
  allAnswered: boolean;
}

/**
 * The serial to serve after the restore: past `current` and every reported serial; by
 * {@link RESTORE_STRIDE} when some secondary did not answer (it may hold anything up to there).
 */
export function serialAfterRestore(current: number, report: SecondaryReport, stride = RESTORE_STRIDE): number {
  let floor = current;
  for (const s of report.serials) if (serialCompare(s, floor) > 0) floor = s;
  let next = serialAdd(floor, 1);
  if (!report.allAnswered) {
    const strided = serialAdd(current, stride);
    if (serialCompare(strided, next) > 0) next = strided;
  }
  return next;
}

/** Ask `target` for `zone`'s SOA; the serial when it answers authoritatively, null when it does not carry it, undefined on no answer. */
export function querySerial(target: string, zone: string, timeoutMs: number): Promise<number | null | undefined> {
  const { host, port } = parseTarget(target);
  return new Promise((resolve) => {
    const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const id = Math.floor(Math.random() * 0x10000);
    const done = (v: number | null | undefined): void => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('message', (msg) => {
      try {
        const p = dnsPacket.decode(msg);
        if (p.id !== id) return;
        const soa = (p.answers ?? []).find((a) => a.type === 'SOA');
        const rcode = msg.readUInt16BE(2) & 0xf;
        done(rcode === 0 && soa ? (soa.data as { serial: number }).serial : null);
      } catch {
        // Not a DNS answer: keep waiting.
      }
    });
    const q = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ type: 'SOA', name: zone.replace(/\.$/, ''), class: 'IN' }] });
    sock.send(q, port, host);
  });
}

/** One zone moved by {@link bumpSerialsAfterRestore}. */
export interface BumpedZone {
  zone: string;
  from: number;
  to: number;
  reported: number[];
  allAnswered: boolean;
}

/**
 * If the ledger was started from a marked snapshot: move every zone's serial past what was served
 * before (see the module comment), then remove the mark. Returns the zones moved (none for a live
 * database). `targetsOf(zone)`: the secondaries configured for the zone.
 */
export async function bumpSerialsAfterRestore(
  ledger: Pick<Ledger, 'state' | 'db' | 'log'>,
  targetsOf: (zone: string) => readonly string[],
  opts: { timeoutMs?: number; stride?: number; now?: () => number } = {},
): Promise<{ mark?: SnapshotMark; bumped: BumpedZone[] }> {
  const mark = readSnapshotMark(ledger.db);
  if (!mark) return { bumped: [] };
  const zones = [...ledger.state.zones.values()];
  const reports = await Promise.all(
    zones.map(async (z) => {
      const targets = targetsOf(z.name);
      const answers = await Promise.all(targets.map((t) => querySerial(t, z.name, opts.timeoutMs ?? 1500)));
      const serials = answers.filter((a): a is number => typeof a === 'number');
      // A secondary that answered without the zone holds nothing of it; no targets: nothing is known.
      return { serials, allAnswered: targets.length > 0 && answers.every((a) => a !== undefined) };
    }),
  );
  const bumped: BumpedZone[] = [];
  for (const [i, z] of zones.entries()) {
    const current = ledger.state.zones.get(z.name);
    if (!current) continue;
    const to = serialAfterRestore(current.serial, reports[i], opts.stride);
    const head = ledger.state.heads.get(z.name);
    ledger.log.append([{ zone: z.name, body: { type: 'SerialBumped', payload: { serial: to } } }], {
      actor: 'system',
      expectedVersion: head?.seq ?? 0,
      now: opts.now?.() ?? Date.now(),
      surface: 'system',
    });
    bumped.push({ zone: z.name, from: current.serial, to, reported: reports[i].serials, allAnswered: reports[i].allAnswered });
  }
  ledger.db.prepare('DELETE FROM meta WHERE key = ?').run(SNAPSHOT_MARK);
  return { mark, bumped };
}
