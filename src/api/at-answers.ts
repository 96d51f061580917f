/**
 * The read-only API answers computed from one projection (zones, a zone, records, a zone file),
 * as plain data. One function serves both the current projection (in the main thread) and a past
 * one (folded in the point-in-time worker), so an `?at=` answer is computed exactly as a current one.
 */
import type { LedgerState } from '../projections/state.ts';
import { exportZone } from '../projections/zone-files.ts';
import { displayZone, exportHeader, recordPage, zoneView, type RecordView, type ZoneView } from './views.ts';

/** A read of one projection. Names are absolute and validated by the caller (the service). */
export type AtQuery =
  | { kind: 'zones' }
  | { kind: 'zone'; zone: string }
  /** Without `limit`, every matching record; with it, one page after `cursor` (the previous page's next_cursor). */
  | { kind: 'records'; zone: string; name?: string; type?: string; limit?: number; cursor?: string }
  /** `note` ends the zone file's header line in parentheses (e.g. "at=1234"; empty: none). */
  | { kind: 'export'; zone: string; note: string };

/** What each kind of query answers. */
export interface AtValues {
  zones: { zones: ZoneView[] };
  zone: { zone: ZoneView };
  records: { records: RecordView[]; next_cursor?: string };
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
    case 'records':
      value = recordPage(z, q);
      break;
    case 'export':
      value = exportZone(z, exportHeader(displayZone(q.zone), z.serial, state.seq, q.note || undefined));
      break;
  }
  return { value } as AtAnswer<Q['kind']>;
}
