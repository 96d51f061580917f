/**
 * The serving-index image: the complete serving index (serving-index.ts) of one projection state,
 * saved beside the database at exit (`<database path>.index`) and restored at the next start instead
 * of being built again. On a 1,000,000-name zone the build is 10-13 s of CPU in two passes (the
 * second paced between queries, which then answer at about 0.8 of the small zone's rate); reading
 * the ~110 MB image back into the index's typed arrays takes a fraction of a second.
 *
 * An image is only ever used for the state it was taken of, and only by a build that encodes
 * answers the same way; otherwise it is ignored and the index is built as before:
 *  - it is bound to the head of the log it was taken at: the seq of the state and the hash of the
 *    event at that seq (as checkpoints are, checkpoint.ts). The state a start reaches after loading
 *    the checkpoint and replaying the tail has that seq and hash only if it is the same state;
 *  - it carries a fingerprint of the build that wrote it (`indexFingerprint`): IMAGE_FORMAT, the
 *    byte order, the checkpoint format (a projection that changed could make another state of the
 *    same log), and the bytes of the image this build makes of a small fixed probe zone holding
 *    every kind of answer (A/AAAA, MX and TXT, CNAME chains ending in data, NODATA, NXDOMAIN and
 *    out of our zones, a wildcard, a delegation with glue, a DNAME, SRV/CAA). A change to how the
 *    index encodes any of them changes the fingerprint without anyone bumping IMAGE_FORMAT; the
 *    constant is for changes to the file layout itself. No configuration enters it because none
 *    changes the index's bytes: its answers are answerQuery's for the state with no options, the
 *    server's index takes no ServingIndexOptions (they only pace rebuilds, not what is built), and
 *    DNSSEC stays outside it (a DO query into a signed zone never reaches the index);
 *  - the header and every section carry a CRC-32, checked before anything is used: a truncated,
 *    corrupt or unreadable file is a logged warning and a normal build, never a wrong answer.
 * It is written only when the index is current and complete (no rebuild, no second pass pending),
 * to a temporary file renamed over the old one; when it cannot be written the old one is removed,
 * and when nothing changed since it was restored the file is kept as it is (dns/server.ts).
 * It is a cache: safe to delete, not part of backups (RUNBOOK: "Serving-index image").
 *
 * Layout: "MCNSIDX\n", u32 LE header length, u32 LE CRC-32 of the header, the header (JSON: format,
 * fingerprint, seq, hash, the table's counters, each section's length and CRC-32), zero padding to
 * a multiple of 8, then the sections: the table's slots (Int32Array, host byte order), its arena's
 * used bytes, and the zone ids, dependents and the zones' negative templates (format 2) as JSON.
 * The templates are kept so that an image can be restored before the state it is of has been
 * reached (a start whose log tail is applied after DNS binds: Ledger.deferTail); everything else in
 * it is read from the table alone. Written from the live arrays and read straight
 * into the new ones: no second copy of ~110 MB at either end.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { endianness } from 'node:os';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { decide, type Command } from '../projections/decide.ts';
import { CHECKPOINT_FORMAT } from '../projections/checkpoint.ts';
import { EMPTY_STATE, evolveAll, type LedgerState } from '../projections/state.ts';
import { NameTable } from './name-table.ts';
import { DEPENDENTS_AS_SET, ServingIndex, type Dependents, type ServingIndexImage } from './serving-index.ts';
import type { NegativeTemplate } from './negative.ts';

/** The file layout's version: bump it when the layout below changes (answer encoding is covered by the fingerprint). */
export const IMAGE_FORMAT = 2;
const MAGIC = Buffer.from('MCNSIDX\n', 'latin1');
/** Magic, header length, header CRC. */
const PREAMBLE = MAGIC.length + 8;
/** A header longer than this is not one of ours (it holds a few numbers and two hashes). */
const MAX_HEADER = 64 * 1024;

/** Where a database's serving-index image lives. */
export function indexImagePath(databasePath: string): string {
  return `${databasePath}.index`;
}

/** The log head an image is bound to: the state's seq and the hash of the event at that seq. */
export interface ImageHead {
  seq: number;
  hash: string;
}

interface Section {
  bytes: number;
  crc: number;
}

interface ImageHeader {
  format: number;
  fingerprint: string;
  seq: number;
  hash: string;
  live: number;
  tombstones: number;
  garbage: number;
  slots: Section;
  arena: Section;
  meta: Section;
}

/** The zone ids, dependents and negative templates as saved (sets as arrays, restored as sets when long; bytes in base64). */
interface ImageMeta {
  zones: Array<[string, number]>;
  dependents: Array<[string, string | string[]]>;
  /** By zone id; null for a zone without one (negativeTemplate). */
  templates: Array<SavedTemplate | null>;
}

