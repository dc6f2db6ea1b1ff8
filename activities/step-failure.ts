import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../model/failures';
import { mask } from './masker';

/** What a step failure carries besides its type and message, for the workflow (workflows/host-steps.ts) to read back. */
export interface StepFailureDetails {
  exitCode?: number;
  /** How long the script ran on the host, when it ran. */
  durationMs?: number;
  worker?: string;
  tail?: string;
  results?: Record<string, string>;
}

/** Raises one of the classified step failures workflows understand (model/failures.ts). */
export function stepFailure(type: FailureType, message: string, details: StepFailureDetails = {}): ApplicationFailure {
  return ApplicationFailure.create({ type, message, details: [details], nonRetryable: type !== FailureType.HostUnreachable });
}

/**
 * The error with the step's secret values masked in its message (and stack): a rendered path, or a
 * host's error quoting one, must not reach the run's history in clear.
 */
export function maskFailure(e: unknown, secrets: ReadonlyArray<string>): unknown {
  if (!(e instanceof Error) || !secrets.length || mask(e.message, secrets) === e.message) return e;
  if (e instanceof ApplicationFailure) return ApplicationFailure.create({ type: e.type ?? undefined, message: mask(e.message, secrets), details: e.details as unknown[], nonRetryable: e.nonRetryable ?? undefined });
  e.message = mask(e.message, secrets);
  e.stack = e.stack && mask(e.stack, secrets);
  return e;
}

/** A problem reaching the host (SSH) or node (its step pod), classified; thrown before anything ran there. */
export class ConnectError extends Error {
  constructor(
    readonly type: FailureType,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}
