/**
 * SVCB and HTTPS: RFC 9460, with every registered SvcParamKey (mandatory, alpn, no-default-alpn,
 * port, ipv4hint, ech, ipv6hint; dohpath RFC 9461; ohttp RFC 9540) and `keyNNNNN` for the rest.
 * Keys are kept sorted and unique (2.2), `mandatory` is checked (8), values are checked per key;
 * every error names the key ("SVCB alpn: empty protocol id").
 */
import { canonicalIPv4, canonicalIPv6 } from '../ip.ts';
import type { RDataOf, SvcParam } from '../types.ts';
import { fieldError, WireError, type RRCodec } from './codec.ts';
import { ipv6Text } from './basic.ts';
import { ByteSink } from './wire-io.ts';
import { decodeString, escapeBytes, parseBase64, toBase64, type Token } from './text.ts';

/** The registered SvcParamKeys (IANA "Service Parameter Keys (SvcParamKeys)"). */
export const SVC_PARAM_KEYS: ReadonlyMap<string, number> = new Map([
  ['mandatory', 0],
  ['alpn', 1],
  ['no-default-alpn', 2],
  ['port', 3],
  ['ipv4hint', 4],
  ['ech', 5],
  ['ipv6hint', 6],
  ['dohpath', 7],
  ['ohttp', 8],
]);
const KEY_NAMES = new Map([...SVC_PARAM_KEYS].map(([k, v]) => [v, k]));
/** Keys whose value must be empty. */
const FLAG_KEYS = new Set([2, 8]);
const INVALID_KEY = 65535;

type Svcb = RDataOf<'SVCB' | 'HTTPS'>;

/** The presentation name of a key: its mnemonic or keyNNNNN. */
export function svcKeyName(key: number): string {
  return KEY_NAMES.get(key) ?? `key${key}`;
}

function keyCode(type: string, text: string): number {
  const known = SVC_PARAM_KEYS.get(text.toLowerCase());
  if (known !== undefined) return known;
  const m = /^key(0|[1-9][0-9]{0,4})$/i.exec(text);
  if (!m || Number(m[1]) > 65535) throw fieldError(type, 'parameters', `unknown SvcParamKey "${text}" (use a registered key or keyNNNNN)`);
  const code = Number(m[1]);
  if (code === INVALID_KEY) throw fieldError(type, text, 'key65535 is reserved ("Invalid key", RFC 9460 14.3.3)');
  return code;
}

/** Split a decoded value-list on commas; "\," is a literal comma, "\\" a backslash (RFC 9460 A.1). */
function valueList(bytes: Uint8Array): Uint8Array[] {
  const items: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x5c && i + 1 < bytes.length) {
      cur.push(bytes[++i]);
    } else if (b === 0x2c) {
      items.push(Uint8Array.from(cur));
      cur = [];
    } else {
      cur.push(b);
    }
  }
  items.push(Uint8Array.from(cur));
  return items;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** The wire value of one parameter from its presentation value (undefined: written without "="). */
function paramValue(type: string, key: number, name: string, value: Uint8Array | undefined): Uint8Array {
  const what = svcKeyName(key);
  if (FLAG_KEYS.has(key)) {
    if (value !== undefined && value.length > 0) throw fieldError(type, what, `takes no value (write "${what}" alone), got "${escapeBytes(value)}"`);
    return new Uint8Array(0);
  }
  if (value === undefined) {
    if (key > 8) return new Uint8Array(0);
    throw fieldError(type, what, `needs a value (${name}=...)`);
  }
  const w = new ByteSink();
  switch (key) {
    case 0: {
      // Written in increasing order (RFC 9460 8), whatever order the text lists them in.
      const keys = valueList(value).map((item) => {
        if (item.length === 0) throw fieldError(type, what, 'empty key in the list');
        return keyCode(type, latin1(item));
      });
      for (const k of keys.sort((x, y) => x - y)) w.u16(k);
      return w.result();
    }
    case 1: {
      for (const item of valueList(value)) {
        if (item.length === 0) throw fieldError(type, what, 'empty protocol id');
        if (item.length > 255) throw fieldError(type, what, `protocol id longer than 255 bytes (${item.length})`);
        w.u8(item.length);
        w.bytes(item);
      }
      return w.result();
    }
    case 3: {
      const text = latin1(value);
      if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) throw fieldError(type, what, `must be an integer 0..65535 (got "${text}")`);
      w.u16(Number(text));
      return w.result();
    }
    case 4:
    case 6: {
      for (const item of valueList(value)) {
        const text = latin1(item);
        const addr = key === 4 ? canonicalIPv4(text) : canonicalIPv6(text);
        if (addr === null) throw fieldError(type, what, `"${text}" is not an ${key === 4 ? 'IPv4' : 'IPv6'} address`);
        if (key === 4) w.ipv4(addr);
        else w.ipv6(addr);
      }
      return w.result();
    }
    case 5:
      return parseBase64(latin1(value), `${type} ${what}`);
    case 7: {
      const text = new TextDecoder('utf-8', { fatal: false }).decode(value);
      checkDohPath(type, text);
      return value;
    }
    default:
      return value;
  }
}

