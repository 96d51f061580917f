/**
 * Zone files in and out of the ledger: a zone file becomes an `importZone` command (the ledger
 * writes only the differences), and a zone state becomes a zone file.
 */
import { invalid } from '../errors.ts';
import { formatProblem, parseZoneFile, ZoneFileError } from '../zonefile/reader.ts';
import { writeZoneFile } from '../zonefile/writer.ts';
import type { Command, DesiredRecord } from './decide.ts';
import { zoneName } from './decide.ts';
import type { ZoneState } from './state.ts';
import { allRecords } from './trie.ts';

/** How the text of an import was obtained. */
export interface ImportSource {
  /** Recorded on the ZoneImported event (a file name, "api"). */
  source?: string;
  /**
   * The path the text was read from, so $INCLUDE can be resolved relative to it; absent for API
   * imports, which refuse $INCLUDE (see ZoneFileOptions.path).
   */
  path?: string;
}

/**
 * Parse a zone file for `zone` into the command that makes the ledger's zone equal to it, with the
 * reader's warnings ("line 7: TTL 60 differs from ...") for the caller to show.
 */
export function readImport(zone: string, text: string, from: ImportSource = {}): { command: Extract<Command, { kind: 'importZone' }>; warnings: string[] } {
  const origin = zoneName(zone);
  let parsed;
  try {
    parsed = parseZoneFile(text, { origin, path: from.path });
  } catch (err) {
    if (err instanceof ZoneFileError) throw invalid('zone file', err.message);
    throw err;
  }
  let soa: Extract<Command, { kind: 'importZone' }>['soa'];
  let serial: number | undefined;
  // The reader's records are the desired records themselves (decide takes their values as checked:
  // precheckedLength): no second object for each of a million records. The reader refused already
  // any owner outside the zone, an SOA away from the apex and a second SOA.
  const records: DesiredRecord[] = [];
  for (const r of parsed.records) {
    if (r.soa) {
      const d = r.soa;
      soa = { primary_ns: d.mname, admin_email: d.rname, ttl: r.ttl, refresh: d.refresh, retry: d.retry, expire: d.expire, minimum: d.minimum };
      serial = d.serial;
    } else records.push(r);
  }
  return { command: { kind: 'importZone', zone: origin, soa, serial, records, source: from.source }, warnings: parsed.warnings.map(formatProblem) };
}

/** {@link readImport} without the warnings (seeding, tests). */
export function importCommand(zone: string, text: string, source?: string): Extract<Command, { kind: 'importZone' }> {
  return readImport(zone, text, { source }).command;
}

/** The zone as an RFC 1035 zone file (SOA first, canonical order). */
export function exportZone(zone: ZoneState, header?: string): string {
  return writeZoneFile({ origin: zone.name, records: [...allRecords(zone.tree)] }, header ? { header } : undefined);
}
