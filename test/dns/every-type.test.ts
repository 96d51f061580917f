/**
 * A zone holding every type (test/records/every-type.ts), served over real UDP and TCP on loopback:
 * kdig and dig ask for each record and must parse the answer without a warning, reading back the
 * value we store; an AXFR through kdig and dig carries every record, RFC 3597 ones byte for byte,
 * and an IXFR carries records of the new types added and deleted since a serial.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startDns, type DnsServer } from '../../src/dns/server.ts';
import { createTransferHandlers, type TransferHandlers } from '../../src/dns/transfer/index.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { formatRData, parseRData } from '../../src/records/rdata.ts';
import { parseRRType, type RRType } from '../../src/records/types.ts';
import { testLedger } from '../helpers/ledger.ts';
import { requireTool } from '../helpers/tools.ts';
import { EVERY_TYPE, everyTypeZone } from '../records/every-type.ts';

const ZONE = 'every.test.';
const SKIP = requireTool('kdig', 'dig');

let env: ReturnType<typeof testLedger>;
let xfr: TransferHandlers;
let dns: DnsServer;
let port = 0;

before(async () => {
  if (SKIP) return;
  env = testLedger();
  env.ledger.execute(importCommand(ZONE, everyTypeZone(ZONE)), { actor: 'test' });
  xfr = createTransferHandlers({ ledger: env.ledger, config: { allow_from: ['127.0.0.1/32'], allow_keys: [], notify: [], keys: {} } });
  dns = await startDns({ ledger: env.ledger, listen: ['127.0.0.1:0'], handlers: xfr.handlers, transfer: xfr.transfer });
  port = dns.addresses[0].udp.port;
});

after(async () => {
  await dns?.close();
  xfr?.close();
  env?.cleanup();
});

interface Answer {
  owner: string;
  type: RRType;
  rdata: string;
}

/** Run a query tool (asynchronously: the server answers from this process); its answer lines and every warning it printed. */
async function ask(tool: 'kdig' | 'dig', args: string[]): Promise<{ answers: Answer[]; warnings: string[]; out: string }> {
  // +authority: the NS record of the corpus is a delegation, answered as a referral.
  const flags = tool === 'kdig' ? ['+noall', '+answer', '+authority'] : ['+noall', '+answer', '+authority', '+nocookie'];
  const r = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(tool, ['@127.0.0.1', '-p', String(port), ...flags, ...args], { encoding: 'utf8', timeout: 20000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
  const out = r.stdout + r.stderr;
  const warnings = out.split('\n').filter((l) => /warning|error|malformed|failed|timed out/i.test(l));
  if (r.status !== 0) warnings.push(`${tool} exited ${r.status}`);
  const answers: Answer[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\s+\d+\s+IN\s+(\S+)\s+(.*)$/.exec(line);
    if (m) answers.push({ owner: m[1].toLowerCase(), type: parseRRType(m[2]) as RRType, rdata: m[3].trim() });
  }
  return { answers, warnings, out };
}

/** The value as we store it, from a tool's text (the tools write some types their own way). */
function ours(type: RRType, rdata: string): string {
  return formatRData(parseRData(type, rdata, ZONE));
}

for (const tool of ['kdig', 'dig'] as const) {
  test(`${tool} reads every type from our answers without a warning, over UDP and TCP`, { skip: SKIP }, async () => {
    for (const [owner, type, , canonical] of EVERY_TYPE) {
      for (const transport of ['+notcp', '+tcp']) {
        const r = await ask(tool, [transport, `${owner}.${ZONE}`, type]);
        assert.deepEqual(r.warnings, [], `${tool} ${transport} ${owner} ${type}:\n${r.out}`);
        const got = r.answers.filter((a) => a.owner === `${owner}.${ZONE}`);
        assert.equal(got.length, 1, `${tool} ${owner} ${type}:\n${r.out}`);
        assert.equal(got[0].type, type);
        assert.equal(ours(type, got[0].rdata), canonical, `${tool} wrote ${got[0].rdata}`);
      }
    }
  });

  test(`${tool} transfers the zone with every type (AXFR), each value as stored`, { skip: SKIP }, async () => {
    const r = await ask(tool, ['+tcp', ZONE, 'AXFR']);
    assert.deepEqual(r.warnings, [], r.out);
    const got = new Map(r.answers.filter((a) => a.type !== 'SOA' || a.owner !== ZONE).map((a) => [`${a.owner} ${a.type}`, a.rdata]));
    for (const [owner, type, , canonical] of EVERY_TYPE) {
      const rdata = got.get(`${owner}.${ZONE} ${type}`);
      assert.ok(rdata !== undefined, `${owner} ${type} transferred:\n${r.out}`);
      assert.equal(ours(type, rdata), canonical);
    }
    assert.equal(r.answers.filter((a) => a.type === 'SOA').length, 2);
  });
}

test('kdig: an IXFR carries the new types added and deleted since a serial', { skip: SKIP }, async () => {
  const zone = (): NonNullable<ReturnType<typeof env.ledger.state.zones.get>> => env.ledger.state.zones.get(ZONE)!;
  const from = zone().serial;
  const added = [
    ['ixfr', 'HTTPS', '1 . alpn="h2"'],
    ['ixfr', 'TYPE65402', '\\# 2 BEEF'],
    ['ixfr', 'TLSA', `3 1 1 ${'AB'.repeat(32)}`],
  ] as const;
  env.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: added.map(([n, type, value]) => ({ op: 'create' as const, name: `${n}.${ZONE}`, type, value, ttl: 300 })) }, { actor: 'test' });
  const gone = [...zone().records.values()].find((r) => r.type === 'SMIMEA')!;
  env.ledger.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'delete', id: gone.id }] }, { actor: 'test' });
  const r = await ask('kdig', ['+tcp', ZONE, `IXFR=${from}`]);
  assert.deepEqual(r.warnings, [], r.out);
  const lines = r.answers.map((a) => `${a.owner} ${a.type} ${ours(a.type, a.rdata)}`);
  for (const [n, type, value] of added) assert.ok(lines.includes(`${n}.${ZONE} ${type} ${ours(type, value)}`), `${type} added:\n${r.out}`);
  assert.ok(lines.includes(`${gone.name} SMIMEA ${gone.value}`), `SMIMEA deleted:\n${r.out}`);
  assert.ok(r.answers.filter((a) => a.type === 'SOA').length >= 4, 'an incremental transfer, not a full one');
});
