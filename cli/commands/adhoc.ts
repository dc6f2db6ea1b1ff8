import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { API_VERSION } from '../../model/naming';
import type { TargetsSpec } from '../../model/task';
import { ValidationError } from '../../model/errors';
import type { OpsConfig } from '../../workers/config';
import { localRequester } from '../../workers/config';
import { collect, configFrom, loadCatalog, natsConnection, temporalClient, wholeNumber } from '../context';
import { ExitCode } from '../exit-codes';
import { LogPrinter } from '../log-printer';
import { outputFormat, printData } from '../output';

/** `--hosts all`, `--hosts web-1,web-2`, or a label selector such as `--hosts role=web,env!=dev`. */
export function targetsFromFlag(value: string): TargetsSpec {
  if (value === 'all') return { all: true };
  if (/[=!()]|\s(not)?in\s/.test(value)) return { selector: value };
  return { hosts: value.split(',').map((h) => h.trim()).filter(Boolean) };
}

interface AdhocOptions {
  hosts: string;
  filename: string[];
  sudo?: boolean;
  timeout: number;
  concurrency: number;
  output?: string;
}

function adhocOptions(command: Command): Command {
  return command
    .requiredOption('--hosts <selector>', 'all, host names (a,b) or a label selector (role=web)')
    .requiredOption('-f, --filename <path>', 'Host definitions (file or directory, repeatable)', collect)
    .option('--sudo', 'run as root through sudo -n')
    .option('--timeout <seconds>', 'per host', wholeNumber(1), 600)
    .option('--concurrency <n>', 'hosts at once', wholeNumber(1), 50)
    .option('-o, --output <format>', "json or yaml: print the hosts' results for scripts (their output goes to stderr)");
}

export function adhocCommands(program: Command): void {
  adhocOptions(program.command('shell').description('run a command on hosts now and print their output').argument('<command...>', 'the command (after --)')).action(
    async (words: string[], opts: AdhocOptions, command: Command) => {
      await runAdhoc(command, opts, { name: 'shell', shell: words.join(' ') });
    },
  );
  const file = program.command('file').description('copy a file to or from hosts');
  adhocOptions(file.command('push').description('push a local file to hosts').argument('<source>').argument('<destination>'))
    .option('--mode <mode>', 'file mode on the host', '0644')
    .option('--owner <user[:group]>', 'owner on the host (needs --sudo unless it is you)')
    .action(async (source: string, destination: string, opts: AdhocOptions & { mode: string; owner?: string }, command: Command) => {
      // The worker reads the file: a relative path means the one here, not in the worker's directory.
      await runAdhoc(command, opts, { name: 'push', file: { direction: 'push', source: resolve(source), destination, mode: opts.mode, owner: opts.owner } });
    });
  adhocOptions(file.command('pull').description('pull a file from hosts into DIR/<host>/').argument('<source>').argument('<directory>')).action(
    async (source: string, directory: string, opts: AdhocOptions, command: Command) => {
      await runAdhoc(command, opts, { name: 'pull', file: { direction: 'pull', source, destination: resolve(directory) } });
    },
  );
}

async function runAdhoc(command: Command, opts: AdhocOptions, step: Record<string, unknown>): Promise<void> {
  const name = step.name === 'shell' ? 'shell' : `file-${String(step.name)}`;
  const format = outputFormat(opts.output);
  const verb = commandPath(command);
  const config = configFrom(command);
  // As `ops run` does: the definitions are parsed on their thread while the Temporal client loads
  // and connects; bad input is reported before an unreachable Temporal, and starts nothing.
  const connecting = temporalClient(config);
  connecting.catch(() => undefined);
  const catalog = await loadCatalog(opts.filename);
  const [{ taskSchema }, { zodIssues }, { planTaskRun }] = await Promise.all([import('../../model/task'), import('../../model/resources'), import('../../model/plan')]);
  const parsed = taskSchema.safeParse({
    apiVersion: API_VERSION,
    kind: 'Task',
    metadata: { name },
    spec: {
      steps: [{ ...step, sudo: Boolean(opts.sudo), timeoutSeconds: opts.timeout }],
      concurrency: opts.concurrency,
      // Ad-hoc work reports every host; one failure does not stop the others.
      maxFailures: '100%',
    },
  });
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, verb).map((i) => ({ ...i, path: asTyped(i.path, step) })));
  catalog.add(parsed.data);
  const input = asFlagIssues(`Task/${name}`, verb, step, () => planTaskRun(catalog, name, { variables: {}, targets: targetsFromFlag(opts.hosts), origin: { trigger: 'cli', requester: localRequester() } }));
  const client = await connecting;
  const { startTaskRun, cancelRun, RunEndedError } = await import('../../workers/runs');
  const { tasksOf } = await import('../watch');
  const { runId } = await startTaskRun(client, input);
  console.error(`run ${runId}: ${name} on ${input.hosts.length} host(s)`);
  // A run that ended meanwhile needs no cancel: the outcome awaited below tells how it ended.
  const cancel = () =>
    cancelRun(client, runId).catch((e: unknown) => {
      if (!(e instanceof RunEndedError)) throw e;
    });
  const interrupt = cancelOnInterrupt(runId, cancel);
  const outcome = await streamUntilDone(client, config, runId, format === 'text').finally(interrupt.stopListening);
  const hosts = tasksOf(outcome).flatMap((t) => t.hosts);
  for (const h of hosts) {
    if (h.status !== 'succeeded') console.error(`✗ ${h.host}: ${h.status}${h.message ? `: ${h.message}` : ''}`);
  }
  const ok = hosts.filter((h) => h.status === 'succeeded').length;
  console.error(`${ok}/${hosts.length} hosts succeeded`);
  if (format !== 'text') printData(format, { runId, ...outcome });
  if (interrupt.interrupted()) process.exitCode = ExitCode.interrupted;
  else if (ok !== hosts.length) process.exitCode = ExitCode.runFailed;
}

