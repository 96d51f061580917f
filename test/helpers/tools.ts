/**
 * System tools the interop and ops tests run (dig, kdig, knotd, ...). A test that needs one may skip
 * where it is missing on a developer's machine, with the reason printed; under CI=true a missing tool
 * is an error, so a CI run can never pass by silently dropping its checks. `.ci/run` exports CI=true
 * and installs every tool listed here.
 */
import { spawnSync } from 'node:child_process';

/** The Debian package that provides each tool (the install hint in skip reasons and CI errors). */
const PACKAGE_OF: Record<string, string> = {
  dig: 'bind9-dnsutils',
  nsupdate: 'bind9-dnsutils',
  kdig: 'knot-dnsutils',
  knsupdate: 'knot-dnsutils',
  knotd: 'knot',
  knotc: 'knot',
  nsd: 'nsd',
  named: 'bind9',
  'systemd-analyze': 'systemd',
  sqlite3: 'sqlite3',
  openssl: 'openssl',
  python3: 'python3',
  dnsperf: 'dnsperf',
  // DNSSEC validators and signing tools (for the DNSSEC tests).
  unbound: 'unbound',
  'unbound-checkconf': 'unbound',
  drill: 'ldnsutils',
  'ldns-verify-zone': 'ldnsutils',
  'ldns-read-zone': 'ldnsutils',
  'dnssec-verify': 'bind9-utils',
  'dnssec-signzone': 'bind9-utils',
  'named-checkzone': 'bind9-utils',
  chromium: 'chromium',
  // `promtool check metrics` on /metrics.
  promtool: 'prometheus',
};

const found = new Map<string, boolean>();

/** True when `cmd` is on the PATH (cached: the PATH does not change during a run). */
export function onPath(cmd: string): boolean {
  let yes = found.get(cmd);
  if (yes === undefined) {
    yes = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
    found.set(cmd, yes);
  }
  return yes;
}

/** True when this run must not skip anything for a missing tool. */
export function isCi(): boolean {
  return process.env.CI === 'true';
}

/**
 * For `test(name, { skip: requireTool('dig', 'kdig') }, ...)` and `if (reason) t.skip(reason)`:
 * false when every tool is on the PATH; otherwise, outside CI, the skip reason (also printed, so a
 * skip is never silent); under CI=true it throws, naming the tools and their packages.
 */
export function requireTool(...cmds: string[]): string | false {
  const missing = cmds.filter((c) => !onPath(c));
  if (missing.length === 0) return false;
  const packages = [...new Set(missing.map((c) => PACKAGE_OF[c] ?? c))];
  const reason = `${missing.join(', ')} not installed (apt-get install ${packages.join(' ')})`;
  if (isCi()) throw new Error(`CI=true: ${reason}; .ci/run installs it, a CI run may not skip these checks`);
  console.log(`# skipping: ${reason}`);
  return reason;
}
