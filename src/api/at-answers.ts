/**
 * The read-only API answers computed from one projection (zones, a zone, records, a zone file),
 * as plain data. One function serves both the current projection (in the main thread) and a past
 * one (folded in the point-in-time worker), so an `?at=` answer is computed exactly as a current one.
 */
import type { LedgerState } from '../projections/state.ts';
import { exportZone } from '../projections/zone-files.ts';
import { displayZone, recordView, sortRecords, zoneView, type RecordView, type ZoneView } from './views.ts';

/** A read of one projection. Names are absolute and validated by the caller (the service). */
export type AtQuery =
  | { kind: 'zones' }
  | { kind: 'zone'; zone: string }
  | { kind: 'records'; zone: string; name?: string; type?: string }
  /** `note` ends the zone file's header comment (e.g. " (at=1234)"). */
  | { kind: 'export'; zone: string; note: string };

/** What each kind of query answers. */
export interface AtValues {
  zones: { zones: ZoneView[] };
  zone: { zone: ZoneView };
  records: { records: RecordView[] };
  export: string;
}

/** The answer to a query: its value, or `missing` when the zone it names does not exist in that state. */
export type AtAnswer<K extends AtQuery['kind'] = AtQuery['kind']> = { missing: true } | { missing?: false; value: AtValues[K] };

/** Answer `q` from `state`. */
export function answerAt<Q extends AtQuery>(state: LedgerState, q: Q): AtAnswer<Q['kind']> {
  if (q.kind === 'zones') {
    const zones = [...state.zones.values()].map(zoneView).sort((a, b) => (a.name < b.name ? -1 : 1));
    return { value: { zones } } as AtAnswer<Q['kind']>;
  }
  const z = state.zones.get(q.zone);
  if (!z) return { missing: true };
  let value: AtValues[AtQuery['kind']];
  switch (q.kind) {
    case 'zone':
      value = { zone: zoneView(z) };
      break;
    case 'records': {
      const out: RecordView[] = [];
      for (const r of z.records.values()) {
        if (q.name !== undefined && r.name !== q.name) continue;
        if (q.type !== undefined && r.type !== q.type) continue;
        out.push(recordView(q.zone, r));
      }
      value = { records: sortRecords(out) };
      break;
    }
    case 'export':
      value = exportZone(z, `${displayZone(q.zone)} exported by MCNS at seq ${state.seq}${q.note}`);
      break;
  }
  return { value } as AtAnswer<Q['kind']>;
}
