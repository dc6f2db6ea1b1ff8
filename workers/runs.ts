import type { QueryDefinition } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { PipelineRunInput, PipelineRunResult, RunStatus, TaskRunInput, TaskRunResult } from '../model/run';
import { CONTROL_TASK_QUEUE, clusterTaskQueue, newRunId } from '../model/naming';
import type { pipelineRun, taskRun } from '../workflows';
import { OpsCluster, OpsPipeline, OpsRequester, OpsStatus, OpsTask, OpsTrigger } from '../workflows/search-attributes';
import { pipelineProgressQuery, taskProgressQuery, type PipelineProgress, type TaskProgress } from '../workflows/progress';
import { PIPELINE_RUN_FAILED, resultInFailure, TASK_RUN_FAILED } from '../workflows/run-failure';

/** Starting, following and reading runs; shared by the CLI and the API. */

export interface StartedRun {
  runId: string;
  kind: 'pipeline' | 'task';
}

/** Starts a pipeline run on the control queue; the id gets a fresh suffix if it is taken. */
export async function startPipelineRun(client: Client, input: PipelineRunInput): Promise<StartedRun> {
  const clusters = [...new Set([...input.pipeline.spec.stages, ...input.pipeline.spec.finally].map((s) => s.cluster))];
  const runId = await startWithFreshId(input.runId, input.pipeline.metadata.name, (id) =>
    client.workflow.start<typeof pipelineRun>('pipelineRun', {
      workflowId: id,
      taskQueue: CONTROL_TASK_QUEUE,
      args: [{ ...input, runId: id }],
      typedSearchAttributes: [
        { key: OpsPipeline, value: input.pipeline.metadata.name },
        { key: OpsCluster, value: clusters },
        { key: OpsTrigger, value: input.origin.trigger },
        { key: OpsRequester, value: input.origin.requester },
        { key: OpsStatus, value: 'running' },
      ],
      memo: { summary: `pipeline ${input.pipeline.metadata.name}: ${input.pipeline.spec.stages.map((s) => s.name).join(' → ')}` },
      staticSummary: `pipeline ${input.pipeline.metadata.name}`,
    }),
  );
  return { runId, kind: 'pipeline' };
}

/** Starts a task run straight on its cluster's queue. */
export async function startTaskRun(client: Client, input: TaskRunInput): Promise<StartedRun> {
  const runId = await startWithFreshId(input.runId, input.task.name, (id) =>
    client.workflow.start<typeof taskRun>('taskRun', {
      workflowId: id,
      taskQueue: clusterTaskQueue(input.cluster),
      args: [{ ...input, runId: id }],
      typedSearchAttributes: [
        { key: OpsTask, value: input.task.name },
        { key: OpsCluster, value: [input.cluster] },
        { key: OpsTrigger, value: input.origin.trigger },
        { key: OpsRequester, value: input.origin.requester },
        { key: OpsStatus, value: 'running' },
      ],
      memo: { summary: `task ${input.task.name} on ${input.hosts.length} host(s)` },
      staticSummary: `task ${input.task.name} on ${input.hosts.length} host(s)`,
    }),
  );
  return { runId, kind: 'task' };
}

async function startWithFreshId(id: string, name: string, start: (id: string) => Promise<unknown>): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    const candidate = attempt === 0 ? id : newRunId(name);
    try {
      await start(candidate);
      return candidate;
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 3) throw e;
    }
  }
}

export type RunOutcome = { kind: 'pipeline'; result: PipelineRunResult } | { kind: 'task'; result: TaskRunResult };

/** Waits for a run to end; failed runs carry their result in the failure. */
export async function runOutcome(client: Client, runId: string): Promise<RunOutcome> {
  const handle = client.workflow.getHandle(runId);
  const kind = (await handle.describe()).type === 'pipelineRun' ? 'pipeline' : 'task';
  try {
    const result = await handle.result();
    return kind === 'pipeline' ? { kind, result: result as PipelineRunResult } : { kind, result: result as TaskRunResult };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    if (kind === 'pipeline') {
      const result = resultInFailure<PipelineRunResult>(err, PIPELINE_RUN_FAILED);
      return { kind, result: result ?? { status: statusOf(err), reason: failureMessage(err), stages: [] } };
    }
    const result = resultInFailure<TaskRunResult>(err, TASK_RUN_FAILED);
    return { kind, result: result ?? { name: runId, status: statusOf(err), reason: failureMessage(err), hosts: [], results: {} } };
  }
}

function statusOf(err: WorkflowFailedError): RunStatus {
  return err.cause?.name === 'CancelledFailure' ? 'cancelled' : 'failed';
}

function failureMessage(err: WorkflowFailedError): string {
  return err.cause?.message ?? err.message;
}

/** The progress of a run and of every task and host group under it, read with queries. */
export interface RunTree {
  runId: string;
  kind: 'pipeline' | 'task';
  closed: boolean;
  pipeline?: PipelineProgress;
  tasks: TaskProgress[];
}

const QUERY_DEADLINE_MS = 5_000;

export async function runTree(client: Client, runId: string): Promise<RunTree> {
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  const closed = description.status.name !== 'RUNNING';
  if (description.type === 'pipelineRun') {
    const pipeline = await query(client, handle, pipelineProgressQuery);
    const ids = (pipeline?.stages ?? []).filter((s) => s.status !== 'pending').flatMap((s) => s.tasks.filter((t) => t.status !== 'pending' || s.status === 'running').map((t) => t.workflowId));
    const tasks = (await Promise.all(ids.map((id) => taskTree(client, id)))).flat();
    return { runId, kind: 'pipeline', closed, pipeline, tasks };
  }
  return { runId, kind: 'task', closed, tasks: await taskTree(client, runId) };
}

/** A task's progress with the hosts of its running groups folded in. */
async function taskTree(client: Client, workflowId: string): Promise<TaskProgress[]> {
  const progress = await query(client, client.workflow.getHandle(workflowId), taskProgressQuery);
  if (!progress) return [];
  const groups = await Promise.all(progress.groups.map((id) => query(client, client.workflow.getHandle(id), taskProgressQuery)));
  const known = new Set(progress.hosts.map((h) => h.host));
  const hosts = [...progress.hosts, ...groups.flatMap((g) => g?.hosts ?? []).filter((h) => !known.has(h.host))];
  return [{ ...progress, hosts }];
}

async function query<T>(client: Client, handle: WorkflowHandle, definition: QueryDefinition<T>): Promise<T | undefined> {
  try {
    return await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(definition));
  } catch {
    // Not started yet, or no worker to answer right now: the next poll will see it.
    return undefined;
  }
}
