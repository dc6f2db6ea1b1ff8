import {
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import type { TaskRunInput, TaskRunResult } from '../model/run';
import { clusterTaskQueue } from '../model/naming';
import type { taskRun } from './task-run';

/**
 * Sent by a taskRun to the pipeline run that started it, from its first workflow task: proof that
 * a worker of the cluster polls the cluster's queue. Until it arrives the stage is waiting.
 */
export const taskRunStartedSignal = defineSignal<[workflowId: string]>('taskRunStarted');

/** Called by a taskRun as it starts; a run started on its own (not by a pipeline) tells no one. */
export async function announceTaskRunStarted(input: TaskRunInput): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent || input.group) return;
  await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(taskRunStartedSignal, workflowInfo().workflowId);
}

/** Why a task of a stage did not run: no worker of its cluster came in time. */
export function noWorkerReason(cluster: string, waitSeconds: number): string {
  return `no worker of cluster "${cluster}" picked the task up within ${waitSeconds}s (nothing polls task queue ${clusterTaskQueue(cluster)}; start one with "ops worker --cluster ${cluster}")`;
}

export function waitingReason(cluster: string): string {
  return `waiting for a worker of cluster "${cluster}" (task queue ${clusterTaskQueue(cluster)})`;
}

/**
 * Runs taskRun children on their clusters' queues, failing a child that no worker of its cluster
 * starts within the wait. One per pipeline run: it owns the signal handler.
 */
export class ClusterChildren {
  private readonly started = new Set<string>();

  constructor() {
    setHandler(taskRunStartedSignal, (workflowId) => void this.started.add(workflowId));
  }

  async run(
    input: TaskRunInput,
    options: { workflowId: string; waitSeconds: number; searchAttributes: TypedSearchAttributes | SearchAttributePair[]; onWaiting(waiting: boolean): void },
  ): Promise<TaskRunResult> {
    const { workflowId } = options;
    const child = await startChild<typeof taskRun>('taskRun', {
      workflowId,
      taskQueue: clusterTaskQueue(input.cluster),
      args: [input],
      typedSearchAttributes: options.searchAttributes,
    });
    let settled = false;
    const result = child.result().finally(() => (settled = true));
    result.catch(() => undefined); // handled below, or abandoned when no worker came
    if (!this.started.has(workflowId) && !settled) {
      options.onWaiting(true);
      const came = await condition(() => this.started.has(workflowId) || settled, `${options.waitSeconds}s`);
      options.onWaiting(false);
      if (!came) {
        // The child never ran; a worker that comes later must not start it. Closing the pipeline
        // run terminates it in any case (the default parent close policy).
        await getExternalWorkflowHandle(workflowId).cancel().catch(() => undefined);
        return { name: input.name, status: 'failed', reason: noWorkerReason(input.cluster, options.waitSeconds), hosts: [], results: {} };
      }
    }
    return result;
  }
}