interface SavedTemplate {
  rr: string;
  pointers: number[];
  apexWireLength: number;
  risky: string[];
  ttlAt: number;
  shape: string;
}

function metaBytes(image: ServingIndexImage): Buffer {
  const dependents: Array<[string, string | string[]]> = [];
  for (const [name, read] of image.dependents) dependents.push([name, typeof read === 'string' ? read : [...read]]);
  const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  const templates = image.templates.map((t) => (t ? { rr: b64(t.rr), pointers: t.pointers, apexWireLength: t.apexWireLength, risky: t.risky.map(b64), ttlAt: t.ttlAt, shape: t.shape } : null));
  const meta: ImageMeta = { zones: [...image.zoneIds], dependents, templates };
  return Buffer.from(JSON.stringify(meta), 'utf8');
}

/** A saved template back (the meta section's CRC was checked; its shape is checked here). */
function templateOf(t: SavedTemplate | null): NegativeTemplate | undefined {
  if (t === null) return undefined;
  const ints = (xs: unknown): boolean => Array.isArray(xs) && xs.every((x) => Number.isInteger(x));
  if (typeof t.rr !== 'string' || !ints(t.pointers) || !Number.isInteger(t.apexWireLength) || !Array.isArray(t.risky) || !Number.isInteger(t.ttlAt) || typeof t.shape !== 'string') {
    throw new Damaged('a negative template is not one');
  }
  const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'));
  return { rr: bytes(t.rr), pointers: t.pointers, apexWireLength: t.apexWireLength, risky: t.risky.map(bytes), ttlAt: t.ttlAt, shape: t.shape };
}

