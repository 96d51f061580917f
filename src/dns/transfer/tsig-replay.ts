/**
 * Replay protection for TSIG-signed requests that change state (DNS UPDATE).
 *
 * A TSIG signature only says "the key holder signed this within the fudge (300 s) of now": a
 * message captured on the wire verifies again for as long as that window lasts, and an old "add"
 * would re-create a record deleted since. RFC 8945 5.2.3 lets a server answer such a message
 * BADTIME. Per key we remember the digest of every verified request until its own window closes
 * (time signed + fudge; after that the time check refuses it anyway), and refuse a digest seen
 * before. Distinct messages signed in the same second have distinct digests, so clients that send
 * several (nsupdate, concurrent ACME runs) all get through, in any order. (RFC 8945 also suggests
 * refusing anything signed earlier than the newest request seen; that alone would not stop a replay
 * within the same second and would refuse honest clients sharing a key whose requests cross on the
 * wire, so the digests are what decides.)
 *
 * The digest is the HMAC recomputed over the message, not the MAC bytes carried in it: a replayer
 * may truncate the MAC (RFC 8945 5.2.2.1 allows half the hash) or change the header id (the MAC
 * covers the original id), and both leave the recomputed HMAC unchanged.
 *
 * Memory stays bounded without giving up soundness: each key has a floor, and a request signed
 * before it is refused. The floor starts at the moment the guard was made (the server's start: a
 * message captured before a restart cannot be replayed after it), and when a key holds
 * `maxPerKey` digests the oldest is forgotten and the floor moves just past its time.
 *
 * Read-only requests (AXFR, IXFR, signed queries, NOTIFY, which changes nothing here) are not
 * checked: a replayed transfer request gets the zone its key may already read, and secondaries
 * retry with the very same bytes.
 */

/** Digests remembered per key before the oldest is forgotten (about 80 bytes each). */
export const DEFAULT_REPLAY_MEMORY = 10_000;

interface KeyWindow {
  /** Requests signed before this time (seconds) are refused. */
  floor: number;
  /** Digest (base64) -> time signed and the end of its window, in arrival order. */
  seen: Map<string, { timeSigned: number; expires: number }>;
}

/** Remembers verified requests per key and refuses the ones seen before. */
export class TsigReplayGuard {
  private readonly keys = new Map<string, KeyWindow>();
  private readonly startedAt: number;
  private readonly maxPerKey: number;

  /** `startedAt`: our clock (seconds) when the guard was made; requests signed earlier are refused. */
  constructor(opts: { startedAt: number; maxPerKey?: number }) {
    this.startedAt = opts.startedAt;
    this.maxPerKey = Math.max(1, opts.maxPerKey ?? DEFAULT_REPLAY_MEMORY);
  }

  /**
   * Check a request whose signature and time already verified, and remember it. Returns why it is
   * (or may be) a replay, or undefined for a first sight.
   */
  check(keyName: string, digest: Buffer, timeSigned: number, fudge: number, nowSec: number): string | undefined {
    let w = this.keys.get(keyName);
    if (!w) this.keys.set(keyName, (w = { floor: this.startedAt, seen: new Map() }));
    // Forget what has left its window (in arrival order; a straggler is forgotten a little later).
    for (const [d, e] of w.seen) {
      if (e.expires >= nowSec) break;
      w.seen.delete(d);
    }
    if (timeSigned < w.floor) {
      return `signed at ${timeSigned}, before ${w.floor} (the server start or the oldest request still remembered for key ${keyName}): refused as a possible replay`;
    }
    const id = digest.toString('base64');
    if (w.seen.has(id)) return `the same signed request was already received (key ${keyName}, signed at ${timeSigned}): a replay`;
    w.seen.set(id, { timeSigned, expires: timeSigned + fudge });
    if (w.seen.size > this.maxPerKey) {
      const [oldest, e] = w.seen.entries().next().value!;
      w.seen.delete(oldest);
      w.floor = Math.max(w.floor, e.timeSigned + 1);
    }
    return undefined;
  }

  /** Digests remembered for a key (tests, metrics). */
  remembered(keyName: string): number {
    return this.keys.get(keyName)?.seen.size ?? 0;
  }
}
