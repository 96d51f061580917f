/**
 * Configuration: `mcns.toml` read with smol-toml, layered under `MCNS_<SECTION>_<KEY>` environment
 * overrides and `$PORT_REST` / `$PORT_GRPC`, validated with zod. Every problem names the key (its
 * full dotted path) and where it came from (the file or the environment variable), so a start-up
 * refusal tells the operator exactly what to fix.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { McnsError } from './errors.ts';
import { KeyPolicy } from './dns/update-policy.ts';

/** Log levels pino understands (plus `silent`). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** TSIG algorithms a key may name. */
export const TSIG_ALGORITHMS = ['hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** Parse a duration: a number of seconds or a string like "30s", "500ms", "2m", "1h"; returns ms. */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const m = DURATION_RE.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
}

const duration = z
  .union([z.number().nonnegative(), z.string()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (!Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `must be a duration like "30s", "500ms" or a number of seconds, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
  });

/** `host:port` with an optional host (":53" = every interface) and IPv6 in brackets. */
export interface HostPort {
  host: string;
  port: number;
}

/** Split "host:port", "[v6]:port" or ":port"; returns undefined when it is not one of those. */
export function splitHostPort(addr: string): HostPort | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Join a host and port back into the "host:port" form (brackets for IPv6). */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether a listen address stays on this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackAddr(addr: string): boolean {
  const hp = splitHostPort(addr);
  if (!hp) return false;
  const h = hp.host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

const hostPort = z.string().refine((s) => splitHostPort(s) !== undefined, { message: 'must be "host:port", "[v6]:port" or ":port"' });

const cidr = z.string().refine(
  (s) => {
    const [ip, len, ...rest] = s.split('/');
    const v = isIP(ip);
    if (v === 0 || rest.length > 0) return false;
    if (len === undefined) return true;
    return /^\d+$/.test(len) && Number(len) <= (v === 4 ? 32 : 128);
  },
  { message: 'must be an IP address or a CIDR block like "192.0.2.0/24"' },
);

/** A size in bytes: a whole number, or text like "4MiB", "512KiB", "1GiB". */
const byteSize = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  const m = typeof v === 'number' ? [String(v), String(v), ''] : /^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$/.exec(v);
  const n = m ? Number(m[1]) * ({ '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as Record<string, number>)[m[2] ?? ''] : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    ctx.addIssue({ code: 'custom', message: `must be a size like "4MiB", "512KiB" or a number of bytes, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

const base64 = z.string().refine((s) => s.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(s) && s.length % 4 === 0, { message: 'must be base64' });

const serverSchema = z.strictObject({
  listen_addr: hostPort.default(':8443'),
  grpc_addr: hostPort.default(':9443'),
  tls_cert: z.string().min(1).optional(),
  tls_key: z.string().min(1).optional(),
  shutdown_timeout: duration.prefault(30),
  // Largest REST request body (a zone import is one body); larger is refused with 413.
  max_body: byteSize.prefault(4 * 1024 * 1024),
  // Failed authentications per client address (src/api/auth-gate.ts): a bucket of this many, refilled
  // at auth_failures_per_minute; an empty bucket is answered 429. auth_failure_burst = 0 turns it off.
  auth_failure_burst: z.number().int().nonnegative().default(20),
  auth_failures_per_minute: z.number().nonnegative().default(10),
});

/** `[metrics]`: GET /metrics on its own listener (plain HTTP, or HTTPS with the server certificate). */
const metricsSchema = z.strictObject({
  listen_addr: hostPort.optional(),
  tls: z.boolean().default(false),
});

const databaseSchema = z.strictObject({
  path: z.string().min(1).optional(),
  backup_dir: z.string().min(1).optional(),
  snapshot_retention: z.number().int().nonnegative().default(7),
  checkpoint_every: z.number().int().nonnegative().default(1000),
  /** Key of the keyed hash chain (src/events/chain-key.ts); absent: the chain is unkeyed. */
  chain_key_file: z.string().min(1).optional(),
});

/** `[dns.rrl]`: response rate limiting of UDP answers per source prefix (src/dns/rrl.ts); 0 = off. */
const rrlSchema = z.strictObject({
  responses_per_second: z.number().int().nonnegative().default(0),
  slip: z.number().int().min(0).max(100).default(2),
  table_size: z.number().int().min(1).max(16_777_216).default(65_536),
});

const dnsSchema = z.strictObject({
  listen_addr: z.union([hostPort, z.array(hostPort).min(1)]).default(':53'),
  upstreams: z.array(hostPort).default([]),
  query_log: z.boolean().default(false),
  query_log_sample: z.number().min(0).max(1).default(0.01),
  // TCP limits (src/dns/tcp-guard.ts); defaults after Knot (tcp-idle-timeout 10 s, tcp-io-timeout 500 ms).
  tcp_max_clients: z.number().int().min(1).default(1000),
  tcp_max_per_client: z.number().int().min(1).default(20),
  tcp_idle_timeout: duration.refine((ms) => ms > 0, { message: 'must be more than 0 (an idle connection would be held for ever)' }).prefault('10s'),
  tcp_message_timeout: duration.prefault('1s'),
  // The longest the server answers questions of its own before the listeners bind (src/dns/warm-up.ts;
  // it ends sooner once WARM_UP_ANSWERS were answered: ~0.3 s on this machine); 0: none.
  warm_up: duration.refine((ms) => ms <= 10_000, { message: 'must be at most 10s (it delays the start)' }).prefault('1s'),
  rrl: rrlSchema.default(rrlSchema.parse({})),
});

const mciasSchema = z.strictObject({
  server_url: z.url({ protocol: /^https?$/ }).optional(),
  ca_cert: z.string().default(''),
  service_name: z.string().min(1).default('mcns'),
  tags: z.array(z.string()).default([]),
  timeout: duration.prefault(10),
  negative_cache: duration.prefault('10s'),
});

const logSchema = z.strictObject({
  level: z.enum(LOG_LEVELS).default('info'),
});

const transferSchema = z.strictObject({
  allow_from: z.array(cidr).default([]),
  allow_keys: z.array(z.string().min(1)).default([]),
  notify: z.array(hostPort).default([]),
  notify_key: z.string().min(1).optional(),
  zone_notify: z.record(z.string(), z.array(hostPort)).default({}),
});

const catalogSchema = z.strictObject({
  zone: z.string().min(1).optional(),
});

const dnssecSchema = z
  .strictObject({
    signature_validity: duration.refine((ms) => ms >= 3_600_000, { message: 'must be at least 1h' }).prefault('336h'),
    signature_refresh: duration.prefault('168h'),
    propagation_delay: duration.prefault('5m'),
    parent_ds_ttl: duration.prefault('24h'),
    parent_registration_delay: duration.prefault('24h'),
  })
  .refine((d) => d.signature_refresh < d.signature_validity, { message: 'must be shorter than signature_validity (signatures are re-made that long before they expire)', path: ['signature_refresh'] });

const tsigKeySchema = z
  .strictObject({
    algorithm: z.enum(TSIG_ALGORITHMS).default('hmac-sha256'),
    secret: base64.optional(),
    secret_file: z.string().min(1).optional(),
  })
  .refine((k) => (k.secret === undefined) !== (k.secret_file === undefined), { message: 'needs exactly one of secret or secret_file' });

/** `[update.keys.<name>]`: optional limits of one update key (empty lists: no limit). */
const updateKeySchema = z.strictObject({
  zones: z.array(z.string().min(1)).default([]),
  names: z.array(z.string().min(1)).default([]),
  types: z.array(z.string().min(1)).default([]),
});

const updateSchema = z.strictObject({
  allow_keys: z.array(z.string().min(1)).default([]),
  keys: z.record(z.string(), updateKeySchema).default({}),
});

const fileSchema = z.strictObject({
  server: serverSchema.default(serverSchema.parse({})),
  database: databaseSchema.default(databaseSchema.parse({})),
  dns: dnsSchema.default(dnsSchema.parse({})),
  mcias: mciasSchema.default(mciasSchema.parse({})),
  log: logSchema.default(logSchema.parse({})),
  metrics: metricsSchema.default(metricsSchema.parse({})),
  transfer: transferSchema.default(transferSchema.parse({})),
  catalog: catalogSchema.default(catalogSchema.parse({})),
  dnssec: dnssecSchema.default(dnssecSchema.parse({})),
  update: updateSchema.default(updateSchema.parse({})),
  tsig: z.strictObject({ keys: z.record(z.string(), tsigKeySchema).default({}) }).default({ keys: {} }),
});

/** A TSIG key as the DNS layer uses it: the secret is resolved (secret_file read) and base64. */
export interface TsigKey {
  name: string;
  algorithm: (typeof TSIG_ALGORITHMS)[number];
  /** The secret, base64 (as in the file). */
  secret: string;
}

/** The validated configuration the server and the CLI run on. Durations are in milliseconds. */
export interface McnsConfig {
  /** Where it came from (a file path, or "built-in dev defaults"). */
  source: string;
  dev: boolean;
  server: {
    listen_addr: string;
    grpc_addr: string;
    tls_cert: string;
    tls_key: string;
    shutdown_timeout: number;
    /** Largest REST request body in bytes. */
    max_body: number;
    /** Failed authentications a client address may have in a row (0: no limit). */
    auth_failure_burst: number;
    /** Failed authentications forgiven per minute. */
    auth_failures_per_minute: number;
  };
  database: { path: string; backup_dir: string; snapshot_retention: number; checkpoint_every: number; chain_key_file?: string };
  dns: {
    listen_addr: string[];
    upstreams: string[];
    query_log: boolean;
    query_log_sample: number;
    tcp_max_clients: number;
    tcp_max_per_client: number;
    /** ms */
    tcp_idle_timeout: number;
    /** ms; 0: no deadline */
    tcp_message_timeout: number;
    /** ms of warm-up before the DNS listeners bind, at most; 0: none */
    warm_up: number;
    rrl: { responses_per_second: number; slip: number; table_size: number };
  };
  /** `negative_cache`: ms an invalid token's refusal is reused. */
  mcias: { server_url: string; ca_cert: string; service_name: string; tags: string[]; timeout: number; negative_cache: number };
  /** `listen_addr` empty: /metrics is served on the REST listener (the default). */
  metrics: { listen_addr: string; tls: boolean };
  log: { level: (typeof LOG_LEVELS)[number] };
  /** `notify_key`: TSIG key signing outgoing NOTIFY; `zone_notify`: zone -> its own NOTIFY targets (instead of `notify`). */
  transfer: { allow_from: string[]; allow_keys: string[]; notify: string[]; notify_key?: string; zone_notify: Record<string, string[]> };
  /** `[catalog] zone`: the RFC 9432 catalog zone MCNS produces ('' = none). */
  catalog: { zone: string };
  /**
   * `[dnssec]` timings, ms: signatures live `signature_validity` and are re-made `signature_refresh`
   * before they expire; rollovers wait for `propagation_delay`, and for the parent's
   * `parent_registration_delay` and `parent_ds_ttl` where its DS changes.
   */
  dnssec: { signature_validity: number; signature_refresh: number; propagation_delay: number; parent_ds_ttl: number; parent_registration_delay: number };
  /** DNS UPDATE (RFC 2136): TSIG keys allowed to update, and per-key zone/owner-name limits. */
  update: { allow_keys: string[]; keys: Record<string, { zones: string[]; names: string[]; types: string[] }> };
  tsig: { keys: Record<string, TsigKey> };
}

type Kind = 'string' | 'number' | 'boolean' | 'list' | 'string|list';

/** The type of each key an environment variable may override (tsig keys are file-only). */
const ENV_KEYS: Record<string, Record<string, Kind>> = {
  server: {
    listen_addr: 'string',
    grpc_addr: 'string',
    tls_cert: 'string',
    tls_key: 'string',
    shutdown_timeout: 'string',
    max_body: 'string',
    auth_failure_burst: 'number',
    auth_failures_per_minute: 'number',
  },
  database: { path: 'string', backup_dir: 'string', snapshot_retention: 'number', checkpoint_every: 'number', chain_key_file: 'string' },
  dns: {
    listen_addr: 'string|list',
    upstreams: 'list',
    query_log: 'boolean',
    query_log_sample: 'number',
    tcp_max_clients: 'number',
    tcp_max_per_client: 'number',
    tcp_idle_timeout: 'string',
    tcp_message_timeout: 'string',
    warm_up: 'string',
  },
  mcias: { server_url: 'string', ca_cert: 'string', service_name: 'string', tags: 'list', timeout: 'string', negative_cache: 'string' },
  metrics: { listen_addr: 'string', tls: 'boolean' },
  log: { level: 'string' },
  transfer: { allow_from: 'list', allow_keys: 'list', notify: 'list', notify_key: 'string' },
  catalog: { zone: 'string' },
  dnssec: { signature_validity: 'string', signature_refresh: 'string', propagation_delay: 'string', parent_ds_ttl: 'string', parent_registration_delay: 'string' },
  update: { allow_keys: 'list' },
};

/** Settings the dev server starts from (`mcns server --dev`): everything on loopback, no upstreams. */
export const DEV_DEFAULTS = {
  server: { listen_addr: '127.0.0.1:8443', grpc_addr: '127.0.0.1:9443', tls_cert: 'cert.pem', tls_key: 'key.pem' },
  database: { path: 'mcns.db' },
  dns: { listen_addr: '127.0.0.1:5353', upstreams: [] as string[] },
  log: { level: 'info' },
} as const;

/** How to load a configuration. */
export interface LoadOptions {
  /** The mcns.toml path (optional with `dev`). */
  path?: string;
  /** Dev mode: built-in loopback defaults, data under `devDir`, no MCIAS, loopback addresses only. */
  dev?: boolean;
  /** Where dev data lives (default ./.mcns-dev); relative dev paths resolve against it. */
  devDir?: string;
  /** The environment to read overrides from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

function fail(field: string, message: string): never {
  throw new McnsError('invalid', message, field);
}

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Turn one env string into the type its key has; `where` names the variable in errors. */
function typedEnv(kind: Kind, raw: string, where: string): unknown {
  const list = (): string[] => raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  switch (kind) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) fail(where, `must be a number, got "${raw}"`);
      return n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      return fail(where, `must be true or false, got "${raw}"`);
    }
    case 'list':
      return list();
    case 'string|list':
      return raw.includes(',') ? list() : raw.trim();
  }
}

/** Apply MCNS_<SECTION>_<KEY> variables; unknown keys of a known section are errors (typos). */
function applyEnv(doc: Table, env: NodeJS.ProcessEnv, sources: Map<string, string>): void {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('MCNS_') || raw === undefined) continue;
    const rest = name.slice(5).toLowerCase();
    const section = Object.keys(ENV_KEYS).find((s) => rest.startsWith(`${s}_`));
    // Other MCNS_ variables (MCNS_TOKEN for the CLI, …) are not configuration.
    if (!section) continue;
    const key = rest.slice(section.length + 1);
    const kind = ENV_KEYS[section][key];
    if (!kind) fail(name, `unknown configuration key ${section}.${key} (from environment variable ${name})`);
    const sec = isTable(doc[section]) ? (doc[section] as Table) : (doc[section] = {});
    sec[key] = typedEnv(kind, raw, `${section}.${key}`);
    sources.set(`${section}.${key}`, `environment variable ${name}`);
  }
}

