import type { Command } from 'commander';
import { planPipelineRun, planTaskRun } from '../../model/plan';
import { referenceIssues } from '../../model/references';
import { localCluster } from '../../model/catalog';
import { ValidationError, type Issue } from '../../model/errors';
import { REQUIRED_WITHOUT_VALUE } from '../../model/variables';
import { collect, loadCatalog } from '../context';
import { CliError, ExitCode } from '../exit-codes';

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('check definition files (and that every pipeline, task and schedule could start); exit 2 if anything is wrong')
    .requiredOption('-f, --filename <path>', 'definition file or directory (repeatable)', collect)
    .action(async (opts: { filename: string[] }) => {
      const catalog = await loadCatalog(opts.filename);
      // As apply: nothing to check is a wrong path or an empty directory, not "valid".
      const definitions = catalog.definitions();
      if (!definitions.some((r) => r !== localCluster)) throw new CliError(`no definitions in ${opts.filename.join(', ')}`, ExitCode.usage);
      // What hosts, schedules, inspections and hooks name must exist, and schedules must plan, as the server requires.
      const issues = definitions.flatMap((r) => referenceIssues(catalog, r));
      // Planning checks references, targets, variables and defaults, as a run would.
      const origin = { trigger: 'cli' as const, requester: 'validate' };
      for (const name of catalog.pipelines.keys()) issues.push(...planIssues(() => planPipelineRun(catalog, name, { variables: {}, origin })));
      for (const [name, task] of catalog.tasks) if (task.spec.targets) issues.push(...planIssues(() => planTaskRun(catalog, name, { variables: {}, origin })));
      if (issues.length) throw catalog.invalid(issues);
      const counts = [['hosts', 'host'], ['clusters', 'cluster'], ['tasks', 'task'], ['pipelines', 'pipeline'], ['schedules', 'schedule'], ['inspections', 'inspection'], ['eventHooks', 'eventhook']] as const;
      console.log(`valid: ${counts.map(([k, one]) => `${catalog[k].size} ${catalog[k].size === 1 ? one : k.toLowerCase()}`).join(', ')}`);
    });
}

function planIssues(plan: () => unknown): Issue[] {
  try {
    plan();
    return [];
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    // A required variable without a default is the caller's to give, with --var.
    return e.issues.filter((i) => i.message !== REQUIRED_WITHOUT_VALUE);
  }
}
