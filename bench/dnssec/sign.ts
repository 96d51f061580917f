/**
 * How long signing a whole zone takes: N names (an A RRset each, every tenth with a TXT too) signed
 * by SignedZone.build with a CSK, for both algorithms and both denial modes. Issue 12's target is
 * 100,000 names in under 10 s on one core.
 *
 *   node --import tsx bench/dnssec/sign.ts [--names 100000]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { generateKey, privateKeyObject, type AlgorithmName } from '../../src/dnssec/algorithms.ts';
import { SignedZone } from '../../src/dnssec/signed-zone.ts';
import { TYPE, zoneKeyRdata } from '../../src/dnssec/zone-keys.ts';
import type { CanonicalRRset } from '../../src/dnssec/rrsig.ts';
import { nameToWire } from '../../src/records/names.ts';

const { values } = parseArgs({ options: { names: { type: 'string', default: '100000' } } });
const names = Number(values.names);
const zone = 'bench.test.';

function content(): CanonicalRRset[] {
  const soa = [...nameToWire(`ns.${zone}`), ...nameToWire(`h.${zone}`)];
  for (const v of [1, 3600, 600, 86400, 300]) soa.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const out: CanonicalRRset[] = [
    { owner: zone, type: TYPE.SOA, ttl: 3600, rdatas: [new Uint8Array(soa)] },
    { owner: zone, type: TYPE.NS, ttl: 3600, rdatas: [nameToWire(`ns.${zone}`)] },
  ];
  for (let i = 0; i < names; i++) {
    const owner = `host${i}.${zone}`;
    out.push({ owner, type: 1, ttl: 300, rdatas: [new Uint8Array([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])] });
    if (i % 10 === 0) out.push({ owner, type: 16, ttl: 300, rdatas: [new Uint8Array([5, 104, 101, 108, 108, 111])] });
  }
  return out;
}

const rrsets = content();
for (const algorithm of ['ecdsap256sha256', 'ed25519'] as AlgorithmName[]) {
  const m = generateKey(algorithm);
  const { tag } = zoneKeyRdata({ role: 'csk', publicKey: m.publicKey, algorithm });
  const keys = [{ role: 'csk' as const, algorithm, publicKey: m.publicKey, signing: { algorithm, keyTag: tag, privateKey: privateKeyObject(m.privatePkcs8) } }];
  for (const denial of ['nsec', 'nsec3'] as const) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const z = SignedZone.build({ zone, keys, denial, dnskeyTtl: 3600 }, rrsets, Math.floor(Date.now() / 1000));
    const cpu = process.cpuUsage(c0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    let sigs = 0;
    for (const rs of z.records()) if (rs.type === TYPE.RRSIG) sigs += rs.rdatas.length;
    const t1 = process.hrtime.bigint();
    z.replace(`host5.${zone}`, 1, { owner: `host5.${zone}`, type: 1, ttl: 300, rdatas: [new Uint8Array([192, 0, 2, 5])] }, Math.floor(Date.now() / 1000));
    const oneMs = Number(process.hrtime.bigint() - t1) / 1e6;
    console.log(`${algorithm} ${denial}: ${names} names, ${sigs} signatures in ${(ms / 1000).toFixed(2)} s wall, ${(cpuMs / 1000).toFixed(2)} s CPU (${((cpuMs * 1000) / sigs).toFixed(1)} µs CPU each); one-record change re-signed in ${oneMs.toFixed(2)} ms; load ${os.loadavg()[0].toFixed(1)}`);
  }
}