/** $PORT_REST / $PORT_GRPC: the control plane picks the ports; the host part of the address stays. */
function applyPort(doc: Table, env: NodeJS.ProcessEnv, variable: string, key: 'listen_addr' | 'grpc_addr', fallback: string, sources: Map<string, string>): void {
  const raw = env[variable];
  if (raw === undefined || raw === '') return;
  if (!/^\d{1,5}$/.test(raw.trim()) || Number(raw) > 65535) fail(variable, `must be a port number 0..65535, got "${raw}"`);
  const server = isTable(doc.server) ? (doc.server as Table) : (doc.server = {});
  const current = typeof server[key] === 'string' ? (server[key] as string) : fallback;
  const hp = splitHostPort(current);
  server[key] = joinHostPort(hp ? hp.host : '', Number(raw));
  sources.set(`server.${key}`, `environment variable ${variable}`);
}

function deepMerge(base: Table, over: Table): Table {
  const out: Table = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isTable(v) && isTable(out[k]) ? deepMerge(out[k] as Table, v) : v;
  return out;
}

/** Read and parse the TOML file; a syntax error names the file and line. */
function readToml(path: string): Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail('--config', `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return parseToml(text) as Table;
  } catch (err) {
    const e = err as TomlError;
    const where = e instanceof TomlError ? `line ${e.line}, column ${e.column}` : '';
    fail('--config', `${path}: not valid TOML${where ? ` (${where})` : ''}: ${e.message.split('\n')[0]}`);
  }
}

/** Describe a zod issue as "<file>: <key> <problem>", naming every unknown key with its full path. */
function describeIssue(issue: z.core.$ZodIssue, sources: Map<string, string>, file: string): string {
  const path = issue.path.map(String).join('.');
  const from = (key: string): string => sources.get(key) ?? file;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${from(path ? `${path}.${k}` : k)}: unknown key ${path ? `${path}.${k}` : k}`).join('; ');
  }
  let message = issue.message;
  if (issue.code === 'invalid_type' && message.includes('received undefined')) message = 'is required';
  else if (issue.code === 'invalid_type') message = `must be ${issue.expected}`;
  return `${from(path)}: ${path || '(top level)'} ${message}`;
}

