/**
 * Domain names in presentation form.
 *
 * Convention (see types.ts): an absolute name is lowercase, in presentation form, with a trailing
 * dot ("www.example.com.", the root is "."). Escapes are kept in presentation form but canonical:
 * the printable specials . \ " ( ) ; @ $ are written as \X, every byte outside 0x21..0x7e as \DDD,
 * every other byte as itself, and ASCII letters are lowercased (also when written as \DDD). So two
 * names are equal exactly when their canonical strings are equal.
 *
 * Names are ASCII: a non-ASCII character is rejected (use punycode, or \DDD for raw bytes).
 */

const MAX_LABEL_OCTETS = 63;
const MAX_NAME_OCTETS = 255;

/** A malformed domain name; the message says what is wrong. */
export class NameError extends Error {
  override name = 'NameError';
}

// Characters that stand for themselves in canonical presentation form ("." is handled apart).
const PLAIN = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) PLAIN[c] = 1;
for (const ch of '."\\();@$') PLAIN[ch.charCodeAt(0)] = 0;
// Specials escaped as \X (everything else outside PLAIN is written \DDD).
const SPECIAL = new Uint8Array(128);
for (const ch of '."\\();@$') SPECIAL[ch.charCodeAt(0)] = 1;

const CANONICAL_RE = /^(?:[a-z0-9_*-]{1,63}\.)+$/;
const CANONICAL_NO_DOT_RE = /^(?:[a-z0-9_*-]{1,63}\.)*[a-z0-9_*-]{1,63}$/;

function shortLabel(text: string): string {
  return text.length > 20 ? `${text.slice(0, 20)}…` : text;
}

function labelTooLong(text: string): NameError {
  return new NameError(`label "${shortLabel(text)}" is longer than ${MAX_LABEL_OCTETS} octets`);
}

function nameTooLong(): NameError {
  return new NameError(`name is longer than ${MAX_NAME_OCTETS} octets`);
}

/**
 * Decode presentation `text` (escape-aware) into label byte arrays, splitting on unescaped dots.
 * A trailing unescaped dot is allowed (and ignored); "." alone gives []. Letters are lowercased
 * when `lower` is set. Throws NameError on empty labels, bad escapes and non-ASCII characters.
 */
function decodeLabels(text: string, lower: boolean): Uint8Array[] {
  if (text === '.') return [];
  if (text.length === 0) throw new NameError('empty name');
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let start = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    let decimal = false;
    if (c === 0x2e) {
      if (cur.length === 0) throw new NameError(`empty label in "${text}"`);
      labels.push(Uint8Array.from(cur));
      cur = [];
      start = i + 1;
      continue;
    }
    if (c <= 0x20 || c === 0x7f) {
      const code = `\\${String(c).padStart(3, '0')}`;
      throw new NameError(`unescaped control or space character in "${text}" (write it as ${code})`);
    }
    if (c === 0x5c) {
      if (i + 1 >= n) throw new NameError(`trailing backslash in "${text}"`);
      const d = text.charCodeAt(i + 1);
      if (d >= 0x30 && d <= 0x39) {
        const digits = text.slice(i + 1, i + 4);
        if (!/^[0-9]{3}$/.test(digits)) {
          throw new NameError(`invalid escape "\\${digits}" in "${text}" (\\DDD needs three decimal digits)`);
        }
        c = Number(digits);
        decimal = true;
        if (c > 255) throw new NameError(`invalid escape "\\${digits}" in "${text}" (value above 255)`);
        i += 3;
      } else {
        c = d;
        i += 1;
      }
    }
    if (c > 0x7f && !decimal) {
      // A raw non-ASCII character, or an escaped one (\é): names are ASCII.
      throw new NameError(`non-ASCII character "${String.fromCharCode(c)}" in "${text}" (use punycode or \\DDD)`);
    }
    if (lower && c >= 0x41 && c <= 0x5a) c += 0x20;
    cur.push(c);
    if (cur.length > MAX_LABEL_OCTETS) throw labelTooLong(text.slice(start));
  }
  if (cur.length > 0) labels.push(Uint8Array.from(cur));
  return labels;
}

function checkWireLength(labels: Uint8Array[]): void {
  let wire = 1;
  for (const l of labels) wire += l.length + 1;
  if (wire > MAX_NAME_OCTETS) throw nameTooLong();
}

