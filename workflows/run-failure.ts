import type { PipelineRunResult, TaskRunResult } from '../model/run';

/** Failure types of runs that ended failed; their first detail is the run's full result. */
export const TASK_RUN_FAILED = 'TaskRunFailed';
export const PIPELINE_RUN_FAILED = 'PipelineRunFailed';

interface FailureLike {
  type?: string | null;
  details?: unknown[] | null;
  cause?: unknown;
}

/** Finds a run's result in a failure chain (workflow, child workflow and application failures). */
export function resultInFailure<T extends TaskRunResult | PipelineRunResult>(err: unknown, type: string): T | undefined {
  for (let f = err as FailureLike | undefined; f; f = f.cause as FailureLike | undefined) {
    if (f.type === type && f.details?.length) return f.details[0] as T;
  }
  return undefined;
}
