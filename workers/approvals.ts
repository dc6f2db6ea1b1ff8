import { isGrpcServiceError, ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { ApprovalRefusal, type ApprovalRequest, type ApprovalState } from '../model/approval';
import { decideApprovalUpdate } from '../workflows/approval';
import { pipelineProgressQuery } from '../workflows/progress';
import { AWAITING_APPROVAL } from '../workflows/search-attributes';
import { CONTROL_TASK_QUEUE, workerCommandFor } from '../model/naming';
import { taskQueueWorkers } from './cluster-workers';
import { listRuns, runQuery } from './run-list';
import { askRun } from './runs';

/** Deciding approval stages and finding the ones that wait, for the control plane. */

/** A decision the run refused, or could not take now; `type` says which (model/approval.ts). */
export class ApprovalRefused extends Error {
  override name = 'ApprovalRefused';
  constructor(
    readonly type: ApprovalRefusal | 'NoWorker',
    message: string,
  ) {
    super(message);
  }
}

/** A waiting approval and the run it belongs to. */
export type PendingApproval = ApprovalState & { runId: string; pipeline: string };

/** A run that waits for an approval but could not be asked which, nor on what terms. */
export interface UnreadApproval {
  runId: string;
  pipeline: string;
  status: 'unread';
  problem: string;
}

export type ListedApproval = PendingApproval | UnreadApproval;

/** How long a decision may wait for a control worker to take it; the run refuses it after that. */
const DECIDE_DEADLINE_MS = 30_000;
/** How much longer the answer of a decision taken just in time may take to come back. */
const ANSWER_GRACE_MS = 5_000;

const NO_CONTROL_WORKER = `no control worker answered (is "${workerCommandFor(CONTROL_TASK_QUEUE)}" running?)`;

/**
 * Sends a decision to the run. Resolves with the stage's state after it. A decision answered
 * NoWorker never takes effect: none is sent while no worker polls, and one that reaches the run
 * after its deadline (Temporal delivers it once a worker comes back) is refused by the run.
 */
export async function decideApproval(client: Client, runId: string, request: ApprovalRequest): Promise<ApprovalState> {
  const handle = await runningPipeline(client, runId);
  if (!(await taskQueueWorkers(client, CONTROL_TASK_QUEUE)).online) throw new ApprovalRefused('NoWorker', `run ${runId} cannot take the decision now: ${NO_CONTROL_WORKER}`);
  const notAfter = Date.now() + DECIDE_DEADLINE_MS;
  try {
    return await client.connection.withDeadline(notAfter + ANSWER_GRACE_MS, () => handle.executeUpdate(decideApprovalUpdate, { args: [{ ...request, notAfter }] }));
  } catch (e) {
    const cause = e instanceof WorkflowUpdateFailedError ? e.cause : undefined;
    const notTaken = `run ${runId} did not take the decision within ${DECIDE_DEADLINE_MS / 1000}s: ${NO_CONTROL_WORKER}; it will not take it later`;
    if (cause instanceof ApplicationFailure && cause.type === ApprovalRefusal.Expired) throw new ApprovalRefused('NoWorker', notTaken);
    if (cause instanceof ApplicationFailure && Object.values(ApprovalRefusal).includes(cause.type as ApprovalRefusal)) throw new ApprovalRefused(cause.type as ApprovalRefusal, cause.message);
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError || (isGrpcServiceError(e) && e.code === 4)) throw new ApprovalRefused('NoWorker', notTaken);
    if (isGrpcServiceError(e) && e.code === 5) throw new ApprovalRefused(ApprovalRefusal.NotPending, `run ${runId} ended before the decision arrived`);
    throw e;
  }
}

/** The one approval stage the run waits on now, for decisions that name none. */
export async function waitingStage(client: Client, runId: string): Promise<string> {
  const progress = await askRun(client, await runningPipeline(client, runId), pipelineProgressQuery).catch((e: unknown) => {
    throw new ApprovalRefused('NoWorker', `run ${runId} did not say which stage waits: ${whyNoAnswer(e)}`);
  });
  const waiting = progress.stages.filter((s) => s.approval?.status === 'pending').map((s) => s.name);
  if (waiting.length === 1) return waiting[0];
  throw new ApprovalRefused(ApprovalRefusal.NotPending, waiting.length ? `run ${runId} waits on several stages (${waiting.join(', ')}): name one` : `run ${runId} is not waiting for an approval`);
}

/** Why a run did not answer a query: no control worker to replay it, nearly always; Temporal's words when it was not a timeout. */
function whyNoAnswer(e: unknown): string {
  const cause = e instanceof ServiceError ? e.cause : e;
  const timedOut = isGrpcServiceError(cause) && cause.code === 4; // DEADLINE_EXCEEDED
  return timedOut ? NO_CONTROL_WORKER : `${NO_CONTROL_WORKER} (${(cause instanceof Error ? cause : (e as Error)).message})`;
}

async function runningPipeline(client: Client, runId: string): Promise<WorkflowHandle> {
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  if (description.type !== 'pipelineRun') throw new WorkflowNotFoundError(`${runId} is not a pipeline run`, runId, undefined);
  if (description.status.name !== 'RUNNING') throw new ApprovalRefused(ApprovalRefusal.NotPending, `run ${runId} has ended (${description.status.name.toLowerCase()})`);
  return handle;
}

/**
 * Approvals waiting now: runs whose OpsStatus says so (visibility), then each run's own state
 * (query). A run that does not answer is listed as unread, with why, rather than left out.
 */
export async function pendingApprovals(client: Client, filter: { pipeline?: string }, limit: number): Promise<ListedApproval[]> {
  const runs = { kind: 'pipeline' as const, pipeline: filter.pipeline, status: 'running' as const };
  const page = await listRuns(client, runs, { size: limit }, `${runQuery(runs)} AND OpsStatus = '${AWAITING_APPROVAL}'`);
  const found = await Promise.all(
    page.runs.map(async (run): Promise<ListedApproval[]> => {
      try {
        const progress = await askRun(client, client.workflow.getHandle(run.id), pipelineProgressQuery);
        return progress.stages.flatMap((s) => (s.approval?.status === 'pending' ? [{ ...s.approval, runId: run.id, pipeline: run.name }] : []));
      } catch (e) {
        return [{ runId: run.id, pipeline: run.name, status: 'unread', problem: `the run did not say what it waits for: ${whyNoAnswer(e)}` }];
      }
    }),
  );
  return found.flat();
}
