/**
 * The import fast paths: values the zone-file reader already parsed (its ZoneFileRecords) are taken
 * by decide as checked instead of being parsed a second time, and the creates into a zone without
 * records are checked in bulk (createAllIntoEmpty) instead of one draft-state fold each. Their
 * events must be exactly those of the general path, which checks every value from its text and
 * folds every record: the same records deep-copied (plain objects, not taken as checked), with the
 * bulk creates off, give the same drafts (ids from the same counter) and the same errors, over
 * every type, escapes, $GENERATE, an existing zone (updates, TTL changes, deletions), refusals,
 * and files where the bulk path gives up midway (a DNAME, a CNAME clash).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readImport } from '../../src/projections/zone-files.ts';
import { decide, setBulkCreates, type Command, type Decision } from '../../src/projections/decide.ts';
import { EMPTY_STATE, evolveAll, type LedgerState } from '../../src/projections/state.ts';
import { everyTypeZone } from '../records/every-type.ts';

type ImportCommand = Extract<Command, { kind: 'importZone' }>;

/** The same command with its records copied through JSON: no record carries the reader's mark. */
function unmarked(cmd: ImportCommand): ImportCommand {
  return { ...cmd, records: JSON.parse(JSON.stringify(cmd.records)) as ImportCommand['records'] };
}

