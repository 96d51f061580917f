/**
 * A {@link WireSink} that collects bytes (no compression: for RFC 3597 values, size checks and the
 * RFC 4034 canonical form) and a {@link WireSource} over a message or a bare rdata.
 */
import { ipv4ToBytes, ipv6ToBytes } from '../ip.ts';
import { NameError, nameToWire, normalizeName, wireLabelToPresentation } from '../names.ts';
import { WireError, type WireSink, type WireSource } from './codec.ts';

/** Collects rdata bytes; names uncompressed, lowercased (ASCII) when `lowercaseNames`. */
export class ByteSink implements WireSink {
  private buf = new Uint8Array(64);
  private pos = 0;
  constructor(private readonly lowercaseNames = false) {}

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.room(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }
  u32(v: number): void {
    this.room(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  ipv4(address: string): void {
    this.bytes(ipv4ToBytes(address));
  }
  ipv6(address: string): void {
    this.bytes(ipv6ToBytes(address));
  }
  name(name: string, _compress: boolean): void {
    let wire: Uint8Array;
    try {
      wire = nameToWire(name);
    } catch (e) {
      if (e instanceof NameError) throw new RangeError(`invalid domain name ${JSON.stringify(name)}: ${e.message}`, { cause: e });
      throw e;
    }
    if (this.lowercaseNames) {
      // Only the label bytes: length bytes are below 64, never in A..Z.
      for (let i = 0; i < wire.length; i++) if (wire[i] >= 0x41 && wire[i] <= 0x5a) wire[i] |= 0x20;
    }
    this.bytes(wire);
  }
  /** The bytes written so far (a copy). */
  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/**
 * Reads the rdata at [start, end) of `buf`. Compression pointers in names may point anywhere
 * before in `buf` (a whole message); a bare rdata has no earlier bytes to point to.
 */
export class ByteSource implements WireSource {
  private pos: number;
  constructor(
    readonly type: string,
    private readonly buf: Uint8Array,
    start: number,
    private readonly end: number,
    /** Compression pointers may appear at all (not in an RFC 3597 generic value, RFC 3597 5). */
    private readonly pointers = true,
  ) {
    this.pos = start;
  }

  get left(): number {
    return this.end - this.pos;
  }
  private need(n: number, what = 'rdata'): void {
    if (this.pos + n > this.end) throw new WireError(`${this.type} ${what} is too short`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    // A copy, and a plain Uint8Array (a Buffer's slice would be a view into the message).
    const out = new Uint8Array(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  rest(): Uint8Array {
    return this.bytes(this.end - this.pos);
  }
  name(decompress: boolean): string {
    const b = this.buf;
    let p = this.pos;
    let end = -1;
    let hops = 0;
    let out = '';
    let wireLen = 1;
    for (;;) {
      if (p >= (end < 0 ? this.end : b.length)) throw new WireError(`${this.type} rdata name is truncated`);
      const l = b[p];
      if (l === 0) {
        if (end < 0) end = p + 1;
        break;
      }
      if ((l & 0xc0) === 0xc0) {
        if (!this.pointers) throw new WireError(`${this.type} generic data holds a compressed name (not allowed in the \\# form, RFC 3597 5)`);
        if (!decompress) throw new WireError(`${this.type} rdata name is compressed (not allowed for ${this.type}, RFC 3597 4)`);
        if (p + 1 >= b.length) throw new WireError(`${this.type} rdata name is truncated`);
        if (end < 0) end = p + 2;
        if (++hops > 128) throw new WireError(`${this.type} rdata name has a compression loop`);
        const target = ((l & 0x3f) << 8) | b[p + 1];
        if (target >= p) throw new WireError(`${this.type} rdata name points forward`);
        p = target;
        continue;
      }
      if (l & 0xc0) throw new WireError(`${this.type} rdata name has an unsupported label type`);
      if (p + 1 + l > b.length || (end < 0 && p + 1 + l > this.end)) throw new WireError(`${this.type} rdata name is truncated`);
      wireLen += l + 1;
      if (wireLen > 255) throw new WireError(`${this.type} rdata name is longer than 255 octets`);
      out += wireLabelToPresentation(b.subarray(p + 1, p + 1 + l)) + '.';
      p += 1 + l;
    }
    if (end > this.end) throw new WireError(`${this.type} rdata name overruns the record`);
    this.pos = end;
    try {
      return normalizeName(out === '' ? '.' : out);
    } catch (e) {
      throw new WireError(`${this.type} rdata name: ${(e as Error).message}`);
    }
  }
}