function labelsToPresentation(labels: Uint8Array[]): string {
  if (labels.length === 0) return '.';
  let out = '';
  for (const l of labels) out += wireLabelToPresentation(l) + '.';
  return out;
}

/**
 * Validate and canonicalise a name, treating it as absolute: adds the trailing dot, lowercases,
 * canonicalises escapes; checks labels ≤ 63 octets, name ≤ 255 octets, no empty labels. Throws NameError.
 */
export function normalizeName(name: string): string {
  const n = name.length;
  if (n === 0) throw new NameError('empty name');
  if (name === '.') return '.';
  // Fastest path: already canonical (common characters only); wire length is then n + 1.
  if (n <= MAX_NAME_OCTETS - 1 && CANONICAL_RE.test(name)) return name;
  if (n <= MAX_NAME_OCTETS - 2 && CANONICAL_NO_DOT_RE.test(name)) return name + '.';
  if (name === '@') throw new NameError('"@" (the zone origin) needs an origin to resolve against');
  // Fast path: only plain characters and dots.
  let labelLen = 0;
  let labelStart = 0;
  let wire = 1;
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (labelLen === 0) throw new NameError(`empty label in "${name}"`);
      wire += labelLen + 1;
      labelLen = 0;
      labelStart = i + 1;
      continue;
    }
    if (c >= 128 || PLAIN[c] === 0) return slowNormalize(name);
    if (c >= 0x41 && c <= 0x5a) upper = true;
    if (++labelLen > MAX_LABEL_OCTETS) throw labelTooLong(name.slice(labelStart));
  }
  if (labelLen > 0) wire += labelLen + 1;
  if (wire > MAX_NAME_OCTETS) throw nameTooLong();
  const out = upper ? name.toLowerCase() : name;
  return labelLen > 0 ? out + '.' : out;
}

function slowNormalize(name: string): string {
  const labels = decodeLabels(name, true);
  checkWireLength(labels);
  return labelsToPresentation(labels);
}

/** True when `s` ends with a dot that is not escaped by a backslash. */
function endsWithUnescapedDot(s: string): boolean {
  if (s.charCodeAt(s.length - 1) !== 0x2e) return false;
  let backslashes = 0;
  for (let i = s.length - 2; i >= 0 && s.charCodeAt(i) === 0x5c; i--) backslashes++;
  return backslashes % 2 === 0;
}

/**
 * Resolve a possibly relative name against an absolute `origin`: "@" is the origin, a name ending
 * in an unescaped "." is absolute, anything else is `name.origin`. The result is normalised.
 */
export function absoluteName(name: string, origin: string): string {
  if (name === '@') return normalizeName(origin);
  if (name.length === 0) throw new NameError('empty name');
  if (endsWithUnescapedDot(name)) return normalizeName(name);
  const o = normalizeName(origin);
  return normalizeName(o === '.' ? name + '.' : name + '.' + o);
}

/**
 * Name relative to `zone` ("@" for the apex, "www" for "www.example.com." in "example.com."), or
 * the absolute name if it is outside the zone. Both arguments must be normalised.
 */
export function relativeName(name: string, zone: string): string {
  if (name === zone) return '@';
  if (!isInZone(name, zone)) return name;
  return zone === '.' ? name.slice(0, -1) : name.slice(0, name.length - zone.length - 1);
}

/**
 * True when `name` equals `zone` or is below it, label-wise and escape-aware ("notexample.com." is
 * not in "example.com."). Both arguments must be normalised.
 */
export function isInZone(name: string, zone: string): boolean {
  if (name === zone || zone === '.') return true;
  const cut = name.length - zone.length - 1;
  if (cut < 1 || !name.endsWith(zone)) return false;
  return endsWithUnescapedDot(name.slice(0, cut + 1));
}

/** Presentation labels of an absolute name, split on unescaped dots (escapes kept); the root gives []. */
export function splitLabels(name: string): string[] {
  if (name === '.' || name === '') return [];
  if (!name.includes('\\')) {
    const parts = name.split('.');
    if (parts[parts.length - 1] === '') parts.pop();
    return parts;
  }
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) {
      i++;
    } else if (c === 0x2e) {
      out.push(name.slice(start, i));
      start = i + 1;
    }
  }
  if (start < name.length) out.push(name.slice(start));
  return out;
}

