/**
 * Failure types activities raise for one step on one host (ApplicationFailure.type), and the host
 * status each one means. Workflows and activities both use these names.
 */
import type { HostStatus } from './run';

export const FailureType = {
  NonZeroExit: 'NonZeroExit',
  StepTimedOut: 'StepTimedOut',
  HostUnreachable: 'HostUnreachable',
  AuthFailed: 'AuthFailed',
  HostKeyRejected: 'HostKeyRejected',
  /** The step cannot run as written on this host (a missing file, a bad template value). */
  StepInvalid: 'StepInvalid',
  /** Kubernetes nodes: the node is not Ready, so no step pod can run there. */
  NodeNotReady: 'NodeNotReady',
  /** The step pod's image cannot be pulled. */
  ImagePullFailed: 'ImagePullFailed',
  /** The node refused the step pod (no room, affinity, taints the pod does not tolerate). */
  PodUnschedulable: 'PodUnschedulable',
  /** The step pod failed to start for another reason (container creation, eviction). */
  PodFailed: 'PodFailed',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Retrying these cannot help within one attempt of the step; user-level `retries` decide instead. */
export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.NonZeroExit,
  FailureType.StepTimedOut,
  FailureType.AuthFailed,
  FailureType.HostKeyRejected,
  FailureType.StepInvalid,
  FailureType.NodeNotReady,
  FailureType.ImagePullFailed,
  FailureType.PodUnschedulable,
  FailureType.PodFailed,
];

export const HOST_STATUS_BY_FAILURE: Record<FailureType, HostStatus> = {
  NonZeroExit: 'failed',
  StepTimedOut: 'timedOut',
  HostUnreachable: 'unreachable',
  AuthFailed: 'authFailed',
  HostKeyRejected: 'hostKeyRejected',
  StepInvalid: 'failed',
  NodeNotReady: 'unreachable',
  ImagePullFailed: 'failed',
  PodUnschedulable: 'unreachable',
  PodFailed: 'failed',
};
