import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PipelineRunInput, PipelineRunResult, RunStatus, StageResult, TaskRunInput, TaskRunResult } from '../model/run';
import type { Stage } from '../model/pipeline';
import { resolveStageTaskVariables } from '../model/stage-variables';
import { formatIssue } from '../model/errors';
import { taskWorkflowId } from '../model/naming';
import { DEFAULT_WORKER_WAIT_SECONDS } from '../model/run';
import { ClusterChildren, waitingReason } from './cluster-child';
import { pipelineProgressQuery, type PipelineProgress } from './progress';
import { ApprovalGates } from './approval';
import { OpsStatus, OpsTask } from './search-attributes';
import { PIPELINE_RUN_FAILED, resultInFailure, TASK_RUN_FAILED } from './run-failure';

/** Walks the stages in order; each task of a stage is a taskRun child on the stage cluster's queue. */
export async function pipelineRun(given: PipelineRunInput): Promise<PipelineRunResult> {
  // A schedule starts each run from the same input under a new workflow id: that id is the run's.
  const input: PipelineRunInput = { ...given, runId: workflowInfo().workflowId };
  const { spec } = input.pipeline;
  const progress: PipelineProgress = {
    status: 'running',
    stages: [...spec.stages.map((s) => stageProgress(input, s, false)), ...spec.finally.map((s) => stageProgress(input, s, true))],
  };
  setHandler(pipelineProgressQuery, () => progress);
  const approvals = new ApprovalGates(input);
  const children = new ClusterChildren();
  const results: Record<string, Record<string, string>> = {};
  const stages: StageResult[] = [];
  let status: RunStatus = 'running';
  let reason: string | undefined;
  let cancellation: unknown;

  const runStage = async (stage: Stage, index: number): Promise<void> => {
    const shown = progress.stages[index];
    shown.status = 'running';
    if (stage.approval) {
      const result = await approvals.wait(stage.name, stage.approval, `stage ${index + 1}/${progress.stages.length} ${stage.name}`, shown, results);
      shown.status = result.status;
      stages.push(result);
      return;
    }
    const running = `stage ${index + 1}/${progress.stages.length} ${stage.name}: running ${stage.tasks.map((t) => t.name).join(', ')}`;
    setCurrentDetails(running);
    const onWaiting = (j: number) => (waiting: boolean) => {
      shown.tasks[j].status = waiting ? 'waiting' : 'running';
      shown.tasks[j].reason = waiting ? waitingReason(stage.cluster) : undefined;
      setCurrentDetails(waiting ? `stage ${index + 1}/${progress.stages.length} ${stage.name}: ${waitingReason(stage.cluster)}` : running);
    };
    const tasks = await Promise.all(stage.tasks.map((ref, j) => runTask(input, stage, ref, j, index, results, status, children, onWaiting(j))));
    tasks.forEach((t, j) => {
      shown.tasks[j].status = t.status;
      shown.tasks[j].reason = t.reason;
      results[t.name] = t.results;
    });
    const failed = tasks.filter((t) => t.status !== 'succeeded');
    const result: StageResult = { name: stage.name, status: failed.length ? 'failed' : 'succeeded', tasks };
    if (failed.length) result.reason = failed.map((t) => `${t.name}: ${t.reason ?? t.status}`).join('; ');
    shown.status = result.status;
    stages.push(result);
  };

  try {
    for (const [i, stage] of spec.stages.entries()) {
      if (status !== 'running') {
        progress.stages[i].status = 'skipped';
        stages.push({ name: stage.name, status: 'skipped', tasks: [] });
        continue;
      }
      await runStage(stage, i);
      const last = stages[stages.length - 1];
      if (last.status === 'failed') {
        status = 'failed';
        reason = `stage ${stage.name} failed: ${last.reason}`;
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancellation = err;
    status = 'cancelled';
    reason = 'cancelled';
  }
  if (status === 'running') status = 'succeeded';
  // `finally` stages run whatever happened, even when the run itself was cancelled.
  await CancellationScope.nonCancellable(async () => {
    for (const [i, stage] of spec.finally.entries()) {
      await runStage(stage, spec.stages.length + i);
      const last = stages[stages.length - 1];
      if (last.status !== 'failed') continue;
      // A later finally stage's ${run.status} says so; a run already failed or cancelled keeps that status, and says this too.
      const failure = `finally stage ${stage.name} failed: ${last.reason}`;
      reason = reason ? `${reason}; ${failure}` : failure;
      if (status === 'succeeded') status = 'failed';
    }
  });
  progress.status = status;
  progress.reason = reason;
  setCurrentDetails(`${status}${reason ? `: ${reason}` : ''}`);
  upsertSearchAttributes([{ key: OpsStatus, value: status }]);
  const result: PipelineRunResult = { status, stages, ...(reason ? { reason } : {}) };
  if (cancellation) throw cancellation;
  if (status === 'failed') throw ApplicationFailure.create({ type: PIPELINE_RUN_FAILED, message: reason ?? 'failed', details: [result], nonRetryable: true });
  return result;
}

function stageProgress(input: PipelineRunInput, stage: Stage, isFinally: boolean): PipelineProgress['stages'][number] {
  return {
    name: stage.name,
    cluster: stage.cluster,
    finally: isFinally,
    status: 'pending',
    tasks: stage.tasks.map((t) => ({ name: t.name, workflowId: taskWorkflowId(input.runId, t.name), status: 'pending' as const })),
  };
}

async function runTask(
  input: PipelineRunInput,
  stage: Stage,
  ref: Stage['tasks'][number],
  refIndex: number,
  stageIndex: number,
  results: Record<string, Record<string, string>>,
  status: RunStatus,
  children: ClusterChildren,
  onWaiting: (waiting: boolean) => void,
): Promise<TaskRunResult> {
  const task = input.tasks[ref.task];
  const group = stageIndex < input.pipeline.spec.stages.length ? 'stages' : 'finally';
  const index = group === 'stages' ? stageIndex : stageIndex - input.pipeline.spec.stages.length;
  const vars = resolveStageTaskVariables(
    task,
    ref.variables,
    { values: input.variables, secretNames: input.secretNames, runId: input.runId, status },
    results,
    { document: `Pipeline/${input.pipeline.metadata.name}`, path: `spec.${group}[${index}].tasks[${refIndex}].variables` },
  );
  if (vars.issues.length) {
    return { name: ref.name, status: 'failed', reason: `not started: ${vars.issues.map(formatIssue).join('; ')}`, hosts: [], results: {} };
  }
  const names = new Set(input.targets[ref.name] ?? []);
  const childInput: TaskRunInput = {
    runId: input.runId,
    name: ref.name,
    task,
    cluster: stage.cluster,
    hosts: input.hosts.filter((h) => names.has(h.name)),
    ...(input.nodeTargets?.[ref.name] ? { nodes: input.nodeTargets[ref.name] } : {}),
    ...(input.clusters?.[stage.cluster]?.kubeconfigRef ? { kubeconfigRef: input.clusters[stage.cluster].kubeconfigRef } : {}),
    variables: vars.values,
    secretNames: vars.secretNames,
    origin: input.origin,
    stage: `stage ${stageIndex + 1}/${input.pipeline.spec.stages.length + input.pipeline.spec.finally.length} ${stage.name}, task ${ref.name}`,
  };
  try {
    return await children.run(childInput, {
      workflowId: taskWorkflowId(input.runId, ref.name),
      waitSeconds: input.clusters?.[stage.cluster]?.workerWaitSeconds ?? DEFAULT_WORKER_WAIT_SECONDS,
      searchAttributes: workflowInfo().typedSearchAttributes.updateCopy([{ key: OpsTask, value: ref.task }]),
      onWaiting,
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const result = resultInFailure<TaskRunResult>(err, TASK_RUN_FAILED);
    if (result) return result;
    return { name: ref.name, status: 'failed', reason: (err as Error).message, hosts: [], results: {} };
  }
}
