import { proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { Activities } from '../activities';
import type { RunStatus, TaskRunInput, TaskRunResult } from '../model/run';
import { runStatusSubject } from '../model/naming';

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 4 };
/** The start: an activity, which runs beside the fan-out without holding up its first workflow task. */
const { publishEvent } = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry });
/** The end: a local activity, run at once by this worker, so the run closes without waiting for a queue. */
const { publishEvent: publishEventHere } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s', retry });

/** How a task run stands, as far as an event tells it: no output, no variables. */
export interface RunStatusEvent {
  /** This task run's workflow id. */
  run: string;
  /** The top-level run: the pipeline run a task belongs to, or the task run itself. */
  runId: string;
  kind: 'task';
  task: string;
  cluster: string;
  status: RunStatus;
  reason?: string;
  /** Hosts by their result so far (at the end: all of them). */
  hosts: Record<string, number>;
  trigger: string;
  requester: string;
}

/**
 * Publishes the task run's status (`dev.ops.run.status` on ops.clusters.<c>.runs.<run>.status)
 * through the cluster's worker, for EventHooks ("tell the channel when a run fails"). A publish
 * that keeps failing is given up: an event must not fail the run it reports.
 */
export function announceRunStatus(input: TaskRunInput, status: RunStatus, result?: Pick<TaskRunResult, 'reason' | 'hosts'>): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  // Node targets are found as the run starts, so the result knows them and the input may not.
  const hosts: Record<string, number> = { total: result?.hosts.length || input.hosts.length };
  for (const h of result?.hosts ?? []) hosts[h.status] = (hosts[h.status] ?? 0) + 1;
  const data: RunStatusEvent = {
    run: workflowId,
    runId: input.runId,
    kind: 'task',
    task: input.name,
    cluster: input.cluster,
    status,
    ...(result?.reason ? { reason: result.reason } : {}),
    hosts,
    trigger: input.origin.trigger,
    requester: input.origin.requester,
  };
  return (status === 'running' ? publishEvent : publishEventHere)
    .executeWithOptions({ summary: `announce run ${status}` }, [{ subject: runStatusSubject(input.cluster, workflowId), type: 'dev.ops.run.status', id: `${workflowId}/${runId}/${status}`, data }])
    .catch(() => undefined);
}
