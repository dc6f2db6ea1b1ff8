import type { Command } from 'commander';
import { readLogs } from '../../api/logs';
import { configFrom, natsConnection, temporalClient } from '../context';

export function logsCommand(program: Command): void {
  program
    .command('logs <run>')
    .description("print a run's output (all hosts, or one); -f follows it until the run ends")
    .option('--host <name>', 'only this host')
    .option('-f, --follow', 'keep printing new output until the run ends')
    .option('--timestamps', 'prefix each chunk with the time it was published')
    .action(async (run: string, opts: { host?: string; follow?: boolean; timestamps?: boolean }, command: Command) => {
      const config = configFrom(command);
      const nc = await natsConnection(config);
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      if (opts.follow) {
        // Stop following once the run has ended and its output has been read.
        const client = await temporalClient(config);
        client.workflow
          .getHandle(run)
          .result()
          .catch(() => undefined)
          .finally(() => setTimeout(() => stop.abort(), 1000));
      }
      try {
        for await (const chunk of readLogs(nc, run, { host: opts.host, follow: Boolean(opts.follow), signal: stop.signal })) {
          if (chunk.stream === 'status') continue;
          const prefix = `${opts.timestamps ? `${chunk.time} ` : ''}${opts.host ? '' : `${chunk.host} `}`;
          const out = chunk.stream === 'stderr' ? process.stderr : process.stdout;
          for (const line of chunk.text.replace(/\n$/, '').split('\n')) out.write(prefix ? `${prefix}| ${line}\n` : `${line}\n`);
        }
      } finally {
        await nc.close();
      }
    });
}