function asBytes(a: Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The file's parts for `image` taken at `head`: the header bytes (with preamble and padding) and the sections. */
function imageParts(image: ServingIndexImage, head: ImageHead, fingerprint: string): { head: Buffer; sections: Uint8Array[] } {
  const slots = asBytes(image.table.slots);
  const arena = image.table.arena;
  const meta = metaBytes(image);
  const header: ImageHeader = {
    format: IMAGE_FORMAT,
    fingerprint,
    seq: head.seq,
    hash: head.hash,
    live: image.table.live,
    tombstones: image.table.tombstones,
    garbage: image.table.garbage,
    slots: { bytes: slots.byteLength, crc: crc32(slots) },
    arena: { bytes: arena.byteLength, crc: crc32(arena) },
    meta: { bytes: meta.byteLength, crc: crc32(meta) },
  };
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil((PREAMBLE + text.length) / 8) * 8;
  const out = Buffer.alloc(padded);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(text.length, MAGIC.length);
  out.writeUInt32LE(crc32(text), MAGIC.length + 4);
  text.copy(out, PREAMBLE);
  return { head: out, sections: [slots, arena, meta] };
}

/** Commands making the probe zones of the fingerprint: every kind of answer the index holds. */
function probeCommands(): Command[] {
  const soa = (zone: string) => ({ primary_ns: `ns1.${zone}`, admin_email: `hostmaster@${zone}` });
  const rec = (name: string, type: string, value: string, ttl?: number) => ({ op: 'create' as const, name, type, value, ttl });
  const p = 'probe.mcns-image.test';
  const o = 'other.mcns-image.test';
  return [
    { kind: 'createZone', zone: p, soa: soa(p) },
    { kind: 'createZone', zone: o, soa: soa(o) },
    {
      kind: 'changeRecords',
      zone: p,
      ops: [
        rec(`ns1.${p}`, 'A', '192.0.2.53'),
        rec(`www.${p}`, 'A', '192.0.2.1'),
        rec(`www.${p}`, 'A', '192.0.2.2'),
        rec(`www.${p}`, 'AAAA', '2001:db8::1', 600),
        rec(`mail.${p}`, 'A', '192.0.2.25'),
        rec(`mail.${p}`, 'MX', `10 mail.${p}.`),
        rec(`mail.${p}`, 'TXT', '"v=spf1 mx -all" "second"'),
        rec(`alias.${p}`, 'CNAME', `www.${p}.`),
        rec(`alias2.${p}`, 'CNAME', `alias.${p}.`),
        rec(`dangling.${p}`, 'CNAME', `missing.${p}.`),
        rec(`out.${p}`, 'CNAME', 'www.elsewhere.example.'),
        rec(`cross.${p}`, 'CNAME', `www.${o}.`),
        rec(`*.wild.${p}`, 'A', '192.0.2.9'),
        rec(`*.wild.${p}`, 'TXT', '"wild"'),
        rec(`cut.${p}`, 'NS', `ns.cut.${p}.`),
        rec(`ns.cut.${p}`, 'A', '192.0.2.77'),
        rec(`srv.${p}`, 'SRV', `0 5 53 www.${p}.`),
        rec(`caa.${p}`, 'CAA', '0 issue "ca.example"'),
        rec(`dn.${p}`, 'DNAME', `${o}.`),
        rec(`Mixed.Case.${p}`, 'A', '192.0.2.3'),
        // Every other type the index takes from the general path, some naming names whose addresses
        // go in the additional section: a change to how any of them is answered changes the fingerprint.
        rec(`ptr.${p}`, 'PTR', `www.${p}.`),
        rec(`https.${p}`, 'HTTPS', `1 www.${p}. alpn="h2,h3" port=8443 ipv4hint=192.0.2.1`),
        rec(`svcb.${p}`, 'SVCB', `1 mail.${p}. key65000=abc`),
        rec(`tlsa.${p}`, 'TLSA', `3 1 1 ${'0123456789abcdef'.repeat(4)}`),
        rec(`smimea.${p}`, 'SMIMEA', `3 1 2 ${'ab'.repeat(64)}`),
        rec(`sshfp.${p}`, 'SSHFP', `4 2 ${'0123456789abcdef'.repeat(4)}`),
        rec(`naptr.${p}`, 'NAPTR', `100 10 "S" "SIP+D2U" "" _sip._udp.${p}.`),
        rec(`uri.${p}`, 'URI', '10 1 "https://example.net/"'),
        rec(`loc.${p}`, 'LOC', '52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m'),
        rec(`hinfo.${p}`, 'HINFO', '"PC" "Linux"'),
        rec(`rp.${p}`, 'RP', `admin.${p}. mail.${p}.`),
        rec(`pgp.${p}`, 'OPENPGPKEY', 'AQIDBAU='),
        rec(`cert.${p}`, 'CERT', 'PKIX 12 RSASHA256 AQID'),
        rec(`opaque.${p}`, 'TYPE65400', '\\# 4 0a000001'),
      ],
    },
    { kind: 'changeRecords', zone: o, ops: [rec(`www.${o}`, 'TXT', '"other"'), rec(`www.${o}`, 'AAAA', '2001:db8::2')] },
  ];
}

/** The probe state: the commands decided and folded in order, with a fixed clock and ids. */
export function probeState(): LedgerState {
  let state = EMPTY_STATE;
  let id = 0;
  for (const cmd of probeCommands()) {
    const d = decide(state, cmd, { now: Date.UTC(2026, 0, 1), newId: () => `p${++id}` });
    state = evolveAll(
      state,
      d.drafts.map((e, i) => ({ seq: state.seq + i + 1, zone: e.zone, body: e.body })),
    );
  }
  return state;
}

let fingerprintMemo: string | undefined;

/**
 * The fingerprint of this build's index encoding (see the module comment). Computed once per process
 * (a few milliseconds: a probe zone of a few dozen records, built synchronously).
 */
export function indexFingerprint(): string {
  if (fingerprintMemo !== undefined) return fingerprintMemo;
  const state = probeState();
  const index = new ServingIndex();
  if (index.sync(state) === 'rebuilding') throw new Error('serving index image: the probe zone did not build at once');
  const image = index.imageOf(state);
  if (!image) throw new Error('serving index image: the probe index is not complete');
  const parts = imageParts(image, { seq: state.seq, hash: '' }, '');
  const h = createHash('sha256').update(`mcns-serving-index-image v${IMAGE_FORMAT} ${endianness()} checkpoint v${CHECKPOINT_FORMAT}\n`);
  for (const s of parts.sections) h.update(s);
  fingerprintMemo = h.digest('hex');
  return fingerprintMemo;
}

/** What writing an image did, for the exit log line. */
export type ImageWritten = { written: true; bytes: number; ms: number } | { written: false; reason: string; kept?: boolean };

/**
 * Writes the image of `index` for `state` (whose seq's event has hash `hash`) to `path`, atomically
 * (a temporary file renamed over it). When the index is not the complete index of `state`, writes
 * nothing and removes an older image (it is of another state; its binding would refuse it anyway,
 * but it need not sit on the disk). Throws only what the file system throws.
 */
export function writeIndexImage(path: string, index: ServingIndex, state: LedgerState, hash: string | undefined): ImageWritten {
  const t0 = performance.now();
  const image = hash === undefined ? undefined : index.imageOf(state);
  if (!image || hash === undefined) {
    rmSync(path, { force: true });
    return { written: false, reason: hash === undefined ? 'the log has no event at the state\'s seq' : 'the serving index is not complete for the state being served' };
  }
  const parts = imageParts(image, { seq: state.seq, hash }, indexFingerprint());
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  let bytes = 0;
  try {
    for (const chunk of [parts.head, ...parts.sections]) bytes += writeAll(fd, chunk);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  // No fsync: a file cut short by a crash fails its checks and is ignored (it is a cache).
  renameSync(tmp, path);
  removeStaleTemporaries(path);
  return { written: true, bytes, ms: performance.now() - t0 };
}

/** A temporary image file older than this was left by a process that died while writing it. */
const STALE_TEMPORARY_MS = 10 * 60_000;

/**
 * Removes `<path>.tmp-PID` files a crash during a write left behind (each as large as an image).
 * Only old ones: a second server on the same database may be writing its own right now.
 */
function removeStaleTemporaries(path: string): void {
  const prefix = `${basename(path)}.tmp-`;
  const dir = dirname(path);
  try {
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(prefix)) continue;
      const file = join(dir, name);
      if (Date.now() - statSync(file).mtimeMs > STALE_TEMPORARY_MS) rmSync(file, { force: true });
    }
  } catch {
    // Best effort: a leftover costs disk space, never an answer.
  }
}

