/** `mcns server --config PATH | --dev`: run DNS + REST + gRPC until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { UsageError } from '../output.ts';

/** Register `mcns server`. */
export function registerServer(program: Command): void {
  program
    .command('server')
    .description('run the DNS, REST and gRPC servers (--dev: loopback only, self-contained under ./.mcns-dev/)')
    .option('--config <path>', 'mcns.toml')
    .option('--dev', 'development mode: no files needed, seeds the example zones, prints an admin token')
    .option('--dev-dir <path>', 'where --dev keeps its data', '.mcns-dev')
    .action(async (opts: { config?: string; dev?: boolean; devDir: string }) => {
      if (!opts.config && !opts.dev) throw new UsageError('server needs --config PATH or --dev');
      const config = loadConfig({ path: opts.config, dev: opts.dev, devDir: opts.devDir });
      // Loaded here, not at the top: the offline commands should not pay for fastify and grpc-js.
      const { runServer } = await import('../../server.ts');
      const code = await runServer(config, {
        dev: opts.dev,
        onDevToken: (m) => {
          process.stdout.write(`admin token (shown once, kept in ${m.tokenPath}): ${m.token}\n`);
        },
      });
      process.exit(code);
    });
}