/** Wire bytes of one presentation label (escapes decoded, case kept). Throws NameError. */
export function labelToBytes(label: string): Uint8Array {
  if (label.length === 0) throw new NameError('empty label');
  const labels = decodeLabels(label, false);
  if (labels.length !== 1 || endsWithUnescapedDot(label)) {
    throw new NameError(`label "${shortLabel(label)}" contains an unescaped dot`);
  }
  return labels[0];
}

/** Uncompressed wire form of an absolute name (escapes decoded, case kept). Throws NameError. */
export function nameToWire(name: string): Uint8Array {
  if (name === '.') return new Uint8Array([0]);
  if (!name.includes('\\')) {
    const parts = splitLabels(name);
    let len = 1;
    for (const p of parts) {
      if (p.length === 0) throw new NameError(`empty label in "${name}"`);
      if (p.length > MAX_LABEL_OCTETS) throw labelTooLong(p);
      len += p.length + 1;
    }
    if (len > MAX_NAME_OCTETS) throw nameTooLong();
    const out = new Uint8Array(len);
    let o = 0;
    for (const p of parts) {
      out[o++] = p.length;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (c > 0x7f) throw new NameError(`non-ASCII character "${p[i]}" in "${name}" (use punycode or \\DDD)`);
        out[o++] = c;
      }
    }
    out[o] = 0;
    return out;
  }
  const labels = decodeLabels(name, false);
  checkWireLength(labels);
  let len = 1;
  for (const l of labels) len += l.length + 1;
  const out = new Uint8Array(len);
  let o = 0;
  for (const l of labels) {
    out[o++] = l.length;
    out.set(l, o);
    o += l.length;
  }
  out[o] = 0;
  return out;
}

/**
 * Canonical presentation form of one wire label: lowercased; . \ " ( ) ; @ $ escaped as \X and
 * bytes outside 0x21..0x7e (space included) as \DDD, as BIND prints them.
 */
export function wireLabelToPresentation(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i];
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    if (b < 128 && PLAIN[b] === 1) out += String.fromCharCode(b);
    else if (b < 128 && SPECIAL[b] === 1) out += '\\' + String.fromCharCode(b);
    else out += '\\' + String(b).padStart(3, '0');
  }
  return out;
}

/**
 * Sort key of a normalised name such that comparing keys as strings gives the DNS canonical order
 * (RFC 4034 section 6.1: labels compared from the root down, as lowercase octet strings).
 */
export function canonicalNameKey(name: string): string {
  const parts: string[] = [];
  if (name.includes('\\')) {
    const labels = decodeLabels(name, true);
    for (let i = labels.length - 1; i >= 0; i--) {
      let s = '';
      for (const b of labels[i]) s += String.fromCharCode(b + 1);
      parts.push(s);
    }
  } else {
    const plain = splitLabels(name.toLowerCase());
    for (let i = plain.length - 1; i >= 0; i--) {
      let s = '';
      for (let j = 0; j < plain[i].length; j++) s += String.fromCharCode(plain[i].charCodeAt(j) + 1);
      parts.push(s);
    }
  }
  // Label bytes are shifted by one so the separator (U+0000) sorts below every byte.
  return parts.join('\u0000');
}

/** Compare two normalised names in DNS canonical order (RFC 4034 section 6.1); <0, 0 or >0. */
export function compareNames(a: string, b: string): number {
  const ka = canonicalNameKey(a);
  const kb = canonicalNameKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * An owner name as the management API takes it: "@" is the apex, a name ending in "." is absolute,
 * a name that already ends with the zone ("www.example.com" in example.com) is absolute, and
 * anything else is relative to the zone ("www", "x.mcq").
 */
export function apiOwnerName(raw: string, zone: string): string {
  const input = raw.trim();
  if (input === '@' || input === '') return zone;
  if (endsWithUnescapedDot(input)) return normalizeName(input);
  const bare = zone.slice(0, -1).toLowerCase();
  const lower = input.toLowerCase();
  if (zone !== '.' && (lower === bare || lower.endsWith(`.${bare}`))) return normalizeName(input);
  return absoluteName(input, zone);
}

/**
 * A name inside a record value as the management API takes it: absolute, with the trailing dot
 * optional ("mail.example.net"), except "@" and a single label ("mail"), which are relative to the
 * zone, as an operator writing "10 mail" in an MX means.
 */
export function apiValueName(raw: string, zone: string): string {
  const input = raw.trim();
  if (input === '@') return zone;
  if (endsWithUnescapedDot(input) || splitLabels(normalizeName(input)).length > 1) return normalizeName(input);
  return absoluteName(input, zone);
}
