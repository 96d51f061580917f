/**
 * Zone files in and out of the ledger: a zone file becomes an `importZone` command (the ledger
 * writes only the differences), and a zone state becomes a zone file.
 */
import { invalid } from '../errors.ts';
import { isInZone } from '../records/names.ts';
import { parseZoneFile, ZoneFileError } from '../zonefile/reader.ts';
import { writeZoneFile } from '../zonefile/writer.ts';
import type { Command, DesiredRecord } from './decide.ts';
import { zoneName } from './decide.ts';
import type { ZoneState } from './state.ts';
import { allRecords } from './trie.ts';

/** Parse a zone file for `zone` into the command that makes the ledger's zone equal to it. */
export function importCommand(zone: string, text: string, source?: string): Extract<Command, { kind: 'importZone' }> {
  const origin = zoneName(zone);
  let parsed;
  try {
    parsed = parseZoneFile(text, { origin });
  } catch (err) {
    if (err instanceof ZoneFileError) throw invalid('zone file', err.message);
    throw err;
  }
  let soa: Extract<Command, { kind: 'importZone' }>['soa'];
  let serial: number | undefined;
  const records: DesiredRecord[] = [];
  for (const r of parsed.records) {
    if (!isInZone(r.name, origin)) throw invalid('zone file', `line ${r.line}: ${r.name} is outside zone ${origin}`);
    if (r.rdata.type === 'SOA') {
      if (r.name !== origin) throw invalid('zone file', `line ${r.line}: SOA must be at the apex ${origin}, not ${r.name}`);
      if (soa) throw invalid('zone file', `line ${r.line}: a second SOA record`);
      const d = r.rdata;
      soa = { primary_ns: d.mname, admin_email: d.rname, ttl: r.ttl, refresh: d.refresh, retry: d.retry, expire: d.expire, minimum: d.minimum };
      serial = d.serial;
    } else {
      records.push({ name: r.name, type: r.type, value: r.value, ttl: r.ttl });
    }
  }
  return { kind: 'importZone', zone: origin, soa, serial, records, source };
}

/** The zone as an RFC 1035 zone file (SOA first, canonical order). */
export function exportZone(zone: ZoneState, header?: string): string {
  return writeZoneFile({ origin: zone.name, records: [...allRecords(zone.tree)] }, header ? { header } : undefined);
}