function checkDohPath(type: string, text: string): void {
  if (!text.startsWith('/')) throw fieldError(type, 'dohpath', `must be a relative URI template starting with "/" (got "${text}")`);
  if (!/\{[^}]*\bdns\b[^}]*\}/.test(text)) throw fieldError(type, 'dohpath', `must contain the "dns" variable, like /dns-query{?dns} (RFC 9461 5), got "${text}"`);
}

/** Checks of one wire value per key, and of the whole set (RFC 9460 2.2, 7, 8). */
function checkParams(type: string, params: SvcParam[]): SvcParam[] {
  const byKey = new Map<number, Uint8Array>();
  for (const p of params) {
    if (byKey.has(p.key)) throw fieldError(type, svcKeyName(p.key), 'appears twice (each key at most once, RFC 9460 2.2)');
    if (p.key === INVALID_KEY) throw fieldError(type, 'key65535', 'is reserved ("Invalid key", RFC 9460 14.3.3)');
    byKey.set(p.key, p.value);
    checkWireValue(type, p.key, p.value);
  }
  const mandatory = byKey.get(0);
  if (mandatory !== undefined) {
    const seen = new Set<number>();
    for (let i = 0; i < mandatory.length; i += 2) {
      const k = (mandatory[i] << 8) | mandatory[i + 1];
      if (k === 0) throw fieldError(type, 'mandatory', 'must not list "mandatory" itself (RFC 9460 8)');
      if (seen.has(k)) throw fieldError(type, 'mandatory', `lists ${svcKeyName(k)} twice`);
      if (i > 0 && k < ((mandatory[i - 2] << 8) | mandatory[i - 1])) throw fieldError(type, 'mandatory', 'keys are not in increasing order (RFC 9460 8)');
      if (!byKey.has(k)) throw fieldError(type, 'mandatory', `lists ${svcKeyName(k)}, which the record does not have`);
      seen.add(k);
    }
  }
  if (byKey.has(2) && !byKey.has(1)) throw fieldError(type, 'no-default-alpn', 'needs alpn too (RFC 9460 7.1.1)');
  return [...params].sort((a, b) => a.key - b.key);
}

function checkWireValue(type: string, key: number, v: Uint8Array): void {
  const what = svcKeyName(key);
  switch (key) {
    case 0:
      if (v.length === 0 || v.length % 2 !== 0) throw fieldError(type, what, 'must list at least one key');
      return;
    case 1: {
      if (v.length === 0) throw fieldError(type, what, 'must list at least one protocol id');
      let p = 0;
      while (p < v.length) {
        const l = v[p];
        if (l === 0) throw fieldError(type, what, 'empty protocol id');
        if (p + 1 + l > v.length) throw fieldError(type, what, 'protocol id overruns the value');
        p += 1 + l;
      }
      return;
    }
    case 2:
    case 8:
      if (v.length !== 0) throw fieldError(type, what, 'takes no value');
      return;
    case 3:
      if (v.length !== 2) throw fieldError(type, what, `must be 2 bytes, got ${v.length}`);
      return;
    case 4:
      if (v.length === 0 || v.length % 4 !== 0) throw fieldError(type, what, 'must hold one or more IPv4 addresses');
      return;
    case 6:
      if (v.length === 0 || v.length % 16 !== 0) throw fieldError(type, what, 'must hold one or more IPv6 addresses');
      return;
    case 5:
      if (v.length === 0) throw fieldError(type, what, 'is empty');
      return;
    case 7: {
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(v);
      } catch {
        throw fieldError(type, what, 'is not UTF-8');
      }
      checkDohPath(type, text);
      return;
    }
  }
}

