/**
 * The RFC 1035 family and its close relatives: A, AAAA, CNAME, NS, PTR, DNAME, MX, TXT, SRV, CAA,
 * SOA, HINFO, RP.
 */
import { canonicalIPv4, canonicalIPv6 } from '../ip.ts';
import type { RDataOf, SoaData } from '../types.ts';
import type { RRCodec } from './codec.ts';
import { RDataError, decodeString, durationSeconds, quoteBytes, type FieldReader, type Token } from './text.ts';

const U32_MAX = 4294967295;

/** The RFC 1035 types compress names in answers and accept compressed names (RFC 3597 4). */
const RFC1035 = { compress: true, decompress: true, canonicalLowercase: true } as const;
/** Later types: names never compressed on the way out; RFC 3597 4 lets a receiver decompress these. */
const DECOMPRESS_ONLY = { compress: false, decompress: true, canonicalLowercase: true } as const;

/** A: RFC 1035 3.4.1. */
export const A: RRCodec<RDataOf<'A'>> = {
  type: 'A',
  fields: 'address',
  ...RFC1035,
  parse(r) {
    r.count(1);
    const t = r.next();
    const address = t.quoted ? null : canonicalIPv4(t.raw);
    if (address === null) throw new RDataError(`invalid IPv4 address "${t.raw}"`);
    return { type: 'A', address };
  },
  format: (d) => d.address,
  encode: (d, w) => w.ipv4(d.address),
  decode(r) {
    const b = r.bytes(4);
    return { type: 'A', address: `${b[0]}.${b[1]}.${b[2]}.${b[3]}` };
  },
  wireLength: () => 4,
};

/** AAAA: RFC 3596 2.2; text in RFC 5952 form. */
export const AAAA: RRCodec<RDataOf<'AAAA'>> = {
  type: 'AAAA',
  fields: 'address',
  ...RFC1035,
  parse(r) {
    r.count(1);
    const t = r.next();
    const address = t.quoted ? null : canonicalIPv6(t.raw);
    if (address === null) throw new RDataError(`invalid IPv6 address "${t.raw}"`);
    return { type: 'AAAA', address };
  },
  format: (d) => d.address,
  encode: (d, w) => w.ipv6(d.address),
  decode(r) {
    return { type: 'AAAA', address: ipv6Text(r.bytes(16)) };
  },
  wireLength: () => 16,
};

/** Canonical text of 16 IPv6 address bytes. */
export function ipv6Text(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return canonicalIPv6(groups.join(':')) as string;
}

type TargetType = 'CNAME' | 'NS' | 'PTR' | 'DNAME';

function targetCodec(type: TargetType, rules: { compress: boolean; decompress: boolean; canonicalLowercase: boolean }): RRCodec<RDataOf<TargetType>> {
  return {
    type,
    fields: 'target',
    ...rules,
    parse(r) {
      r.count(1);
      const target = r.name('target');
      return { type, target };
    },
    format: (d) => d.target,
    encode(d, w) {
      w.name(d.target, rules.compress);
    },
    decode: (r) => ({ type, target: r.name(rules.decompress) }),
    wireLength: (d, n) => n(d.target),
    targets: type === 'NS' ? (d) => [d.target] : undefined,
  };
}

/** CNAME: RFC 1035 3.3.1. */
export const CNAME = targetCodec('CNAME', RFC1035);
/** NS: RFC 1035 3.3.11 (its target is looked up for the additional section). */
export const NS = targetCodec('NS', RFC1035);
/** PTR: RFC 1035 3.3.12. */
export const PTR = targetCodec('PTR', RFC1035);
/**
 * DNAME: RFC 6672 2.1. The target is never compressed on the way out (2.5); BIND and Knot read a
 * compressed one, so it is accepted on the way in.
 */
export const DNAME = targetCodec('DNAME', DECOMPRESS_ONLY);

