import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../model/failures';

/** Raises one of the classified step failures workflows understand (model/failures.ts). */
export function stepFailure(type: FailureType, message: string, details: { exitCode?: number; worker?: string; tail?: string; results?: Record<string, string> } = {}): ApplicationFailure {
  return ApplicationFailure.create({ type, message, details: [details], nonRetryable: type !== FailureType.HostUnreachable });
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
