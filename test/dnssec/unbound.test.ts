/**
 * The proof that MCNS's signed answers validate: a real Unbound, given MCNS as the stub for the
 * zone and the DS MCNS publishes as its only trust anchor, answers every kind of query with the AD
 * bit — positive, NODATA, NXDOMAIN, wildcard, CNAME, a referral, DNSKEY itself — for both
 * algorithms and both denial modes, before and after a change (written by another process, as
 * `mcns ... --db` would). The same resolver given a wrong DS answers SERVFAIL, so the test cannot
 * pass vacuously.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { Ledger } from '../../src/ledger.ts';
import { startServer } from '../../src/server.ts';
import { generateKey, type AlgorithmName } from '../../src/dnssec/algorithms.ts';
import { dsPresentation } from '../../src/dnssec/dnskey.ts';
import { KeyStore } from '../../src/dnssec/keystore.ts';
import { dnskeyFlags, zoneKeyRdata } from '../../src/dnssec/zone-keys.ts';
import { ALGORITHM_NUMBERS } from '../../src/dnssec/algorithms.ts';
import { importCommand } from '../../src/projections/zone-files.ts';
import { buildQuery, udpExchange } from '../dns/helpers.ts';
import { tempDir } from '../helpers/ledger.ts';
import { freePort } from '../helpers/ports.ts';
import { writeServerConfig } from '../helpers/server-config.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitFor } from '../helpers/wait.ts';

const ZONE = 'signed.test.';
const ZONE_FILE = `$TTL 300
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
function signZone(db: string, algorithm: AlgorithmName, denial: 'nsec' | 'nsec3'): string {
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

async function startUnbound(dir: string, mcnsPort: number, anchor: string): Promise<{ port: number; proc: ChildProcess; stop: () => Promise<void> }> {
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
      `  trust-anchor: "${anchor}"`,
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
async function resolve(port: number, name: string, type: number): Promise<{ rcode: number; ad: boolean; answers: number }> {
  const b = await udpExchange(port, buildQuery({ name, type, rd: true, edns: { do: true, size: 1232 } }), 5000);
  return { rcode: b[3] & 0xf, ad: (b[3] & 0x20) !== 0, answers: b.readUInt16BE(6) };
}

const NOERROR = 0;
const NXDOMAIN = 3;
const SERVFAIL = 2;
const CASES: Array<[string, number, number]> = [
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

for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
  for (const denial of ['nsec', 'nsec3'] as const) {
    test(`Unbound validates MCNS's answers (${algorithm}, ${denial}), and refuses them under a wrong DS`, async (t) => {
      const missing = requireTool('unbound');
      if (missing) return t.skip(missing);
      const { dir, cleanup } = tempDir();
      t.after(cleanup);
      const db = join(dir, 'mcns.db');
      const anchor = signZone(db, algorithm, denial);
      const server = await startServer(loadConfig({ path: writeServerConfig(dir), env: {} }));
      t.after(() => server.stop('test'));
      const mcnsPort = Number(server.dns[0].udp.split(':').pop());

      const good = await startUnbound(dir, mcnsPort, anchor);
      t.after(good.stop);
      for (const [name, type, rcode] of CASES) {
        const r = await resolve(good.port, name, type);
        assert.deepEqual([r.rcode, r.ad], [rcode, true], `${name} type ${type}: rcode ${r.rcode}, AD ${r.ad}`);
      }

      // A change written by another process (as `mcns ... --db` would): served signed within a second.
      const other = Ledger.open({ path: db, create: false });
      other.execute({ kind: 'changeRecords', zone: ZONE, ops: [{ op: 'create', name: `new.${ZONE}`, type: 'A', value: '192.0.2.99' }] }, { actor: 'test' });
      other.close();
      const after = await waitFor(async () => {
        const r = await resolve(good.port, `new.${ZONE}`, 1);
        return r.rcode === NOERROR && r.answers > 0 && r;
      }, { what: 'the new record to resolve', timeoutMs: 10_000 });
      assert.equal(after.ad, true, 'a record added after signing validates');
      for (const [name, type, rcode] of CASES.slice(0, 5)) {
        const r = await resolve(good.port, name, type);
        assert.deepEqual([r.rcode, r.ad], [rcode, true], `after the change: ${name} type ${type}`);
      }

      // The control: the same resolver setup with a DS that matches no key must fail validation.
      const wrong = anchor.replace(/[0-9A-F]{64}$/, 'CD'.repeat(32));
      const bad = await startUnbound(dir, mcnsPort, wrong);
      t.after(bad.stop);
      assert.equal((await resolve(bad.port, `www.${ZONE}`, 1)).rcode, SERVFAIL, 'a wrong DS must give SERVFAIL');
    });
  }
}
