/**
 * BIND's `$GENERATE start-stop[/step] lhs [ttl] [class] type rhs` (BIND 9 ARM, "The $GENERATE
 * Directive"): the range, and the substitution of the iterator into lhs and rhs. In a template
 * `$` is the iterator, `${offset[,width[,base]]}` the iterator plus offset, zero-padded to width, in
 * base d (decimal), o (octal), x / X (hex), n / N (reversed nibbles with dots, for ip6.arpa); `$$`
 * is a literal `$`, and a backslash keeps the character after it as it is (`\$`).
 */

/** Most records one $GENERATE may produce (a /16 of reverse names); more is refused, not truncated. */
export const MAX_GENERATE_RECORDS = 65536;

/**
 * Most records all the $GENERATE directives of one file may produce together: a few lines (an API
 * body of a few MiB) must not make billions of records.
 */
export const MAX_GENERATED_PER_FILE = 1048576;

/** The widest field a modifier may ask for (BIND's own buffer holds 127 characters). */
const MAX_WIDTH = 127;
const INT_MAX = 2147483647;

/** A bad $GENERATE range or template; the message says what is wrong. */
export class GenerateError extends Error {
  override name = 'GenerateError';
}

/** A parsed `start-stop[/step]` range. */
export interface GenerateRange {
  start: number;
  stop: number;
  step: number;
}

/** Parse `start-stop[/step]` (0 <= start <= stop, step >= 1) and check it stays under the limit. */
export function parseRange(text: string): GenerateRange {
  const m = /^([0-9]+)-([0-9]+)(?:\/([0-9]+))?$/.exec(text);
  if (!m) throw new GenerateError(`invalid range "${text}" (expected start-stop or start-stop/step, e.g. 1-254)`);
  const [start, stop, step] = [Number(m[1]), Number(m[2]), m[3] === undefined ? 1 : Number(m[3])];
  if (start > INT_MAX || stop > INT_MAX) throw new GenerateError(`invalid range "${text}": the bounds must be at most ${INT_MAX}`);
  if (stop < start) throw new GenerateError(`invalid range "${text}": stop is before start`);
  if (step < 1) throw new GenerateError(`invalid range "${text}": the step must be at least 1`);
  const count = Math.floor((stop - start) / step) + 1;
  if (count > MAX_GENERATE_RECORDS) {
    throw new GenerateError(
      `range "${text}" would generate ${count} records; one $GENERATE makes at most ${MAX_GENERATE_RECORDS} (split it into several)`,
    );
  }
  return { start, stop, step };
}

/** How many records a range makes. */
export function rangeCount(r: GenerateRange): number {
  return Math.floor((r.stop - r.start) / r.step) + 1;
}

/** The iterator values of a range, in order. */
export function* rangeValues(r: GenerateRange): Generator<number> {
  for (let i = r.start; i <= r.stop; i += r.step) yield i;
}

/** BIND's nibble mode: least significant nibble first, each followed by a dot while width or value remain. */
function nibbles(value: number, width: number, upper: boolean): string {
  const digits = upper ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = '';
  let w = width;
  let v = value;
  do {
    out += digits[v & 0x0f];
    v = Math.floor(v / 16);
    if (w > 0) w--;
    if (w > 0 || v !== 0) {
      out += '.';
      if (w > 0) w--;
    }
  } while (v !== 0 || w > 0);
  return out;
}

/** One value in a base, zero-padded to width like C's printf("%0*d") (BIND formats it so). */
function formatValue(value: number, width: number, base: string, spec: string): string {
  switch (base) {
    case 'd': {
      const digits = String(Math.abs(value));
      const sign = value < 0 ? '-' : '';
      return sign + digits.padStart(width - sign.length, '0');
    }
    case 'o':
      return (value >>> 0).toString(8).padStart(width, '0');
    case 'x':
      return (value >>> 0).toString(16).padStart(width, '0');
    case 'X':
      return (value >>> 0).toString(16).toUpperCase().padStart(width, '0');
    default:
      if (value < 0) throw new GenerateError(`"\${${spec}}" gives a negative value (${value}), which has no nibbles`);
      return nibbles(value, width, base === 'N');
  }
}

/** `template` with every `$` / `${offset,width,base}` replaced for iterator value `value`. */
export function substitute(template: string, value: number): string {
  let out = '';
  let i = 0;
  const n = template.length;
  while (i < n) {
    const c = template[i];
    if (c === '\\') {
      out += template.slice(i, i + 2);
      i += 2;
    } else if (c !== '$') {
      out += c;
      i++;
    } else if (template[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (template[i + 1] !== '{') {
      out += String(value);
      i++;
    } else {
      const close = template.indexOf('}', i);
      if (close < 0) throw new GenerateError(`"\${" without its closing "}" in "${template}"`);
      const spec = template.slice(i + 2, close);
      const m = /^([-+]?[0-9]+)(?:,([0-9]+)(?:,([doxXnN]))?)?$/.exec(spec);
      if (!m) {
        throw new GenerateError(`invalid modifier "\${${spec}}" in "${template}" (expected \${offset}, \${offset,width} or \${offset,width,base} with base d, o, x, X, n or N)`);
      }
      const offset = Number(m[1]);
      const width = m[2] === undefined ? 0 : Number(m[2]);
      if (width > MAX_WIDTH) throw new GenerateError(`width ${width} in "\${${spec}}" is too wide (at most ${MAX_WIDTH})`);
      const v = value + offset;
      if (v > INT_MAX || v < -INT_MAX - 1) throw new GenerateError(`"\${${spec}}" at ${value} is out of range`);
      out += formatValue(v, width, m[3] ?? 'd', spec);
      i = close + 1;
    }
  }
  return out;
}

/**
 * The right-hand side of a $GENERATE as its record text: a quoted rhs (the way to give a value with
 * spaces, `"10 mail$"`) loses its quotes, and `\"` inside it becomes a plain quote, as BIND's lexer does.
 */
export function rhsTemplate(raw: string, quoted: boolean): string {
  if (!quoted) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && i + 1 < raw.length) {
      out += raw[i + 1] === '"' ? '"' : raw.slice(i, i + 2);
      i++;
    } else {
      out += raw[i];
    }
  }
  return out;
}
