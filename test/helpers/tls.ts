/**
 * Throwaway TLS material for tests: a CA and a server certificate for 127.0.0.1/localhost, made with
 * the `openssl` CLI in a temp dir, so the servers under test run real TLS that clients verify.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files (and their paths) of a throwaway CA and a server certificate it signed. */
export interface TestTls {
  dir: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  caPath: string;
  certPath: string;
  keyPath: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** Make a CA and a server certificate valid for localhost and 127.0.0.1 (EC P-256, one day). */
export function makeTestTls(commonName = 'localhost'): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'mcns-tls-'));
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
  openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '1', '-subj', `/CN=mcns test CA ${commonName}`, '-out', 'ca.pem']);
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'key.pem']);
  openssl(dir, ['req', '-new', '-key', 'key.pem', '-subj', `/CN=${commonName}`, '-out', 'server.csr']);
  writeFileSync(
    join(dir, 'ext.cnf'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-sha256', '-extfile', 'ext.cnf', '-out', 'cert.pem']);
  const caPath = join(dir, 'ca.pem');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  return { dir, ca: readFileSync(caPath), cert: readFileSync(certPath), key: readFileSync(keyPath), caPath, certPath, keyPath };
}
