import type { Command } from 'commander';
import { localRequester, temporalWebLink } from '../../workers/config';
import { configFrom, temporalClient } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import { ApiClient, encode, serverSettings } from '../api-client';

/** `ops cancel RUN` and `ops rerun RUN`: through the server when one is configured, else on Temporal. */
export function runControlCommands(program: Command): void {
  program
    .command('cancel <run>')
    .description('cancel a run; its finally stages still run')
    .action(async (run: string, _opts: unknown, command: Command) => {
      const server = serverSettings(command);
      if (server) await new ApiClient(server).request('POST', `/api/v1/runs/${encode(run)}/cancel`);
      else {
        const { cancelRun, RunEndedError } = await import('../../workers/runs');
        await cancelRun(await temporalClient(configFrom(command)), run).catch((e: unknown) => {
          // As the server's 409: a request that cannot be done.
          throw e instanceof RunEndedError ? new CliError(e.message, ExitCode.usage) : e;
        });
      }
      console.log(`run ${run} cancelling`);
    });
  program
    .command('rerun <run>')
    .description('start a new run with the same definitions and variables as RUN')
    .action(async (run: string, _opts: unknown, command: Command) => {
      const server = serverSettings(command);
      if (server) {
        const { body } = await new ApiClient(server).request<{ id: string; temporalWeb: string }>('POST', `/api/v1/runs/${encode(run)}/rerun`);
        console.log(`run ${body.id} started (rerun of ${run})\n  Temporal Web: ${body.temporalWeb}`);
        return;
      }
      const config = configFrom(command);
      const { rerun } = await import('../../workers/runs');
      const started = await rerun(await temporalClient(config), run, { trigger: 'cli', requester: localRequester() });
      console.log(`run ${started.runId} started (rerun of ${run})\n  Temporal Web: ${temporalWebLink(config, started.runId)}`);
    });
}
