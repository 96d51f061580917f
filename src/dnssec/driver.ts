/**
 * What happens to signed zones without anyone acting: signatures refreshed before they expire, and
 * rollover steps taken when they fall due. Each is a batch in the log with actor `system` (a serial
 * bump after a refresh, so secondaries fetch the new signatures; a DnssecKeyChanged per key moved),
 * so the zone's history shows every step and a restart resumes where the log left off.
 */
import type { Logger } from 'pino';
import type { Command } from '../projections/decide.ts';
import type { LedgerState, ZoneState } from '../projections/state.ts';
import type { WriteOptions } from '../ledger.ts';
import { DEFAULT_ROLLOVER_TIMINGS, nextTransitions, type KeyStatus, type RolloverTimings } from './lifecycle.ts';
import type { ZoneSigners } from './signer.ts';

export interface DnssecDriverOptions {
  /** `tailPending`: the Ledger's deferred tail (LedgerOptions.deferTail) is not applied yet. */
  ledger: { readonly state: LedgerState; readonly tailPending?: boolean; execute(cmd: Command, opts: WriteOptions): unknown };
  signers: ZoneSigners;
  /** Seconds since the epoch (tests drive it). */
  clock: () => number;
  /** Rollover timings; the DNSKEY TTL and the largest zone TTL are taken from each zone. */
  timings?: Partial<RolloverTimings>;
  logger?: Logger;
  /** How often to look (default one minute). */
  intervalMs?: number;
}

const SYSTEM: WriteOptions = { actor: 'system', surface: 'system' };

/** The largest TTL of a zone's records (signatures made with a retired key live that long in caches). */
function maxTtl(zone: ZoneState): number {
  let max = zone.soa.ttl;
  for (const r of zone.records.values()) if (r.ttl > max) max = r.ttl;
  return max;
}

export class DnssecDriver {
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: DnssecDriverOptions) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Take every step that is due now; returns what was done, for tests and logs. */
  tick(): string[] {
    const done: string[] = [];
    const { ledger, signers, logger } = this.opts;
    // A tail still deferred: the start found no DNSSEC keys (startServer applies it at once when
    // there are) and nothing was written since, so nothing is due; reading `state` would apply it.
    if (ledger.tailPending) return done;
    for (const zone of signers.refresh()) {
      try {
        ledger.execute({ kind: 'dnssec', zone, change: { op: 'resign' } }, SYSTEM);
        done.push(`${zone}: signatures refreshed`);
      } catch (err) {
        logger?.error({ err, zone }, 'DNSSEC: could not record the signature refresh');
      }
    }
    const now = this.opts.clock();
    for (const [name, zone] of ledger.state.zones.entries()) {
      const d = zone.dnssec;
      if (!d?.enabled || !d.keys.some((k) => k.replaces !== undefined)) continue;
      const keys: KeyStatus[] = d.keys.filter((k) => k.state !== 'removed').map((k) => ({ tag: k.tag, role: k.role, state: k.state, since: k.since, ds: k.ds, replaces: k.replaces }));
      const timings: RolloverTimings = { ...DEFAULT_ROLLOVER_TIMINGS, ...this.opts.timings, dnskeyTtl: zone.soa.ttl, maxZoneTtl: maxTtl(zone) };
      const due = nextTransitions(keys, timings).filter((t) => t.at <= now);
      if (due.length === 0) continue;
      try {
        ledger.execute({ kind: 'dnssec', zone: name, change: { op: 'advance', steps: due } }, SYSTEM);
        for (const t of due) {
          done.push(`${name}: key ${t.tag} ${t.state}`);
          logger?.info({ zone: name, tag: t.tag, state: t.state, ds: t.ds, reason: t.reason }, 'DNSSEC key lifecycle step');
        }
      } catch (err) {
        logger?.error({ err, zone: name }, 'DNSSEC: could not record a rollover step');
      }
    }
    return done;
  }
}
