import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/common';
import { ValidationError } from '../model/errors';
import { addConnectionOptions } from './context';
import { CliError, ExitCode } from './exit-codes';

type AddCommands = (program: Command) => void;

/**
 * Every command module and the verbs it adds. Only the module of the verb being run is loaded
 * (`ops run` does not load the worker, the server or the Kubernetes client); help loads them all.
 */
export const COMMANDS: ReadonlyArray<{ verbs: string[]; load: () => Promise<AddCommands> }> = [
  { verbs: ['run', 'watch'], load: async () => (await import('./commands/run')).runCommand },
  { verbs: ['cancel', 'rerun'], load: async () => (await import('./commands/control')).runControlCommands },
  { verbs: ['approve'], load: async () => (await import('./commands/approve')).approveCommand },
  { verbs: ['shell', 'file'], load: async () => (await import('./commands/adhoc')).adhocCommands },
  { verbs: ['logs'], load: async () => (await import('./commands/logs')).logsCommand },
  { verbs: ['events'], load: async () => (await import('./commands/events')).eventsCommand },
  { verbs: ['apply', 'delete'], load: async () => (await import('./commands/apply')).applyCommands },
  { verbs: ['get'], load: async () => (await import('./commands/get')).getCommand },
  { verbs: ['schedule'], load: async () => (await import('./commands/schedule')).scheduleCommands },
  { verbs: ['hook'], load: async () => (await import('./commands/hook')).hookCommands },
  { verbs: ['token'], load: async () => (await import('./commands/token')).tokenCommands },
  { verbs: ['codec'], load: async () => (await import('./commands/codec')).codecCommands },
  { verbs: ['validate'], load: async () => (await import('./commands/validate')).validateCommand },
  { verbs: ['server'], load: async () => (await import('./commands/server')).serverCommand },
  { verbs: ['worker'], load: async () => (await import('./commands/worker')).workerCommand },
  { verbs: ['cluster'], load: async () => (await import('./commands/cluster')).clusterCommands },
  { verbs: ['up'], load: async () => (await import('./commands/up')).upCommand },
];

/** Commands that stay up: V8's optimising compiler pays for itself there. */
const LONG_RUNNING = ['worker', 'server', 'up'];

/** The program with every command, or only those of `verb` when it names one. */
export async function buildProgram(verb?: string): Promise<Command> {
  const program = addConnectionOptions(new Command('ops'))
    .description('Ops: durable operations on hosts and clusters, on Temporal')
    .showHelpAfterError()
    .exitOverride();
  const only = COMMANDS.find((c) => verb !== undefined && c.verbs.includes(verb));
  for (const c of only ? [only] : COMMANDS) (await c.load())(program);
  const exitOverride = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  program.commands.forEach(exitOverride);
  return program;
}

/**
 * The verb of a command line: its first argument after the global options (`--address X`,
 * `--nats=off` …), so `ops --address X run …` loads only `run` too. Undefined when another flag
 * comes first (`--help`): then every command is loaded.
 */
export function verbOf(argv: string[]): string | undefined {
  const globals = addConnectionOptions(new Command()).options;
  for (let i = 2; i < argv.length; i += 1) {
    const arg = argv[i];
    if (!arg.startsWith('-')) return arg;
    const [flag, inlineValue] = arg.split(/=(.*)/s);
    const option = globals.find((o) => o.long === flag || o.short === flag);
    if (!option) return undefined;
    if (inlineValue === undefined && option.required) i += 1;
  }
  return undefined;
}

/** Maps every failure to a message and an exit code that means something. */
export async function main(argv: string[]): Promise<number> {
  try {
    const verb = verbOf(argv);
    // A command that ends within seconds spends more CPU on TurboFan, compiling on a second thread,
    // than the optimised code gives back: without it `ops run` uses a sixth less CPU.
    if (verb && COMMANDS.some((c) => c.verbs.includes(verb)) && !LONG_RUNNING.includes(verb)) setFlagsFromString('--no-opt');
    await (await buildProgram(verb)).parseAsync(argv);
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

/**
 * The `ops` program. Node ignores SIGPIPE, so a closed reader (`ops logs RUN -f | head`) would be an
 * EPIPE error and a stack trace; it ends the command quietly instead, as SIGPIPE ends other tools.
 */
export function runCommandLine(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(ExitCode.outputClosed);
    });
  }
  // Exits once stdout is flushed, and after a failed write has been reported above.
  main(process.argv).then((code) => process.stdout.write('', () => setImmediate(() => process.exit(code))));
}

if (require.main === module) runCommandLine();