function decideWithIds(state: LedgerState, cmd: Command): Decision | { error: string } {
  let n = 0;
  try {
    return decide(state, cmd, { now: Date.UTC(2026, 0, 2), newId: () => `id${(n++).toString(16).padStart(14, '0')}` });
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

/** `fn` with the bulk creates off: the general path. */
function generalPath<T>(fn: () => T): T {
  setBulkCreates(false);
  try {
    return fn();
  } finally {
    setBulkCreates(true);
  }
}

/** Decide `text` both ways against `state`; they must agree. Returns the state after the batch. */
function sameBothWays(state: LedgerState, zone: string, text: string): LedgerState {
  const { command } = readImport(zone, text);
  const fast = decideWithIds(state, command);
  const general = generalPath(() => decideWithIds(state, unmarked(command)));
  assert.deepEqual(fast, general);
  if ('error' in fast) return state;
  return evolveAll(state, fast.drafts.map((d, i) => ({ seq: state.seq + i + 1, zone: d.zone, body: d.body })));
}

const escapes = [
  '$TTL 300',
  '@ SOA ns1 hostmaster 1 3600 600 86400 300',
  '@ NS ns1',
  'ns1 A 192.0.2.53',
  'a\\.b A 192.0.2.1',
  'sp\\032ace TXT "x\\"y" "\\065\\066" plain',
  'caps.EXAMPLE.ORG. CNAME Target.Example.NET.',
  'mx MX 10 Mail\\.Host',
  'txt TXT "' + 'x'.repeat(250) + '" "' + 'w'.repeat(200) + '"',
  'multi ( 3600 IN',
  '  AAAA 2001:DB8:0:0:0:0:0:1 )',
  '$GENERATE 1-20 h$ A 10.0.0.$',
  '$GENERATE 1-5 c$ CNAME h${1,3,x}',
  '$GENERATE 1-3 s$ SRV "1 2 ${100} h$"',
  'dup A 192.0.2.9',
  'dup A 192.0.2.9',
  'ttl 60 A 192.0.2.10',
  'ttl 120 A 192.0.2.11',
].join('\n');

test('every type: the fast path decides the drafts the general path decides', () => {
  sameBothWays(EMPTY_STATE, 'example.org', everyTypeZone('example.org.'));
});

test('escapes, parentheses, $GENERATE, duplicates and TTL fixes: same drafts both ways', () => {
  sameBothWays(EMPTY_STATE, 'example.org', escapes);
});

test('re-import into an existing zone (updates, TTL changes, deletions, new RRsets): same drafts both ways', () => {
  const first = sameBothWays(EMPTY_STATE, 'example.org', escapes);
  const changed = escapes
    .replace('h$ A 10.0.0.$', 'h$ A 10.1.0.$')
    .replace('ttl 60 A', 'ttl 90 A')
    .replace('dup A 192.0.2.9\ndup A 192.0.2.9', 'dup AAAA ::1')
    .replace('"1 2 ${100}', '"1 3 ${100}');
  const second = sameBothWays(first, 'example.org', changed + '\nnew TXT "new"\n');
  sameBothWays(second, 'example.org', everyTypeZone('example.org.'));
});

test('refusals: the fast path refuses what the general path refuses, with the same message', () => {
  const head = '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n';
  // rdata longer than a record holds (the reader does not check it: decide does, on both paths).
  const huge = `big TXT ${Array.from({ length: 300 }, () => `"${'y'.repeat(250)}"`).join(' ')}\n`;
  // An RRset too large for one message, from records each small enough.
  const wide = Array.from({ length: 300 }, (_, i) => `wide TXT "${i} ${'z'.repeat(240)}"`).join('\n') + '\n';
  const cases = [huge, wide, 'x CNAME a.\nx A 192.0.2.1\n', '@ CNAME a.\n', 'd DNAME t.\nbelow.d A 192.0.2.1\n'];
  for (const extra of cases) {
    const { command } = readImport('example.org', head + extra);
    const fast = decideWithIds(EMPTY_STATE, command);
    assert.ok('error' in fast, `refused: ${extra.slice(0, 40)}`);
    assert.deepEqual(fast, generalPath(() => decideWithIds(EMPTY_STATE, unmarked(command))));
  }
});

test('the bulk path gives up midway (a DNAME, a CNAME next to other data, a duplicate id source): the general path decides, drawing the same ids', () => {
  const head = '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n$GENERATE 1-50 h$ A 10.0.0.$\n';
  for (const tail of ['d DNAME t.example.net.\nlater A 192.0.2.1\n', 'x A 192.0.2.1\nx CNAME h1\nmore A 192.0.2.2\n', 'd DNAME t.\nbelow.d A 192.0.2.1\n', '@ CNAME x.\n']) {
    sameBothWays(EMPTY_STATE, 'example.org', head + tail);
  }
  // An id generator that repeats: refused the same way (record id already exists) on both paths.
  const { command } = readImport('example.org', head);
  const repeat = (): Decision | { error: string } => {
    let n = 0;
    try {
      return decide(EMPTY_STATE, command, { now: 1, newId: () => `id${Math.min(n++, 20)}` });
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const fast = repeat();
  assert.ok('error' in fast);
  assert.deepEqual(fast, generalPath(repeat));
});

test('the bulk path is taken for a new zone (no draft fold per record) and its drafts are ordinary RecordCreated events', () => {
  const { command } = readImport('example.org', '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n$GENERATE 1-2000 h$ AAAA 2001:db8::${0,4,x}\n');
  const d = decideWithIds(EMPTY_STATE, command);
  assert.ok(!('error' in d));
  assert.equal(d.drafts.filter((x) => x.body.type === 'RecordCreated').length, 2002);
  assert.deepEqual(d, generalPath(() => decideWithIds(EMPTY_STATE, unmarked(command))));
});

test('commands built by hand (no reader): repeats, other spellings, mixed TTLs, bad values decide the same both ways', () => {
  const soa = { primary_ns: 'ns1.example.org.', admin_email: 'h.example.org.', ttl: 300, refresh: 1, retry: 1, expire: 1, minimum: 1 };
  const rec = (name: string, type: string, value: string, ttl = 300) => ({ name, type, value, ttl }) as ImportCommand['records'][number];
  const cases: ImportCommand['records'][] = [
    [rec('a.example.org.', 'A', '192.0.2.1'), rec('a.example.org.', 'A', '192.0.2.1'), rec('b.example.org.', 'A', '192.0.2.2')],
    [rec('a.example.org.', 'A', '192.0.2.1'), rec('A.example.org.', 'A', '192.0.2.1')],
    [rec('a.example.org.', 'A', '192.0.2.1'), rec('a.example.org.', 'a', '192.0.2.1')],
    [rec('a.example.org.', 'TXT', 'x'), rec('a.example.org.', 'TXT', '"x"')],
    [rec('a.example.org.', 'A', '192.0.2.1', 60), rec('a.example.org.', 'A', '192.0.2.2', 120), rec('c.example.org.', 'A', '192.0.2.3')],
    [rec('a.example.org.', 'A', '192.0.2.1', 60), rec('A.example.org.', 'A', '192.0.2.2', 120)],
    [rec('a.example.org.', 'A', '192.0.2.1'), rec('b.example.org.', 'A', 'not an address'), rec('c.example.org.', 'A', '192.0.2.3')],
    [rec('a.example.org.', 'A', '192.0.2.1'), rec('b.other.', 'A', '192.0.2.1')],
    [rec('a.example.org.', 'A', '192.0.2.1', -1)],
    [rec('a.example.org.', 'SOA', 'x. y. 1 1 1 1 1')],
    [rec('a.example.org.', 'CNAME', 'x.'), rec('a.example.org.', 'CNAME', 'x.')],
    [rec('a.example.org.', 'CNAME', 'x.'), rec('a.example.org.', 'CNAME', 'y.')],
    [rec('a.example.org.', 'MX', '10 a'), rec('a.example.org.', 'CNAME', 'y.')],
  ];
  for (const records of cases) {
    const cmd: ImportCommand = { kind: 'importZone', zone: 'example.org', soa, records };
    assert.deepEqual(decideWithIds(EMPTY_STATE, cmd), generalPath(() => decideWithIds(EMPTY_STATE, cmd)), JSON.stringify(records));
  }
});

test('random files whose names come in runs and come back after others (CNAME clashes, repeats, several types): the bulk path decides as the general path', () => {
  let seed = 7;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  let bulkTaken = 0;
  for (let round = 0; round < 60; round++) {
    const names = Array.from({ length: 2 + Math.floor(rnd() * 6) }, (_, i) => `n${i}`);
    const lines = ['$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 192.0.2.53'];
    let name = pick(names);
    // Rarely a CNAME: most files then go through the bulk path, some are refused or given up.
    const cnameOdds = round % 3 === 0 ? 0.15 : 0.01;
    for (let r = 0; r < 25; r++) {
      if (rnd() < 0.35) name = pick(names);
      const type = rnd() < cnameOdds ? 'CNAME' : pick(['A', 'AAAA', 'TXT', 'MX']);
      const v = Math.floor(rnd() * 4);
      const value = type === 'A' ? `192.0.2.${v}` : type === 'AAAA' ? `2001:db8::${v}` : type === 'TXT' ? `"t${v}"` : type === 'MX' ? `${v} mx` : `c${v}`;
      lines.push(`${name} ${type} ${value}`);
    }
    const { command } = readImport('example.org', lines.join('\n'));
    const fast = decideWithIds(EMPTY_STATE, command);
    assert.deepEqual(fast, generalPath(() => decideWithIds(EMPTY_STATE, unmarked(command))), lines.join('\n'));
    if (!('error' in fast)) bulkTaken++;
  }
  assert.ok(bulkTaken >= 30, `${bulkTaken} of 60 files decided`);
});

test('only the reader\'s own records are taken as checked: a plain copy of one, length included, has its value checked', () => {
  const { command } = readImport('example.org', ['$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '@ NS ns1', 'www A 192.0.2.1'].join('\n'));
  // A body built by hand (or a JSON copy) with every field of the reader's record and a value that is not an address.
  const copies = unmarked(command).records.map((r) => ({ ...r, value: r.type === 'A' ? 'not an address' : r.value }));
  assert.ok(copies.some((r) => 'rdataLength' in r), 'the copy carries the length field');
  const result = decideWithIds(EMPTY_STATE, { ...command, records: copies });
  assert.ok('error' in result && /not an address|IPv4|address/i.test(result.error), JSON.stringify(result));
});
