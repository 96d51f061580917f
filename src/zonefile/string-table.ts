/**
 * A map from strings to values for the million owner names of a large zone file, where a JS Map
 * spends most of its time in cache misses (looking up and inserting 1M names read from the
 * realistic 1M zone: ~0.8 s in a Map, ~0.35 s here). Open addressing over one Int32Array of entry
 * indexes, with each key's hash kept beside it so that growing never hashes again.
 *
 * The hash is seeded at random per table, so a file cannot be written to make its names collide;
 * and should a probe run long all the same, the table moves its entries into a Map and uses that
 * from then on: never worse than a Map by more than a constant.
 */
import { randomBytes } from 'node:crypto';

/** A probe longer than this makes the table a Map (see the module comment). */
const MAX_PROBE = 64;

export class StringTable<V> {
  private readonly keys: string[] = [];
  private readonly values: V[] = [];
  private hashes = new Int32Array(1024);
  /** Entry index + 1 per slot (0: empty). */
  private slots = new Int32Array(2048);
  private mask = 2047;
  private readonly seed = randomBytes(4).readInt32LE(0);
  /** Set once a probe ran too long: the entries live here instead. */
  private map?: Map<string, V>;

  /**
   * The key `get` last missed, with its hash and the empty slot where it would go: a new name is
   * looked up and then added (each of a million names, in the reader, decide and the bulk fold), and
   * the `set` right after takes both from here instead of hashing and probing again. Any other `set`
   * forgets it (the slot may no longer be empty, or no longer the first empty one of its probe).
   */
  private missed?: string;
  private missedHash = 0;
  private missedSlot = 0;

  /** `maxProbe`: tests make it small, to take the Map path. */
  constructor(private readonly maxProbe = MAX_PROBE) {}

  get size(): number {
    return this.map ? this.map.size : this.keys.length;
  }

  private hash(key: string): number {
    let h = this.seed;
    for (let i = 0; i < key.length; i++) {
      h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
      h ^= h >>> 15;
    }
    return Math.imul(h ^ (h >>> 13), 0x5bd1e995) ^ key.length;
  }

  /** The slot holding `key`, or the empty slot where it would go (negative: -slot - 1); undefined: the probe ran too long. */
  private find(key: string, h: number): number | undefined {
    let p = h & this.mask;
    for (let probe = 0; probe < this.maxProbe; probe++) {
      const e = this.slots[p];
      if (e === 0) return -p - 1;
      if (this.hashes[e - 1] === h && this.keys[e - 1] === key) return p;
      p = (p + 1) & this.mask;
    }
    return undefined;
  }

  get(key: string): V | undefined {
    if (this.map) return this.map.get(key);
    const h = this.hash(key);
    const slot = this.find(key, h);
    if (slot === undefined) return this.toMap().get(key);
    if (slot >= 0) return this.values[this.slots[slot] - 1];
    this.missed = key;
    this.missedHash = h;
    this.missedSlot = slot;
    return undefined;
  }

  set(key: string, value: V): void {
    if (this.map) {
      this.map.set(key, value);
      return;
    }
    let h: number;
    let slot: number | undefined;
    if (key === this.missed) {
      h = this.missedHash;
      slot = this.missedSlot;
    } else {
      h = this.hash(key);
      slot = this.find(key, h);
    }
    this.missed = undefined;
    if (slot === undefined) {
      this.toMap().set(key, value);
      return;
    }
    if (slot >= 0) {
      this.values[this.slots[slot] - 1] = value;
      return;
    }
    const index = this.keys.length;
    this.keys.push(key);
    this.values.push(value);
    if (index === this.hashes.length) {
      const bigger = new Int32Array(index * 2);
      bigger.set(this.hashes);
      this.hashes = bigger;
    }
    this.hashes[index] = h;
    this.slots[-slot - 1] = index + 1;
    // At most half full: probes stay short.
    if (this.keys.length * 2 > this.slots.length) this.grow();
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let i = 0; i < this.keys.length; i++) {
      let p = this.hashes[i] & mask;
      while (slots[p] !== 0) p = (p + 1) & mask;
      slots[p] = i + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  private toMap(): Map<string, V> {
    const map = new Map<string, V>();
    for (let i = 0; i < this.keys.length; i++) map.set(this.keys[i], this.values[i]);
    this.map = map;
    this.keys.length = 0;
    this.values.length = 0;
    this.hashes = new Int32Array(0);
    this.slots = new Int32Array(0);
    return map;
  }

  /** Every entry, in insertion order (a Map's order once it became one). */
  *entries(): IterableIterator<[string, V]> {
    if (this.map) {
      yield* this.map;
      return;
    }
    for (let i = 0; i < this.keys.length; i++) yield [this.keys[i], this.values[i]];
  }
}
