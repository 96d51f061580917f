/**
 * Real secondaries for interop tests: Knot (knotd), NSD and BIND (named), each with its own config,
 * zone files and logs in a temp dir, listening on 127.0.0.1 at a high port, transferring from MCNS
 * from its own loopback source address (so MCNS's transfer log tells the three apart), optionally
 * with a TSIG key. They run in the foreground as children of the test and are killed by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** What every secondary is told. */
export interface SecondaryConfig {
  dir: string;
  port: number;
  /** Loopback address it transfers from (its identity in MCNS's logs). */
  source: string;
  primaryPort: number;
  zones: string[];
  key?: { name: string; algorithm: string; secret: string };
}

/** A running secondary. */
export interface Secondary {
  name: 'knot' | 'nsd' | 'bind';
  port: number;
  source: string;
  /** Everything it logged so far. */
  log(): string;
  stop(): Promise<void>;
}


function launch(name: Secondary['name'], cmd: string, args: string[], cfg: SecondaryConfig, logFile?: string): Secondary {
  let out = '';
  const child: ChildProcess = spawn(cmd, args, { cwd: cfg.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    name,
    port: cfg.port,
    source: cfg.source,
    log: () => out + (logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    stop: async () => {
      if (child.exitCode === null && child.pid) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** Knot DNS as a secondary (knotd -c, foreground). */
export function startKnot(cfg: SecondaryConfig): Secondary {
  mkdirSync(join(cfg.dir, 'zones'), { recursive: true });
  const keyRef = cfg.key ? `\n    key: ${cfg.key.name}` : '';
  const conf = `server:
    rundir: "${cfg.dir}"
    listen: 127.0.0.1@${cfg.port}
log:
  - target: stderr
    any: info
${cfg.key ? `key:\n  - id: ${cfg.key.name}\n    algorithm: ${cfg.key.algorithm}\n    secret: ${cfg.key.secret}\n` : ''}remote:
  - id: mcns
    address: 127.0.0.1@${cfg.primaryPort}
    via: ${cfg.source}${keyRef}
acl:
  - id: notify_from_mcns
    address: 127.0.0.1
    action: notify
database:
    storage: "${cfg.dir}"
template:
  - id: default
    storage: "${cfg.dir}/zones"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: all
    semantic-checks: off
zone:
${cfg.zones.map((z) => `  - domain: ${z}\n    master: mcns\n    acl: notify_from_mcns\n`).join('')}`;
  const path = join(cfg.dir, 'knot.conf');
  writeFileSync(path, conf);
  return launch('knot', 'knotd', ['-c', path], cfg);
}

/** NSD as a secondary (nsd -d, foreground). */
export function startNsd(cfg: SecondaryConfig): Secondary {
  const keyName = cfg.key ? cfg.key.name : 'NOKEY';
  const logFile = join(cfg.dir, 'nsd.log');
  const conf = `server:
    ip-address: 127.0.0.1
    port: ${cfg.port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "${cfg.dir}"
    database: ""
    pidfile: "${cfg.dir}/nsd.pid"
    xfrdfile: "${cfg.dir}/xfrd.state"
    xfrdir: "${cfg.dir}"
    zonelistfile: "${cfg.dir}/zone.list"
    logfile: "${logFile}"
    verbosity: 2
    server-count: 1
remote-control:
    control-enable: no
${cfg.key ? `key:\n    name: ${cfg.key.name}\n    algorithm: ${cfg.key.algorithm}\n    secret: "${cfg.key.secret}"\n` : ''}${cfg.zones
    .map((z) => `zone:\n    name: ${z}\n    zonefile: "${z}zone"\n    request-xfr: 127.0.0.1@${cfg.primaryPort} ${keyName}\n    outgoing-interface: ${cfg.source}\n    allow-notify: 127.0.0.1 NOKEY\n`)
    .join('')}`;
  const path = join(cfg.dir, 'nsd.conf');
  writeFileSync(path, conf);
  return launch('nsd', 'nsd', ['-d', '-c', path], cfg, logFile);
}

/** BIND 9 as a secondary (named -f, foreground, logging to a file). */
export function startBind(cfg: SecondaryConfig): Secondary {
  const logFile = join(cfg.dir, 'named.log');
  const keyClause = cfg.key ? ` key ${cfg.key.name}` : '';
  const conf = `options {
  directory "${cfg.dir}";
  listen-on port ${cfg.port} { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file "${cfg.dir}/named.pid";
  session-keyfile "${cfg.dir}/session.key";
  managed-keys-directory "${cfg.dir}";
  recursion no;
  notify no;
  dnssec-validation no;
  transfer-source ${cfg.source};
  query-source address ${cfg.source};
  request-ixfr yes;
  // BIND 9.18.28+ refuses a zone with more than 100 records of one type at a name by default
  // (max-records-per-type, CVE-2024-1737); the interop zones hold RRsets of 300 and 2000 records.
  max-records-per-type 0;
  max-types-per-name 0;
};
controls { };
${cfg.key ? `key "${cfg.key.name}" { algorithm ${cfg.key.algorithm}; secret "${cfg.key.secret}"; };\n` : ''}logging {
  channel file_log { file "${logFile}"; severity info; print-time yes; print-category yes; };
  category default { file_log; };
  category xfer-in { file_log; };
  category notify { file_log; };
};
${cfg.zones
    .map((z) => `zone "${z}" { type secondary; primaries port ${cfg.primaryPort} { 127.0.0.1${keyClause}; }; file "${z}db"; allow-notify { 127.0.0.1; }; };\n`)
    .join('')}`;
  const path = join(cfg.dir, 'named.conf');
  writeFileSync(path, conf);
  return launch('bind', 'named', ['-f', '-c', path, '-u', 'root', '-n', '1'], cfg, logFile);
}