/**
 * Ctrl-C stops ad-hoc work on the hosts, as it stops ssh: the run is cancelled, which kills its
 * commands there, and the command ends once it has, with the hosts' output and status. A second
 * Ctrl-C leaves at once. (`ops run --watch` instead leaves a run going: it is not the run's owner.)
 */
function cancelOnInterrupt(runId: string, cancel: () => Promise<void>): { interrupted(): boolean; stopListening(): void } {
  let count = 0;
  let cancelling: Promise<void> = Promise.resolve();
  const onInterrupt = () => {
    count += 1;
    if (count > 1) {
      // Leaving before the cancel reached Temporal would leave the commands running (`timeout -s INT` signals twice at once).
      void cancelling.finally(() => {
        console.error(`\nleft without waiting; "ops watch ${runId}" follows the cancel`);
        process.exit(ExitCode.interrupted);
      });
      return;
    }
    console.error(`\ncancelling run ${runId}: stopping its commands on the hosts (Ctrl-C again to leave without waiting)`);
    cancelling = cancel().catch((e: Error) => console.error(`could not cancel run ${runId}: ${e.message}`));
  };
  process.on('SIGINT', onInterrupt);
  return { interrupted: () => count > 0, stopListening: () => void process.removeListener('SIGINT', onInterrupt) };
}

/** `ops file push`, as the user typed it. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * The ad-hoc task is the command's own: its problems are the command's, each named by the flag or
 * argument it came from. Problems of other documents (a host's bastion) keep their names.
 */
function asFlagIssues<T>(task: string, verb: string, step: Record<string, unknown>, plan: () => T): T {
  try {
    return plan();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new ValidationError(e.issues.map((i) => (i.document === task ? { ...i, document: verb, path: asTyped(i.path, step) } : i)));
  }
}

const TYPED: Record<string, string> = {
  'spec.steps[0].shell': '<command>',
  'spec.steps[0].file.source': '<source>',
  'spec.steps[0].file.destination': '<destination>',
  'spec.steps[0].file.mode': '--mode',
  'spec.steps[0].file.owner': '--owner',
};

/** The flag or argument of the command line that a field of the ad-hoc task came from. */
function asTyped(path: string, step: Record<string, unknown>): string {
  if (path.startsWith('spec.targets')) return '--hosts';
  if (path === 'spec.steps[0].file.destination' && step.name === 'pull') return '<directory>';
  return TYPED[path] ?? path;
}

/**
 * Prints output as hosts produce it (`host | line`), until the run ends and its output is drained;
 * all on stderr when stdout is for the results (-o).
 */
async function streamUntilDone(client: Client, config: OpsConfig, runId: string, toStdout: boolean) {
  const { runOutcome } = await import('../../workers/runs');
  if (config.natsUrl === 'off') return runOutcome(client, runId);
  const { readLogs } = await import('../../api/logs');
  const nc = await natsConnection(config);
  const following = new AbortController();
  let lastSeq = 0;
  const printer = new LogPrinter((chunk) => `${chunk.host} `, toStdout ? undefined : (_output, text) => void process.stderr.write(text));
  const reader = (async () => {
    for await (const chunk of readLogs(nc, runId, { follow: true, signal: following.signal, log: (m) => console.error(m) })) {
      lastSeq = chunk.seq;
      printer.print(chunk);
    }
  })();
  try {
    const outcome = await runOutcome(client, runId);
    following.abort();
    await reader;
    for await (const chunk of readLogs(nc, runId, { follow: false, after: lastSeq })) printer.print(chunk);
    return outcome;
  } finally {
    printer.end();
    await nc.close();
  }
}