function writeAll(fd: number, chunk: Uint8Array): number {
  // At most 1 GiB per call: a single write of more is cut short on Linux anyway.
  for (let off = 0; off < chunk.byteLength; ) off += writeSync(fd, chunk, off, Math.min(chunk.byteLength - off, 1 << 30));
  return chunk.byteLength;
}

/** What reading an image did: restored, or why not (absent: no file; the rest are logged). */
export type ImageRestored =
  | { restored: true; bytes: number; ms: number; entries: number }
  | { restored: false; absent: boolean; reason: string; problem: boolean };

/** An image read and checked (format, fingerprint, checksums), not yet bound to a state: see installIndexImage. */
export interface LoadedImage {
  head: ImageHead;
  table: NameTable;
  dependents: Dependents;
  zoneIds: Map<string, number>;
  templates: Array<NegativeTemplate | undefined>;
  bytes: number;
  /** Milliseconds spent reading and checking it. */
  ms: number;
}

/**
 * Reads the image at `path` into the arrays a NameTable then uses as they are (read in place, no
 * copy) and checks its format, fingerprint and checksums; it is not yet known to be of the state
 * to serve (installIndexImage). The server loads it before opening the ledger: ~110 MB of typed
 * arrays allocated while the heap is still small cost V8 a small GC, where the same allocation
 * after a 1M-record checkpoint is loaded starts a full mark-compact of the projection's heap
 * (~0.5 s). `expected`: the head of the log the ledger will open at, when known; an image taken at
 * another head is then not read any further. Never throws: a missing, foreign, stale or damaged file
 * is the reason it was not loaded.
 */
