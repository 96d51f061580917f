/**
 * The serving index's build encodes every name and record of a zone once, into bytes it keeps, and
 * answers those questions itself from then on. The encoder's caches would keep what that build
 * parsed, for nothing: the parsed names (wire.ts) lived until the cache was next cleared, long enough
 * to be promoted to V8's old generation (~0.3 GB of garbage on the 1M zone, a first start peaking at
 * 1.2 GB RSS), and the parsed rdata of every TXT, MX and CNAME (record-data.ts) lived as long as its
 * record (~190,000 parsed copies, tens of MiB that every major GC marks). So while the build runs,
 * both caches use what they hold but add nothing.
 */

let once = false;

/** Runs `fn` with the encoder's caches not adding entries (see the module comment). */
export function encodingOnce<T>(fn: () => T): T {
  const before = once;
  once = true;
  try {
    return fn();
  } finally {
    once = before;
  }
}

/** Whether the encoder's caches may add entries now (false inside encodingOnce). */
export function cachesGrow(): boolean {
  return !once;
}
