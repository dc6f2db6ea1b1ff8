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
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Retrying these cannot help within one attempt of the step; user-level `retries` decide instead. */
export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.NonZeroExit,
  FailureType.StepTimedOut,
  FailureType.AuthFailed,
  FailureType.HostKeyRejected,
  FailureType.StepInvalid,
];

export const HOST_STATUS_BY_FAILURE: Record<FailureType, HostStatus> = {
  NonZeroExit: 'failed',
  StepTimedOut: 'timedOut',
  HostUnreachable: 'unreachable',
  AuthFailed: 'authFailed',
  HostKeyRejected: 'hostKeyRejected',
  StepInvalid: 'failed',
};
