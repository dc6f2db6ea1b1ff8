/** Names Ops gives to things (its API, clusters, queues, streams, runs); one place so every part agrees. */

/** The API group of every Ops resource; it contains a dot so the same documents can become CRDs. */
export const API_GROUP = 'ops.dev';
export const API_VERSION = `${API_GROUP}/v1`;

/** The name of the cluster that always exists (model/catalog.ts: localCluster). */
export const LOCAL_CLUSTER = 'local';

/** The address a `connection: local` Host without one has: the worker's own machine. */
export const LOCAL_HOST_ADDRESS = 'localhost';

export const CONTROL_TASK_QUEUE = 'ops.control';

const CLUSTER_TASK_QUEUE_PREFIX = 'ops.cluster.';

export function clusterTaskQueue(cluster: string): string {
  return `${CLUSTER_TASK_QUEUE_PREFIX}${cluster}`;
}

/** The command that starts a worker for a task queue of Ops. */
export function workerCommandFor(taskQueue: string): string {
  return taskQueue === CONTROL_TASK_QUEUE ? 'ops worker --control' : `ops worker --cluster ${taskQueue.slice(CLUSTER_TASK_QUEUE_PREFIX.length)}`;
}

/** NATS subject tokens cannot hold dots; DNS names cannot hold "_", so the mapping is reversible. */
export function subjectToken(name: string): string {
  return name.replace(/\./g, '_');
}

export function hostFromSubjectToken(token: string): string {
  return token.replace(/_/g, '.');
}

export const LOGS_STREAM = 'OPS_LOGS';
export const LOGS_SUBJECTS = 'ops.logs.>';

export function logSubject(runId: string, host: string): string {
  return `ops.logs.${runId}.${subjectToken(host)}`;
}

/** A run id: the definition's name and a random suffix, like Kubernetes' generateName. */
export function newRunId(name: string, random: () => number = Math.random): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let suffix = '';
  for (let i = 0; i < 8; i += 1) suffix += alphabet[Math.floor(random() * alphabet.length)];
  return `${name}-${suffix}`;
}

/** Workflow id of the child that runs one task of a pipeline run. */
export function taskWorkflowId(runId: string, taskName: string): string {
  return `${runId}.${taskName}`;
}

export function hostGroupWorkflowId(taskWorkflowId: string, batch: number, group: number): string {
  return `${taskWorkflowId}.b${batch}g${group}`;
}

/**
 * Events (CloudEvents JSON) live in one JetStream stream: on each cluster's own NATS, where its
 * worker publishes, and on the hub, which sources every cluster's stream over the leafnode link.
 */
export const EVENTS_STREAM = 'OPS_EVENTS';
export const EVENT_SUBJECTS = ['ops.clusters.>', 'ops.approvals.>'];

/** Approval events for EventHooks: `pending` when a stage starts waiting, `decided` when it ends. */
export function approvalSubject(runId: string, event: 'pending' | 'decided'): string {
  return `ops.approvals.${runId}.${event}`;
}

/** A host's heartbeat: reachable or not, and its facts. */
export function hostStatusSubject(cluster: string, host: string): string {
  return `ops.clusters.${cluster}.hosts.${subjectToken(host)}.status`;
}

/** A cluster's heartbeat: its Kubernetes version, nodes and pods. */
export function clusterStatusSubject(cluster: string): string {
  return `ops.clusters.${cluster}.clusters.${cluster}.status`;
}

/** A task run's status on the cluster that runs it: `running` as it starts, then how it ended. */
export function runStatusSubject(cluster: string, workflowId: string): string {
  return `ops.clusters.${cluster}.runs.${subjectToken(workflowId)}.status`;
}

/** An inspection's verdict on one target: a host, or `cluster/<name>` for the cluster itself. */
export function inspectionSubject(cluster: string, inspection: string, target: string): string {
  return `ops.clusters.${cluster}.inspections.${inspection}.${subjectToken(target)}`;
}

/**
 * Temporal Schedules Ops keeps, by id. Runs they start are named after the schedule and the time
 * (`<workflowId>-<RFC 3339 time>`), so the workflow id prefixes hold no dots (they become subjects).
 */
export const SCHEDULE_ID_PREFIX = 'ops-';

export function heartbeatScheduleId(cluster: string): string {
  return `${SCHEDULE_ID_PREFIX}heartbeat-${cluster}`;
}

export function inspectionScheduleId(name: string): string {
  return `${SCHEDULE_ID_PREFIX}inspection-${name}`;
}

export function userScheduleId(name: string): string {
  return `${SCHEDULE_ID_PREFIX}schedule-${name}`;
}

/** The name scheduled runs carry (search attribute OpsSchedule): a user schedule's own, or the built-in ones'. */
export function heartbeatScheduleName(cluster: string): string {
  return `heartbeat-${cluster}`;
}

export function inspectionScheduleName(name: string): string {
  return `inspection-${name}`;
}
