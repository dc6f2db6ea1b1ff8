import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { configFrom, natsConnection, temporalClient } from '../context';
import { CliError, ExitCode, stopOnInterrupt } from '../exit-codes';
import { ApiClient, serverSettings } from '../api-client';
import { apiLogs } from '../server-runs';
import { LogPrinter } from '../log-printer';

interface LogsOptions {
  host?: string;
  follow?: boolean;
  timestamps?: boolean;
}

export function logsCommand(program: Command): void {
  program
    .command('logs <run>')
    .description("print a run's output (all hosts, or one); -f follows it until the run ends. Through the Ops server when one is configured, else from NATS")
    .option('--host <name>', 'only this host')
    .option('-f, --follow', 'keep printing new output until the run ends')
    .option('--timestamps', 'prefix each chunk with the time it was published')
    .action(async (run: string, opts: LogsOptions, command: Command) => {
      const stop = stopOnInterrupt();
      const printer = new LogPrinter((chunk) => `${opts.timestamps ? `${chunk.time} ` : ''}${opts.host ? '' : `${chunk.host} `}`);
      const server = serverSettings(command);
      if (server) {
        for await (const chunk of apiLogs(new ApiClient(server), run, { host: opts.host, follow: Boolean(opts.follow), signal: stop.signal })) printer.print(chunk);
        printer.end();
        return;
      }
      const config = configFrom(command);
      const { readLogs } = await import('../../api/logs');
      const nc = await natsConnection(config);
      let chunks = 0;
      try {
        if (opts.follow) {
          // Stop following once the run has ended and its output has been read.
          const client = await temporalClient(config);
          await mustExist(client, run, opts.host);
          const { whenRunEnds } = await import('../../workers/runs');
          void whenRunEnds(client, run).finally(() => setTimeout(() => stop.abort(), 1000));
        }
        for await (const chunk of readLogs(nc, run, { host: opts.host, follow: Boolean(opts.follow), signal: stop.signal, log: (m) => console.error(m) })) {
          chunks += 1;
          printer.print(chunk);
        }
      } finally {
        printer.end();
        await nc.close();
      }
      // No output at all may be a mistyped run: say so, as the server does (it needs Temporal, so
      // output is read first and stays readable while Temporal is down).
      if (chunks === 0 && !opts.follow) await mustExist(await temporalClient(config).catch(() => undefined), run, opts.host);
    });
}

/**
 * A run Temporal does not know, or a host the run does not target, is an error (exit 3), not
 * empty output; what cannot be checked (Temporal down, hosts found as the run starts: nodes) is
 * given the benefit of the doubt.
 */
async function mustExist(client: Client | undefined, run: string, host?: string): Promise<void> {
  if (!client) return;
  const { WorkflowNotFoundError } = await import('@temporalio/common');
  const { notAHostOfRun } = await import('../../workers/runs');
  const notFoundOnly = (e: unknown) => {
    if (e instanceof WorkflowNotFoundError) throw e;
  };
  if (!host) return void (await client.workflow.getHandle(run).describe().catch(notFoundOnly));
  const problem = await notAHostOfRun(client, run, host).catch(notFoundOnly);
  if (problem) throw new CliError(problem, ExitCode.notFound);
}
