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
