import { defineQuery } from '@temporalio/workflow';
import type { HostResult, HostStatus, RunStatus } from '../model/run';
import type { ApprovalState } from '../model/approval';

export interface HostProgress {
  host: string;
  /** `running` while a step is under way; the final status once done. */
  status: HostStatus | 'running';
  step?: string;
  exitCode?: number;
  message?: string;
  worker?: string;
}

export interface TaskProgress {
  name: string;
  status: RunStatus;
  reason?: string;
  total: number;
  /** Hosts that started or finished; hosts not yet started are absent. */
  hosts: HostProgress[];
  /** Child workflows running parts of a large fan-out now; their own progress holds their hosts. */
  groups: string[];
}

export interface PipelineProgress {
  status: RunStatus;
  reason?: string;
  stages: Array<{
    name: string;
    cluster: string;
    finally: boolean;
    status: RunStatus | 'pending' | 'skipped';
    /** `waiting`: started, but no worker of the stage's cluster has picked it up yet (reason says which). */
    tasks: Array<{ name: string; workflowId: string; status: RunStatus | 'pending' | 'waiting'; reason?: string }>;
    /** An approval stage, once it waits: who may decide, the votes so far, the outcome. */
    approval?: ApprovalState;
  }>;
}

export const taskProgressQuery = defineQuery<TaskProgress>('taskProgress');
export const pipelineProgressQuery = defineQuery<PipelineProgress>('pipelineProgress');

export function hostProgressOf(result: HostResult): HostProgress {
  const last = result.steps[result.steps.length - 1];
  return {
    host: result.host,
    status: result.status,
    step: last?.step,
    exitCode: result.exitCode,
    message: result.message,
    worker: result.worker,
  };
}
