/**
 * Upcasters: turn a payload written with an older schema version into the current one.
 * Each step is `version N -> N+1` for one event type; reading applies them in order. Never delete a
 * step: the log keeps every event ever written, and the fixture test/fixtures/events-v1.json holds them.
 */
import { CURRENT_VERSION, EventBody, type EventType } from './types.ts';
import { McnsError } from '../errors.ts';

type Step = (payload: Record<string, unknown>) => Record<string, unknown>;

const STEPS: Partial<Record<EventType, Record<number, Step>>> = {
  // v1 had no zone TTL: the SOA record and new records took their TTL from `minimum`.
  ZoneCreated: { 1: (p) => ({ ...p, ttl: p.minimum }) },
  // v1 called the value `data`.
  RecordCreated: { 1: ({ data, ...rest }) => ({ ...rest, value: data }) },
};

/** Parse an event body of any known version into the current schema, or throw naming what is wrong. */
export function upcast(type: string, version: number, payload: unknown): EventBody {
  if (!(type in CURRENT_VERSION)) throw new McnsError('internal', `unknown event type "${type}"`);
  const current = CURRENT_VERSION[type as EventType];
  if (!Number.isInteger(version) || version < 1 || version > current) {
    throw new McnsError('internal', `event type ${type} has version ${version}; this build reads 1..${current}`);
  }
  let p = payload as Record<string, unknown>;
  for (let v = version; v < current; v++) {
    const step = STEPS[type as EventType]?.[v];
    if (!step) throw new McnsError('internal', `no upcaster for ${type} v${v}`);
    p = step(p);
  }
  const parsed = EventBody.safeParse({ type, payload: p });
  if (!parsed.success) {
    throw new McnsError('internal', `event ${type} v${version} does not match its schema: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}
