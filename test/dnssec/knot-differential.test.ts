/**
 * Differential against Knot signing the same zone with the same settings (KSK+ZSK, the algorithm,
 * NSEC or NSEC3 with RFC 9276 parameters, CDS/CDNSKEY published): for every kind of query with DO,
 * both servers give the same rcode, the same RRsets in each section, RRSIGs over the same types,
 * and the same denial proofs (NSEC/NSEC3 owners, next names and type bitmaps, byte for byte).
 * Key material and signature bytes differ by nature and are compared by kind only (DNSKEY flags,
 * RRSIG covered type and labels); that the signatures validate is the Unbound tests' job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { buildQuery, udpExchange } from '../dns/helpers.ts';
import { tempDir } from '../helpers/ledger.ts';
import { freePort } from '../helpers/ports.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';
import { signZone, ZONE, ZONE_FILE } from './helpers.ts';

const QUESTIONS: Array<[string, number]> = [
  [`www.${ZONE}`, 1], [`www.${ZONE}`, 28], [`www.${ZONE}`, 16], [`www.${ZONE}`, 47],
  [`nope.${ZONE}`, 1], [`deep.nope.${ZONE}`, 28], [`zzz.${ZONE}`, 1], [`aaa.${ZONE}`, 1],
  [`ent.${ZONE}`, 1], [`deep.ent.${ZONE}`, 16], [`x.deep.ent.${ZONE}`, 16],
  [`a.wild.${ZONE}`, 16], [`b.wild.${ZONE}`, 1], [`wild.${ZONE}`, 1], [`*.wild.${ZONE}`, 16],
  [`alias.${ZONE}`, 1], [`alias.${ZONE}`, 5],
  [ZONE, 6], [ZONE, 2], [ZONE, 15], [ZONE, 48], [ZONE, 1],
  [`mail.${ZONE}`, 1], [`mail.${ZONE}`, 28],
  [`sub.${ZONE}`, 1], [`host.sub.${ZONE}`, 1], [`sub.${ZONE}`, 43],
  [`secure.${ZONE}`, 1], [`secure.${ZONE}`, 43],
];

type Rec = dnsPacket.Answer & { data?: unknown };

/** One record as compared: full data, except key and signature material (kind only). */
function describe(r: Rec): string {
  const owner = r.name.toLowerCase();
  const d = r.data as Record<string, unknown> | undefined;
  switch (r.type) {
    case 'RRSIG':
      return `${owner} RRSIG ${String(d?.typeCovered)} labels=${String(d?.labels)} ttl=${String(d?.originalTTL)}`;
    case 'DNSKEY':
      return `${owner} DNSKEY flags=${String(d?.flags)} alg=${String(d?.algorithm)}`;
    case 'DS':
      return owner.startsWith('secure.') ? `${owner} DS ${JSON.stringify(d)}` : `${owner} DS`;
    case 'OPT':
      return '';
    case 'SOA':
      // Serials differ by design (MCNS numbers its own: YYYYMMDDNN after the file's).
      return `${owner} ${r.ttl} SOA ${JSON.stringify({ ...(d ?? {}), serial: 'any' })}`;
    default:
      return `${owner} ${r.ttl} ${r.type} ${JSON.stringify(d, (_k, v: unknown) => (v && typeof v === 'object' && 'type' in v && (v as { type: string }).type === 'Buffer' ? Buffer.from((v as unknown as { data: number[] }).data).toString('hex') : v))}`;
  }
}

async function ask(port: number, name: string, type: number): Promise<string> {
  const b = await udpExchange(port, buildQuery({ name, type, edns: { do: true, size: 4096 } }), 3000);
  const p = dnsPacket.decode(b);
  const sec = (rs: Rec[] | undefined): string => (rs ?? []).map(describe).filter(Boolean).sort().join('\n    ');
  return `rcode=${b[3] & 0xf} aa=${(b[2] & 4) !== 0}\n  answer:\n    ${sec(p.answers as Rec[])}\n  authority:\n    ${sec(p.authorities as Rec[])}`;
}

function knotConfig(dir: string, port: number, algorithm: string, nsec3: boolean): string {
  mkdirSync(join(dir, 'keys'), { recursive: true });
  writeFileSync(join(dir, 'zone'), ZONE_FILE.replace('$TTL 300', `$ORIGIN ${ZONE}\n$TTL 300`));
  const conf = `server:
    rundir: "${dir}"
    listen: 127.0.0.1@${port}
log:
  - target: stderr
    any: warning
database:
    storage: "${dir}"
keystore:
  - id: keys
    config: "${dir}/keys"
policy:
  - id: mcns-like
    keystore: keys
    algorithm: ${algorithm}
    single-type-signing: off
    nsec3: ${nsec3 ? 'on' : 'off'}
    nsec3-iterations: 0
    nsec3-salt-length: 0
    nsec3-opt-out: off
    cds-cdnskey-publish: always
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: ${ZONE}
    file: "${dir}/zone"
    dnssec-signing: on
    dnssec-policy: mcns-like
`;
  const path = join(dir, 'knot.conf');
  writeFileSync(path, conf);
  return path;
}

for (const [algorithm, knotAlg] of [['ecdsap256sha256', 'ecdsap256sha256'], ['ed25519', 'ed25519']] as const) {
  for (const denial of ['nsec', 'nsec3'] as const) {
    test(`same records and denial proofs as Knot signing the same zone (${algorithm}, ${denial})`, async (t) => {
      const missing = requireTool('knotd');
      if (missing) return t.skip(missing);
      const { dir, cleanup } = tempDir();
      t.after(cleanup);
      signZone(join(dir, 'mcns.db'), algorithm, denial);
      const server = await startServer(loadConfig({ path: writeServerConfig(dir), env: {} }));
      t.after(() => server.stop('test'));
      const mcns = Number(server.dns[0].udp.split(':').pop());

      const kdir = join(dir, 'knot');
      mkdirSync(kdir);
      const kport = await freePort(true);
      const knot = spawn('knotd', ['-c', knotConfig(kdir, kport, knotAlg, denial === 'nsec3')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      knot.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      t.after(() => { knot.kill('SIGTERM'); });
      await waitFor(async () => {
        try {
          return (await ask(kport, ZONE, 48)).includes('DNSKEY flags=257');
        } catch {
          return false;
        }
      }, { what: 'Knot to sign the zone', timeoutMs: 15_000 }).catch((err: Error) => {
        throw new Error(`${err.message}\n${log}`);
      });

      const diffs: string[] = [];
      for (const [name, type] of QUESTIONS) {
        const [ours, theirs] = [await ask(mcns, name, type), await ask(kport, name, type)];
        if (ours !== theirs) diffs.push(`${name} type ${type}\n MCNS ${ours}\n Knot ${theirs}`);
      }
      assert.deepEqual(diffs, [], diffs.join('\n\n'));
    });
  }
}