export function loadIndexImage(path: string, expected?: ImageHead): LoadedImage | Extract<ImageRestored, { restored: false }> {
  const t0 = performance.now();
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { restored: false, absent: code === 'ENOENT', reason: code === 'ENOENT' ? 'no image' : `cannot open: ${(err as Error).message}`, problem: code !== 'ENOENT' };
  }
  try {
    const size = fstatSync(fd).size;
    let pos = 0;
    const read = (into: Uint8Array, what: string): void => {
      for (let off = 0; off < into.byteLength; ) {
        const n = readSync(fd, into, off, Math.min(into.byteLength - off, 1 << 30), pos);
        if (n === 0) throw new Damaged(`${what}: file ends after ${pos} of ${size} bytes`);
        off += n;
        pos += n;
      }
    };
    const pre = Buffer.alloc(PREAMBLE);
    read(pre, 'preamble');
    if (!pre.subarray(0, MAGIC.length).equals(MAGIC)) throw new Damaged('not a serving-index image (bad magic)');
    const headerLength = pre.readUInt32LE(MAGIC.length);
    if (headerLength > MAX_HEADER) throw new Damaged(`header length ${headerLength}`);
    const text = Buffer.alloc(headerLength);
    read(text, 'header');
    if (crc32(text) !== pre.readUInt32LE(MAGIC.length + 4)) throw new Damaged('header checksum mismatch');
    const header = JSON.parse(text.toString('utf8')) as ImageHeader;
    // Layout and build first: an image of another build is not read any further.
    if (header.format !== IMAGE_FORMAT) return skipped(`image format ${header.format}, this build reads ${IMAGE_FORMAT}`);
    if (header.fingerprint !== indexFingerprint()) return skipped('written by a build that encodes answers differently (fingerprint)');
    // The head of the log the ledger is about to open, when known: an image of another state is not
    // read (110 MB read and then dropped would sit beside the index being built until a GC).
    if (expected && header.seq !== expected.seq) return skipped(`taken at seq ${header.seq}, the log is at seq ${expected.seq}`);
    if (expected && header.hash !== expected.hash) return skipped(`taken at seq ${header.seq} of another log (hash ${String(header.hash).slice(0, 16)}…)`);
    const { slots: s, arena: a, meta: m } = header;
    pos = Math.ceil((PREAMBLE + headerLength) / 8) * 8;
    if (pos + s.bytes + a.bytes + m.bytes !== size) throw new Damaged(`${size} bytes, the header describes ${pos + s.bytes + a.bytes + m.bytes}`);
    if (s.bytes % 8 !== 0) throw new Damaged(`slots of ${s.bytes} bytes`);
    const slots = new Int32Array(s.bytes / 4);
    read(asBytes(slots), 'slots');
    if (crc32(asBytes(slots)) !== s.crc) throw new Damaged('slots checksum mismatch');
    // The arena, read in place (no copy), with a quarter more room than it holds: writes append there
    // until it is full, then compaction frees the entries they replaced (NameTable.makeRoom). The
    // pages are not resident until written.
    const arena = new Uint8Array(a.bytes + Math.max(4096, a.bytes >> 2));
    const used = arena.subarray(0, a.bytes);
    read(used, 'arena');
    if (crc32(used) !== a.crc) throw new Damaged('arena checksum mismatch');
    const metaText = Buffer.alloc(m.bytes);
    read(metaText, 'zone ids, dependents and templates');
    if (crc32(metaText) !== m.crc) throw new Damaged('zone ids, dependents and templates checksum mismatch');
    const meta = JSON.parse(metaText.toString('utf8')) as ImageMeta;
    const dependents: Dependents = new Map();
    for (const [name, read] of meta.dependents) dependents.set(name, typeof read === 'string' ? read : read.length > DEPENDENTS_AS_SET ? new Set(read) : read);
    const table = NameTable.fromImage(arena, a.bytes, slots, header);
    if (!Array.isArray(meta.templates)) throw new Damaged('no negative templates');
    const templates = meta.templates.map(templateOf);
    return { head: { seq: header.seq, hash: header.hash }, table, dependents, zoneIds: new Map(meta.zones), templates, bytes: size, ms: performance.now() - t0 };
  } catch (err) {
    return { restored: false, absent: false, reason: err instanceof Damaged ? err.message : `unreadable: ${(err as Error).message}`, problem: true };
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes `index` the index of `state` from a loaded image when the image was taken of that very
 * state: its seq, and `hash`, the hash of the log's event at that seq. Otherwise the index is left
 * untouched and the reason returned (`problem` false: an image of another state, expected after a
 * crash, a restore or writes by another process). `ms` counts the load too. Never throws.
 */
export function installIndexImage(loaded: LoadedImage, index: ServingIndex, state: LedgerState, hash: string | undefined): ImageRestored {
  const t0 = performance.now();
  if (loaded.head.seq !== state.seq) return skipped(`taken at seq ${loaded.head.seq}, the state is at seq ${state.seq}`);
  if (hash === undefined || loaded.head.hash !== hash) return skipped(`taken at seq ${loaded.head.seq} of another log (hash ${String(loaded.head.hash).slice(0, 16)}…)`);
  try {
    index.restoreImage(state, loaded.table, loaded.dependents, loaded.zoneIds, loaded.templates);
  } catch (err) {
    return { restored: false, absent: false, reason: (err as Error).message, problem: true };
  }
  return { restored: true, bytes: loaded.bytes, ms: loaded.ms + performance.now() - t0, entries: loaded.table.size };
}

/**
 * loadIndexImage (unless `loaded` is its result already) then installIndexImage: restores `index`
 * from the image at `path` when it was taken of `state` by a build with this one's fingerprint and
 * every check passes. Never throws.
 */
export function restoreIndexImage(path: string, index: ServingIndex, state: LedgerState, hash: string | undefined, loaded: LoadedImage | ImageRestored = loadIndexImage(path)): ImageRestored {
  return 'table' in loaded ? installIndexImage(loaded, index, state, hash) : loaded;
}

function skipped(reason: string): Extract<ImageRestored, { restored: false }> {
  return { restored: false, absent: false, reason, problem: false };
}

/** A check of the file failed (truncated, corrupt, not ours). */
class Damaged extends Error {}
