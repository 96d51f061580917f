/**
 * A mutable hash table from short byte keys (a lowercased wire name) to byte values of up to 64 KiB
 * with a 16-bit tag, stored in typed arrays: one arena for keys and values, open addressing over
 * one Int32Array of (offset, hash) pairs. The serving index (serving-index.ts) keeps one entry per
 * name: its encoded answers, one per question type, and flags.
 *
 * Why typed arrays and not a Map of Buffers: on a zone of a million names a lookup is bound by
 * memory latency, and a JS Map lookup plus the objects behind it costs a dozen cache misses; here a
 * lookup reads one slot, then one arena span holding both the key and the answer bytes. The arena
 * is also nothing the garbage collector traces.
 */

/** Bytes of an entry's header: key length u8, value length u16, tag u16. */
const HEADER = 5;
/**
 * The tag's top bit, set on an entry once it is deleted or replaced: compaction walks the arena in
 * order and needs to know which entries are garbage (tags themselves are at most 15 bits).
 */
const DEAD = 0x80;
/** The largest tag. */
const MAX_TAG = 0x7fff;
/** An empty slot. Slots otherwise hold arena offset + 1, or TOMBSTONE for a deleted entry. */
const EMPTY = 0;
const TOMBSTONE = -1;
/** Garbage below this many bytes is never worth a compaction of its own (tidy). */
const TIDY_MIN = 256 * 1024;
/** Longest key (its length is one byte): every wire name (at most 255 bytes) fits. */
export const MAX_KEY = 255;

function pow2AtLeast(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

/** FNV-1a over bytes, ASCII letters folded to lowercase (so a query's spelling hashes like the stored key). */
export function hashKey(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let k = start; k < end; k++) {
    let c = bytes[k];
    if (c >= 65 && c <= 90) c |= 0x20;
    h = Math.imul(h ^ c, 0x01000193);
  }
  h ^= h >>> 15;
  return h === 0 ? 1 : h;
}

/** A NameTable's arrays and counters as a serving-index image holds them (NameTable.imageParts / fromImage). */
export interface NameTableImage {
  /** The used part of the arena (entries, garbage included). */
  arena: Uint8Array;
  /** (offset + 1, hash) per slot. */
  slots: Int32Array;
  live: number;
  tombstones: number;
  garbage: number;
}

/** See the module comment. Keys are compared with ASCII letters folded; store them lowercased. */
export class NameTable {
  private arena: Uint8Array;
  private used = 0;
  /** Arena bytes of deleted or replaced entries, reclaimed by compaction. */
  private garbage = 0;
  /**
   * Two ints per slot, side by side so one cache line holds both: the entry's arena offset + 1
   * (EMPTY, TOMBSTONE) and its key hash (a quick reject before comparing bytes).
   */
  private slots: Int32Array;
  /** Slot count - 1 (a power of two). */
  private mask: number;
  private live = 0;
  private tombstones = 0;

  /** `bytesPerEntry`: the arena's first size per expected entry (a good guess saves copying it as it grows). */
  constructor(expectedEntries = 1024, bytesPerEntry = 48) {
    const n = pow2AtLeast(expectedEntries * 2);
    this.slots = new Int32Array(2 * n);
    this.mask = n - 1;
    this.arena = new Uint8Array(Math.max(4096, expectedEntries * bytesPerEntry));
  }

  /**
   * The table as saved in a serving-index image (index-image.ts): views of the live arena bytes and
   * the slots, no copy, and the counters that go with them. Valid until the next write.
   */
  imageParts(): NameTableImage {
    return { arena: this.arena.subarray(0, this.used), slots: this.slots, live: this.live, tombstones: this.tombstones, garbage: this.garbage };
  }

  /**
   * A table over arrays read back from an image: `arena` holds the entries in its first `used`
   * bytes (the rest is room for writes), `slots` the hash table as saved. Throws when the counters
   * cannot describe these arrays (the image's checksum is what guards the bytes themselves).
   */
  static fromImage(arena: Uint8Array, used: number, slots: Int32Array, counts: { live: number; tombstones: number; garbage: number }): NameTable {
    const n = slots.length / 2;
    if (!Number.isInteger(n) || n < 16 || (n & (n - 1)) !== 0) throw new Error(`name table image: ${slots.length} slot ints is not twice a power of two`);
    if (used > arena.length || counts.live < 0 || counts.tombstones < 0 || counts.live + counts.tombstones > n || counts.garbage < 0 || counts.garbage > used) {
      throw new Error('name table image: counters do not fit the arrays');
    }
    const t = new NameTable(0);
    t.arena = arena;
    t.used = used;
    t.slots = slots;
    t.mask = n - 1;
    t.live = counts.live;
    t.tombstones = counts.tombstones;
    t.garbage = counts.garbage;
    return t;
  }

  /** Number of entries. */
  get size(): number {
    return this.live;
  }

  /** Bytes held in typed arrays (arena and slots), for metrics and the benchmark notes. */
  get bytes(): number {
    return this.arena.byteLength + this.slots.byteLength;
  }

  /** Slots of the hash table (at most half of them hold entries), for tests and the benchmark notes. */
  get slotCount(): number {
    return this.mask + 1;
  }

