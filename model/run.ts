/**
 * What a run carries and returns. A run starts from a frozen snapshot of the definitions it uses,
 * so editing a definition never changes a run in flight.
 */
import type { NodeTargets, TaskSpec } from './task';
import type { Pipeline } from './pipeline';
import type { ApprovalState } from './approval';

/** Everything a worker needs to reach one host; resolved from the Host definition at the edge. */
export interface HostTarget {
  name: string;
  address: string;
  port: number;
  username?: string;
  /** ssh or local: a Host; node: a Kubernetes node, reached through a pod; cluster: the cluster's API. */
  connection: 'ssh' | 'local' | 'node' | 'cluster';
  cluster: string;
  credentialRef?: string;
  hostKey?: string;
  trustOnFirstUse: boolean;
  bastion?: HostTarget;
  labels: Record<string, string>;
}

export type Trigger = 'cli' | 'api' | 'schedule' | 'event';

export interface RunOrigin {
  trigger: Trigger;
  requester: string;
}

export interface TaskSnapshot {
  name: string;
  spec: TaskSpec;
}

export interface TaskRunInput {
  /** The top-level run this task belongs to; logs are published under it. */
  runId: string;
  /** The task's name in the run (the pipeline's alias, or the task's own name). */
  name: string;
  task: TaskSnapshot;
  cluster: string;
  /** Hosts the targets resolved to, in order (for node targets: found when the run starts). */
  hosts: HostTarget[];
  /** Nodes of the cluster to run on; the cluster's worker lists them when the run starts. */
  nodes?: NodeTargets;
  /** The Cluster's kubeconfigRef: a credential the worker resolves to reach the cluster's API. */
  kubeconfigRef?: string;
  /** Variable values, already validated. */
  variables: Record<string, string>;
  /** Names of variables whose values are secret. */
  secretNames: string[];
  origin: RunOrigin;
  /** Set on children that a large task run splits off; see workflows/task-run.ts. */
  group?: { index: number; failureBudget: number };
  /** Where the task sits in its pipeline ("stage 2/4 upgrade, task kubelet"), for its details in Temporal Web. */
  stage?: string;
}

/** How long a stage waits for a cluster's worker unless the Cluster says otherwise. */
export const DEFAULT_WORKER_WAIT_SECONDS = 600;

export interface ClusterSnapshot {
  kubeconfigRef?: string;
  /** How long a stage waits for a worker of the cluster to pick its tasks up before it fails. */
  workerWaitSeconds: number;
}

export interface PipelineRunInput {
  runId: string;
  pipeline: Pipeline;
  tasks: Record<string, TaskSnapshot>;
  /** Every host the pipeline's tasks target. */
  hosts: HostTarget[];
  /** Host names each task of the pipeline targets, by its name in the pipeline. */
  targets: Record<string, string[]>;
  /** Node targets of tasks that run on a cluster's nodes, by their name in the pipeline. */
  nodeTargets?: Record<string, NodeTargets>;
  /** What the run needs to know of each stage's cluster. */
  clusters?: Record<string, ClusterSnapshot>;
  variables: Record<string, string>;
  secretNames: string[];
  origin: RunOrigin;
}

/** How a host ended. Never a bare "error": each failure says what kind it was. */
export type HostStatus =
  | 'succeeded'
  | 'failed'
  | 'unreachable'
  | 'authFailed'
  | 'hostKeyRejected'
  | 'timedOut'
  | 'skipped'
  | 'cancelled';

/** A step ends in the same terms as a host; a host takes the status of the step that stopped it. */
export type StepStatus = HostStatus;

export interface StepResult {
  step: string;
  status: StepStatus;
  exitCode?: number;
  durationMs?: number;
  attempts?: number;
  /** For file steps: whether the file on the host changed. */
  changed?: boolean;
  message?: string;
  allowedFailure?: boolean;
}

export interface HostResult {
  host: string;
  status: HostStatus;
  /** Exit code of the step that decided the status, when there was one. */
  exitCode?: number;
  message?: string;
  steps: StepResult[];
  results: Record<string, string>;
  /** Identity of the worker that ran the host's last step. */
  worker?: string;
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface TaskRunResult {
  name: string;
  status: RunStatus;
  reason?: string;
  hosts: HostResult[];
  /** Results by name: the distinct values hosts printed, in host order, joined by newlines. */
  results: Record<string, string>;
}

export interface StageResult {
  name: string;
  status: RunStatus | 'skipped';
  reason?: string;
  tasks: TaskRunResult[];
  /** For an approval stage: who decided what, when and why. */
  approval?: ApprovalState;
}

export interface PipelineRunResult {
  status: RunStatus;
  reason?: string;
  stages: StageResult[];
}

/** The outcome an activity reports for one step on one host. */
export interface StepOutcome {
  exitCode: number;
  durationMs: number;
  stdoutBytes: number;
  stderrBytes: number;
  /** The last few KB of output, secrets masked. */
  tail: string;
  results: Record<string, string>;
  changed?: boolean;
  worker: string;
  /** The step had already completed on the host in an earlier attempt; it was not run again. */
  replayed?: boolean;
}

