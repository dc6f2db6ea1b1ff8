import type { Command } from 'commander';
import { planPipelineRun, planTaskRun } from '../../model/plan';
import { referenceIssues } from '../../model/references';
import { ValidationError } from '../../model/errors';
import { collect, loadCatalog } from '../context';

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('check definition files (and that every pipeline, task and schedule could start); exit 2 if anything is wrong')
    .requiredOption('-f, --filename <path>', 'definition file or directory (repeatable)', collect)
    .action(async (opts: { filename: string[] }) => {
      const catalog = await loadCatalog(opts.filename);
      // What schedules, inspections and hooks name must exist, and schedules must plan, as the server requires.
      const issues = [...catalog.schedules.values(), ...catalog.inspections.values(), ...catalog.eventHooks.values()].flatMap((r) => referenceIssues(catalog, r));
      if (issues.length) throw new ValidationError(issues);
      const origin = { trigger: 'cli' as const, requester: 'validate' };
      // Planning checks references, targets and defaults; required variables without defaults are the caller's to give.
      const problems: string[] = [];
      for (const name of catalog.pipelines.keys()) tryPlan(problems, () => planPipelineRun(catalog, name, { variables: {}, origin }));
      for (const [name, task] of catalog.tasks) if (task.spec.targets) tryPlan(problems, () => planTaskRun(catalog, name, { variables: {}, origin }));
      const counts = ['hosts', 'clusters', 'tasks', 'pipelines', 'schedules', 'inspections', 'eventHooks'] as const;
      console.log(`valid: ${counts.map((k) => `${catalog[k].size} ${k.toLowerCase()}`).join(', ')}`);
      for (const p of problems) console.log(`note: ${p}`);
    });
}

function tryPlan(problems: string[], plan: () => unknown): void {
  try {
    plan();
  } catch (e) {
    for (const line of (e as Error).message.split('\n')) if (!/is required and has no value|requires variable/.test(line)) problems.push(line);
  }
}
