/**
 * Differential: random zone files in BIND's syntax (owners relative, absolute, "@", omitted, mixed
 * case, escaped; TTLs explicit, inherited from $TTL or from the record before, with units; class
 * before or after the TTL; $ORIGIN changes; $GENERATE; parentheses across lines; comments) are read
 * by parseZoneFile and written by writeZoneFile, and must give the records `named-checkzone -D`
 * reads from the same file. Each RRset keeps one TTL in the files made here: where the two differ on
 * purpose (an RRset split across the file with two TTLs) is a documented case, not a random one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseZoneFile } from '../../src/zonefile/reader.ts';
import { writeZoneFile } from '../../src/zonefile/writer.ts';
import { rng } from '../helpers/rng.ts';
import { requireTool } from '../helpers/tools.ts';
import { tempDir } from '../helpers/ledger.ts';
import { key, records } from './bind-compare.ts';

const ZONE = 'rand.example.';
const CASES = 25;

/** One random BIND-style zone file. */
function randomZone(seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const chance = (p: number): boolean => r() < p;
  const lines: string[] = [`; random zone, seed ${seed}`];
  const dollarTtl = chance(0.7) ? pick([300, 3600, 86400]) : undefined;
  if (dollarTtl !== undefined) lines.push(`$TTL ${pick([String(dollarTtl), dollarTtl === 3600 ? '1h' : dollarTtl === 86400 ? '1d' : '5m'])}`);
  const soaMin = pick([60, 900]);
  // Without $TTL, an SOA with a TTL makes later records inherit the TTL before them (RFC 1035);
  // an SOA without one makes its minimum the default, as $TTL would.
  const soaTtl = dollarTtl === undefined && chance(0.5) ? 7200 : undefined;
  const rfc1035 = soaTtl !== undefined;
  lines.push(`@ ${soaTtl ?? ''} ${chance(0.5) ? 'IN ' : ''}SOA ns1 hostmaster ( ${seed} 3600 600 86400 ${soaMin} ) ; the SOA`);
  // What a record without a TTL gets, as BIND decides it.
  let inherited = dollarTtl ?? soaTtl ?? soaMin;
  lines.push(`    NS ns1.${ZONE}`, `ns1.${ZONE} A 192.0.2.53`);
  const rrsetTtl = new Map<string, number>();
  const labels = ['www', 'mail', 'a', 'b-1', 'x.y', '_tcp', 'Mixed', 'esc\\.dot', 'sp\\032ace'];
  const origins = ['', 'sub.', 'deep.sub.'];
  let origin = '';
  let owner: string | undefined;
  const ownerOf = (label: string): string => `${label === '@' ? '' : `${label}.`}${origin}${ZONE}`.toLowerCase();
  const valueOf = (type: string, i: number): string => {
    switch (type) {
      case 'A': return `192.0.2.${i % 250}`;
      case 'AAAA': return `2001:db8::${(i % 65535).toString(16)}`;
      case 'MX': return `${i % 50} ${pick(['mail', 'mx.other.example.', '@'])}`;
      case 'TXT': return pick([`"t${i}"`, `( "a${i}" "b c" )`, `word${i} "q\\"x"`, `"semi;colon" "caf\\195\\169"`]);
      case 'SRV': return `${i % 10} ${i % 7} ${1000 + i} ${pick(['target', 'srv.other.example.', '.'])}`;
      case 'CAA': return `0 ${pick(['issue', 'issuewild'])} "ca${i}.example"`;
      case 'PTR': return `host${i}.other.example.`;
      case 'HINFO': return `"cpu${i}" "os"`;
      case 'URI': return `${i % 10} 1 "https://u${i}.example/"`;
      case 'SSHFP': return `${1 + (i % 4)} 1 ${(`${i}`.padStart(4, '0') + 'abcdef0123456789').repeat(3).slice(0, 40)}`;
      default: return `\\# 2 ${(i % 256).toString(16).padStart(2, '0')}ff`;
    }
  };
  const types = ['A', 'AAAA', 'MX', 'TXT', 'SRV', 'CAA', 'PTR', 'HINFO', 'URI', 'SSHFP', 'TYPE65333'];
  for (let i = 0; i < 60; i++) {
    const roll = r();
    if (roll < 0.06) {
      origin = pick(origins);
      lines.push(`$ORIGIN ${origin}${ZONE}`);
      continue;
    }
    if (roll < 0.1) {
      const base = Math.floor(r() * 100);
      const type = pick(['A', 'TXT']);
      const start = Math.floor(r() * 5);
      const stop = start + Math.floor(r() * 4);
      const lhs = pick([`g${i}-$`, `\${${base},3,d}.gen${i}`, `\${0,3,n}.n${i}`]);
      // Owners unique to this directive: one TTL for each generated RRset.
      const ttl = chance(0.5) ? 120 : inherited;
      const rhs = type === 'A' ? '192.0.2.$' : `"gen-$ \${1,2,x}"`;
      lines.push(`$GENERATE ${start}-${stop} ${lhs}${ttl === 120 ? ' 120' : ''} ${type} ${rhs}`);
      if (rfc1035 && ttl === 120) inherited = 120;
      continue;
    }
    const type = pick(types);
    const sameOwner = owner !== undefined && chance(0.3);
    const label = sameOwner ? '' : pick([...labels, '@', `h${i}`, `h${i}.${pick(labels)}`]);
    const ownerName = sameOwner ? (owner as string) : label === '@' ? ownerOf('@') : ownerOf(label);
    if (!sameOwner) owner = ownerName;
    const k = `${ownerName} ${type}`;
    let ttl = rrsetTtl.get(k);
    if (ttl === undefined) {
      ttl = chance(0.5) ? inherited : pick([60, 120, 3600]);
      rrsetTtl.set(k, ttl);
    }
    const explicit = ttl !== inherited || chance(0.3);
    const ttlText = explicit ? pick([String(ttl), ttl === 60 ? '1m' : ttl === 3600 ? '1h' : String(ttl)]) : '';
    const cls = chance(0.4) ? 'IN' : '';
    const head = chance(0.5) ? [ttlText, cls] : [cls, ttlText];
    const ownerText = sameOwner ? '' : label === '@' ? '@' : chance(0.2) ? ownerName.replace(/\.$/, '.').toUpperCase() : label;
    const fields = [ownerText, ...head, type, valueOf(type, i)].filter((f, n) => n === 0 || f !== '');
    lines.push(`${sameOwner ? '    ' : ''}${fields.join(' ').trimStart()}${chance(0.2) ? ' ; comment' : ''}`);
    // RFC 1035 semantics: a record with an explicit TTL sets the TTL the next ones inherit.
    if (rfc1035 && explicit) inherited = ttl;
  }
  return lines.join('\n') + '\n';
}

test(`${CASES} random BIND-style zone files: the reader and writer give named-checkzone -D's records`, (t) => {
  const skip = requireTool('named-checkzone');
  if (skip) return t.skip(skip);
  const tmp = tempDir();
  try {
    for (let seed = 1; seed <= CASES; seed++) {
      const text = randomZone(seed);
      const file = join(tmp.dir, `z${seed}.zone`);
      writeFileSync(file, text);
      const bind = spawnSync('named-checkzone', ['-D', '-o', '-', ZONE, file], { encoding: 'utf8' });
      assert.equal(bind.status, 0, `named-checkzone refused seed ${seed}:\n${bind.stdout}${bind.stderr}\n${text}`);
      const parsed = parseZoneFile(text, { origin: ZONE, path: file });
      const want = records(bind.stdout).map(key).sort();
      const got = records(writeZoneFile(parsed)).map(key).sort();
      const missing = want.filter((x) => !got.includes(x));
      const extra = got.filter((x) => !want.includes(x));
      assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `seed ${seed} differs from named-checkzone -D:\n${text}`);
    }
  } finally {
    tmp.cleanup();
  }
});
