/**
 * Shared by the DNSSEC end-to-end tests: a signed zone written into a database the way the API
 * does it (keys in the key store, the decision in the log), a real Unbound that validates with
 * only the DS MCNS publishes as trust anchor, and the kinds of query every signed answer must
 * validate for.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger.ts';
import { ALGORITHM_NUMBERS, generateKey, type AlgorithmName } from '../../src/dnssec/algorithms.ts';
import { dsPresentation } from '../../src/dnssec/dnskey.ts';
import { KeyStore } from '../../src/dnssec/keystore.ts';
import { dnskeyFlags, zoneKeyRdata } from '../../src/dnssec/zone-keys.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { buildQuery, udpExchange } from '../dns/helpers.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

export const ZONE = 'signed.test.';
export const ZONE_FILE = `$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
@ MX 10 mail
ns1 A 192.0.2.1
www A 192.0.2.10
www AAAA 2001:db8::10
mail A 192.0.2.20
alias CNAME www
*.wild TXT "wildcard"
deep.ent TXT "below an empty non-terminal"
sub NS ns.sub
ns.sub A 192.0.2.53
secure NS ns.elsewhere.test.
secure DS 12345 13 2 ${'AB'.repeat(32)}
`;

/** Enable DNSSEC on a database the way the API does: keys in the key store, the decision in the log. */
export function signZone(db: string, algorithm: AlgorithmName, denial: 'nsec' | 'nsec3'): string {
  const ledger = Ledger.open({ path: db });
  try {
    ledger.execute(importCommand(ZONE, ZONE_FILE), { actor: 'test' });
    const store = new KeyStore(ledger.db);
    const now = Math.floor(Date.now() / 1000);
    const keys = (['ksk', 'zsk'] as const).map((role) => {
      const m = generateKey(algorithm);
      const { rdata, tag } = zoneKeyRdata({ role, publicKey: m.publicKey, algorithm });
      store.put({ zone: ZONE, tag, algorithm, dnskeySha256: createHash('sha256').update(rdata).digest(), pkcs8: m.privatePkcs8, createdAt: new Date().toISOString() });
      return { tag, role, algorithm, publicKey: Buffer.from(m.publicKey).toString('base64'), raw: m.publicKey };
    });
    ledger.execute({ kind: 'dnssec', zone: ZONE, change: { op: 'configure', enabled: true, algorithm, denial, newKeys: keys, at: now } }, { actor: 'admin' });
    const ksk = keys[0];
    return `${ZONE} DS ${dsPresentation(ZONE, { flags: dnskeyFlags('ksk'), algorithm: ALGORITHM_NUMBERS[algorithm], publicKey: ksk.raw })}`;
  } finally {
    ledger.close();
  }
}

/** `anchor`: the DS line the parent publishes, or several (the parent's DS set during a KSK rollover). */
export async function startUnbound(dir: string, mcnsPort: number, anchor: string | string[]): Promise<{ port: number; proc: ChildProcess; stop: () => Promise<void> }> {
  const port = await freePort(true);
  const conf = join(dir, `unbound-${port}.conf`);
  writeFileSync(
    conf,
    [
      'server:',
      '  interface: 127.0.0.1',
      `  port: ${port}`,
      '  do-daemonize: no',
      '  use-syslog: no',
      '  logfile: ""',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${join(dir, `unbound-${port}.pid`)}"`,
      '  do-not-query-localhost: no',
      '  access-control: 127.0.0.0/8 allow',
      '  module-config: "validator iterator"',
      // Unbound answers NXDOMAIN for "test." itself (RFC 6761 default local zones) unless told not to.
      '  local-zone: "test." nodefault',
      ...(Array.isArray(anchor) ? anchor : [anchor]).map((a) => `  trust-anchor: "${a}"`),
      '  val-log-level: 2',
      '  verbosity: 1',
      '  do-ip6: no',
      '  qname-minimisation: no',
      '  cache-max-ttl: 0',
      '  cache-max-negative-ttl: 0',
      'stub-zone:',
      `  name: "${ZONE}"`,
      `  stub-addr: 127.0.0.1@${mcnsPort}`,
      'remote-control:',
      '  control-enable: no',
      '',
    ].join('\n'),
  );
  const proc = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  await waitFor(async () => {
    try {
      await udpExchange(port, buildQuery({ name: `www.${ZONE}`, rd: true }), 300);
      return true;
    } catch {
      if (proc.exitCode !== null) throw new Error(`unbound exited: ${stderr}`);
      return false;
    }
  }, { what: 'unbound to answer', timeoutMs: 10_000 });
  return {
    port,
    proc,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}

/** Ask the resolver (RD, DO); the rcode and whether the AD bit is set. */
export async function resolve(port: number, name: string, type: number): Promise<{ rcode: number; ad: boolean; answers: number }> {
  const b = await udpExchange(port, buildQuery({ name, type, rd: true, edns: { do: true, size: 1232 } }), 5000);
  return { rcode: b[3] & 0xf, ad: (b[3] & 0x20) !== 0, answers: b.readUInt16BE(6) };
}

export const NOERROR = 0;
export const NXDOMAIN = 3;
export const SERVFAIL = 2;
export const CASES: Array<[string, number, number]> = [
  [`www.${ZONE}`, 1, NOERROR],
  [`www.${ZONE}`, 28, NOERROR],
  [`www.${ZONE}`, 16, NOERROR], // NODATA
  [`nope.${ZONE}`, 1, NXDOMAIN],
  [`deep.nope.${ZONE}`, 28, NXDOMAIN],
  [`ent.${ZONE}`, 1, NOERROR], // NODATA at an empty non-terminal
  [`a.wild.${ZONE}`, 16, NOERROR], // wildcard answer
  [`b.wild.${ZONE}`, 1, NOERROR], // wildcard NODATA
  [`alias.${ZONE}`, 1, NOERROR], // CNAME to data
  [ZONE, 48, NOERROR], // DNSKEY
  [ZONE, 15, NOERROR], // MX with additional data
  [`secure.${ZONE}`, 43, NOERROR], // DS at a secure delegation
  [`sub.${ZONE}`, 43, NOERROR], // no DS: NODATA proof at an insecure delegation
];


/** Every case of {@link CASES} resolves through `port` with its rcode and the AD bit. */
export async function assertValidates(port: number, what: string, cases = CASES): Promise<void> {
  for (const [name, type, rcode] of cases) {
    const r = await resolve(port, name, type);
    assert.deepEqual([r.rcode, r.ad], [rcode, true], `${what}: ${name} type ${type}: rcode ${r.rcode}, AD ${r.ad}`);
  }
}
