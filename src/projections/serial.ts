/**
 * SOA serials: YYYYMMDDNN, bumped once per batch, never decreasing, compared with RFC 1982 serial
 * arithmetic (so a secondary never sees the serial go backwards, even across a wrap).
 */

const MOD = 2 ** 32;
const HALF = 2 ** 31;

/** RFC 1982 comparison: negative when a < b, 0 when equal, positive when a > b, NaN when undefined. */
export function serialCompare(a: number, b: number): number {
  if (a === b) return 0;
  const d = (b - a + MOD) % MOD;
  if (d === HALF) return Number.NaN;
  return d < HALF ? -1 : 1;
}

/** RFC 1982 addition of n (0 <= n < 2^31). */
export function serialAdd(s: number, n: number): number {
  return (s + n) % MOD;
}

/** The date part of a serial for a clock reading: YYYYMMDD00 in UTC. */
export function dateSerial(nowMs: number): number {
  const d = new Date(nowMs);
  return (d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate()) * 100;
}

/**
 * The serial of the next batch after `prev`: today's YYYYMMDD00 if that is ahead of `prev`,
 * otherwise `prev + 1`. Past 99 changes in a day the serial runs into tomorrow's numbers, and a
 * clock that goes backwards only slows the date part down: the serial always increases.
 */
export function nextSerial(prev: number, nowMs: number): number {
  const today = dateSerial(nowMs);
  return serialCompare(today, prev) > 0 ? today : serialAdd(prev, 1);
}

/**
 * The serial of a batch that must also come after `floor`, a serial secondaries may already hold
 * (an imported zone file's SOA serial): after both `prev`, the zone's newest serial (undefined for
 * a zone that never existed, which has no serial to stay ahead of), and `floor`, in RFC 1982
 * terms, preferring today's YYYYMMDD00 when that qualifies. So a file at 4000000000 is served as
 * 4000000001, not as a date serial that secondaries holding 4000000000 would take as older.
 * Undefined when no serial is after both (they are 2^31 apart).
 */
export function nextSerialAfter(prev: number | undefined, floor: number, nowMs: number): number | undefined {
  const after = (s: number): boolean => serialCompare(s, floor) > 0 && (prev === undefined || serialCompare(s, prev) > 0);
  const base = prev === undefined || serialCompare(floor, prev) > 0 ? floor : prev;
  for (const candidate of [nextSerial(base, nowMs), serialAdd(base, 1)]) {
    if (after(candidate)) return candidate;
  }
  return undefined;
}
