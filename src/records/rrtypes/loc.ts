/**
 * LOC: RFC 1876. Presentation `d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]`,
 * written back as BIND writes it (seconds with 3 decimals, altitude with 2, sizes in metres).
 */
import type { RDataOf } from '../types.ts';
import { fieldError, type RRCodec } from './codec.ts';
import { RDataError, type FieldReader } from './text.ts';

const EQUATOR = 2 ** 31;
/** Altitude is stored in centimetres above a base 100,000 m below the WGS 84 spheroid. */
const ALT_BASE_CM = 10000000;
const MAX_ALT_CM = 4284967295;
const MAX_SIZE_CM = 9000000000;
/** Defaults of RFC 1876 3: size 1 m, horizontal precision 10,000 m, vertical precision 10 m. */
const DEFAULT_SIZE = 0x12;
const DEFAULT_HP = 0x16;
const DEFAULT_VP = 0x13;

/** Centimetres of "12.34m" / "12" (at most 2 decimals); undefined when malformed. */
function metresToCm(text: string, allowNegative: boolean): number | undefined {
  const m = /^(-?)([0-9]+)(?:\.([0-9]{1,2}))?m?$/i.exec(text);
  if (!m || (m[1] === '-' && !allowNegative)) return undefined;
  const cm = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] === '-' ? -cm : cm;
}

/** The mantissa/exponent byte of a size in centimetres (RFC 1876 2), rounded down like BIND. */
function sizeByte(cm: number): number {
  let exp = 0;
  while (exp < 9 && cm >= 10 ** (exp + 1)) exp++;
  return (Math.floor(cm / 10 ** exp) << 4) | exp;
}

function sizeText(b: number): string {
  const cm = (b >> 4) * 10 ** (b & 0x0f);
  return (b & 0x0f) >= 2 ? `${cm / 100}m` : `0.${String(cm).padStart(2, '0')}m`;
}

function checkSizeByte(b: number, what: string): void {
  if (b >> 4 > 9 || (b & 0x0f) > 9) throw fieldError('LOC', what, `byte 0x${b.toString(16)} is not a valid size (mantissa and exponent 0..9)`);
}

/** One coordinate: degrees [minutes [seconds]] then the hemisphere letter; thousandths of a second. */
function coordinate(r: FieldReader, what: string, maxDeg: number, hemispheres: [string, string]): number {
  const parts: string[] = [];
  let hemi: string | undefined;
  while (parts.length < 4) {
    const t = r.next();
    if (t.quoted) throw fieldError('LOC', what, `must not be quoted (got "${t.raw}")`);
    const up = t.raw.toUpperCase();
    if (up === hemispheres[0] || up === hemispheres[1]) {
      hemi = up;
      break;
    }
    parts.push(t.raw);
  }
  if (hemi === undefined || parts.length === 0) {
    throw fieldError('LOC', what, `expected degrees [minutes [seconds]] then ${hemispheres.join(' or ')}`);
  }
  const [d, m = '0', s = '0'] = parts;
  if (!/^[0-9]+$/.test(d) || Number(d) > maxDeg) throw fieldError('LOC', `${what} degrees`, `must be 0..${maxDeg} (got "${d}")`);
  if (!/^[0-9]+$/.test(m) || Number(m) > 59) throw fieldError('LOC', `${what} minutes`, `must be 0..59 (got "${m}")`);
  if (!/^[0-9]+(\.[0-9]{1,3})?$/.test(s) || Number(s) >= 60) throw fieldError('LOC', `${what} seconds`, `must be 0..59.999 (got "${s}")`);
  const ms = (Number(d) * 3600 + Number(m) * 60) * 1000 + Math.round(Number(s) * 1000);
  if (ms > maxDeg * 3600000) throw fieldError('LOC', what, `is beyond ${maxDeg} degrees`);
  return hemi === hemispheres[0] ? EQUATOR + ms : EQUATOR - ms;
}

