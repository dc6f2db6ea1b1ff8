/** Names Ops gives to things in Temporal and NATS; one place so every part agrees. */

export const CONTROL_TASK_QUEUE = 'ops.control';

export function clusterTaskQueue(cluster: string): string {
  return `ops.cluster.${cluster}`;
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

/** Approval events (CloudEvents) for EventHooks: `pending` when a stage starts waiting, `decided` when it ends. */
export const APPROVALS_STREAM = 'OPS_APPROVALS';
export const APPROVAL_SUBJECTS = 'ops.approvals.>';

export function approvalSubject(runId: string, event: 'pending' | 'decided'): string {
  return `ops.approvals.${runId}.${event}`;
}
