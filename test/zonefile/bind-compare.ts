/**
 * Reading master files in one-record-a-line form (named-checkzone -D output, MCNS exports) into
 * comparable records, for the tests that hold MCNS to named-checkzone.
 */
import assert from 'node:assert/strict';

/**
 * Fields before the base64 or hex blob that ends each of these types' values. named-checkzone
 * breaks such a blob with a space every 56 characters (a line-wrapping habit of its printer, not a
 * different value); MCNS prints it in one piece, as Knot and ldns do. The blob is compared whole.
 */
const BLOB_AFTER: Record<string, number> = {
  DS: 3, CDS: 3, DNSKEY: 3, CDNSKEY: 3, TLSA: 3, SMIMEA: 3, SSHFP: 2, OPENPGPKEY: 0, CERT: 3, RRSIG: 8,
};

/** The value with its trailing blob in one piece (see BLOB_AFTER; RFC 3597 `\# len hex` too). */
function joinBlob(type: string, value: string): string {
  const fields = value.split(' ');
  const lead = fields[0] === '\\#' ? 2 : BLOB_AFTER[type];
  if (lead === undefined || fields.length <= lead + 1) return value;
  return [...fields.slice(0, lead), fields.slice(lead).join('')].join(' ');
}

/** One record as compared: absolute owner (lowercased), TTL, type and the value's text. */
export interface Rec {
  owner: string;
  ttl: number;
  type: string;
  value: string;
}

/** Collapse runs of white space outside quoted strings (named-checkzone separates fields with tabs). */
function squeeze(text: string): string {
  let out = '';
  let quoted = false;
  let space = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === ' ' || c === '\t') {
      space = true;
      continue;
    }
    if (space && out !== '') out += ' ';
    space = false;
    out += c;
    if (c === '"') quoted = true;
  }
  return out;
}

/** Records of a master file in one-record-a-line form (named-checkzone -D, or MCNS's export). */
export function records(text: string): Rec[] {
  let origin = '.';
  const out: Rec[] = [];
  for (const raw of text.split('\n')) {
    const line = squeeze(raw);
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('$ORIGIN ')) {
      origin = line.slice(8);
      continue;
    }
    const m = /^(\S+) (\d+) IN (\S+) ?(.*)$/.exec(line);
    assert.ok(m, `not a record line: ${raw}`);
    const [, name, ttl, type, value] = m;
    const owner = name === '@' ? origin : /(^|[^\\])\.$/.test(name) ? name : `${name}.${origin === '.' ? '' : origin}`;
    out.push({ owner: owner.toLowerCase(), ttl: Number(ttl), type, value: joinBlob(type, value) });
  }
  return out;
}

/** A record as one comparable line. */
export const key = (r: Rec): string => `${r.owner} ${r.ttl} IN ${r.type} ${r.value}`;
