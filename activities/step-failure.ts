import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../model/failures';

/** Raises one of the classified step failures workflows understand (model/failures.ts). */
export function stepFailure(type: FailureType, message: string, details: { exitCode?: number; worker?: string; tail?: string } = {}): ApplicationFailure {
  return ApplicationFailure.create({ type, message, details: [details], nonRetryable: type !== FailureType.HostUnreachable });
}

/** A connection problem, classified; thrown by the SSH layer before anything ran on the host. */
export class ConnectError extends Error {
  constructor(
    readonly type: typeof FailureType.HostUnreachable | typeof FailureType.AuthFailed | typeof FailureType.HostKeyRejected,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}
