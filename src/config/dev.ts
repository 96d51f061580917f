/**
 * The `--dev` bootstrap: everything a fresh clone needs under ./.mcns-dev/ (a self-signed certificate
 * for localhost/127.0.0.1 made with the openssl CLI, and a random admin token kept mode 0600), and the
 * two example zones of the seed README imported on first start.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { McnsError } from '../errors.ts';
import type { Ledger } from '../ledger.ts';
import { importCommand } from '../projections/zone-files.ts';

/** The zones seeded in dev, in import order, with the embedded zone files that hold them. */
export const SEED_ZONES = ['svc.mcp.metacircular.net', 'mcp.metacircular.net'] as const;

const SEED_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'seed');

/** What the dev bootstrap prepared. */
export interface DevMaterial {
  token: string;
  tokenPath: string;
  /** True when the token was made now (it is printed only then). */
  newToken: boolean;
  certPath: string;
  keyPath: string;
}

/** Make (once) the dev certificate and admin token next to the dev database. */
export function prepareDevDir(dir: string, certPath: string, keyPath: string): DevMaterial {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '825', '-subj', '/CN=localhost',
          '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1', '-keyout', keyPath, '-out', certPath],
        { stdio: 'pipe' },
      );
      chmodSync(keyPath, 0o600);
    } catch (err) {
      const detail = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n')[0] ?? (err as Error).message;
      throw new McnsError('unavailable', `cannot make the dev certificate with openssl (is it installed?): ${detail}`, 'server.tls_cert');
    }
  }
  const tokenPath = join(dir, 'admin.token');
  let token: string;
  let newToken = false;
  if (existsSync(tokenPath)) {
    token = readFileSync(tokenPath, 'utf8').trim();
  } else {
    token = randomBytes(24).toString('base64url');
    writeFileSync(tokenPath, token + '\n', { mode: 0o600 });
    newToken = true;
  }
  // Whatever the umask did, the token stays readable by its owner only.
  chmodSync(tokenPath, 0o600);
  return { token, tokenPath, newToken, certPath, keyPath };
}

/** The embedded zone file of a seed zone. */
export function seedZoneText(zone: (typeof SEED_ZONES)[number]): string {
  return readFileSync(join(SEED_DIR, `${zone}.zone`), 'utf8');
}

/** Import the seed zones when the log is empty; returns the zones written (none on later starts). */
export function seedIfEmpty(ledger: Ledger): string[] {
  if (ledger.state.seq > 0) return [];
  const done: string[] = [];
  for (const zone of SEED_ZONES) {
    ledger.execute(importCommand(zone, seedZoneText(zone), `seed/${zone}.zone`), { actor: 'system', surface: 'system' });
    done.push(zone);
  }
  return done;
}
