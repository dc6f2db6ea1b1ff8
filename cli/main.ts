import { Command, CommanderError } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ValidationError } from '../model/errors';
import { addConnectionOptions } from './context';
import { CliError, ExitCode } from './exit-codes';
import { runCommand } from './commands/run';
import { adhocCommands } from './commands/adhoc';
import { logsCommand } from './commands/logs';
import { workerCommand } from './commands/worker';
import { validateCommand } from './commands/validate';
import { upCommand } from './commands/up';
import { serverCommand } from './commands/server';
import { applyCommands } from './commands/apply';
import { getCommand } from './commands/get';
import { tokenCommands } from './commands/token';
import { runControlCommands } from './commands/control';
import { clusterCommands } from './commands/cluster';
import { approveCommand } from './commands/approve';
import { codecCommands } from './commands/codec';
import { scheduleCommands } from './commands/schedule';
import { eventsCommand } from './commands/events';
import { hookCommands } from './commands/hook';

export function buildProgram(): Command {
  const program = addConnectionOptions(new Command('ops'))
    .description('Ops: durable operations on hosts and clusters, on Temporal')
    .showHelpAfterError()
    .exitOverride();
  for (const add of [runCommand, runControlCommands, approveCommand, adhocCommands, logsCommand, eventsCommand, applyCommands, getCommand, scheduleCommands, hookCommands, tokenCommands, codecCommands, validateCommand, serverCommand, workerCommand, clusterCommands, upCommand]) add(program);
  const exitOverride = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  program.commands.forEach(exitOverride);
  return program;
}

/** Maps every failure to a message and an exit code that means something. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (e instanceof ValidationError) {
      console.error(`invalid input:\n${e.message.replace(/^/gm, '  ')}`);
      return ExitCode.usage;
    }
    if (e instanceof CliError) {
      console.error(`error: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof WorkflowNotFoundError) {
      console.error(`error: no run ${e.workflowId ?? ''} in this namespace`);
      return ExitCode.notFound;
    }
    console.error(`error: ${(e as Error).message ?? e}`);
    return ExitCode.unavailable;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => process.stdout.write('', () => process.exit(code)));
}