function coordinateText(v: number, hemispheres: [string, string]): string {
  const positive = v >= EQUATOR;
  let ms = positive ? v - EQUATOR : EQUATOR - v;
  const d = Math.floor(ms / 3600000);
  ms -= d * 3600000;
  const m = Math.floor(ms / 60000);
  ms -= m * 60000;
  const s = Math.floor(ms / 1000);
  return `${d} ${m} ${s}.${String(ms - s * 1000).padStart(3, '0')} ${positive ? hemispheres[0] : hemispheres[1]}`;
}

function checkCoordinate(v: number, maxDeg: number, what: string): void {
  if (Math.abs(v - EQUATOR) > maxDeg * 3600000) throw fieldError('LOC', what, `is beyond ${maxDeg} degrees`);
}

/** LOC: RFC 1876 (version 0). */
export const LOC: RRCodec<RDataOf<'LOC'>> = {
  type: 'LOC',
  fields: 'd1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]',
  compress: false,
  decompress: false,
  canonicalLowercase: false,
  parse(r) {
    const latitude = coordinate(r, 'latitude', 90, ['N', 'S']);
    const longitude = coordinate(r, 'longitude', 180, ['E', 'W']);
    const altTok = r.next();
    const altCm = altTok.quoted ? undefined : metresToCm(altTok.raw, true);
    if (altCm === undefined || altCm < -ALT_BASE_CM || altCm > MAX_ALT_CM) {
      throw fieldError('LOC', 'altitude', `must be -100000.00..42849672.95 metres (got "${altTok.raw}")`);
    }
    const sizes = [DEFAULT_SIZE, DEFAULT_HP, DEFAULT_VP];
    const names = ['size', 'horizontal precision', 'vertical precision'];
    for (let i = 0; i < 3 && r.more; i++) {
      const t = r.next();
      const cm = t.quoted ? undefined : metresToCm(t.raw, false);
      if (cm === undefined || cm > MAX_SIZE_CM) throw fieldError('LOC', names[i], `must be 0..90000000.00 metres (got "${t.raw}")`);
      sizes[i] = sizeByte(cm);
    }
    r.end();
    return { type: 'LOC', version: 0, size: sizes[0], horizPre: sizes[1], vertPre: sizes[2], latitude, longitude, altitude: altCm + ALT_BASE_CM };
  },
  format(d) {
    const below = d.altitude < ALT_BASE_CM;
    const alt = below ? ALT_BASE_CM - d.altitude : d.altitude - ALT_BASE_CM;
    const altText = `${below ? '-' : ''}${Math.floor(alt / 100)}.${String(alt % 100).padStart(2, '0')}m`;
    return `${coordinateText(d.latitude, ['N', 'S'])} ${coordinateText(d.longitude, ['E', 'W'])} ${altText} ${sizeText(d.size)} ${sizeText(d.horizPre)} ${sizeText(d.vertPre)}`;
  },
  encode(d, w) {
    w.u8(d.version);
    w.u8(d.size);
    w.u8(d.horizPre);
    w.u8(d.vertPre);
    w.u32(d.latitude);
    w.u32(d.longitude);
    w.u32(d.altitude);
  },
  decode(r) {
    const version = r.u8();
    if (version !== 0) throw new RDataError(`LOC version must be 0 (RFC 1876), got ${version}`);
    const d = { type: 'LOC' as const, version, size: r.u8(), horizPre: r.u8(), vertPre: r.u8(), latitude: r.u32(), longitude: r.u32(), altitude: r.u32() };
    checkSizeByte(d.size, 'size');
    checkSizeByte(d.horizPre, 'horizontal precision');
    checkSizeByte(d.vertPre, 'vertical precision');
    checkCoordinate(d.latitude, 90, 'latitude');
    checkCoordinate(d.longitude, 180, 'longitude');
    return d;
  },
  wireLength: () => 16,
};
