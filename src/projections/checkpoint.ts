/**
 * Checkpoints: the compacted projection at sequence N, stored in the ledger database, so start-up
 * loads it and replays only the tail. A checkpoint is used only when its format is this build's, the
 * event at its seq still has the hash it was taken at, and its digest (SHA-256 over that hash and
 * the checkpoint's bytes) still matches; otherwise an older checkpoint, or a full replay, is used.
 */
import { createHash, type Hash } from 'node:crypto';
import { deflate, deflateSync, inflateSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import type { SoaParams } from '../events/types.ts';
import type { RRType } from '../records/types.ts';
import { makeNode, rrsetOf, setApexRRset, type RecordState, type RRset, type TrieNode } from './trie.ts';
import { PMap } from './pmap.ts';
import { unbuiltDrafts, type NodeDraft } from './node-drafts.ts';
import type { DnssecState } from './dnssec-state.ts';
import { labelCount, soaValue, type LedgerState, type ZoneHead, type ZoneState } from './state.ts';

/** Bump when the serialized layout or the meaning of the state changes: old checkpoints are then ignored. */
export const CHECKPOINT_FORMAT = 5;

/** Bytes of the digest that starts every stored checkpoint (format 4 on). */
const DIGEST_BYTES = 32;

/**
 * The digest of a checkpoint's contents bound to the log: SHA-256 over a tag, the hash of the event
 * at the checkpoint's seq, and the serialized state. Editing one byte of the contents (say, inflating
 * a block, changing an address, deflating it again) or moving the checkpoint onto another log changes
 * it. It is not keyed: it catches edits and corruption, not a forger who recomputes it; the logged
 * chain head and digest at each checkpoint are what an operator compares against (RUNBOOK).
 */
export function checkpointDigest(headHash: string, body: Uint8Array): Buffer {
  return digestHash(headHash).update(body).digest();
}

/** The digest's hash, fed with its prefix; the body follows (in one piece or in slices). */
function digestHash(headHash: string): Hash {
  return createHash('sha256').update(`mcns-checkpoint-v${CHECKPOINT_FORMAT}\n${headHash}\n`, 'utf8');
}

interface ZoneHeader {
  name: string;
  soa: SoaParams;
  serial: number;
  version: number;
  /** Records of the zone (the synthesized SOA not counted) and trie nodes (the apex counted). */
  records: number;
  nodes: number;
  /** DNSSEC decisions and public keys, for a zone that has been signed (absent otherwise). */
  dnssec?: DnssecState;
  /**
   * Where the zone's node stream starts: the block and the offset in it once inflated. Lets a load
   * read a zone without the ones before it, and so defer most of a big zone (DeferredChildren).
   * Absent in blobs of earlier builds (same format: those load the way they always did).
   */
  at?: [number, number];
}

interface Header {
  format: number;
  seq: number;
  heads: Array<[string, number, number, boolean]>;
  zones: ZoneHeader[];
  /** Compressed byte length of each block, in order. */
  blocks: number[];
}

/** Uncompressed bytes per block (cut only between nodes, so a node never spans two blocks). */
const BLOCK_BYTES = 1 << 20;

/**
 * The state as a byte stream, zone after zone, each zone's trie in preorder so that loading builds
 * every node once, already at its place, with no name parsing and no per-record map insertions:
 *
 *     node   := label(str8) setCount(u8) set* childCount(varint)      then its children's nodes
 *     set    := type(str8) recordCount(varint) record*
 *     record := id(varstr) ttl(u32) value(varstr, UTF-8)
 *
 * (str8: a length byte then Latin-1 bytes; varstr: a varint length then bytes.) The apex's label is
 * empty and its SOA is not stored (it is synthesized from the zone's SOA parameters and serial).
 * Names are rebuilt from the labels, records share their node's name string, and values stay the
 * canonical text the log holds, so every record type, present or future, round-trips unchanged.
 * Children come in their map's order, or, for nodes a bulk fold has not made yet, in the order
 * they were added (node-drafts.ts); a load does not depend on the order.
 */
class StateWriter {
  private buf: Buffer = Buffer.allocUnsafe(BLOCK_BYTES + 4096);
  private pos = 0;
  /** Finished (uncompressed) blocks not yet handed to the compressor. */
  readonly done: Buffer[] = [];
  /** Block buffers the compressor is done with, to write the next blocks into (see recycle). */
  private readonly spare: Buffer[] = [];
  /**
   * The walk: one iterator per open node over its children (the map's own lazy iterator: a node of a
   * million children is not copied into an array for the length of the walk), or over the drafts of
   * children not made yet (node-drafts.ts: walked as they are, the map left unbuilt).
   */
  private readonly stack: Array<Iterator<[string, TrieNode]> | DraftCursor> = [];
  private zoneIndex = -1;
  /** Nodes written of each zone, the apex counted (ZoneHeader.nodes). */
  readonly nodes: number[] = [];
  readonly zones: ZoneState[];
  /** Blocks cut so far (the index of the block being written). */
  private blocksCut = 0;
  /** Where each zone's stream starts (ZoneHeader.at). */
  readonly starts: Array<[number, number]> = [];

  constructor(state: LedgerState) {
    this.zones = [...state.zones.values()];
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + 4096));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  private varint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  // str8 and varstr write short strings byte by byte: a label, an id or a value is a few dozen bytes,
  // and the Buffer calls (byteLength, then write, each through the binding) were a third of the
  // serializer's time on the 1M zone. The bytes are those calls' (checkpoint-load.ts --verify).

  private str8(s: string): void {
    const len = s.length;
    if (len > 255) throw new Error(`checkpoint: "${s.slice(0, 40)}…" is too long for a label or type`);
    this.ensure(1 + len);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = len;
    // Latin-1: each UTF-16 code unit's low byte, as Buffer#write(s, 'latin1') writes it.
    for (let i = 0; i < len; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  private varstr(s: string): void {
    const len = s.length;
    if (len < 0x80) {
      // ASCII (every code unit below 0x80): its UTF-8 is its code units, and its length one varint byte.
      this.ensure(1 + len);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === len) {
        buf[this.pos] = len;
        this.pos = p;
        return;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Whether writeSet leaves out the SOA (the apex's: synthesized on load). */
  private atApex = false;

  /** One RRset (see node); a method bound once, so a node's RRsets are walked with no array or closure. */
  private readonly writeSet = (set: RRset): void => {
    if (this.atApex && set.type === 'SOA') return;
    this.str8(set.type);
    const records = set.records;
    this.varint(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      this.varstr(r.id);
      this.ensure(4);
      this.pos = this.buf.writeUInt32BE(r.ttl, this.pos);
      this.varstr(r.value);
    }
  };

  private node(label: string, node: TrieNode, apex: boolean): void {
    this.nodes[this.zoneIndex]++;
    const rrsets = node.rrsets;
    this.str8(label);
    this.ensure(1);
    this.buf[this.pos++] = rrsets.size - (apex && rrsets.has('SOA') ? 1 : 0);
    this.atApex = apex;
    rrsets.forEach(this.writeSet);
    const kids = node.children.size;
    this.varint(kids);
    if (kids > 0) {
      const drafts = unbuiltDrafts(node.children);
      this.stack.push(drafts ? new DraftCursor(drafts.labels, drafts.drafts) : node.children.entries());
    }
    if (this.pos >= BLOCK_BYTES) this.cut();
  }

  /** A node below the apex not made yet, as `node` writes the trie node it is to become (finishDraft). */
  private draftNode(label: string, draft: NodeDraft): void {
    this.nodes[this.zoneIndex]++;
    const sets = draft.sets;
    this.str8(label);
    this.ensure(1);
    this.buf[this.pos++] = sets.length;
    this.atApex = false;
    // A draft's set is {type, records} with its records in order (a kept RRset's records too).
    for (let i = 0; i < sets.length; i++) this.writeSet(sets[i]);
    const kids = draft.kids === undefined ? 0 : draft.kids.length;
    this.varint(kids);
    if (kids > 0) this.stack.push(new DraftCursor(draft.labels!, draft.kids!));
    if (this.pos >= BLOCK_BYTES) this.cut();
  }

  private cut(): void {
    if (this.pos === 0) return;
    // The block is the buffer itself; the next one is written into a recycled buffer or a new one.
    this.done.push(this.buf.subarray(0, this.pos));
    this.blocksCut++;
    this.buf = this.spare.pop() ?? Buffer.allocUnsafe(BLOCK_BYTES + 4096);
    this.pos = 0;
  }

  /**
   * Takes back a block from `done` once it is compressed, to write a later block into: a background
   * checkpoint then allocates a handful of block buffers, not one per MiB of the state (each a
   * malloc of ~1 MiB, freed at a different time, which left holes in glibc's heap).
   */
  recycle(block: Buffer): void {
    this.spare.push(Buffer.from(block.buffer, block.byteOffset, block.buffer.byteLength - block.byteOffset));
  }

  /** Write up to `budget` nodes; true when the whole state is written (the last block cut). */
  step(budget: number): boolean {
    for (let n = 0; n < budget; n++) {
      const top = this.stack[this.stack.length - 1];
      if (top instanceof DraftCursor) {
        if (top.at === top.drafts.length) this.stack.pop();
        else {
          const i = top.at++;
          this.draftNode(top.labels[i], top.drafts[i]);
        }
        continue;
      }
      if (top) {
        const next = top.next();
        if (next.done) this.stack.pop();
        else this.node(next.value[0], next.value[1], false);
        continue;
      }
      if (++this.zoneIndex >= this.zones.length) {
        this.cut();
        return true;
      }
      this.starts.push([this.blocksCut, this.pos]);
      this.nodes.push(0);
      this.node('', this.zones[this.zoneIndex].tree, true);
    }
    return false;
  }
}

/** A walk over drafts of children (node-drafts.ts): the next one is drafts[at]. */
class DraftCursor {
  at = 0;
  constructor(
    readonly labels: readonly string[],
    readonly drafts: readonly NodeDraft[],
  ) {}
}

/**
 * The stored blob in one allocation: DIGEST_BYTES left for the digest, then the body (header length,
 * header, blocks). Each block is copied in and dropped from `blocks` (a large zone's checkpoint is
 * tens of MB: concatenating the body and then the digest and body held three copies at once).
 */
function assemble(state: LedgerState, zones: ZoneState[], nodes: number[], starts: ReadonlyArray<[number, number]>, blocks: Buffer[]): Buffer {
  const head = headerBytes(state, zones, nodes, starts, blocks.map((b) => b.length));
  let size = DIGEST_BYTES + 4 + head.length;
  for (const b of blocks) size += b.length;
  const out = Buffer.allocUnsafe(size);
  out.fill(0, 0, DIGEST_BYTES);
  let at = out.writeUInt32BE(head.length, DIGEST_BYTES);
  at += head.copy(out, at);
  for (let i = 0; i < blocks.length; i++) {
    at += blocks[i].copy(out, at);
    blocks[i] = EMPTY_BLOCK;
  }
  return out;
}

const EMPTY_BLOCK = Buffer.alloc(0);

/** The JSON header of a blob (see assemble). */
function headerBytes(state: LedgerState, zones: ZoneState[], nodes: number[], starts: ReadonlyArray<[number, number]>, blockSizes: number[]): Buffer {
  const header: Header = {
    format: CHECKPOINT_FORMAT,
    seq: state.seq,
    heads: [...state.heads.entries()].map(([z, h]) => [z, h.seq, h.serial, h.deleted]),
    zones: zones.map((z, i) => ({ name: z.name, soa: z.soa, serial: z.serial, version: z.version, records: z.records.size, nodes: nodes[i], ...(z.dnssec ? { dnssec: z.dnssec } : {}), at: starts[i] })),
    blocks: blockSizes,
  };
  return Buffer.from(JSON.stringify(header), 'utf8');
}

/** Blocks being compressed at once by a background checkpoint, at most (the walk waits beyond). */
const BLOCKS_IN_FLIGHT = 4;

/**
 * A background checkpoint's body: each block is deflated on the thread pool and, as soon as it and
 * the blocks before it are done, copied into one buffer that becomes the stored blob (room is kept
 * at its start for the digest and the header, so nothing is copied again at the end), and dropped.
 * At most BLOCKS_IN_FLIGHT raw blocks wait for the compressor.
 *
 * Why: keeping every compressed block until the end and then assembling the blob from them left
 * glibc's main heap ~110 MiB larger after each checkpoint of the 1M-name zone, for good (blocks of
 * ~1 MiB, raw and compressed, and a 31 MiB blob are served from the brk heap once a freed mapping
 * has raised malloc's mmap threshold; the holes they leave are not returned to the system). One
 * buffer sized for the whole body up front (over 32 MiB for a large zone, so malloc maps it on its
 * own and unmaps it when it is freed) and a few blocks in flight keep that churn to a few MiB.
 */
class CompressedBody {
  private out: Buffer;
  private used: number;
  /** Compressed length of each block copied in, in order. */
  readonly sizes: number[] = [];
  private readonly results: Array<Buffer | undefined> = [];
  private next = 0;
  private failure: Error | undefined;
  /** Blocks handed to the compressor and not back yet. */
  inFlight = 0;
  private wake: (() => void) | undefined;

  constructor(
    estimate: number,
    private readonly reserve: number,
  ) {
    this.used = reserve;
    this.out = Buffer.allocUnsafe(reserve + estimate);
  }

  /** Compresses `raw`; `done` is told when the compressor no longer reads it. */
  add(raw: Buffer, done: (raw: Buffer) => void): void {
    const i = this.results.length;
    this.results.push(undefined);
    this.inFlight++;
    deflate(raw, { level: 1 }, (err, compressed) => {
      this.inFlight--;
      done(raw);
      if (err) this.failure ??= err;
      else {
        this.results[i] = compressed;
        this.drain();
      }
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    });
  }

  /** Copies the finished blocks that come next in order into the body. */
  private drain(): void {
    for (; this.next < this.results.length; this.next++) {
      const c = this.results[this.next];
      if (c === undefined) return;
      if (this.used + c.length > this.out.length) {
        const bigger = Buffer.allocUnsafe(Math.max(Math.ceil(this.out.length * 1.5), this.used + c.length));
        this.out.copy(bigger, 0, 0, this.used);
        this.out = bigger;
      }
      this.used += c.copy(this.out, this.used);
      this.sizes.push(c.length);
      this.results[this.next] = EMPTY_BLOCK;
    }
  }

  /** Resolves when a block in flight comes back (at once when none is out). */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((res) => {
      const before = this.wake;
      this.wake = () => {
        before?.();
        res();
      };
    });
  }

  /** Waits for every block; throws the compressor's error if one failed. */
  async finish(): Promise<void> {
    while (this.inFlight > 0) await this.settled();
    if (this.failure) throw this.failure;
    this.drain();
    if (this.next !== this.results.length) throw new Error('checkpoint: a compressed block is missing');
  }

  /** The blob: room for the digest (zeroed), the header's length, the header, then the blocks. */
  blob(head: Buffer): Buffer {
    const before = DIGEST_BYTES + 4 + head.length;
    let out: Buffer;
    if (before <= this.reserve) out = this.out.subarray(this.reserve - before, this.used);
    else {
      // A header larger than the room kept (thousands of zones): one copy.
      out = Buffer.allocUnsafe(before + this.used - this.reserve);
      this.out.copy(out, before, this.reserve, this.used);
    }
    out.fill(0, 0, DIGEST_BYTES);
    out.writeUInt32BE(head.length, DIGEST_BYTES);
    head.copy(out, DIGEST_BYTES + 4);
    return out;
  }
}

/**
 * Encode a state as a blob: the 32-byte digest ({@link checkpointDigest}, bound to `headHash`, the
 * hash of the event at the state's seq), then the body: a 4-byte header length, a JSON header (the
 * zones' SOA parameters, serials and counts, the heads, the block sizes), then the tries (see
 * StateWriter) in separately deflated blocks of about 1 MiB.
 */
export function serializeState(state: LedgerState, headHash: string): Buffer {
  const w = new StateWriter(state);
  while (!w.step(1 << 30));
  const blocks = w.done.map((b) => deflateSync(b, { level: 1 }));
  return bindCheckpoint(assemble(state, w.zones, w.nodes, w.starts, blocks), headHash);
}

/**
 * Writes into `blob` (a serialized state) the digest binding it to `headHash`, in place, and returns
 * it: for a blob serialized before the log's hash at its seq was known (the bulk append worker
 * computes it while this thread serializes).
 */
export function bindCheckpoint(blob: Buffer, headHash: string): Buffer {
  checkpointDigest(headHash, blob.subarray(DIGEST_BYTES)).copy(blob, 0);
  return blob;
}

/**
 * The same blob as {@link serializeState}, written in slices of about `sliceMs` between which
 * `pause` lets the event loop run (DNS answers, API writes): the state is immutable, so the walk can
 * be spread over many turns while the projection moves on. Blocks are compressed on libuv's thread
 * pool, off the main thread.
 */
export async function serializeStateSliced(
  state: LedgerState,
  headHash: string,
  pause: () => Promise<void>,
  sliceMs = 8,
  /** The body buffer's first size and the room kept for the header (tests: too small for either). */
  sizes?: { body: number; headerRoom: number },
): Promise<Buffer> {
  const w = new StateWriter(state);
  let records = 0;
  for (const z of w.zones) records += z.records.size;
  // About 21 bytes a record compressed on the realistic 1M zone; the header's room grows with the zones.
  const body = new CompressedBody(sizes?.body ?? records * 24 + (1 << 20), sizes?.headerRoom ?? (64 << 10) + 1024 * w.zones.length);
  for (;;) {
    const until = performance.now() + sliceMs;
    let finished = w.step(512);
    while (!finished && performance.now() < until) finished = w.step(512);
    for (const b of w.done.splice(0)) body.add(b, (raw) => w.recycle(raw));
    if (finished) break;
    await pause();
    while (body.inFlight > BLOCKS_IN_FLIGHT) await body.settled();
  }
  await body.finish();
  const blob = body.blob(headerBytes(state, w.zones, w.nodes, w.starts, body.sizes));
  // The digest over tens of megabytes, fed in slices too.
  const hash = digestHash(headHash);
  for (let off = DIGEST_BYTES; off < blob.length; off += 4 << 20) {
    hash.update(blob.subarray(off, Math.min(blob.length, off + (4 << 20))));
    await pause();
  }
  hash.digest().copy(blob, 0);
  return blob;
}

/** Whether a stored blob's digest matches its body and the log's hash at its seq. */
export function checkpointIntact(blob: Buffer, headHash: string): boolean {
  if (blob.length < DIGEST_BYTES) return false;
  return checkpointDigest(headHash, blob.subarray(DIGEST_BYTES)).equals(blob.subarray(0, DIGEST_BYTES));
}

const NO_SETS: RRset[] = [];

/**
 * A node with this many children or more gets its children map built on first use, like the
 * records-by-id maps (PMap.lazyFromArrays): the million labels under a big zone's apex took ~0.7 s
 * of every start (hashing, partitioning, a HAMT of ~35,000 nodes, and the GC of all that),
 * and DNS answers from the serving index, not the trie. Smaller maps are built at once (nothing to
 * gain). The server builds the rest in slices once DNS is up (Ledger.prepareRecordMaps).
 */
export const LAZY_CHILDREN = 1024;

/** What a load left for later: see {@link takeUnbuilt}. */
export interface Unbuilt {
  /** Children maps to be built on first use (LAZY_CHILDREN). */
  readonly children: ReadonlyArray<PMap<unknown>>;
  /** Big zones whose nodes below the apex are still to be read (DeferredChildren). */
  readonly deferred: readonly DeferredChildren[];
  /**
   * A zone big enough to be deferred was read whole, because the blob (an earlier build's) gives no
   * zone starts: rewriting the checkpoint lets the next start defer it.
   */
  readonly readWhole?: boolean;
}

/** Maps each state deserializeState returned to what it left unbuilt (takeUnbuilt). */
const unbuiltOf = new WeakMap<LedgerState, Unbuilt>();

/**
 * What a state deserializeState returned left to be done on first use, once: a second call returns
 * nothing. The deferred zones' nodes can be read in slices (DeferredChildren.readInSlices), and the
 * children maps built in slices (PMap.buildInSlices), to spare the first write or read that needs
 * them the wait. (Its zones' records-by-id maps, unbuilt too, are found from the state: a tail of
 * record creations replaces them by maps that are still unbuilt.)
 */
export function takeUnbuilt(state: LedgerState): Unbuilt {
  const left = unbuiltOf.get(state) ?? { children: [], deferred: [] };
  unbuiltOf.delete(state);
  return left;
}

/**
 * Apexes with this many children or more are read only down to the apex at load; the nodes below
 * are read when first needed, or before that in slices (DeferredChildren). The 1M-name zone's
 * million nodes and 1.5 million records took 3-5 s of every start, while DNS answers from the
 * serving index's image and needs none of them. Needs the zones' stream positions (ZoneHeader.at).
 */
export const DEFER_CHILDREN = LAZY_CHILDREN;

/**
 * The nodes below a big zone's apex, not read at load (DEFER_CHILDREN): the apex's children map and
 * the zone's records-by-id map are built from arrays that this fills (PMap.lazyFromArrays with
 * `fill`), so the first read of either reads the rest of the zone at once, and `readInSlices` reads
 * it in the background meanwhile. The same reader code and bytes as a load that reads everything
 * (the nodes come out the same), checked at the end against the header the same way.
 */
export class DeferredChildren {
  private next = 0;
  private failure: Error | undefined;
  /** Milliseconds spent reading so far (for the start-up phases). */
  ms = 0;
  /** The children maps of 1,024+ labels found below the apex (unbuilt, like the load's own). */
  readonly unbuilt: ReadonlyArray<PMap<unknown>>;
  /**
   * Dropped once everything is read: it holds the whole checkpoint blob (31 MiB for the 1M zone),
   * and the records-by-id map that keeps this object may stay unbuilt for minutes.
   */
  private reader: StateReader | undefined;

  constructor(
    reader: StateReader,
    readonly zone: string,
    private readonly apexAt: number,
    private readonly keys: string[],
    private readonly kids: TrieNode[],
    private readonly expected: { records: number; nodes: number },
    /** Where the zone's stream ends: the next zone's start, or undefined for the end of the stream. */
    private readonly end: [number, number] | undefined,
    /** A reader of the same bytes from where `reader` starts (for `scan`, which reads them again). */
    private readonly again: () => StateReader,
  ) {
    this.reader = reader;
    this.unbuilt = reader.unbuilt;
  }

  /**
   * Reads the nodes below the apex once more, from the bytes, keeping none of them: each node is
   * made as the read makes it, with its RRsets (its records' ids left empty) but no children, and
   * shown to `scan` (see
   * ZoneScan). The read itself is not advanced: this is for one pass over the zone that needs no
   * trie (the serving index's first pass on a start without its image), which so costs neither
   * the trie's memory nor the garbage collection of a million long-lived nodes. Returns whether
   * a child of the apex is the wildcard `*`. Throws, like the read, when the bytes do not hold
   * what the header says.
   */
  scan(scan: ZoneScan): { wildcardChild: boolean } {
    if (this.failure) throw this.failure;
    const reader = this.again();
    reader.writeName(this.zone, this.apexAt);
    let wildcardChild = false;
    for (let i = 0; i < this.kids.length; i++) if (reader.scanNode(this.zone, this.apexAt, scan, false)) wildcardChild = true;
    this.check(reader);
    return { wildcardChild };
  }

  /** True once every node is read. */
  get done(): boolean {
    return this.next === this.kids.length && this.failure === undefined;
  }

  /** Reads up to `budget` of the apex's children (each with everything below it); true when all are read. */
  private step(budget: number): boolean {
    if (this.failure) throw this.failure;
    const { reader, keys, kids } = this;
    if (reader === undefined) return true;
    const t0 = performance.now();
    try {
      const stop = Math.min(kids.length, this.next + budget);
      for (let i = this.next; i < stop; i++) {
        kids[i] = reader.child(this.zone, this.apexAt);
        keys[i] = reader.lastLabel;
        this.next = i + 1;
      }
      if (this.next === kids.length) {
        this.check(reader);
        this.reader = undefined;
      }
    } catch (err) {
      // Remembered: every later read of the zone fails the same way at once, not after reading again.
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw this.failure;
    } finally {
      this.ms += performance.now() - t0;
    }
    return this.next === kids.length;
  }

  private check(reader: StateReader): void {
    const { expected, zone } = this;
    // The apex was counted by the load's own reader (and is the count a fork starts from).
    if (reader.count !== expected.records || reader.nodes + 1 !== expected.nodes) {
      throw new Error(`checkpoint: zone ${zone} has ${reader.count} records in ${reader.nodes + 1} nodes, its header says ${expected.records} in ${expected.nodes}`);
    }
    if (this.end && !reader.isAt(this.end)) throw new Error(`checkpoint: zone ${zone} does not end where the next one starts`);
    if (!this.end && !reader.exhausted) throw new Error(`checkpoint: bytes left after the last zone (${zone})`);
  }

  /** Reads the rest now (a first read of the zone's trie or records). */
  finish(): void {
    while (!this.step(1 << 30));
  }

  /** Reads the rest in slices of about `sliceMs`, with `pause` between them; stops early if a read finished it meanwhile. */
  async readInSlices(pause: () => Promise<void>, sliceMs = 1): Promise<void> {
    while (!this.done) {
      const until = performance.now() + sliceMs;
      while (!this.step(64) && performance.now() < until);
      if (this.done) return;
      await pause();
    }
  }
}

/** Reads the node stream of {@link StateWriter} back, one inflated block at a time. */
class StateReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private block = 0;
  private offset: number;
  /** The owner name being built, right-aligned: a child's name is its label, a dot, its parent's name. */
  private readonly name = Buffer.allocUnsafe(1024);
  /** The types read so far, each with its bytes: one string per type (a record's type is its RRset's). */
  private readonly types: Array<{ bytes: Buffer; type: RRType }> = [];
  /** The one-RRset list handed to makeNode (which does not keep it). */
  private readonly oneSet: RRset[] = [];
  /**
   * Every record of the zone being read and its id, for its id index: arrays of the size the
   * header gives (no growth, no spare room while the index waits to be built), `count` filled.
   */
  ids: string[] = [];
  records: RecordState[] = [];
  count = 0;
  nodes = 0;
  /** The children maps left for first use (see LAZY_CHILDREN), for takeUnbuilt. */
  readonly unbuilt: Array<PMap<TrieNode>> = [];
  /** Where each block starts in the blob. */
  private readonly blockStarts: number[];
  /**
   * Set by the load for a zone that may be deferred: where the next zone starts (undefined: the
   * stream's end). A big apex's children are then left to a DeferredChildren (`deferred`).
   */
  deferTo: [number, number] | undefined | false = false;
  /** The zone the last `zone` call deferred, if it did. */
  deferred: DeferredChildren | undefined;
  /** A big apex was read whole: the blob gives no zone starts (Unbuilt.readWhole). */
  readWhole = false;

  constructor(
    private readonly blob: Buffer,
    offset: number,
    private readonly sizes: number[],
  ) {
    this.offset = offset;
    this.blockStarts = [];
    for (const size of sizes) {
      this.blockStarts.push(offset);
      offset += size;
    }
  }

  /** Moves to `offset` in block `block` (inflated), as written in ZoneHeader.at. */
  seek([block, offset]: [number, number]): void {
    if (!Number.isSafeInteger(block) || block < 0 || block >= this.sizes.length) throw new Error(`checkpoint: a zone starts in block ${block} of ${this.sizes.length}`);
    if (block !== this.block - 1) {
      this.block = block;
      this.offset = this.blockStarts[block];
      this.buf = Buffer.alloc(0);
      this.pos = 0;
      this.fill();
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.buf.length) throw new Error(`checkpoint: a zone starts at ${offset} of block ${block}, which has ${this.buf.length} bytes`);
    this.pos = offset;
  }

  /** True when the next byte read is the one at `at` (ZoneHeader.at). */
  isAt([block, offset]: [number, number]): boolean {
    if (this.pos < this.buf.length) return this.block - 1 === block && this.pos === offset;
    return this.block === block && offset === 0;
  }

  /**
   * A maker of readers of the same blob at this one's position, with no zone begun
   * (DeferredChildren's: one to read the zone, and one each time it is scanned).
   */
  private forkHere(): () => StateReader {
    const { blob, sizes } = this;
    const first = this.blockStarts[0] ?? this.offset;
    // At the end of a block (the node read last ended it), the next byte is the next block's first;
    // past the last block there is none, and the fork's first read says the stream ends early.
    const at: [number, number] | undefined = this.pos < this.buf.length ? [this.block - 1, this.pos] : this.block < sizes.length ? [this.block, 0] : undefined;
    return () => {
      const r = new StateReader(blob, first, sizes);
      if (at) r.seek(at);
      else r.block = sizes.length;
      return r;
    };
  }

  private fill(): void {
    if (this.pos < this.buf.length) return;
    if (this.block >= this.sizes.length) throw new Error('checkpoint: the node stream ends early');
    const size = this.sizes[this.block++];
    this.buf = inflateSync(this.blob.subarray(this.offset, this.offset + size));
    this.offset += size;
    this.pos = 0;
  }

  /** True when every block was read to its end. */
  get exhausted(): boolean {
    return this.pos >= this.buf.length && this.block >= this.sizes.length;
  }

  private varint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('checkpoint: truncated number');
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  }

  private str8(): string {
    const n = this.buf[this.pos];
    const s = this.buf.toString('latin1', this.pos + 1, this.pos + 1 + n);
    this.pos += 1 + n;
    return s;
  }

  /** An RRset's type (str8), the string of the first RRset of that type: no string made per RRset. */
  private type(): RRType {
    const buf = this.buf;
    const len = buf[this.pos];
    const at = this.pos + 1;
    next: for (const t of this.types) {
      if (t.bytes.length !== len) continue;
      for (let i = 0; i < len; i++) if (t.bytes[i] !== buf[at + i]) continue next;
      this.pos = at + len;
      return t.type;
    }
    const type = this.str8() as RRType;
    this.types.push({ bytes: Buffer.from(type, 'latin1'), type });
    return type;
  }

  private varstr(enc: 'latin1' | 'utf8'): string {
    const n = this.varint();
    const s = this.buf.toString(enc, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Puts `name` in the name buffer at `at` (right-aligned, as `zone` does for the apex). */
  writeName(name: string, at: number): void {
    this.name.write(name, at, 'latin1');
  }

  /**
   * Read a zone's trie: `apex` is its name, `expected` and `nodes` the numbers of records and nodes
   * its header gives; the zone's records and ids accumulate in `records`/`ids`, `count` of them.
   * With `deferTo` set, a big apex's children are left to a DeferredChildren (`deferred`).
   */
  zone(apex: string, expected: number, nodes: number): TrieNode {
    const end = this.name.length;
    const at = end - this.name.write(apex, end - Buffer.byteLength(apex, 'latin1'), 'latin1');
    this.ids = new Array<string>(expected);
    this.records = new Array<RecordState>(expected);
    this.count = 0;
    this.nodes = 0;
    this.deferred = undefined;
    this.expected = { records: expected, nodes };
    return this.node(apex, at, true);
  }

  /** The header's counts of the zone being read (DeferredChildren checks them at its end). */
  expected = { records: 0, nodes: 0 };

  /**
   * The next node below the node named `parentName` (at `parentAt` in the name buffer) and
   * everything below it (DeferredChildren); its label is then `lastLabel`.
   */
  child(parentName: string, parentAt: number): TrieNode {
    return this.node(parentName, parentAt, false);
  }

  /** The label of the node `node` returned last (its key in its parent's children). */
  private label = '';

  get lastLabel(): string {
    return this.label;
  }

  /**
   * Writes the label at the read position (`labelLen` bytes after its length byte) into the name
   * buffer before its parent's name, which starts at `parentAt`: "label." + parent, except below
   * the root, whose name is the dot itself. Returns where the node's name starts.
   */
  private putLabel(parentName: string, parentAt: number, labelLen: number): number {
    const sep = parentName === '.' ? 0 : 1;
    const at = parentAt - labelLen - sep;
    if (at < 0) throw new Error('checkpoint: a name longer than 1024 bytes');
    // Byte by byte: Buffer#copy makes a typed-array view per call (a million labels of ~7 bytes).
    const buf = this.buf;
    const nameBytes = this.name;
    for (let i = 0, from = this.pos + 1; i < labelLen; i++) nameBytes[at + i] = buf[from + i];
    if (sep) nameBytes[at + labelLen] = 0x2e;
    return at;
  }

  /**
   * The next node and everything below it, read as `node` reads them but kept by no one: each node
   * is made with its RRsets and no children and shown to `scan` (ZoneScan); below a node it does
   * not descend into (`quiet`), nodes are read past unseen. Counts records and nodes like `node`,
   * fills nothing else. Returns whether the node's label is `*`.
   */
  scanNode(parentName: string, parentAt: number, scan: ZoneScan, quiet: boolean): boolean {
    this.fill();
    this.nodes++;
    const labelLen = this.buf[this.pos];
    const at = this.putLabel(parentName, parentAt, labelLen);
    const buf = this.buf;
    const nameBytes = this.name;
    const wildcard = labelLen === 1 && buf[this.pos + 1] === 0x2a;
    this.pos += 1 + labelLen;
    const setCount = buf[this.pos++];
    if (quiet) {
      // Read past: the records are counted, not made.
      for (let s = 0; s < setCount; s++) {
        this.type();
        const n = this.varint();
        for (let i = 0; i < n; i++) {
          // (Never `this.pos += this.varint()`: the sum would take pos from before the varint was read.)
          const idLength = this.varint();
          this.pos += idLength + 4;
          const valueLength = this.varint();
          this.pos += valueLength;
        }
        if (n === 0) throw new Error('checkpoint: an empty RRset');
        this.count += n;
      }
      const childCount = this.varint();
      for (let i = 0; i < childCount; i++) this.scanNode('', at, scan, true);
      return wildcard;
    }
    const name = parentName === '.' && labelLen === 0 ? '.' : nameBytes.toString('latin1', at, nameBytes.length);
    const sets = new Array<RRset>(setCount);
    for (let s = 0; s < setCount; s++) {
      const type = this.type();
      const n = this.varint();
      if (n === 0) throw new Error(`checkpoint: an empty ${type} RRset at ${name}`);
      const records = new Array<RecordState>(n);
      for (let i = 0; i < n; i++) {
        // The id is skipped: no one asks a scanned record for it.
        const idLength = this.varint();
        this.pos += idLength;
        const ttl = this.buf.readUInt32BE(this.pos);
        this.pos += 4;
        records[i] = { id: '', name, type, ttl, value: this.varstr('utf8') };
      }
      this.count += n;
      sets[s] = rrsetOf(records);
    }
    const node = makeNode(name, sets, PMap.empty<TrieNode>());
    const mode = scan.enter(node);
    const childCount = this.varint();
    let wildcardChild = false;
    for (let i = 0; i < childCount; i++) if (this.scanNode(name, at, scan, mode !== SCAN_ALL)) wildcardChild = true;
    if (mode !== SCAN_SKIP) scan.visit(node, wildcardChild);
    return wildcard;
  }

  /** One node and (recursively) its children; `at` is where the node's name starts in `this.name`. */
  private node(parentName: string, parentAt: number, apex: boolean): TrieNode {
    this.fill();
    this.nodes++;
    const end = this.name.length;
    const labelLen = this.buf[this.pos];
    let label = '';
    let name = parentName;
    let at = parentAt;
    if (!apex) {
      at = this.putLabel(parentName, parentAt, labelLen);
      name = parentName === '.' && labelLen === 0 ? '.' : this.name.toString('latin1', at, end);
      // The label is the name's first labelLen characters (Latin-1: one byte each): a JS substring,
      // not a second decode through the Buffer binding (a million of them on the 1M-name zone).
      label = name === '.' ? '' : name.substring(0, labelLen);
    }
    this.pos += 1 + labelLen;
    const setCount = this.buf[this.pos++];
    let one: RRset | undefined;
    const several: RRset[] | undefined = setCount > 1 ? new Array<RRset>(setCount) : undefined;
    for (let s = 0; s < setCount; s++) {
      const type = this.type();
      const n = this.varint();
      const first = this.count;
      for (let i = 0; i < n; i++) {
        const id = this.varstr('latin1');
        const ttl = this.buf.readUInt32BE(this.pos);
        this.pos += 4;
        const r: RecordState = { id, name, type, ttl, value: this.varstr('utf8') };
        this.ids[this.count] = id;
        this.records[this.count++] = r;
      }
      if (n === 0) throw new Error(`checkpoint: an empty ${type} RRset at ${name}`);
      // The RRset's records are the last n of the zone's list: copied out of it at their exact size.
      const set = rrsetOf(this.records, first, this.count);
      if (several) several[s] = set;
      else one = set;
    }
    const childCount = this.varint();
    let children = PMap.empty<TrieNode>();
    if (apex && childCount >= DEFER_CHILDREN && this.deferTo === false) this.readWhole = true;
    if (apex && this.deferTo !== false && childCount >= DEFER_CHILDREN) {
      // The rest of the zone is read later, by a reader of its own from here (DeferredChildren).
      const keys = new Array<string>(childCount);
      const kids = new Array<TrieNode>(childCount);
      const fork = this.forkHere();
      const rest = fork();
      rest.ids = this.ids;
      rest.records = this.records;
      const apexRecords = this.count;
      rest.count = apexRecords;
      rest.writeName(name, at);
      // A scan counts from the apex's records too (DeferredChildren.check), and keeps none.
      const again = (): StateReader => {
        const r = fork();
        r.count = apexRecords;
        return r;
      };
      const deferred = new DeferredChildren(rest, name, at, keys, kids, this.expected, this.deferTo, again);
      children = PMap.lazyFromArrays(keys, kids, () => deferred.finish());
      deferredBelow.set(children, deferred);
      this.deferred = deferred;
      this.unbuilt.push(children);
    } else if (childCount > 0) {
      const keys = new Array<string>(childCount);
      const kids = new Array<TrieNode>(childCount);
      for (let i = 0; i < childCount; i++) {
        kids[i] = this.node(name, at, false);
        keys[i] = this.label;
      }
      if (childCount >= LAZY_CHILDREN) {
        children = PMap.lazyFromArrays(keys, kids);
        this.unbuilt.push(children);
      } else {
        children = PMap.fromArrays(keys, kids);
      }
    }
    this.label = label;
    let sets = several ?? NO_SETS;
    if (one) {
      this.oneSet[0] = one;
      sets = this.oneSet;
    }
    return makeNode(name, sets, children);
  }
}

/**
 * What DeferredChildren.scan shows each node to. `enter` sees a node (its RRsets, no children) before
 * anything below it is read, and says what to visit: SCAN_SKIP, neither the node nor anything below
 * it; SCAN_NODE, the node but nothing below it; SCAN_ALL, the node and (as their own `enter` says)
 * the nodes below it. `visit` then gets each node to visit after everything below it was read,
 * with whether one of its children is the wildcard `*` (below a node not descended into too).
 */
export interface ZoneScan {
  enter(node: TrieNode): number;
  visit(node: TrieNode, wildcardChild: boolean): void;
}
export const SCAN_SKIP = 0;
export const SCAN_NODE = 1;
export const SCAN_ALL = 2;

/** The children maps of deferred apexes, to their DeferredChildren (unreadBelow). */
const deferredBelow = new WeakMap<PMap<unknown>, DeferredChildren>();

/**
 * The DeferredChildren of `children` when it is the children map of a big zone's apex whose nodes
 * below are still to be read (DEFER_CHILDREN); undefined otherwise (read, or never deferred). Lets
 * a walk that needs no trie scan the zone's bytes (DeferredChildren.scan) instead of reading them.
 */
export function unreadBelow(children: PMap<unknown>): DeferredChildren | undefined {
  const d = deferredBelow.get(children);
  return d && !d.done ? d : undefined;
}

/**
 * Decode a blob written by {@link serializeState}; undefined when it is of another format. It does
 * not check the digest: {@link loadCheckpoint} does, before calling it.
 */
export function deserializeState(stored: Buffer): LedgerState | undefined {
  if (stored.length < DIGEST_BYTES + 4) return undefined;
  const blob = stored.subarray(DIGEST_BYTES);
  const headLen = blob.readUInt32BE(0);
  let header: Header;
  try {
    header = JSON.parse(blob.toString('utf8', 4, 4 + headLen)) as Header;
  } catch {
    return undefined; // not this format (an older build's checkpoint)
  }
  if (header.format !== CHECKPOINT_FORMAT) return undefined;
  const reader = new StateReader(blob, 4 + headLen, header.blocks);
  const zones: Array<[string, ZoneState]> = [];
  // A blob that says where each zone starts lets a big zone be read later (DEFER_CHILDREN).
  const positioned = header.zones.every((z) => Array.isArray(z.at));
  const deferred: DeferredChildren[] = [];
  let lastDeferred = false;
  for (let i = 0; i < header.zones.length; i++) {
    const z = header.zones[i];
    if (!Number.isSafeInteger(z.records) || z.records < 0) throw new Error(`checkpoint: zone ${z.name} has no record count in its header`);
    const next = header.zones[i + 1]?.at;
    if (positioned) {
      if (!reader.isAt(z.at!)) reader.seek(z.at!);
      reader.deferTo = next;
    }
    let tree = reader.zone(z.name, z.records, z.nodes);
    lastDeferred = reader.deferred !== undefined;
    if (reader.deferred) deferred.push(reader.deferred);
    else if (reader.count !== z.records || reader.nodes !== z.nodes) {
      throw new Error(`checkpoint: zone ${z.name} has ${reader.count} records in ${reader.nodes} nodes, its header says ${z.records} in ${z.nodes}`);
    } else if (positioned && next && !reader.isAt(next)) throw new Error(`checkpoint: zone ${z.name} does not end where the next one starts`);
    tree = setApexRRset(tree, {
      type: 'SOA',
      records: [{ id: 'soa', name: z.name, type: 'SOA', ttl: z.soa.ttl, value: soaValue(z.soa, z.serial) }],
    });
    // The records-by-id map is built on first use (the first write or record read), or by the server
    // in slices once DNS is up (Ledger.prepareRecordMaps): DNS needs only the trie, and 1.5 million
    // entries took about a second of the start. The ids were keys of
    // one map when written, and the digest says these are the bytes written.
    const ids = reader.ids;
    const list = reader.records;
    const rest = reader.deferred;
    const records = PMap.lazyFromArrays(ids, list, rest ? () => rest.finish() : undefined);
    zones.push([z.name, { name: z.name, apexLabels: labelCount(z.name), soa: z.soa, serial: z.serial, version: z.version, records, tree, ...(z.dnssec ? { dnssec: z.dnssec } : {}) }]);
  }
  // (A deferred last zone checks this when it is read.)
  if (!lastDeferred && !reader.exhausted) throw new Error('checkpoint: bytes left after the last zone');
  const heads = PMap.from<ZoneHead>(header.heads.map(([z, seq, serial, deleted]) => [z, { seq, serial, deleted }] as const));
  const state: LedgerState = { seq: header.seq, zones: PMap.from(zones), heads };
  unbuiltOf.set(state, { children: reader.unbuilt, deferred, readWhole: reader.readWhole });
  return state;
}

/**
 * Which checkpoints are kept. Start-up needs only the newest, but point-in-time reads (`?at=`,
 * restores) start from the newest checkpoint at or before their point, so the kept set is thinned
 * rather than cut: the newest `recent` always, and older ones only where dropping one would leave a
 * gap wider than `min(maxGap, age / density)` events (age: how far the gap's newer end is behind
 * the newest checkpoint). Gaps therefore grow with age: about `density` checkpoints per doubling of
 * age, plus one per `maxGap` events of old log, and no point replays more than
 * `max(checkpoint interval, maxGap)` events from its checkpoint.
 */
export interface CheckpointRetention {
  recent: number;
  density: number;
  maxGap: number;
}

/** The retention the ledger uses (a 1,000,000-event log checkpointed every 1,000 events keeps 41, no gap over 64,000). */
export const CHECKPOINT_RETENTION: CheckpointRetention = { recent: 3, density: 4, maxGap: 100_000 };

/**
 * The seqs to keep of `seqs` (any order). Walks from the newest down and drops a checkpoint only when
 * the gap it would leave (from the kept one above it to the next one below it, or to seq 0) stays
 * within the allowance; a gap that was allowed stays allowed as the log grows (allowances only widen).
 */
export function checkpointsToKeep(seqs: readonly number[], policy: CheckpointRetention = CHECKPOINT_RETENTION): Set<number> {
  const desc = [...new Set(seqs)].sort((a, b) => b - a);
  const keep = new Set<number>();
  if (desc.length === 0) return keep;
  const newest = desc[0];
  let above = newest;
  for (let i = 0; i < desc.length; i++) {
    const seq = desc[i];
    const below = i + 1 < desc.length ? desc[i + 1] : 0;
    const allowance = Math.min(policy.maxGap, (newest - above) / policy.density);
    if (i < policy.recent || above - below > allowance) {
      keep.add(seq);
      above = seq;
    }
  }
  return keep;
}

/** What was written: the checkpoint's seq, the log's hash there (the chain head it was taken at), its digest. */
export interface CheckpointWritten {
  seq: number;
  hash: string;
  digest: string;
}

/** Store a checkpoint of `state`, whose newest event has hash `headHash`, and thin the older ones. */
export function saveCheckpoint(db: Database.Database, state: LedgerState, headHash: string): CheckpointWritten {
  return storeCheckpoint(db, state.seq, headHash, serializeState(state, headHash));
}

/** Store an already serialized checkpoint (of the state at `seq`) and thin the older ones. */
export function storeCheckpoint(db: Database.Database, seq: number, headHash: string, blob: Buffer): CheckpointWritten {
  db.transaction(() => {
    db.prepare('INSERT OR REPLACE INTO checkpoints (seq, head_hash, format, created_at, data) VALUES (?, ?, ?, ?, ?)').run(seq, headHash, CHECKPOINT_FORMAT, Date.now(), blob);
    const seqs = db.prepare('SELECT seq FROM checkpoints').pluck().all() as number[];
    const keep = checkpointsToKeep(seqs);
    const drop = db.prepare('DELETE FROM checkpoints WHERE seq = ?');
    for (const s of seqs) if (!keep.has(s)) drop.run(s);
  })();
  return { seq, hash: headHash, digest: blob.subarray(0, DIGEST_BYTES).toString('hex') };
}

/** Why the newest checkpoint was or was not used, for logs and `mcns verify`. */
export interface CheckpointLoad {
  state?: LedgerState;
  seq?: number;
  /** Every checkpoint passed over and why (an older format is routine). */
  skipped?: string;
  /**
   * Checkpoints refused because they do not match the log (hash at their seq) or their own digest:
   * edited or corrupted. Operators must hear of these (the server logs them as errors).
   */
  rejected?: string[];
}

/** How many checkpoints at or below a point are tried before falling back to a full replay. */
const CANDIDATES = 5;

/**
 * The newest usable checkpoint at or below `maxSeq`: of this build's format, taken at an event whose
 * hash still matches (so a checkpoint never outlives a log it was not taken from), and whose digest
 * matches its contents (so an edited checkpoint is never served).
 */
export function loadCheckpoint(db: Database.Database, maxSeq = Number.MAX_SAFE_INTEGER): CheckpointLoad {
  const rows = db
    .prepare('SELECT seq, head_hash, format FROM checkpoints WHERE seq <= ? ORDER BY seq DESC LIMIT ?')
    .all(maxSeq, CANDIDATES) as Array<{ seq: number; head_hash: string; format: number }>;
  const reasons: string[] = [];
  const rejected: string[] = [];
  const reject = (why: string): void => {
    reasons.push(why);
    rejected.push(why);
  };
  const done = (out: CheckpointLoad): CheckpointLoad => ({
    ...out,
    skipped: reasons.join('; ') || undefined,
    rejected: rejected.length > 0 ? rejected : undefined,
  });
  for (const row of rows) {
    if (row.format !== CHECKPOINT_FORMAT) {
      reasons.push(`checkpoint at ${row.seq} has format ${row.format}, this build reads ${CHECKPOINT_FORMAT}`);
      continue;
    }
    const ev = db.prepare('SELECT hash FROM events WHERE seq = ?').get(row.seq) as { hash: string } | undefined;
    if (ev?.hash !== row.head_hash) {
      reject(`checkpoint at ${row.seq} does not match the log's hash there`);
      continue;
    }
    const blob = (db.prepare('SELECT data FROM checkpoints WHERE seq = ?').get(row.seq) as { data: Buffer }).data;
    if (!checkpointIntact(blob, ev.hash)) {
      reject(`checkpoint at ${row.seq} does not match its digest (its contents were changed after it was written)`);
      continue;
    }
    try {
      const state = deserializeState(blob);
      if (state && state.seq === row.seq) return done({ state, seq: row.seq });
      reject(`checkpoint at ${row.seq} is unreadable`);
    } catch (err) {
      reject(`checkpoint at ${row.seq} is unreadable: ${(err as Error).message}`);
    }
  }
  return done({});
}

/** Seq of the newest kept checkpoint at or below `maxSeq` (not checked: {@link loadCheckpoint} checks). */
export function checkpointSeqAtOrBefore(db: Database.Database, maxSeq: number): number | undefined {
  const row = db.prepare('SELECT max(seq) AS seq FROM checkpoints WHERE seq <= ? AND format = ?').get(maxSeq, CHECKPOINT_FORMAT) as { seq: number | null };
  return row.seq ?? undefined;
}