function resolvePath(p: string, base: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/**
 * Load, merge and validate the configuration. Throws McnsError('invalid') naming the key and its
 * source for a missing required key, an unknown key or a bad value.
 */
export function loadConfig(opts: LoadOptions): McnsConfig {
  const env = opts.env ?? process.env;
  const dev = opts.dev ?? false;
  if (!dev && !opts.path) throw new McnsError('invalid', 'a config file is required (--config PATH), or use --dev', '--config');
  const sources = new Map<string, string>();
  const file = opts.path ? resolve(opts.path) : 'built-in dev defaults';
  let doc: Table = dev ? (JSON.parse(JSON.stringify(DEV_DEFAULTS)) as Table) : {};
  if (opts.path) doc = deepMerge(doc, readToml(file));
  applyEnv(doc, env, sources);
  applyPort(doc, env, 'PORT_REST', 'listen_addr', ':8443', sources);
  applyPort(doc, env, 'PORT_GRPC', 'grpc_addr', ':9443', sources);

  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    throw new McnsError('invalid', parsed.error.issues.map((i) => describeIssue(i, sources, file)).join('; '));
  }
  const c = parsed.data;
  const from = (key: string): string => sources.get(key) ?? file;
  // Relative paths in a file are relative to the file (as BIND's are to its directory); dev's to .mcns-dev.
  const base = dev ? resolve(opts.devDir ?? '.mcns-dev') : opts.path ? dirname(file) : process.cwd();

  if (!dev) {
    const required: Array<[string, unknown]> = [
      ['server.tls_cert', c.server.tls_cert],
      ['server.tls_key', c.server.tls_key],
      ['database.path', c.database.path],
      ['mcias.server_url', c.mcias.server_url],
    ];
    const missing = required.filter(([, v]) => v === undefined).map(([k]) => k);
    if (missing.length > 0) {
      throw new McnsError('invalid', `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required (missing from ${file})`, missing[0]);
    }
  }
  const listen = Array.isArray(c.dns.listen_addr) ? c.dns.listen_addr : [c.dns.listen_addr];
  if (dev) {
    const checks: Array<[string, string]> = [
      ['server.listen_addr', c.server.listen_addr],
      ['server.grpc_addr', c.server.grpc_addr],
      ...listen.map((a): [string, string] => ['dns.listen_addr', a]),
      ...(c.metrics.listen_addr ? [['metrics.listen_addr', c.metrics.listen_addr] as [string, string]] : []),
    ];
    for (const [key, addr] of checks) {
      if (!isLoopbackAddr(addr)) fail(key, `--dev binds to loopback only, refusing "${addr}" (from ${from(key)})`);
    }
  }

  const dbPath = resolvePath(c.database.path ?? 'mcns.db', base);
  const keys: Record<string, TsigKey> = {};
  for (const [name, k] of Object.entries(c.tsig.keys)) {
    let secret = k.secret;
    if (secret === undefined) {
      const p = resolvePath(k.secret_file!, base);
      try {
        secret = readFileSync(p, 'utf8').trim();
      } catch (err) {
        fail(`tsig.keys.${name}.secret_file`, `cannot read ${p} (from ${from(`tsig.keys.${name}.secret_file`)}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      if (!base64.safeParse(secret).success) fail(`tsig.keys.${name}.secret_file`, `${p} must hold a base64 secret`);
    }
    keys[name.toLowerCase().replace(/\.?$/, '.')] = { name: name.toLowerCase().replace(/\.?$/, '.'), algorithm: k.algorithm, secret };
  }
  for (const k of c.transfer.allow_keys) {
    const n = k.toLowerCase().replace(/\.?$/, '.');
    if (!keys[n]) fail('transfer.allow_keys', `names key "${k}", which is not defined under [tsig.keys] (in ${from('transfer.allow_keys')})`);
  }
  let notifyKey: string | undefined;
  if (c.transfer.notify_key !== undefined) {
    notifyKey = c.transfer.notify_key.toLowerCase().replace(/\.?$/, '.');
    if (!keys[notifyKey]) fail('transfer.notify_key', `names key "${c.transfer.notify_key}", which is not defined under [tsig.keys] (in ${from('transfer.notify_key')})`);
  }
  for (const [zone, targets] of Object.entries(c.transfer.zone_notify)) {
    if (!/^[a-z0-9_*.-]+\.?$/i.test(zone)) fail(`transfer.zone_notify.${zone}`, `"${zone}" is not a zone name (in ${file})`);
    if (targets.length === 0) fail(`transfer.zone_notify.${zone}`, `lists no target; leave the zone out to notify every [transfer] notify target (in ${file})`);
  }
  const updateKeys = new Set<string>();
  for (const k of c.update.allow_keys) {
    const n = k.toLowerCase().replace(/\.?$/, '.');
    if (!keys[n]) fail('update.allow_keys', `names key "${k}", which is not defined under [tsig.keys] (in ${from('update.allow_keys')})`);
    updateKeys.add(n);
  }
  for (const k of Object.keys(c.update.keys)) {
    if (!updateKeys.has(k.toLowerCase().replace(/\.?$/, '.'))) fail(`update.keys.${k}`, `limits key "${k}", which is not in update.allow_keys (in ${file})`);
    try {
      // Name patterns and types are checked here too, so a bad limit stops `mcns server` before it binds.
      KeyPolicy.from(c.update.keys[k], `update.keys.${k}`);
    } catch (err) {
      if (err instanceof McnsError) fail(err.field ?? `update.keys.${k}`, `${err.message} (in ${file})`);
      throw err;
    }
  }

  return {
    source: file,
    dev,
    server: {
      listen_addr: c.server.listen_addr,
      grpc_addr: c.server.grpc_addr,
      tls_cert: resolvePath(c.server.tls_cert ?? 'cert.pem', base),
      tls_key: resolvePath(c.server.tls_key ?? 'key.pem', base),
      shutdown_timeout: c.server.shutdown_timeout,
      max_body: c.server.max_body,
      auth_failure_burst: c.server.auth_failure_burst,
      auth_failures_per_minute: c.server.auth_failures_per_minute,
    },
    database: {
      path: dbPath,
      backup_dir: c.database.backup_dir ? resolvePath(c.database.backup_dir, base) : resolve(dirname(dbPath), 'backups'),
      snapshot_retention: c.database.snapshot_retention,
      checkpoint_every: c.database.checkpoint_every,
      ...(c.database.chain_key_file ? { chain_key_file: resolvePath(c.database.chain_key_file, base) } : {}),
    },
    dns: {
      listen_addr: listen,
      upstreams: c.dns.upstreams,
      query_log: c.dns.query_log,
      query_log_sample: c.dns.query_log_sample,
      tcp_max_clients: c.dns.tcp_max_clients,
      tcp_max_per_client: c.dns.tcp_max_per_client,
      tcp_idle_timeout: c.dns.tcp_idle_timeout,
      tcp_message_timeout: c.dns.tcp_message_timeout,
      warm_up: c.dns.warm_up,
      rrl: { ...c.dns.rrl },
    },
    mcias: {
      server_url: c.mcias.server_url ?? '',
      ca_cert: c.mcias.ca_cert ? resolvePath(c.mcias.ca_cert, base) : '',
      service_name: c.mcias.service_name,
      tags: c.mcias.tags,
      timeout: c.mcias.timeout,
      negative_cache: c.mcias.negative_cache,
    },
    metrics: { listen_addr: c.metrics.listen_addr ?? '', tls: c.metrics.tls },
    log: { level: c.log.level },
    transfer: {
      allow_from: c.transfer.allow_from,
      allow_keys: c.transfer.allow_keys,
      notify: c.transfer.notify,
      ...(notifyKey ? { notify_key: notifyKey } : {}),
      zone_notify: Object.fromEntries(Object.entries(c.transfer.zone_notify).map(([z, t]) => [z.toLowerCase().replace(/\.?$/, '.'), t])),
    },
    catalog: { zone: c.catalog.zone ? c.catalog.zone.toLowerCase().replace(/\.?$/, '.') : '' },
    dnssec: { ...c.dnssec },
    update: { allow_keys: c.update.allow_keys, keys: c.update.keys },
    tsig: { keys },
  };
}
