import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { Trigger } from '../model/run';
import { OpsCluster, OpsPipeline, OpsRequester, OpsSchedule, OpsTask, OpsTrigger } from '../workflows/search-attributes';

/** Listing runs from Temporal visibility, so `ops get runs`, the API and Temporal Web agree. */

/** How a run stands; visibility adds the ways a workflow can end that Ops does not choose itself. */
export const RUN_STATES = ['running', 'succeeded', 'failed', 'cancelled', 'terminated', 'timedOut'] as const;
export type RunState = (typeof RUN_STATES)[number];

const EXECUTION_STATUS: Record<RunState, string> = {
  running: 'Running',
  succeeded: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  timedOut: 'TimedOut',
};

const STATE_OF_STATUS: Record<string, RunState> = {
  RUNNING: 'running',
  CONTINUED_AS_NEW: 'running',
  COMPLETED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timedOut',
};

/** A run's state from its workflow's status. */
export function runState(status: WorkflowExecutionInfo['status']['name']): RunState {
  return STATE_OF_STATUS[status] ?? 'running';
}

export interface RunFilter {
  kind?: 'pipeline' | 'task';
  pipeline?: string;
  task?: string;
  cluster?: string;
  status?: RunState;
  trigger?: Trigger;
  requester?: string;
  schedule?: string;
}

export interface RunSummary {
  id: string;
  kind: 'pipeline' | 'task';
  /** The pipeline's or the task's name. */
  name: string;
  status: RunState;
  trigger?: string;
  requester?: string;
  /** The schedule that started it. */
  schedule?: string;
  clusters: string[];
  startTime: string;
  closeTime?: string;
  durationMs?: number;
}

export interface RunPage {
  runs: RunSummary[];
  /** Pass back to get the next page; absent on the last one. */
  nextPageToken?: string;
}

/** Top-level runs only: pipeline runs, and task runs that no pipeline started. */
export function runQuery(filter: RunFilter): string {
  const clauses: string[] = [];
  if (filter.kind === 'pipeline' || filter.pipeline) clauses.push(`WorkflowType = 'pipelineRun'`);
  else if (filter.kind === 'task' || filter.task) clauses.push(`WorkflowType = 'taskRun' AND OpsPipeline IS NULL`);
  else clauses.push(`(WorkflowType = 'pipelineRun' OR (WorkflowType = 'taskRun' AND OpsPipeline IS NULL))`);
  const equal = (field: string, value: string | undefined) => {
    if (value !== undefined) clauses.push(`${field} = ${quote(value)}`);
  };
  equal('OpsPipeline', filter.pipeline);
  equal('OpsTask', filter.task);
  equal('OpsCluster', filter.cluster);
  equal('OpsTrigger', filter.trigger);
  equal('OpsRequester', filter.requester);
  equal('OpsSchedule', filter.schedule);
  if (filter.status) equal('ExecutionStatus', EXECUTION_STATUS[filter.status]);
  return clauses.join(' AND ');
}

/** Newest first, one page at a time; `query` replaces the filter's for callers that add time bounds. */
export async function listRuns(client: Client, filter: RunFilter, page: { size: number; token?: string }, query = runQuery(filter)): Promise<RunPage> {
  const { namespace, loadedDataConverter } = client.options;
  const response = await client.workflowService.listWorkflowExecutions({
    namespace,
    query,
    pageSize: page.size,
    nextPageToken: page.token ? Buffer.from(page.token, 'base64url') : undefined,
  });
  // A listing shows search attributes, not memos: they are dropped before decoding, so one run
  // encrypted with a key this process lacks does not break the whole listing.
  for (const raw of response.executions) raw.memo = null;
  const infos = await Promise.all(response.executions.map((raw) => executionInfoFromRaw(raw, loadedDataConverter, raw, namespace)));
  const next = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { runs: infos.map(runSummary), ...(next ? { nextPageToken: next } : {}) };
}

export function runSummary(info: Pick<WorkflowExecutionInfo, 'workflowId' | 'type' | 'status' | 'startTime' | 'closeTime' | 'typedSearchAttributes'>): RunSummary {
  const attrs = info.typedSearchAttributes;
  const kind = info.type === 'pipelineRun' ? 'pipeline' : 'task';
  const closeTime = info.closeTime?.toISOString();
  return {
    id: info.workflowId,
    kind,
    name: (kind === 'pipeline' ? attrs.get(OpsPipeline) : attrs.get(OpsTask)) ?? '',
    status: runState(info.status.name),
    trigger: attrs.get(OpsTrigger),
    requester: attrs.get(OpsRequester),
    ...(attrs.get(OpsSchedule) ? { schedule: attrs.get(OpsSchedule) } : {}),
    clusters: attrs.get(OpsCluster) ?? [],
    startTime: info.startTime.toISOString(),
    ...(closeTime ? { closeTime, durationMs: (info.closeTime as Date).getTime() - info.startTime.getTime() } : {}),
  };
}

/** A string literal of the visibility query language. */
function quote(value: string): string {
  if (/['"\\\n]/.test(value)) throw new Error(`filter value ${JSON.stringify(value)} may not contain quotes or backslashes`);
  return `'${value}'`;
}
