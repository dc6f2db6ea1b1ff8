import type { Command } from 'commander';
import { planPipelineRun, planTaskRun } from '../../model/plan';
import { collect, loadCatalog } from '../context';

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('check definition files (and that every pipeline and task could start); exit 2 if anything is wrong')
    .requiredOption('-f, --filename <path>', 'definition file or directory (repeatable)', collect)
    .action((opts: { filename: string[] }) => {
      const catalog = loadCatalog(opts.filename);
      const origin = { trigger: 'cli' as const, requester: 'validate' };
      // Planning checks references, targets and defaults; required variables without defaults are the caller's to give.
      const problems: string[] = [];
      for (const name of catalog.pipelines.keys()) tryPlan(problems, () => planPipelineRun(catalog, name, { variables: {}, origin }));
      for (const [name, task] of catalog.tasks) if (task.spec.targets) tryPlan(problems, () => planTaskRun(catalog, name, { variables: {}, origin }));
      const counts = ['hosts', 'clusters', 'tasks', 'pipelines'] as const;
      console.log(`valid: ${counts.map((k) => `${catalog[k].size} ${k}`).join(', ')}`);
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
