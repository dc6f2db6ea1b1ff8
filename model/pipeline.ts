import { z } from 'zod';
import { dnsLabel, resourceSchema } from './meta';
import { targetsSpec } from './task';
import { variableList } from './variables-schema';
import { LOCAL_CLUSTER } from './naming';
import { approvalSpec } from './approval-schema';

export const taskRefSpec = z.strictObject({
  /** Name of the Task definition. */
  task: dnsLabel,
  /** Name of this use of the task inside the pipeline (default: the task's name); `${tasks.<name>.results.<key>}` uses it. */
  name: dnsLabel.optional(),
  /** Values for the task's variables; may use pipeline variables and results of earlier stages. */
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  /** Overrides the task's own targets. */
  targets: targetsSpec.optional(),
});

/**
 * A stage runs tasks, or waits for people to approve (model/approval.ts). Parsed output parses
 * again unchanged (`ops apply` sends it, and a document read back can be applied again).
 */
export const stageSpec = z
  .strictObject({
    name: dnsLabel,
    /** The cluster whose worker runs this stage's tasks; an approval stage runs nothing. */
    cluster: dnsLabel.default(LOCAL_CLUSTER),
    /** Tasks of one stage run in parallel. */
    tasks: z.array(taskRefSpec).default([]),
    approval: approvalSpec.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.approval && s.tasks.length) ctx.addIssue({ code: 'custom', path: ['approval'], message: 'a stage runs tasks or waits for approval, not both; make them two stages' });
    if (!s.approval && !s.tasks.length) ctx.addIssue({ code: 'custom', path: ['tasks'], message: 'a stage needs at least one task, or an approval to wait for' });
  });
export type StageSpec = z.infer<typeof stageSpec>;

export const pipelineSpec = z
  .strictObject({
    description: z.string().optional(),
    variables: variableList,
    stages: z.array(stageSpec).min(1, 'a pipeline needs at least one stage'),
    /** Stages that run after the others whatever happened. */
    finally: z.array(stageSpec).default([]),
  })
  .transform((spec) => ({
    ...spec,
    stages: spec.stages.map(withTaskNames),
    finally: spec.finally.map(withTaskNames),
  }))
  .superRefine((spec, ctx) => {
    const stages = new Set<string>();
    const tasks = new Set<string>();
    const variables = new Set(spec.variables.map((v) => v.name));
    for (const [group, list] of [['stages', spec.stages], ['finally', spec.finally]] as const) {
      list.forEach((stage, i) => {
        if (stages.has(stage.name)) ctx.addIssue({ code: 'custom', path: [group, i, 'name'], message: `duplicate stage name "${stage.name}"` });
        stages.add(stage.name);
        if (stage.approval && group === 'finally') {
          ctx.addIssue({ code: 'custom', path: [group, i, 'approval'], message: 'finally stages always run, unattended; they cannot wait for approval' });
        }
        stage.approval?.variables.forEach((name, k) => {
          if (!variables.has(name)) ctx.addIssue({ code: 'custom', path: [group, i, 'approval', 'variables', k], message: `names no pipeline variable "${name}"` });
        });
        stage.tasks.forEach((t, j) => {
          if (tasks.has(t.name)) {
            ctx.addIssue({
              code: 'custom',
              path: [group, i, 'tasks', j, 'name'],
              message: `task name "${t.name}" is used twice in this pipeline; give one of them a distinct name`,
            });
          }
          tasks.add(t.name);
        });
      });
    }
  });

type StageInput = z.output<typeof stageSpec>;
type NamedTaskRef = StageInput['tasks'][number] & { name: string };

function withTaskNames(stage: StageInput): Omit<StageInput, 'tasks'> & { tasks: NamedTaskRef[] } {
  return { ...stage, tasks: stage.tasks.map((t) => ({ ...t, name: t.name ?? t.task })) };
}

export const pipelineSchema = resourceSchema('Pipeline', dnsLabel, pipelineSpec);
export type Pipeline = z.infer<typeof pipelineSchema>;
export type PipelineSpec = z.infer<typeof pipelineSpec>;
export type Stage = PipelineSpec['stages'][number];
export type TaskRef = Stage['tasks'][number];