/** MX: RFC 1035 3.3.9. */
export const MX: RRCodec<RDataOf<'MX'>> = {
  type: 'MX',
  fields: 'preference exchange',
  ...RFC1035,
  parse(r) {
    r.count(2);
    const preference = r.uint('preference', 65535);
    const exchange = r.name('exchange');
    return { type: 'MX', preference, exchange };
  },
  format: (d) => `${d.preference} ${d.exchange}`,
  encode(d, w) {
    w.u16(d.preference);
    w.name(d.exchange, true);
  },
  decode: (r) => ({ type: 'MX', preference: r.u16(), exchange: r.name(true) }),
  wireLength: (d, n) => 2 + n(d.exchange),
  targets: (d) => [d.exchange],
};

/** TXT strings of presentation tokens: each token one character-string of at most 255 octets. */
export function txtStrings(toks: Token[]): Uint8Array[] {
  if (toks.length === 0) throw new RDataError('TXT value needs at least one string (use "" for an empty one)');
  return toks.map((t) => {
    const s = decodeString(t.raw);
    if (s.length > 255) throw new RDataError(`TXT string is longer than 255 octets (${s.length}); split it into several strings`);
    return s;
  });
}


/** TXT: RFC 1035 3.3.14. */
export const TXT: RRCodec<RDataOf<'TXT'>> = {
  type: 'TXT',
  fields: '"string" ...',
  ...RFC1035,
  parse: (r) => ({ type: 'TXT', strings: txtStrings(r.rest()) }),
  format: (d) => d.strings.map(quoteBytes).join(' '),
  encode(d, w) {
    // RDATA must hold at least one character-string.
    if (d.strings.length === 0) return w.u8(0);
    for (const s of d.strings) {
      if (s.length > 255) throw new RangeError('TXT string longer than 255 bytes');
      w.u8(s.length);
      w.bytes(s);
    }
  },
  decode(r) {
    const strings: Uint8Array[] = [];
    while (r.left > 0) strings.push(r.bytes(r.u8()));
    if (strings.length === 0) throw new RDataError('TXT rdata needs at least one string');
    return { type: 'TXT', strings };
  },
  // An empty TXT rdata is written as one empty character-string.
  wireLength: (d) => (d.strings.length === 0 ? 1 : d.strings.reduce((n, s) => n + 1 + s.length, 0)),
};

/** SRV: RFC 2782 (the target is never compressed on the way out). */
export const SRV: RRCodec<RDataOf<'SRV'>> = {
  type: 'SRV',
  fields: 'priority weight port target',
  ...DECOMPRESS_ONLY,
  parse(r) {
    r.count(4);
    const priority = r.uint('priority', 65535);
    const weight = r.uint('weight', 65535);
    const port = r.uint('port', 65535);
    const target = r.name('target');
    return { type: 'SRV', priority, weight, port, target };
  },
  format: (d) => `${d.priority} ${d.weight} ${d.port} ${d.target}`,
  encode(d, w) {
    w.u16(d.priority);
    w.u16(d.weight);
    w.u16(d.port);
    w.name(d.target, false);
  },
  decode: (r) => ({ type: 'SRV', priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.name(true) }),
  wireLength: (d, n) => 6 + n(d.target),
  targets: (d) => (d.target === '.' ? [] : [d.target]),
};

/** CAA: RFC 8659 4.1. */
export const CAA: RRCodec<RDataOf<'CAA'>> = {
  type: 'CAA',
  fields: 'flags tag value',
  compress: false,
  decompress: false,
  canonicalLowercase: false,
  parse(r) {
    r.count(3);
    const flags = r.uint('flags', 255);
    const tagTok = r.next();
    const valueTok = r.next();
    if (tagTok.quoted || !/^[a-z0-9]{1,15}$/i.test(tagTok.raw)) {
      throw new RDataError(`CAA tag must be 1..15 letters or digits (got "${tagTok.raw}")`);
    }
    return { type: 'CAA', flags, tag: tagTok.raw.toLowerCase(), value: decodeString(valueTok.raw) };
  },
  format: (d) => `${d.flags} ${d.tag} ${quoteBytes(d.value)}`,
  encode(d, w) {
    if (d.tag.length === 0 || d.tag.length > 255) throw new RangeError('CAA tag must be 1..255 characters');
    w.u8(d.flags);
    w.u8(d.tag.length);
    for (let k = 0; k < d.tag.length; k++) {
      const c = d.tag.charCodeAt(k);
      if (c > 127) throw new RangeError('CAA tag must be ASCII');
      w.u8(c);
    }
    w.bytes(d.value);
  },
  decode(r) {
    const flags = r.u8();
    const tag = Buffer.from(r.bytes(r.u8())).toString('latin1').toLowerCase();
    return { type: 'CAA', flags, tag, value: r.rest() };
  },
  wireLength: (d) => 2 + d.tag.length + d.value.length,
};

