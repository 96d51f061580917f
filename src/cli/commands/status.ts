/**
 * `mcns status --addr URL [--ca-cert PATH]`: GET /v1/health; prints "ok" (exit 0) or why not (exit 1).
 * After "ok", a second line gives the chain head the server is serving: `chain head SEQ:HASH`, and a
 * third its start-up phases: `start-up: checkpoint load 1.2 s (seq N), tail replay 0.0 s (K events),
 * index build 2.1 s` (so an operator sees why a start was slow), with `index from image 0.2 s` before the
 * index build when the serving index was restored from the image saved at the last exit.
 */
import type { Command } from 'commander';
import { McnsError } from '../../errors.ts';
import { formatChainHead } from '../../events/chain-head.ts';
import { apiRequest, clientOptions } from './client.ts';

/** Register `mcns status`. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('check a running server: prints "ok" (exit 0) or the reason (exit 1)')
    .option('--addr <url>', 'REST API URL (default $MCNS_ADDR)', process.env.MCNS_ADDR ?? 'https://localhost:8443')
    .option('--ca-cert <path>', 'CA certificate that signed the server certificate')
    .option('--timeout <seconds>', 'give up after this many seconds', '10')
    .action(async (opts: { addr: string; caCert?: string; timeout: string }) => {
      const timeoutMs = Number(opts.timeout) * 1000;
      const res = await apiRequest({ ...clientOptions(opts, false), timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 10_000 }, 'GET', '/v1/health');
      let status: unknown;
      let head: unknown;
      let startup: unknown;
      try {
        const body = JSON.parse(res.body) as { status?: unknown; chain_head?: unknown; startup?: unknown };
        status = body.status;
        head = body.chain_head;
        startup = body.startup;
      } catch {
        status = undefined;
      }
      if (res.status !== 200) throw new McnsError('unavailable', `${opts.addr}/v1/health answered HTTP ${res.status}${typeof status === 'string' ? ` (${status})` : ''}`);
      if (status !== 'ok') throw new McnsError('unavailable', `${opts.addr}/v1/health answered 200 but status is ${JSON.stringify(status ?? res.body.slice(0, 80))}`);
      process.stdout.write('ok\n');
      // The chain head, on its own line after "ok": record it off the host, check it later with `mcns verify --head`.
      const h = head as { seq?: unknown; hash?: unknown } | undefined;
      if (h && typeof h.seq === 'number' && typeof h.hash === 'string') process.stdout.write(`chain head ${formatChainHead({ seq: h.seq, hash: h.hash })}\n`);
      const line = startupLine(startup);
      if (line) process.stdout.write(`${line}\n`);
    });
}

/** The health body's start-up phases as one line, or undefined when the server does not report them. */
export function startupLine(startup: unknown): string | undefined {
  const s = startup as { checkpoint_seq?: unknown; replayed?: unknown; checkpoint_load_ms?: unknown; tail_replay_ms?: unknown; index_build_ms?: unknown; index_image_ms?: unknown; dns_warm_up_ms?: unknown; zones_read_ms?: unknown; tail_deferred?: unknown; tail_pending?: unknown } | undefined;
  if (!s || typeof s.checkpoint_load_ms !== 'number' || typeof s.tail_replay_ms !== 'number') return undefined;
  const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const replayed = typeof s.replayed === 'number' ? s.replayed : 0;
  const from = typeof s.checkpoint_seq === 'number' && s.checkpoint_seq > 0 ? `seq ${s.checkpoint_seq}` : replayed > 0 ? 'none: full replay' : 'none';
  const index = typeof s.index_build_ms === 'number' ? sec(s.index_build_ms) : 'in progress';
  // Restored from the serving-index image: that phase, before the (then short) wait for the index.
  const image = typeof s.index_image_ms === 'number' ? `, index from image ${sec(s.index_image_ms)}` : '';
  // Questions of its own before the listeners bound (after the image, before the wait for the index).
  const warm = typeof s.dns_warm_up_ms === 'number' ? `, DNS warm-up ${sec(s.dns_warm_up_ms)}` : '';
  // Big zones below the apex, read after the checkpoint load (in the background once DNS is up).
  const zones = typeof s.zones_read_ms === 'number' ? `, big zones read ${sec(s.zones_read_ms)}` : '';
  // A tail applied after DNS bound (the index answered its end state from the image meanwhile).
  const tail = s.tail_pending === true ? `tail replay pending (${replayed} events, after DNS bound)` : `tail replay ${sec(s.tail_replay_ms)} (${replayed} events${s.tail_deferred === true ? ', after DNS bound' : ''})`;
  return `start-up: checkpoint load ${sec(s.checkpoint_load_ms)} (${from}), ${tail}${image}${warm}, index build ${index}${zones}`;
}
