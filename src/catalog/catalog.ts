/**
 * The catalog zone's content (RFC 9432, schema version 2), as a pure function of the zones served
 * and the event that created each one:
 *
 *     catalog.            NS    invalid.
 *     version.catalog.    TXT   "2"
 *     <id>.zones.catalog. PTR   example.com.          one member per zone
 *     group.<id>.zones... TXT   "<group>"             optional, set per zone (setZoneGroup)
 *
 * A member's ID is derived from the hash of the ZoneCreated event of the zone's current life, so it
 * is stable for as long as the zone exists, and a zone deleted and created again gets a new ID,
 * which tells consumers to drop their copy and start afresh (RFC 9432 5.6, member zone reset).
 */
import { canonicalValue } from '../records/rdata.ts';
import type { DesiredRecord } from '../projections/decide.ts';

/** The catalog schema version MCNS produces. */
export const CATALOG_SCHEMA_VERSION = '2';

/** SOA of a new catalog zone: names under .invalid, as RFC 9432 4.1 suggests for the NS. */
export const CATALOG_SOA = { primary_ns: 'invalid.', admin_email: 'invalid.', ttl: 0, refresh: 3600, retry: 600, expire: 2147483646, minimum: 0 } as const;

/** A zone the catalog lists: its name and the hash of the event that created it. */
export interface CatalogMember {
  zone: string;
  createdHash: string;
}

/** The member ID for a zone created by the event with hash `createdHash`: one DNS label. */
export function memberId(createdHash: string): string {
  return `m${createdHash.slice(0, 20).toLowerCase()}`;
}

/** The owner of a member's PTR: `<id>.zones.<catalog>`. */
export function memberOwner(catalog: string, id: string): string {
  return `${id}.zones.${catalog}`;
}

/** The owner of a member's group property. */
export function groupOwner(catalog: string, id: string): string {
  return `group.${memberOwner(catalog, id)}`;
}

/** A TXT value holding one string, canonical as the ledger stores it. */
function txt(text: string): string {
  return canonicalValue('TXT', `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`);
}

/**
 * The records the catalog should hold: apex NS, version, one PTR per member, and the group of each
 * member that has one (`groups`: member ID -> group).
 */
export function catalogRecords(catalog: string, members: readonly CatalogMember[], groups: ReadonlyMap<string, string> = new Map()): DesiredRecord[] {
  const out: DesiredRecord[] = [
    { name: catalog, type: 'NS', value: 'invalid.', ttl: 0 },
    { name: `version.${catalog}`, type: 'TXT', value: txt(CATALOG_SCHEMA_VERSION), ttl: 0 },
  ];
  for (const m of members) {
    const id = memberId(m.createdHash);
    out.push({ name: memberOwner(catalog, id), type: 'PTR', value: canonicalValue('PTR', m.zone), ttl: 0 });
    const group = groups.get(id);
    if (group !== undefined) out.push({ name: groupOwner(catalog, id), type: 'TXT', value: txt(group), ttl: 0 });
  }
  return out;
}

/** A group name as a property value: one TXT string of 1..255 printable characters. */
export function checkGroup(group: string): string {
  if (group.length === 0 || group.length > 255 || !/^[\x21-\x7e][\x20-\x7e]*$/.test(group)) {
    throw new Error('must be 1 to 255 printable ASCII characters, not starting with a space');
  }
  return group;
}
