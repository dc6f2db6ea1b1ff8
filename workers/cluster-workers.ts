import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { clusterTaskQueue } from '../model/naming';

/** A worker polling a cluster's task queue, as Temporal's task-queue description reports it. */
export interface ClusterWorker {
  identity: string;
  /** The worker's build id (Ops version), when it reports one. */
  version?: string;
  lastPolled?: string;
  /** Which of the queue's task types it polls: workflow (task runs), activity (steps). */
  polls: Array<'workflow' | 'activity'>;
}

export interface ClusterWorkerStatus {
  taskQueue: string;
  /** Some worker polled the queue within the last ONLINE_WITHIN_MS. */
  online: boolean;
  /** The workers that did: Temporal lists pollers for minutes after they stop, and those are left out. */
  workers: ClusterWorker[];
}

/** Idle workers renew their long polls at least once a minute. */
export const ONLINE_WITHIN_MS = 90_000;

const TYPES = [
  ['workflow', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
  ['activity', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
] as const;

/** Who polls the cluster's queue now: the only sign Temporal gives that a cluster's worker is up. */
export function clusterWorkerStatus(client: Client, cluster: string, now = new Date()): Promise<ClusterWorkerStatus> {
  return taskQueueWorkers(client, clusterTaskQueue(cluster), now);
}

/** Who polls a task queue of Ops now (a cluster's, or the control queue). */
export async function taskQueueWorkers(client: Client, taskQueue: string, now = new Date()): Promise<ClusterWorkerStatus> {
  const byIdentity = new Map<string, ClusterWorker>();
  for (const [name, taskQueueType] of TYPES) {
    const described = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType });
    for (const poller of described.pollers ?? []) {
      const identity = poller.identity ?? '';
      const worker = byIdentity.get(identity) ?? { identity, polls: [] };
      worker.polls.push(name);
      const version = poller.deploymentOptions?.buildId || poller.workerVersionCapabilities?.buildId;
      if (version) worker.version = version;
      const seen = poller.lastAccessTime?.seconds ? new Date(Number(poller.lastAccessTime.seconds) * 1000).toISOString() : undefined;
      if (seen && (!worker.lastPolled || seen > worker.lastPolled)) worker.lastPolled = seen;
      byIdentity.set(identity, worker);
    }
  }
  const recent = (w: ClusterWorker) => w.lastPolled !== undefined && now.getTime() - Date.parse(w.lastPolled) < ONLINE_WITHIN_MS;
  const workers = [...byIdentity.values()].filter(recent).sort((a, b) => a.identity.localeCompare(b.identity));
  return { taskQueue, online: workers.length > 0, workers };
}
