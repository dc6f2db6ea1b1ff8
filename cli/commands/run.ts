import type { Command } from 'commander';
import { planPipelineRun, planTaskRun } from '../../model/plan';
import { localRequester } from '../../workers/config';
import { startPipelineRun, startTaskRun } from '../../workers/runs';
import { collect, configFrom, loadCatalog, parseVars, temporalClient, temporalWebLink } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import { outputFormat, printData } from '../output';
import { statusOf, watchRun } from '../watch';

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('start a pipeline or task run from definition files')
    .requiredOption('-f, --filename <path>', 'definition file or directory (repeatable)', collect)
    .option('--pipeline <name>', 'the pipeline to run')
    .option('--task <name>', 'the task to run')
    .option('--var <name=value>', 'a variable value; name=@file reads it from a file (repeatable)', collect)
    .option('-w, --watch', 'follow the run: hosts are shown as they finish; exit 1 if it fails')
    .option('-o, --output <format>', 'json or yaml: print the run (with --watch, its result) for scripts')
    .action(async (opts: { filename: string[]; pipeline?: string; task?: string; var?: string[]; watch?: boolean; output?: string }, command: Command) => {
      const format = outputFormat(opts.output);
      if (!opts.pipeline === !opts.task) throw new CliError('give exactly one of --pipeline NAME or --task NAME', ExitCode.usage);
      const catalog = loadCatalog(opts.filename);
      const request = { variables: parseVars(opts.var), origin: { trigger: 'cli' as const, requester: localRequester() } };
      const config = configFrom(command);
      const client = await temporalClient(config);
      const started = opts.pipeline
        ? await startPipelineRun(client, planPipelineRun(catalog, opts.pipeline, request))
        : await startTaskRun(client, planTaskRun(catalog, opts.task ?? '', request));
      const link = temporalWebLink(config, started.runId);
      if (format !== 'text' && !opts.watch) {
        printData(format, { runId: started.runId, kind: started.kind, temporalWeb: link });
        return;
      }
      const say = format === 'text' ? (line: string) => console.log(line) : (line: string) => console.error(line);
      say(`run ${started.runId} started (${started.kind} ${opts.pipeline ?? opts.task})`);
      say(`  Temporal Web: ${link}`);
      if (!opts.watch) {
        say(`  follow it:    ops watch ${started.runId}   output: ops logs ${started.runId} -f`);
        return;
      }
      const outcome = await watchRun(client, started.runId, say);
      if (format !== 'text') printData(format, { runId: started.runId, ...outcome });
      if (statusOf(outcome) !== 'succeeded') process.exitCode = ExitCode.runFailed;
    });

  program
    .command('watch <run>')
    .description('follow a run until it ends; exit 1 if it fails')
    .option('-o, --output <format>', 'json or yaml: print the final result for scripts')
    .action(async (run: string, opts: { output?: string }, command: Command) => {
      const format = outputFormat(opts.output);
      const client = await temporalClient(configFrom(command));
      const outcome = await watchRun(client, run, format === 'text' ? (l) => console.log(l) : (l) => console.error(l));
      if (format !== 'text') printData(format, { runId: run, ...outcome });
      if (statusOf(outcome) !== 'succeeded') process.exitCode = ExitCode.runFailed;
    });
}
