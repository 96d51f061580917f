/** Display helpers: times in the reader's zone with the UTC instant on hover, values of a change side. */

export function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** One side of a change as text: a record's "value (ttl N)", or SOA fields "refresh=3600". */
export function side(v: Record<string, any> | undefined): string {
  if (!v) return '';
  if ('value' in v) return `${v.value}${v.ttl !== undefined ? `  (ttl ${v.ttl})` : ''}`;
  return Object.entries(v).map(([k, x]) => `${k}=${x}`).join(' ');
}

/** What an entry is about: the record's owner name and type, or the zone. */
export function subject(e: { payload: Record<string, any>; old?: Record<string, any>; new?: Record<string, any> }): string {
  const r = e.new ?? e.old ?? e.payload;
  if (r && typeof r.name === 'string' && typeof r.type === 'string') return `${r.name} ${r.type}`;
  return '';
}

const LABELS: Record<string, string> = {
  RecordCreated: 'created',
  RecordUpdated: 'updated',
  RecordDeleted: 'deleted',
  ZoneCreated: 'zone created',
  ZoneUpdated: 'SOA updated',
  ZoneDeleted: 'zone deleted',
  SerialBumped: 'serial',
  ZoneRestored: 'restored',
  ZoneImported: 'imported',
};

export function label(event: string): string {
  return LABELS[event] ?? event;
}

/** A datetime-local value ("2026-12-02T16:05") as an RFC 3339 instant. */
export function localToRfc3339(v: string): string | undefined {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
