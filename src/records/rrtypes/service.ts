/** Service discovery by rewrite rules and URIs: NAPTR (RFC 3403) and URI (RFC 7553). */
import type { RDataOf } from '../types.ts';
import { fieldError, type RRCodec } from './codec.ts';
import { decodeString, quoteBytes } from './text.ts';

/** NAPTR flags: letters and digits only (RFC 3403 4.1), either case. */
function checkFlags(flags: Uint8Array): Uint8Array {
  for (const b of flags) {
    const ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    if (!ok) throw fieldError('NAPTR', 'flags', `may hold only letters A-Z and digits 0-9 (got "${String.fromCharCode(b)}")`);
  }
  return flags;
}

/** NAPTR: RFC 3403 4.1 (replacement neither compressed on the way out nor lowercased away). */
export const NAPTR: RRCodec<RDataOf<'NAPTR'>> = {
  type: 'NAPTR',
  fields: 'order preference flags services regexp replacement',
  compress: false,
  decompress: true,
  canonicalLowercase: true,
  parse(r) {
    r.count(6);
    const order = r.uint('order', 65535);
    const preference = r.uint('preference', 65535);
    const flags = checkFlags(r.string('flags'));
    const services = r.string('services');
    const regexp = r.string('regexp');
    const replacement = r.name('replacement');
    return { type: 'NAPTR', order, preference, flags, services, regexp, replacement };
  },
  format: (d) => `${d.order} ${d.preference} ${quoteBytes(d.flags)} ${quoteBytes(d.services)} ${quoteBytes(d.regexp)} ${d.replacement}`,
  encode(d, w) {
    w.u16(d.order);
    w.u16(d.preference);
    for (const s of [d.flags, d.services, d.regexp]) {
      w.u8(s.length);
      w.bytes(s);
    }
    w.name(d.replacement, false);
  },
  decode(r) {
    const order = r.u16();
    const preference = r.u16();
    const flags = checkFlags(r.bytes(r.u8()));
    const services = r.bytes(r.u8());
    const regexp = r.bytes(r.u8());
    return { type: 'NAPTR', order, preference, flags, services, regexp, replacement: r.name(true) };
  },
  wireLength: (d, n) => 7 + d.flags.length + d.services.length + d.regexp.length + n(d.replacement),
  targets: (d) => (d.replacement === '.' ? [] : [d.replacement]),
};

/** URI: RFC 7553 4.5 (the target fills the rest of the rdata and may be longer than 255 bytes). */
export const URI: RRCodec<RDataOf<'URI'>> = {
  type: 'URI',
  fields: 'priority weight "target"',
  compress: false,
  decompress: false,
  canonicalLowercase: false,
  parse(r) {
    r.count(3);
    const priority = r.uint('priority', 65535);
    const weight = r.uint('weight', 65535);
    const t = r.next();
    if (!t.quoted) throw fieldError('URI', 'target', `must be a quoted string (got ${t.raw})`);
    const target = decodeString(t.raw);
    if (target.length === 0) throw fieldError('URI', 'target', 'is empty');
    return { type: 'URI', priority, weight, target };
  },
  format: (d) => `${d.priority} ${d.weight} ${quoteBytes(d.target)}`,
  encode(d, w) {
    w.u16(d.priority);
    w.u16(d.weight);
    w.bytes(d.target);
  },
  decode(r) {
    const priority = r.u16();
    const weight = r.u16();
    const target = r.rest();
    if (target.length === 0) throw fieldError('URI', 'target', 'is empty');
    return { type: 'URI', priority, weight, target };
  },
  wireLength: (d) => 4 + d.target.length,
};