  /** The arena (read it at the offsets `find` returns). */
  get data(): Uint8Array {
    return this.arena;
  }

  /**
   * The arena offset of the entry whose key equals `bytes[start, end)` (letters folded), or -1.
   * `hash` is hashKey of the same span.
   */
  find(bytes: Uint8Array, start: number, end: number, hash: number): number {
    const len = end - start;
    const arena = this.arena;
    const slots = this.slots;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const s = slots[2 * i];
      if (s === EMPTY) return -1;
      if (s === TOMBSTONE || slots[2 * i + 1] !== hash) continue;
      const off = s - 1;
      if (arena[off] !== len) continue;
      let k = 0;
      for (; k < len; k++) {
        let c = bytes[start + k];
        if (c >= 65 && c <= 90) c |= 0x20;
        if (arena[off + HEADER + k] !== c) break;
      }
      if (k === len) return off;
    }
  }

  /** Value length of the entry at `off`. */
  valueLength(off: number): number {
    return (this.arena[off + 1] << 8) | this.arena[off + 2];
  }

  /** Tag of the entry at `off`. */
  tag(off: number): number {
    return (this.arena[off + 3] << 8) | this.arena[off + 4];
  }

  /** Arena offset of the value of the entry at `off`. */
  valueStart(off: number): number {
    return off + HEADER + this.arena[off];
  }

  /**
   * Sets `key` (lowercased) to `value` with `tag`, replacing any entry of the same key. False (and
   * nothing stored) when the key is longer than MAX_KEY, the value longer than 65535 bytes or the tag
   * larger than 0x7fff.
   */
  set(key: Uint8Array, value: Uint8Array, tag: number): boolean {
    return this.setFrom(key, key.length, value, value.length, tag);
  }

  /**
   * `set` of the first `keyLength` bytes of `key` and the first `valueLength` of `value`: the
   * serving index writes each entry into buffers of its own, and a rebuild sets a million of them
   * (no subarray view made per entry).
   */
  setFrom(key: Uint8Array, keyLength: number, value: Uint8Array, valueLength: number, tag: number): boolean {
    if (keyLength > MAX_KEY || keyLength > key.length || valueLength > 0xffff || valueLength > value.length || tag > MAX_TAG || tag < 0) return false;
    // One hash for the replaced entry's removal and the new slot.
    const h = hashKey(key, 0, keyLength);
    const old = this.find(key, 0, keyLength, h);
    if (old >= 0) this.removeAt(old, h);
    if ((this.live + this.tombstones + 1) * 2 > this.mask + 1) this.rehash(this.grownSlots());
    const size = HEADER + keyLength + valueLength;
    if (this.used + size > this.arena.length) this.makeRoom(size);
    const off = this.used;
    const arena = this.arena;
    arena[off] = keyLength;
    arena[off + 1] = valueLength >> 8;
    arena[off + 2] = valueLength & 0xff;
    arena[off + 3] = (tag >> 8) & 0xff;
    arena[off + 4] = tag & 0xff;
    // Byte loops: TypedArray#set costs more than the copy for entries of tens of bytes.
    const k0 = off + HEADER;
    for (let k = 0; k < keyLength; k++) arena[k0 + k] = key[k];
    const v0 = k0 + keyLength;
    if (valueLength > 256) arena.set(value.subarray(0, valueLength), v0);
    else for (let k = 0; k < valueLength; k++) arena[v0 + k] = value[k];
    this.used += size;
    this.place(off, h);
    this.live++;
    return true;
  }

  /** Removes `key` (lowercased); false when it was not there. */
  delete(key: Uint8Array): boolean {
    return this.remove(key, hashKey(key, 0, key.length));
  }

  /** `delete` with the key's hash already computed. */
  private remove(key: Uint8Array, h: number): boolean {
    const off = this.find(key, 0, key.length, h);
    if (off < 0) return false;
    this.removeAt(off, h);
    return true;
  }

  /** Removes the entry at arena offset `off`, whose key hashes to `h`. */
  private removeAt(off: number, h: number): void {
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      if (this.slots[2 * i] === off + 1) {
        this.slots[2 * i] = TOMBSTONE;
        break;
      }
    }
    this.garbage += HEADER + this.arena[off] + this.valueLength(off);
    this.arena[off + 3] |= DEAD;
    this.live--;
    this.tombstones++;
  }

  /**
   * Every entry's key bytes (copies), in slot order: the keys' hash order, a spread over the table
   * rather than the first ones stored (the DNS warm-up samples its names so); also tests' and
   * consistency checks'.
   */
  *keys(): IterableIterator<Uint8Array> {
    for (let i = 0; i < this.slots.length; i += 2) {
      const off = this.slots[i] - 1;
      if (off >= 0) yield this.arena.slice(off + HEADER, off + HEADER + this.arena[off]);
    }
  }

  /**
   * The slot count for a table whose entries and tombstones reached half of its slots: room for
   * three times the entries, so twice the slots when it is the entries that grew (a quarter to a
   * third full after), the same count, cleaned, when it is mostly tombstones. Four times the entries
   * made a 1M-name index that had grown past 2^20 names jump from 16 to 64 MiB of slots, every page
   * of them written by the rehash (resident).
   */
  private grownSlots(): number {
    return pow2AtLeast((this.live + 1) * 3);
  }

  private place(off: number, hash: number): void {
    let i = hash & this.mask;
    while (this.slots[2 * i] > 0) i = (i + 1) & this.mask;
    if (this.slots[2 * i] === TOMBSTONE) this.tombstones--;
    this.slots[2 * i] = off + 1;
    this.slots[2 * i + 1] = hash;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(2 * size);
    this.mask = size - 1;
    this.tombstones = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] > 0) this.place(old[i] - 1, old[i + 1]);
  }

  /**
   * Compacts the arena (in place: a table whose entries were replaced, as in the serving index's
   * second pass, would keep the replaced ones) and the slots to what the entries need (a table sized
   * from a guess keeps unused slots); the arena is copied to the entries' size only when it is over
   * twice that (see below).
   */
  trim(): void {
    // The slots too: a table sized for more entries than it got (a rebuild sizes it from the record
    // count, about 1.6 per name on a realistic zone) is a quarter full or less; set() keeps it at
    // most half full (a 1M-name index: 32 MiB of slots before, 16 MiB after).
    const fit = pow2AtLeast(this.live * 2 + 2);
    if (fit < this.mask + 1) this.rehash(fit);
    if (this.garbage > 0) this.compact();
    // The arena is copied to its size only when it is more than twice that: a copy is a second
    // arena (~90 MB on the 1M zone) alive beside the first until a major GC takes the old one (RSS
    // +0.1 GB at the end of a first start's second pass), while the unused tail of the first was
    // never written and holds no memory (pages are mapped on first write); only what compaction
    // freed in it stays resident (a few MB).
    if (this.arena.length <= 2 * this.used + 64 * 1024) return;
    const slack = Math.max(4096, this.used >> 4);
    this.arena = this.arena.slice(0, this.used + slack);
  }

  /**
   * Compacts now when an eighth or more of the used arena is garbage (and at least TIDY_MIN bytes);
   * true when it did. For a table kept in step with small writes (the serving index after each
   * diff): every write replaces entries (~780 bytes of garbage per REST create on the 1M zone, the
   * apex's answers re-encoded for the new serial), and compacting only once the arena was full let
   * the garbage fill its spare capacity first and then grow it. Pages the garbage wrote stay
   * resident after a compaction, so what counts is how far `used` climbs: here, about 8/7 of the
   * live entries. Not for a bulk fill, which replaces entries by the million and trims at its end.
   */
  tidy(): boolean {
    if (this.garbage < TIDY_MIN || this.garbage * 8 < this.used) return false;
    this.compact();
    return true;
  }

  /**
   * Makes room for `size` more bytes in a full arena: compacts when an eighth of it is garbage, else
   * (or when that leaves it over 7/8 full) grows it. Each write to a name replaces its entry and the
   * entries of the names that read it (a serial bump re-encodes the apex's): ~780 bytes of garbage per
   * REST create on the 1M zone. At "half of it garbage" an hour of writes at 20/s grew the arena
   * instead (a copy of ~125 MB, resident beside the old one until a GC: RSS over 1 GiB); a compaction
   * is in place, one walk of the arena.
   */
  private makeRoom(size: number): void {
    if (this.garbage * 8 >= this.used) this.compact();
    if ((this.used + size) * 8 <= this.arena.length * 7) return;
    // Growing keeps every offset: the used part is copied in one piece, garbage included.
    const next = new Uint8Array(Math.max(this.arena.length * 2, (this.used + size) * 2));
    next.set(this.arena.subarray(0, this.used));
    this.arena = next;
  }

  /**
   * Moves the live entries down over the garbage, in place and in arena order, so runs of live
   * entries move in one copyWithin each, and points their slots at their new offsets (found by the
   * key's hash). No second arena is allocated, and no object per entry (a slot-order copy, one
   * subarray per entry, took about 2.5 s for a million entries).
   */
  private compact(): void {
    const arena = this.arena;
    const slots = this.slots;
    const mask = this.mask;
    const used = this.used;
    let w = 0;
    let run = 0;
    let r = 0;
    while (r < used) {
      const keyLen = arena[r];
      const len = HEADER + keyLen + ((arena[r + 1] << 8) | arena[r + 2]);
      if (arena[r + 3] & DEAD) {
        if (r > run) arena.copyWithin(w, run, r);
        w += r - run;
        r += len;
        run = r;
        continue;
      }
      // The entry moves from r to w + (r - run): its slot holds r + 1. Slots already moved hold
      // offsets below r, so they never match.
      const to = w + (r - run);
      if (to !== r) {
        const h = hashKey(arena, r + HEADER, r + HEADER + keyLen);
        let i = h & mask;
        while (slots[2 * i] !== r + 1) i = (i + 1) & mask;
        slots[2 * i] = to + 1;
      }
      r += len;
    }
    if (r > run) arena.copyWithin(w, run, r);
    w += r - run;
    this.used = w;
    this.garbage = 0;
  }
}