/** Escape a value-list item: "," and "\" get a backslash (then the char-string escapes apply). */
function listItem(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const c of b) {
    if (c === 0x2c || c === 0x5c) out.push(0x5c);
    out.push(c);
  }
  return Uint8Array.from(out);
}

function formatParam(p: SvcParam): string {
  const name = svcKeyName(p.key);
  const v = p.value;
  switch (p.key) {
    case 0: {
      const keys: string[] = [];
      for (let i = 0; i < v.length; i += 2) keys.push(svcKeyName((v[i] << 8) | v[i + 1]));
      return `${name}=${keys.join(',')}`;
    }
    case 1: {
      const items: string[] = [];
      let q = 0;
      while (q < v.length) {
        items.push(escapeBytes(listItem(v.subarray(q + 1, q + 1 + v[q]))));
        q += 1 + v[q];
      }
      return `${name}="${items.join(',')}"`;
    }
    case 2:
    case 8:
      return name;
    case 3:
      return `${name}=${(v[0] << 8) | v[1]}`;
    case 4: {
      const a: string[] = [];
      for (let i = 0; i < v.length; i += 4) a.push(`${v[i]}.${v[i + 1]}.${v[i + 2]}.${v[i + 3]}`);
      return `${name}=${a.join(',')}`;
    }
    case 6: {
      const a: string[] = [];
      for (let i = 0; i < v.length; i += 16) a.push(ipv6Text(v.subarray(i, i + 16)));
      return `${name}=${a.join(',')}`;
    }
    case 5:
      return `${name}=${toBase64(v)}`;
    default:
      return v.length === 0 && p.key > 8 ? name : `${name}="${escapeBytes(v)}"`;
  }
}

/** Parse `key`, `key=value`, `key="value"` tokens into wire params. */
function parseParams(type: string, toks: Token[]): SvcParam[] {
  const params: SvcParam[] = [];
  for (const t of toks) {
    const eq = t.raw.indexOf('=');
    if (t.quoted && eq < 0) throw fieldError(type, 'parameters', `expected key=value, got a quoted string "${t.raw}"`);
    const name = eq < 0 ? t.raw : t.raw.slice(0, eq);
    if (name.length === 0) throw fieldError(type, 'parameters', `"${t.raw}" has no key before "="`);
    const key = keyCode(type, name);
    const value = eq < 0 ? undefined : decodeString(t.raw.slice(eq + 1));
    params.push({ key, value: paramValue(type, key, name, value) });
  }
  return checkParams(type, params);
}

function svcbCodec(type: 'SVCB' | 'HTTPS'): RRCodec<Svcb> {
  return {
    type,
    fields: 'priority target [key=value ...]',
    keyValueTokens: true,
    compress: false,
    decompress: false,
    canonicalLowercase: false,
    parse(r) {
      const priority = r.uint('priority', 65535);
      const target = r.name('target');
      return { type, priority, target, params: parseParams(type, r.rest()) };
    },
    format(d) {
      const head = `${d.priority} ${d.target}`;
      return d.params.length === 0 ? head : `${head} ${d.params.map(formatParam).join(' ')}`;
    },
    encode(d, w) {
      w.u16(d.priority);
      w.name(d.target, false);
      for (const p of d.params) {
        w.u16(p.key);
        w.u16(p.value.length);
        w.bytes(p.value);
      }
    },
    decode(r) {
      const priority = r.u16();
      const target = r.name(false);
      const params: SvcParam[] = [];
      let last = -1;
      while (r.left > 0) {
        const key = r.u16();
        if (key <= last) throw new WireError(`${type} SvcParamKeys are not in increasing order (${svcKeyName(key)} after ${svcKeyName(last)})`);
        last = key;
        params.push({ key, value: r.bytes(r.u16()) });
      }
      return { type, priority, target, params: checkParams(type, params) };
    },
    wireLength: (d, n) => 2 + n(d.target) + d.params.reduce((s, p) => s + 4 + p.value.length, 0),
    targets: (d) => (d.target === '.' ? [] : [d.target]),
  };
}

/** SVCB: RFC 9460 2. */
export const SVCB = svcbCodec('SVCB');
/** HTTPS: RFC 9460 9 (SVCB's format). */
export const HTTPS = svcbCodec('HTTPS');
