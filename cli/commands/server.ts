import type { Command } from 'commander';
import { configFrom } from '../context';

export const DEFAULT_PORT = 8080;

interface ServerOptions {
  port: string;
  listen: string;
  worker?: boolean;
  databaseUrl?: string;
  runMetricsInterval: string;
}

export function serverCommand(program: Command): void {
  const server = program
    .command('server')
    .description('the control plane: REST API, definition store, auth and audit (PGlite in the data directory, or DATABASE_URL)')
    .option('--port <port>', 'HTTP port', String(DEFAULT_PORT))
    .option('--listen <address>', 'address to listen on', '127.0.0.1')
    .option('--worker', 'also run the control worker (pipeline runs) in this process')
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL); default PGlite in the data directory')
    .option('--run-metrics-interval <seconds>', 'how often run metrics are read from Temporal visibility', '10')
    .action(async (opts: ServerOptions, command: Command) => {
      // Loaded here, not at start-up: other commands should not pay for express and the store.
      const { startServer } = await import('../../api/server');
      const { describeLocation } = await import('../../api/store/database');
      const config = configFrom(command);
      const databaseUrl = opts.databaseUrl ?? config.databaseUrl;
      const running = await startServer({ config, port: Number(opts.port), host: opts.listen, databaseUrl, controlWorker: Boolean(opts.worker), metricsIntervalMs: Number(opts.runMetricsInterval) * 1000 });
      console.error(`ops server listening on ${running.url} (store: ${describeLocation({ databaseUrl, dataDir: config.dataDir })}; Temporal ${config.temporalAddress}; NATS ${config.natsUrl})`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await running.close();
    });

  server
    .command('init')
    .description('prepare the store and print the first admin token (run it once, before the server starts)')
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL); default PGlite in the data directory')
    .option('--name <name>', 'name of the admin token', 'admin')
    .option('--force', 'create another admin token even if one exists (e.g. the first was lost)')
    .action(async (opts: { databaseUrl?: string; name: string; force?: boolean }, command: Command) => {
      const { openStore } = await import('../../api/store');
      const { describeLocation } = await import('../../api/store/database');
      const config = configFrom(command);
      const location = { databaseUrl: opts.databaseUrl ?? config.databaseUrl, dataDir: config.dataDir };
      const store = await openStore(location);
      try {
        if (!opts.force && (await store.tokens.hasActiveAdmin())) {
          console.error(`the store (${describeLocation(location)}) already has an admin token; use "ops token create", or --force for another`);
          return;
        }
        const issued = await store.tokens.create(opts.name, 'admin', 'ops server init');
        console.error(`store ready (${describeLocation(location)}); admin token "${issued.name}", shown only now:`);
        console.log(issued.token);
      } finally {
        await store.close();
      }
    });
}
