import type { Command } from 'commander';
import { planPipelineRun, planTaskRun } from '../../model/plan';
import type { PipelineRunInput, TaskRunInput } from '../../model/run';
import { localRequester, temporalWebLink } from '../../workers/config';
import { collect, configFrom, loadCatalog, parseVars, temporalClient } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import { outputFormat, printData, type OutputFormat } from '../output';
import type { RunSource } from '../watch';
import { requireServer, serverSettings, ApiClient } from '../api-client';
import { apiRunSource } from '../server-runs';

interface RunOptions {
  filename?: string[];
  pipeline?: string;
  task?: string;
  cluster?: string;
  var?: string[];
  watch?: boolean;
  output?: string;
  idempotencyKey?: string;
}

interface Started {
  runId: string;
  kind: 'pipeline' | 'task';
  name: string;
  temporalWeb: string;
  source: RunSource;
}

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('start a run: "ops run pipeline|task NAME" on the Ops server, or "ops run -f FILES --pipeline|--task NAME" straight on Temporal')
    .argument('[kind]', 'pipeline or task (server mode)')
    .argument('[name]', 'the definition to run (server mode)')
    .option('-f, --filename <path>', 'definition file or directory (repeatable): run from files, without the server', collect)
    .option('--pipeline <name>', 'with -f: the pipeline to run')
    .option('--task <name>', 'with -f: the task to run')
    .option('--cluster <name>', "task runs on nodes or the cluster API: the cluster (default local)")
    .option('--var <name=value>', 'a variable value; name=@file reads it from a file (repeatable)', collect)
    .option('-w, --watch', 'follow the run: hosts are shown as they finish; exit 1 if it fails')
    .option('-o, --output <format>', 'json or yaml: print the run (with --watch, its result) for scripts')
    .option('--idempotency-key <key>', 'server mode: a retried command with the same key returns the same run')
    .action(async (kind: string | undefined, name: string | undefined, opts: RunOptions, command: Command) => {
      const format = outputFormat(opts.output);
      // Flags that cannot apply are refused rather than ignored: the run would not be the one asked for.
      if (opts.cluster && (opts.pipeline || kind === 'pipeline')) throw new CliError("--cluster goes with a task run; a pipeline's stages name their clusters", ExitCode.usage);
      if (opts.idempotencyKey && opts.filename) throw new CliError('--idempotency-key needs the Ops server ("ops run pipeline|task NAME"); a run from -f files is not found again by a key', ExitCode.usage);
      const started = opts.filename ? await startFromFiles(command, kind, name, opts) : await startOnServer(command, kind, name, opts);
      if (format !== 'text' && !opts.watch) {
        printData(format, { runId: started.runId, kind: started.kind, temporalWeb: started.temporalWeb });
        return;
      }
      await report(started, opts, format);
    });

  program
    .command('watch <run>')
    .description('follow a run until it ends; exit 1 if it fails')
    .option('-o, --output <format>', 'json or yaml: print the final result for scripts')
    .action(async (run: string, opts: { output?: string }, command: Command) => {
      const format = outputFormat(opts.output);
      const server = serverSettings(command);
      const { leaveRunningOnInterrupt, statusOf, temporalRunSource, watchRunFrom } = await import('../watch');
      const source = server ? apiRunSource(new ApiClient(server), run) : temporalRunSource(await temporalClient(configFrom(command)), run);
      leaveRunningOnInterrupt(run);
      const outcome = await watchRunFrom(source, format === 'text' ? (l) => console.log(l) : (l) => console.error(l));
      if (format !== 'text') printData(format, { runId: run, ...outcome });
      if (statusOf(outcome) !== 'succeeded') process.exitCode = ExitCode.runFailed;
    });
}

async function report(started: Started, opts: RunOptions, format: OutputFormat): Promise<void> {
  const say = format === 'text' ? (line: string) => console.log(line) : (line: string) => console.error(line);
  const { leaveRunningOnInterrupt, statusOf, watchRunFrom } = await import('../watch');
  // Before the run is announced: a Ctrl-C as soon as it shows must not kill the CLI silently.
  if (opts.watch) leaveRunningOnInterrupt(started.runId);
  say(`run ${started.runId} started (${started.kind} ${started.name})`);
  say(`  Temporal Web: ${started.temporalWeb}`);
  if (!opts.watch) {
    say(`  follow it:    ops watch ${started.runId}   output: ops logs ${started.runId} -f`);
    return;
  }
  const outcome = await watchRunFrom(started.source, say);
  if (format !== 'text') printData(format, { runId: started.runId, ...outcome });
  if (statusOf(outcome) !== 'succeeded') process.exitCode = ExitCode.runFailed;
}

async function startFromFiles(command: Command, kind: string | undefined, name: string | undefined, opts: RunOptions): Promise<Started> {
  const pipeline = opts.pipeline ?? (kind === 'pipeline' ? name : undefined);
  const task = opts.task ?? (kind === 'task' ? name : undefined);
  if (!pipeline === !task) throw new CliError('give exactly one of --pipeline NAME or --task NAME', ExitCode.usage);
  // The definitions are parsed on a second thread while the Temporal client loads and connects;
  // bad definitions and variables are reported before an unreachable Temporal, and start nothing.
  const request = { variables: parseVars(opts.var), origin: { trigger: 'cli' as const, requester: localRequester() } };
  const config = configFrom(command);
  const connecting = temporalClient(config);
  connecting.catch(() => undefined); // awaited once the input is known to be good
  const catalog = await loadCatalog(opts.filename);
  const plan: { pipeline: PipelineRunInput } | { task: TaskRunInput } = pipeline ? { pipeline: planPipelineRun(catalog, pipeline, request) } : { task: planTaskRun(catalog, task ?? '', { ...request, cluster: opts.cluster }) };
  const client = await connecting;
  const { startPipelineRun, startTaskRun } = await import('../../workers/runs');
  const { temporalRunSource } = await import('../watch');
  const started = 'pipeline' in plan ? await startPipelineRun(client, plan.pipeline) : await startTaskRun(client, plan.task);
  return { ...started, name: pipeline ?? task ?? '', temporalWeb: temporalWebLink(config, started.runId), source: temporalRunSource(client, started.runId, started.kind) };
}

async function startOnServer(command: Command, kind: string | undefined, name: string | undefined, opts: RunOptions): Promise<Started> {
  if (opts.pipeline || opts.task) throw new CliError('--pipeline and --task go with -f; on the server, use "ops run pipeline NAME" or "ops run task NAME"', ExitCode.usage);
  if ((kind !== 'pipeline' && kind !== 'task') || !name) throw new CliError('use "ops run pipeline|task NAME" (with a server) or "ops run -f FILES --pipeline|--task NAME"', ExitCode.usage);
  // Without a server, the definitions can come from files.
  const api = requireServer(command, `ops run -f FILES --${kind} ${name}`);
  const headers: Record<string, string> = opts.idempotencyKey ? { 'Idempotency-Key': opts.idempotencyKey } : {};
  const { body } = await api.request<{ id: string; kind: 'pipeline' | 'task'; temporalWeb: string }>(
    'POST',
    kind === 'pipeline' ? '/api/v1/pipelineruns' : '/api/v1/taskruns',
    { [kind]: name, variables: parseVars(opts.var), trigger: 'cli', ...(kind === 'task' && opts.cluster ? { cluster: opts.cluster } : {}) },
    headers,
  );
  return { runId: body.id, kind: body.kind, name, temporalWeb: body.temporalWeb, source: apiRunSource(api, body.id) };
}
