/**
 * The vocabulary of the serving index's random-zone tests (serving-index.test.ts, index-image.test.ts):
 * nested zones, delegations, DNAMEs, wildcards, CNAME chains into other zones, below cuts and out of
 * our zones, escaped labels; the names and types asked of them; random record operations over
 * them; and a wire query builder.
 */
import { McnsError } from '../../src/errors.ts';
import type { Ledger } from '../../src/ledger.ts';
import type { Command, RecordOp } from '../../src/projections/decide.ts';

export const ZONES = ['a.test', 'b.test', 'sub.a.test', 'c.example'];
// ns1 and hostmaster: the SOA's MNAME and RNAME compress against such a question (the NODATA template must not be used).
export const NAMES = ['@', 'www', 'mail', 'x.y', 'deep.er.name', 'alias', 'sub', 'cut', 'in.cut', 'Mixed', 'ns1', 'x.hostmaster', 'other.w', '*.w', 'a\\.b'];
// Targets inside the zones (chains, additional data), below a wildcard (q.w: synthesized), below a
// cut (in.cut: glue), and outside every zone.
export const VALUES: Record<string, string[]> = {
  A: ['192.0.2.1', '192.0.2.2', '198.51.100.7'],
  AAAA: ['2001:db8::1', '2001:db8::2'],
  // Chains that end at a name holding the type or not (NODATA), at a missing name (NXDOMAIN), in
  // another zone, below a cut or a DNAME (in.cut, deep.er.name), at a wildcard, outside every zone,
  // and chains of two or more (alias.b.test. is a CNAME owner too).
  CNAME: ['www.a.test.', 'www.b.test.', 'alias.b.test.', 'alias.a.test.', 'q.w.a.test.', 'mail.sub.a.test.', 'z.x.a.test.', 'nowhere.example.', 'in.cut.a.test.', 'deep.er.name.b.test.', 'ns1.c.example.', 'missing.c.example.'],
  NS: ['ns1.a.test.', 'ns2.b.test.', 'in.cut.a.test.'],
  TXT: ['"hello"', '"v=spf1 mx -all" "second string"'],
  MX: ['10 mail.a.test.', '20 www.b.test.', '5 q.w.b.test.', '30 in.cut.a.test.'],
  SRV: ['10 5 443 www.a.test.', '0 0 53 mail.b.test.'],
  CAA: ['0 issue "ca.example"'],
  HTTPS: ['1 www.a.test. alpn=h2', '0 mail.a.test.'],
  TYPE65400: ['\\# 4 0a000001'],
  // A DNAME owner is held like a cut: the names below it are substituted, never NXDOMAIN (RFC 6672).
  DNAME: ['www.b.test.', 'x.a.test.', 'c.example.'],
};

/** Names asked (below each zone): those that exist, and (NXDOMAIN or not) names that do not: below a cut, a wildcard, a CNAME, an escaped label. */
export const ASKED = [...NAMES, 'nowhere', 'www.cut', 'q.w', 'x.alias', 'er.name', 'z.deep.er.name', 'x.a\\.b', 'no.ns1', 'z.x', 'q.z.x', 'no.mail'];

/**
 * Types asked: A, AAAA, every other type (NS, SOA, CNAME, MX, TXT, SRV, DNAME, HTTPS, CAA, an
 * unknown one held and one not held), and those the index never answers (DS, ANY).
 */
export const QTYPES = [1, 28, 2, 6, 5, 15, 16, 33, 39, 65, 257, 65400, 999, 43, 255];

/**
 * One to three random record operations in `zone` (whose record ids are `ids`): mostly creates of
 * the vocabulary above (delegations mostly at 'cut' and 'x', DNAMEs at 'x', 'mail' and 'deep.er',
 * above names that hold addresses), some TTL updates and deletes.
 */
export function randomRecordOps(zone: string, ids: readonly string[], random: () => number): RecordOp[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const ops: RecordOp[] = [];
  for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
    const o = random();
    if (o < 0.65 || ids.length === 0) {
      const type = random() < 0.6 ? pick(['A', 'AAAA']) : pick(Object.keys(VALUES));
      const n = type === 'NS' && random() < 0.7 ? pick(['cut', 'x']) : type === 'DNAME' && random() < 0.8 ? pick(['x', 'mail', 'deep.er']) : pick(NAMES);
      ops.push({ op: 'create', name: n === '@' ? zone : `${n}.${zone}`, type, value: pick(VALUES[type]), ttl: pick([undefined, 60, 3600]) });
    } else if (o < 0.8) ops.push({ op: 'update', id: pick(ids), ttl: pick([30, 600]) });
    else ops.push({ op: 'delete', id: pick(ids) });
  }
  return ops;
}

/** A wire query for `name`/`qtype`, with the letters' case shuffled, with or without EDNS (UDP size `size`, DO at random). */
export function query(name: string, qtype: number, random: () => number, edns: boolean, size = 1232): Buffer {
  // Split on unescaped dots; "\." is a dot inside a label.
  const labels = name === '.' ? [] : (name.replace(/\.$/, '').match(/(?:\\.|[^.])+/g) ?? []).map((l) => l.replace(/\\(.)/g, '$1'));
  const parts: Buffer[] = [Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0])];
  for (const l of labels) {
    const spelled = [...l].map((c) => (random() < 0.5 ? c.toUpperCase() : c)).join('');
    parts.push(Buffer.from([spelled.length]), Buffer.from(spelled, 'latin1'));
  }
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]));
  if (edns) parts.push(Buffer.from([0, 0, 41, size >> 8, size & 0xff, 0, 0, random() < 0.5 ? 0x80 : 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

/**
 * Executes `cmd` (a random command: often one a rule refuses); false when it was refused
 * (McnsError), anything else thrown.
 */
export function executeUnlessRefused(ledger: Pick<Ledger, 'execute'>, cmd: Command): boolean {
  try {
    ledger.execute(cmd, { actor: 'test' });
    return true;
  } catch (err) {
    if (!(err instanceof McnsError)) throw err;
    return false;
  }
}
