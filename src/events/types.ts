/**
 * Event types of the zone ledger, as a zod discriminated union on `type`.
 *
 * Every event type has a schema version. Events are stored with the version they were written with
 * and are upcast to the current version when read, so an event written by any earlier release stays
 * readable forever (see upcast.ts). Names in payloads are absolute, lowercase, with a trailing dot.
 */
import { z } from 'zod';
import { MAX_TTL, RR_TYPES } from '../records/types.ts';

const ttl = z.number().int().min(0).max(MAX_TTL);
const u32 = z.number().int().min(0).max(4294967295);
const name = z.string().min(1).max(1100);
const recordId = z.string().min(1).max(64);
/** A known mnemonic, or TYPEnnn for a type held as RFC 3597 data (the ledger checks the code). */
const rrType = z.union([z.enum(RR_TYPES), z.templateLiteral(['TYPE', z.number().int().min(1).max(65535)])]);

/** SOA parameters a zone is created or updated with (the serial is the ledger's, not the user's). */
export const SoaParams = z.object({
  primary_ns: name,
  admin_email: name,
  ttl,
  refresh: u32,
  retry: u32,
  expire: u32,
  minimum: u32,
}).strict();
/** Parsed {@link SoaParams}. */
export type SoaParams = z.infer<typeof SoaParams>;

/** A zone came into being (or back, after a delete). */
export const ZoneCreated = z.object({ type: z.literal('ZoneCreated'), payload: SoaParams });
/** SOA parameters changed; only the fields present change. */
export const ZoneUpdated = z.object({ type: z.literal('ZoneUpdated'), payload: SoaParams.partial().strict() });
/** The zone and all its records are gone from DNS; its history stays. */
export const ZoneDeleted = z.object({ type: z.literal('ZoneDeleted'), payload: z.object({}).strict() });
/** One record added. `id` is stable across updates and restores. */
export const RecordCreated = z.object({
  type: z.literal('RecordCreated'),
  payload: z.object({ id: recordId, name, type: rrType, value: z.string().max(70000), ttl }).strict(),
});
/** One record changed; the payload is the record's full new state (history and IXFR need no lookup). */
export const RecordUpdated = z.object({
  type: z.literal('RecordUpdated'),
  payload: z.object({ id: recordId, name, type: rrType, value: z.string().max(70000), ttl }).strict(),
});
/** One record removed; name and type are kept for history filters. */
export const RecordDeleted = z.object({
  type: z.literal('RecordDeleted'),
  payload: z.object({ id: recordId, name, type: rrType }).strict(),
});
/** The zone's SOA serial for the batch it closes: one per batch, never decreasing (RFC 1982). */
export const SerialBumped = z.object({ type: z.literal('SerialBumped'), payload: z.object({ serial: u32 }).strict() });
/** Marks a batch that makes the zone equal to its state at `at_seq`; the changes follow in the batch. */
export const ZoneRestored = z.object({
  type: z.literal('ZoneRestored'),
  payload: z.object({ at_seq: z.number().int().min(0), at: z.string().max(100).optional() }).strict(),
});
/** Marks a batch that makes the zone equal to an imported zone file; the differences follow. */
export const ZoneImported = z.object({
  type: z.literal('ZoneImported'),
  payload: z.object({ records: z.number().int().min(0), source: z.string().max(300).optional() }).strict(),
});

const dnssecAlgorithm = z.enum(['ecdsap256sha256', 'ed25519']);
const keyTag = z.number().int().min(0).max(65535);
const keyState = z.enum(['created', 'published', 'active', 'retired', 'removed']);
/** Seconds since the epoch: when a DNSSEC decision takes effect (the lifecycle's clock, not the append time). */
const epochSeconds = z.number().int().min(0).max(4294967295);

/** DNSSEC turned on or off for the zone, with its algorithm and denial of existence. */
export const DnssecConfigured = z.object({
  type: z.literal('DnssecConfigured'),
  payload: z.object({ enabled: z.boolean(), algorithm: dnssecAlgorithm, denial: z.enum(['nsec', 'nsec3']) }).strict(),
});
/**
 * A signing key came into being. Only its public half is here (base64 of the DNSKEY public-key
 * field); the private key is in the dnssec_private_keys table, never in the log.
 */
export const DnssecKeyCreated = z.object({
  type: z.literal('DnssecKeyCreated'),
  payload: z.object({
    tag: keyTag,
    role: z.enum(['ksk', 'zsk', 'csk']),
    algorithm: dnssecAlgorithm,
    public_key: z.string().min(1).max(200),
    state: keyState,
    /** Its DS is wanted at the parent (listed in CDS/CDNSKEY). */
    ds: z.boolean(),
    /** The key a rollover replaces with this one. */
    replaces: keyTag.optional(),
    at: epochSeconds,
  }).strict(),
});
/** A key moved in its lifecycle (a rollover step, or removal when DNSSEC is turned off). */
export const DnssecKeyChanged = z.object({
  type: z.literal('DnssecKeyChanged'),
  payload: z.object({ tag: keyTag, state: keyState, ds: z.boolean(), reason: z.string().max(300), at: epochSeconds }).strict(),
});

/** Any event's type and payload, in the current schema versions. */
export const EventBody = z.discriminatedUnion('type', [
  ZoneCreated, ZoneUpdated, ZoneDeleted, RecordCreated, RecordUpdated, RecordDeleted,
  SerialBumped, ZoneRestored, ZoneImported, DnssecConfigured, DnssecKeyCreated, DnssecKeyChanged,
]);
/** Parsed {@link EventBody}. */
export type EventBody = z.infer<typeof EventBody>;
/** The `type` of an event. */
export type EventType = EventBody['type'];
/** The payload type of a given event type. */
export type PayloadOf<T extends EventType> = Extract<EventBody, { type: T }>['payload'];

/** Current schema version of every event type; bump it and add an upcaster when a payload changes. */
export const CURRENT_VERSION: Record<EventType, number> = {
  ZoneCreated: 2,
  ZoneUpdated: 1,
  ZoneDeleted: 1,
  RecordCreated: 2,
  RecordUpdated: 1,
  RecordDeleted: 1,
  SerialBumped: 1,
  ZoneRestored: 1,
  ZoneImported: 1,
  DnssecConfigured: 1,
  DnssecKeyCreated: 1,
  DnssecKeyChanged: 1,
};

/** An event about to be appended: what the decider produced. */
export interface EventDraft<B extends EventBody = EventBody> {
  zone: string;
  body: B;
}

/** An event as stored in the log, upcast to the current schema version. */
export interface StoredEvent {
  seq: number;
  /** Milliseconds since the epoch. */
  ts: number;
  actor: string;
  zone: string;
  batchId: string;
  /** Schema version the event was written with (the body is already upcast). */
  version: number;
  body: EventBody;
  hash: string;
}
