/**
 * Zone file writer: `$ORIGIN`, the SOA first, then the other records in DNS canonical name order
 * (RFC 4034 section 6.1) and by type code, one record per line, owner names relative to the
 * origin, names inside values absolute (so the text means the same whatever $ORIGIN is in force).
 */
import { rrTypeCode, type RRType } from '../records/types.ts';
import { canonicalNameKey, normalizeName, relativeName } from '../records/names.ts';
import { canonicalValue } from '../records/rdata.ts';

/**
 * The one header line of an export (the zone, the serial it is served with, and the log position it
 * was read at, plus an optional note such as "at=2026-12-01T10:00:00Z"), for every export path to share.
 */
export function exportHeader(zone: string, serial: number, seq: number, note?: string): string {
  return `${zone} serial ${serial}, log seq ${seq}${note ? ` (${note})` : ''}`;
}

/** Widest owner column that is padded; longer owners just push the rest of their line right. */
const MAX_NAME_COLUMN = 40;

/**
 * Render a zone as an RFC 1035 master file. Values are re-canonicalised (any names in them are
 * taken as absolute, as in the API); `opts.header` lines are written first as ";" comments.
 */
export function writeZoneFile(
  zone: { origin: string; records: Array<{ name: string; type: RRType; ttl: number; value: string }> },
  opts: { header?: string } = {},
): string {
  const origin = normalizeName(zone.origin);
  const rows = zone.records.map((r) => {
    const name = normalizeName(r.name);
    return {
      soa: r.type === 'SOA' ? 0 : 1,
      key: canonicalNameKey(name),
      code: rrTypeCode(r.type),
      owner: relativeName(name, origin),
      ttl: String(r.ttl),
      type: r.type,
      value: canonicalValue(r.type, r.value),
    };
  });
  rows.sort(
    (a, b) =>
      a.soa - b.soa ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
      a.code - b.code ||
      (a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
  );

  let nameWidth = 1;
  let ttlWidth = 1;
  let typeWidth = 1;
  for (const r of rows) {
    if (r.owner.length > nameWidth) nameWidth = Math.min(r.owner.length, MAX_NAME_COLUMN);
    if (r.ttl.length > ttlWidth) ttlWidth = r.ttl.length;
    if (r.type.length > typeWidth) typeWidth = r.type.length;
  }

  const lines: string[] = [];
  if (opts.header !== undefined) {
    for (const h of opts.header.split(/\r?\n/)) lines.push(h === '' ? ';' : `; ${h}`);
  }
  lines.push(`$ORIGIN ${origin}`);
  for (const r of rows) {
    lines.push(`${r.owner.padEnd(nameWidth)} ${r.ttl.padStart(ttlWidth)} IN ${r.type.padEnd(typeWidth)} ${r.value}`);
  }
  return lines.join('\n') + '\n';
}
