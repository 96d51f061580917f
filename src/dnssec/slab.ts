/**
 * Small byte strings that live as long as a signed zone does (RRSIG and NSEC RDATA, owners' wire
 * names, the zone's canonical RDATA), handed out as views into shared 64 KiB slabs.
 *
 * Why: a typed array of its own costs the garbage collector an ArrayBuffer object beside the view
 * (or, over 64 bytes, an off-heap backing store and its external-memory accounting), and a
 * 100,000-name zone holds about half a million of these; every young survivor is copied once or
 * twice before it settles in the old generation. A view into a slab is one object, and the bytes are
 * outside the heap. A slab is freed when no view of it is left.
 */

/** Bytes per slab. */
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A zeroed Uint8Array of `n` bytes for a long-lived value (its own array when larger than a sixteenth of a slab). */
export function longLivedBytes(n: number): Uint8Array {
  if (n > SLAB_BYTES / 16) return new Uint8Array(n);
  if (used + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const out = new Uint8Array(slab, used, n);
  used += n;
  return out;
}

/** `bytes[start, end)` copied into a long-lived view (see {@link longLivedBytes}). */
export function longLivedCopy(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  const out = longLivedBytes(end - start);
  for (let i = start; i < end; i++) out[i - start] = bytes[i];
  return out;
}
