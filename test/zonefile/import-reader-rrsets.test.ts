/**
 * The zone-file reader's one-TTL-per-RRset rule over random files: each record takes the TTL of the
 * first record of its owner and type read before it (with a warning naming that record's line) —
 * checked against a plain model that looks every record up by "owner type" in a map, on files
 * whose owners follow each other (the reader's fast path: the owner of the record before is not
 * looked up again) and come back after others (the map), with mixed types and TTLs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseZoneFile } from '../../src/zonefile/reader.ts';
// A seeded generator (mulberry32): the same files on every run.
import { rng as random } from '../helpers/rng.ts';


test('one TTL per RRset: the reader agrees with a map of every RRset, owners repeated in runs and out of order', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rnd = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const owners = Array.from({ length: 1 + Math.floor(rnd() * 8) }, (_, i) => `h${i}`);
    const lines = ['$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '@ NS ns1'];
    const expected: string[] = [];
    const first = new Map<string, { ttl: number; line: number }>();
    const warnings: Array<[number, string]> = [];
    let owner = pick(owners);
    let n = 0;
    for (let r = 0; r < 60; r++) {
      // Mostly the owner of the line before (a run), sometimes another one (maybe seen before).
      if (rnd() < 0.3) owner = pick(owners);
      const type = pick(['A', 'TXT', 'MX']);
      const ttl = rnd() < 0.5 ? undefined : pick([60, 300, 3600]);
      const value = type === 'A' ? `192.0.2.${n % 250}` : type === 'TXT' ? `"t${n}"` : `${n % 50} mx${n}`;
      n++;
      const lineNo = lines.length + 1;
      // An indented line repeats the owner of the line before.
      const ownerText = rnd() < 0.3 && r > 0 && lines[lines.length - 1].startsWith(`${owner} `) ? ' ' : `${owner} `;
      lines.push(`${ownerText}${ttl ?? ''} ${type} ${value}`);
      const key = `${owner} ${type}`;
      const written = ttl ?? 300;
      const set = first.get(key);
      if (set === undefined) first.set(key, { ttl: written, line: lineNo });
      else if (set.ttl !== written) warnings.push([lineNo, `TTL ${written} differs from the TTL ${set.ttl} of the ${owner}.example.com. ${type} RRset (set at line ${set.line})`]);
      expected.push(`${owner}.example.com. ${set?.ttl ?? written} ${type}`);
    }
    const parsed = parseZoneFile(lines.join('\n'), { origin: 'example.com.' });
    assert.deepEqual(
      parsed.records.slice(2).map((r) => `${r.name} ${r.ttl} ${r.type}`),
      expected,
      `seed ${seed}:\n${lines.join('\n')}`,
    );
    assert.deepEqual(
      parsed.warnings.map((w) => [w.line, w.message.replace(/: using .*$/, '')]),
      warnings,
      `seed ${seed}`,
    );
  }
});