function soaTime(tok: Token, what: string): number {
  const s = tok.quoted ? null : durationSeconds(tok.raw);
  if (s === null || s > U32_MAX) {
    throw new RDataError(`${what} must be 0..${U32_MAX} seconds or a duration like 1h (got "${tok.raw}")`);
  }
  return s;
}

/** SOA: RFC 1035 3.3.13 (times also as BIND durations). */
export const SOA: RRCodec<SoaData> = {
  type: 'SOA',
  fields: 'mname rname serial refresh retry expire minimum',
  ...RFC1035,
  parse(r) {
    r.count(7);
    const mname = r.name('mname');
    const rnameTok = r.peek();
    if (rnameTok && !rnameTok.quoted && /^[^\\@]+@/.test(rnameTok.raw)) {
      throw new RDataError(`SOA rname must be a domain name (write "admin.example.com.", not "admin@example.com")`);
    }
    const rname = r.name('rname');
    const serial = r.uint('serial', U32_MAX);
    const refresh = soaTime(r.next(), 'SOA refresh');
    const retry = soaTime(r.next(), 'SOA retry');
    const expire = soaTime(r.next(), 'SOA expire');
    const minimum = soaTime(r.next(), 'SOA minimum');
    return { type: 'SOA', mname, rname, serial, refresh, retry, expire, minimum };
  },
  format: (d) => `${d.mname} ${d.rname} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`,
  encode(d, w) {
    w.name(d.mname, true);
    w.name(d.rname, true);
    w.u32(d.serial);
    w.u32(d.refresh);
    w.u32(d.retry);
    w.u32(d.expire);
    w.u32(d.minimum);
  },
  decode(r) {
    const mname = r.name(true);
    const rname = r.name(true);
    return { type: 'SOA', mname, rname, serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() };
  },
  wireLength: (d, n) => n(d.mname) + n(d.rname) + 20,
};

/** HINFO: RFC 1035 3.3.2 (two character-strings). */
export const HINFO: RRCodec<RDataOf<'HINFO'>> = {
  type: 'HINFO',
  fields: 'cpu os',
  compress: false,
  decompress: false,
  canonicalLowercase: false,
  parse(r: FieldReader) {
    r.count(2);
    const cpu = r.string('cpu');
    const os = r.string('os');
    return { type: 'HINFO', cpu, os };
  },
  format: (d) => `${quoteBytes(d.cpu)} ${quoteBytes(d.os)}`,
  encode(d, w) {
    w.u8(d.cpu.length);
    w.bytes(d.cpu);
    w.u8(d.os.length);
    w.bytes(d.os);
  },
  decode(r) {
    const cpu = r.bytes(r.u8());
    return { type: 'HINFO', cpu, os: r.bytes(r.u8()) };
  },
  wireLength: (d) => 2 + d.cpu.length + d.os.length,
};

/** RP: RFC 1183 2.2 (mailbox as a name, and the name of a TXT record; "." for none). */
export const RP: RRCodec<RDataOf<'RP'>> = {
  type: 'RP',
  fields: 'mbox txt',
  ...DECOMPRESS_ONLY,
  parse(r) {
    r.count(2);
    const mbox = r.name('mbox');
    const txt = r.name('txt');
    return { type: 'RP', mbox, txt };
  },
  format: (d) => `${d.mbox} ${d.txt}`,
  encode(d, w) {
    w.name(d.mbox, false);
    w.name(d.txt, false);
  },
  decode(r) {
    const mbox = r.name(true);
    return { type: 'RP', mbox, txt: r.name(true) };
  },
  wireLength: (d, n) => n(d.mbox) + n(d.txt),
};
