/**
 * Apply the feed's events to the records a page holds, so a live change to a 100,000-record zone
 * costs a few array operations instead of reading the zone again. Events that reshape the zone
 * (SOA change, restore, import, delete) ask for a reload instead.
 */
import type { FeedEvent } from './feed.ts';
import type { DnsRecord, Zone } from './types.ts';

/** A record's name relative to its zone ("@" for the apex), as the API shows it. */
export function relativeTo(fqdn: string, zone: string): string {
  const apex = zone === '.' ? '.' : `${zone.replace(/\.$/, '')}.`;
  if (fqdn === apex) return '@';
  return apex === '.' ? fqdn.replace(/\.$/, '') : fqdn.slice(0, -(apex.length + 1));
}

/** The zone and records after `events`, or undefined when only a reload can tell. */
export function applyEvents(zone: Zone, records: DnsRecord[], events: FeedEvent[]): { zone: Zone; records: DnsRecord[] } | undefined {
  const byId = new Map(records.map((r) => [r.id, r]));
  let serial = zone.serial;
  for (const e of events) {
    const p = e.payload;
    switch (e.event) {
      case 'RecordCreated':
      case 'RecordUpdated':
        byId.set(p.id, { id: p.id, name: relativeTo(p.name, zone.name), fqdn: p.name, type: p.type, value: p.value, ttl: p.ttl });
        break;
      case 'RecordDeleted':
        byId.delete(p.id);
        break;
      case 'SerialBumped':
        serial = p.serial;
        break;
      default:
        return undefined;
    }
  }
  const next = [...byId.values()];
  return { zone: { ...zone, serial, record_count: next.length }, records: next };
}
