/**
 * The environment the shipped systemd unit gives the server: its `Environment=` lines (NODE_ENV,
 * and glibc's malloc settings, RUNBOOK "Memory of a big zone"), so that a benchmark runs the server
 * as deployed. The benchmarks that start servers take `--bare-env` for none of it (the server with
 * the benchmark's own environment only, as `node bin/mcns` by hand).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The unit's `Environment=NAME=value` lines, by name (`root`: the checkout). */
export function unitEnvironment(root: string): Record<string, string> {
  const unit = readFileSync(join(root, 'deploy', 'systemd', 'mcns.service'), 'utf8');
  return Object.fromEntries([...unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
}

/** How a benchmark's report names the environment it gave the server. */
export function describeEnvironment(env: Record<string, string>): string {
  const vars = Object.entries(env);
  return vars.length > 0 ? `the systemd unit's environment (${vars.map(([k, v]) => `${k}=${v}`).join(' ')})` : 'no environment of its own (--bare-env)';
}
