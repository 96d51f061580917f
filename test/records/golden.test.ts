/**
 * Golden vectors from two other implementations, on a zone holding every type (every-type.ts):
 * ldns (`ldns-read-zone -u TYPE` prints each record's wire rdata in RFC 3597 form) must give the
 * bytes our codecs encode, and BIND (`named-checkzone -D`) must read each value as we do and write
 * it back as we write it (hex and base64 aside, which BIND breaks with spaces). The `ohttp` record
 * is left out: BIND 9.18 and ldns 1.8 do not know that key yet (RFC 9540, 2024).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatRData, parseRData, rdataToWire } from '../../src/records/rdata.ts';
import { parseRRType, type RRType } from '../../src/records/types.ts';
import { requireTool } from '../helpers/tools.ts';
import { EVERY_TYPE, everyTypeZone } from './every-type.ts';

const ORIGIN = 'example.com.';
/** What BIND 9.18 writes differently on purpose: its own spelling, same value (checked by reading it back). */
const BIND_SPELLS_OTHERWISE = new Map([
  ['doh', 'BIND 9.18 writes dohpath as key7'],
]);

function corpusFile(): { file: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcns-golden-'));
  const file = path.join(dir, 'every.zone');
  const text = everyTypeZone(ORIGIN)
    .split('\n')
    .filter((l) => !l.startsWith('ohttp '))
    .join('\n');
  fs.writeFileSync(file, text);
  return { file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const entries = EVERY_TYPE.filter(([owner]) => owner !== 'ohttp');

test('ldns encodes every type to the bytes our codecs write', { skip: requireTool('ldns-read-zone') }, () => {
  const { file, cleanup } = corpusFile();
  try {
    const types = [...new Set(entries.map(([, t]) => t).filter((t) => !t.startsWith('TYPE')))];
    const r = spawnSync('ldns-read-zone', [...types.flatMap((t) => ['-u', t]), file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const wire = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const m = /^(\S+)\.example\.com\.\s+\d+\s+IN\s+(\S+)\s+\\# (\d+)\s*([0-9a-fA-F ]*)$/.exec(line);
      if (m) wire.set(m[1], m[4].replace(/ /g, '').toLowerCase());
    }
    let compared = 0;
    for (const [owner, type, input] of entries) {
      const ours = Buffer.from(rdataToWire(parseRData(type, input, ORIGIN))).toString('hex');
      assert.equal(ours, wire.get(owner), `${owner} ${type}: ldns's bytes`);
      compared++;
    }
    assert.equal(compared, entries.length);
  } finally {
    cleanup();
  }
});

test('BIND reads every value as we do and writes it back as we do', { skip: requireTool('named-checkzone') }, () => {
  const { file, cleanup } = corpusFile();
  try {
    const r = spawnSync('named-checkzone', ['-k', 'ignore', '-D', '-o', '-', 'example.com', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const bind = new Map<string, { type: RRType; rdata: string }>();
    for (const line of r.stdout.split('\n')) {
      const m = /^(\S+)\.example\.com\.\s+\d+\s+IN\s+(\S+)\s+(.*)$/.exec(line);
      if (m) bind.set(m[1], { type: parseRRType(m[2]) as RRType, rdata: m[3].trim() });
    }
    for (const [owner, type, input, canonical] of entries) {
      const b = bind.get(owner);
      assert.ok(b, `BIND printed ${owner}`);
      assert.equal(b.type, type, `${owner}: BIND's type`);
      // Same value: BIND's text reads back to ours.
      assert.equal(formatRData(parseRData(type, b.rdata, ORIGIN)), canonical, `${owner} ${type}: BIND wrote ${b.rdata}`);
      assert.equal(formatRData(parseRData(type, input, ORIGIN)), canonical);
      // Same text, but for BIND's spaces inside long hex and base64.
      if (!BIND_SPELLS_OTHERWISE.has(owner)) assert.equal(b.rdata.replace(/\s+/g, ''), canonical.replace(/\s+/g, ''), `${owner} ${type}`);
    }
  } finally {
    cleanup();
  }
});
