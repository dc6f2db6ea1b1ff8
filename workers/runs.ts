import { WorkflowNotFoundError, type QueryDefinition, type SearchAttributePair } from '@temporalio/common';
import { decodeArrayFromPayloads, decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { HostResult, PipelineRunInput, PipelineRunResult, RunOrigin, RunStatus, TaskRunInput, TaskRunResult } from '../model/run';
import { CONTROL_TASK_QUEUE, clusterTaskQueue, newRunId, workerCommandFor } from '../model/naming';
import { taskQueueWorkers } from './cluster-workers';
import { runState, type RunState } from './run-list';
import type { pipelineRun, taskRun } from '../workflows';
import { OpsCluster, OpsPipeline, OpsRequester, OpsSchedule, OpsStatus, OpsTask, OpsTrigger } from '../workflows/search-attributes';
import { pipelineProgressQuery, taskProgressQuery, type PipelineProgress, type TaskProgress } from '../workflows/progress';
import { PIPELINE_RUN_FAILED, resultInFailure, TASK_RUN_FAILED } from '../workflows/run-failure';

/** Starting, following and reading runs; shared by the CLI and the API. */

export interface StartedRun {
  runId: string;
  kind: 'pipeline' | 'task';
  /** Only with `idempotent`: the run already existed (started by an earlier request), nothing new started. */
  existing?: boolean;
}

export interface StartOptions {
  /**
   * Start exactly this run id, or answer with the run that already has it (running or closed, within
   * the namespace's retention); never a second run and never a fresh id.
   */
  idempotent?: boolean;
}

/** How a run starts, whether now or each time a schedule fires: its workflow, queue, search attributes and summary. */
export interface RunStart {
  workflowType: 'pipelineRun' | 'taskRun';
  taskQueue: string;
  typedSearchAttributes: SearchAttributePair[];
  memo: { summary: string };
  staticSummary: string;
}

export function pipelineRunStart(input: PipelineRunInput, schedule?: string): RunStart {
  const clusters = [...new Set([...input.pipeline.spec.stages, ...input.pipeline.spec.finally].map((s) => s.cluster))];
  const name = input.pipeline.metadata.name;
  return {
    workflowType: 'pipelineRun',
    taskQueue: CONTROL_TASK_QUEUE,
    typedSearchAttributes: [{ key: OpsPipeline, value: name }, { key: OpsCluster, value: clusters }, ...originAttributes(input.origin, schedule)],
    memo: { summary: `pipeline ${name}: ${input.pipeline.spec.stages.map((s) => s.name).join(' → ')}` },
    staticSummary: `pipeline ${name}`,
  };
}

export function taskRunStart(input: TaskRunInput, schedule?: string): RunStart {
  const summary = `task ${input.task.name} on ${input.nodes ? 'nodes of the cluster' : `${input.hosts.length} host(s)`}`;
  return {
    workflowType: 'taskRun',
    taskQueue: clusterTaskQueue(input.cluster),
    typedSearchAttributes: [{ key: OpsTask, value: input.task.name }, { key: OpsCluster, value: [input.cluster] }, ...originAttributes(input.origin, schedule)],
    memo: { summary },
    staticSummary: summary,
  };
}

function originAttributes(origin: RunOrigin, schedule: string | undefined): SearchAttributePair[] {
  return [
    { key: OpsTrigger, value: origin.trigger },
    { key: OpsRequester, value: origin.requester },
    { key: OpsStatus, value: 'running' },
    ...(schedule ? [{ key: OpsSchedule, value: schedule }] : []),
  ];
}

/** Starts a pipeline run on the control queue; the id gets a fresh suffix if it is taken. */
export async function startPipelineRun(client: Client, input: PipelineRunInput, options: StartOptions = {}): Promise<StartedRun> {
  const { workflowType, ...start } = pipelineRunStart(input);
  return startRun('pipeline', input.runId, input.pipeline.metadata.name, options, (id, reuse) =>
    client.workflow.start<typeof pipelineRun>(workflowType, { workflowId: id, ...reuse, ...start, args: [{ ...input, runId: id }] }),
  );
}

/** Starts a task run straight on its cluster's queue. */
export async function startTaskRun(client: Client, input: TaskRunInput, options: StartOptions = {}): Promise<StartedRun> {
  const { workflowType, ...start } = taskRunStart(input);
  return startRun('task', input.runId, input.task.name, options, (id, reuse) =>
    client.workflow.start<typeof taskRun>(workflowType, { workflowId: id, ...reuse, ...start, args: [{ ...input, runId: id }] }),
  );
}

type ReusePolicy = { workflowIdReusePolicy?: 'REJECT_DUPLICATE' };

async function startRun(kind: StartedRun['kind'], id: string, name: string, options: StartOptions, start: (id: string, reuse: ReusePolicy) => Promise<unknown>): Promise<StartedRun> {
  if (options.idempotent) {
    try {
      await start(id, { workflowIdReusePolicy: 'REJECT_DUPLICATE' });
      return { runId: id, kind };
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) return { runId: id, kind, existing: true };
      throw e;
    }
  }
  for (let attempt = 0; ; attempt += 1) {
    const candidate = attempt === 0 ? id : newRunId(name);
    try {
      await start(candidate, {});
      return { runId: candidate, kind };
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 3) throw e;
    }
  }
}

export type RunInput = { kind: 'pipeline'; input: PipelineRunInput } | { kind: 'task'; input: TaskRunInput };

/** What a workflow execution started with: the first event of its history, its input decoded. */
export interface StartedWith {
  type: string;
  input: unknown;
  /** Started by another workflow (a pipeline's task run, a large task run's host group). */
  child: boolean;
}

/** Reads how an execution started; without a Temporal run id, its latest run. */
export async function startedWith(client: Client, execution: { workflowId: string; runId?: string }): Promise<StartedWith> {
  const { namespace, loadedDataConverter } = client.options;
  let history;
  try {
    history = await client.workflowService.getWorkflowExecutionHistory({ namespace, execution, maximumPageSize: 1 });
  } catch (e) {
    if ((e as { code?: number }).code === 5) throw new WorkflowNotFoundError(`no run ${execution.workflowId}`, execution.workflowId, execution.runId);
    throw e;
  }
  const started = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new WorkflowNotFoundError(`no run ${execution.workflowId}`, execution.workflowId, execution.runId);
  const [input] = await decodeArrayFromPayloads(loadedDataConverter, started.input?.payloads);
  return { type: started.workflowType?.name ?? '', input, child: Boolean(started.parentWorkflowExecution) };
}

/** The frozen input a run started with, read from the first event of its history. */
export async function runInput(client: Client, runId: string): Promise<RunInput> {
  const { type, input: decoded, child } = await startedWith(client, { workflowId: runId });
  if (type !== 'pipelineRun' && type !== 'taskRun') throw new WorkflowNotFoundError(`${runId} is not a pipeline or task run`, runId, undefined);
  // A run started on its own (not a pipeline's task) is named by its workflow id, as the workflow does.
  const input = child ? decoded : { ...(decoded as object), runId };
  return type === 'pipelineRun' ? { kind: 'pipeline', input: input as PipelineRunInput } : { kind: 'task', input: input as TaskRunInput };
}

/**
 * Why a run has no output of `host`, when the host is not one of the run's (undefined when it is, or
 * when the run's hosts are only found as it runs: nodes). Throws WorkflowNotFoundError for no run.
 */
export async function notAHostOfRun(client: Client, runId: string, host: string): Promise<string | undefined> {
  // A run's first event names its hosts.
  const started = await runInput(client, runId);
  const byNodes = started.kind === 'pipeline' ? Object.keys(started.input.nodeTargets ?? {}).length > 0 : Boolean(started.input.nodes);
  const hosts = started.input.hosts.map((h) => h.name);
  if (byNodes || hosts.includes(host)) return undefined;
  return `${host} is not a host of run ${runId} (its hosts: ${hosts.slice(0, 8).join(', ')}${hosts.length > 8 ? `, and ${hosts.length - 8} more` : ''})`;
}

/** Starts a new run from the same frozen input as an earlier one (definitions and variables as they were then). */
export async function rerun(client: Client, runId: string, origin: RunOrigin): Promise<StartedRun & { name: string }> {
  const previous = await runInput(client, runId);
  if (previous.kind === 'pipeline') {
    const name = previous.input.pipeline.metadata.name;
    return { ...(await startPipelineRun(client, { ...previous.input, runId: newRunId(name), origin })), name };
  }
  if (previous.input.runId !== runId) throw new WorkflowNotFoundError(`${runId} is one task of run ${previous.input.runId}: rerun that run`, runId, undefined);
  const name = previous.input.task.name;
  return { ...(await startTaskRun(client, { ...previous.input, runId: newRunId(name), origin })), name };
}

/** A cancel of a run that has already ended is refused, rather than answered "cancelling" (Temporal accepts it and does nothing). */
export class RunEndedError extends Error {
  constructor(runId: string, state: RunState) {
    super(`run ${runId} has already ended (${state})`);
    this.name = 'RunEndedError';
  }
}

/** Asks a run to stop; its `finally` stages still run. A workflow that is no run is not Ops' to cancel. */
export async function cancelRun(client: Client, runId: string): Promise<void> {
  const handle = client.workflow.getHandle(runId);
  const { type, status } = await handle.describe();
  if (type !== 'pipelineRun' && type !== 'taskRun') throw new WorkflowNotFoundError(`${runId} is not a pipeline or task run`, runId, undefined);
  const state = runState(status.name);
  if (state !== 'running') throw new RunEndedError(runId, state);
  await handle.cancel();
}

/** Resolves when the run has ended, however it ended. */
export async function whenRunEnds(client: Client, runId: string): Promise<void> {
  await client.workflow
    .getHandle(runId)
    .result()
    .catch(() => undefined);
}

export type RunOutcome = { kind: 'pipeline'; result: PipelineRunResult } | { kind: 'task'; result: TaskRunResult };

/** Waits for a run to end; failed runs carry their result in the failure. */
export async function runOutcome(client: Client, runId: string, known?: RunOutcome['kind']): Promise<RunOutcome> {
  const handle = client.workflow.getHandle(runId);
  const kind = known ?? ((await handle.describe()).type === 'pipelineRun' ? 'pipeline' : 'task');
  try {
    const result = await handle.result();
    return kind === 'pipeline' ? { kind, result: result as PipelineRunResult } : { kind, result: result as TaskRunResult };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const status = statusOf(err);
    const reason = failureMessage(err);
    if (kind === 'pipeline') {
      const result = resultInFailure<PipelineRunResult>(err, PIPELINE_RUN_FAILED);
      return { kind, result: result ?? { status, reason, stages: status === 'cancelled' ? await cancelledStages(client, runId) : [] } };
    }
    const result = resultInFailure<TaskRunResult>(err, TASK_RUN_FAILED);
    if (result) return { kind, result };
    const [task] = status === 'cancelled' ? await taskTree(client, runId) : [];
    return { kind, result: { name: task?.name ?? runId, status, reason, hosts: task ? endedHosts(task.hosts) : [], results: {} } };
  }
}

/**
 * A cancelled workflow returns nothing, but its progress still says how each stage, task and host
 * that started ended (cancelled, or done before the cancel): asked of the closed run, which a worker replays.
 */
async function cancelledStages(client: Client, runId: string): Promise<PipelineRunResult['stages']> {
  const { pipeline, tasks } = await queriedTree(client, runId, 'pipeline');
  const ended = <S extends string>(status: S) => (status === 'running' || status === 'waiting' ? 'cancelled' : status) as Exclude<S, 'running' | 'waiting'> | 'cancelled';
  return (pipeline?.stages ?? []).map((stage) => ({
    name: stage.name,
    status: stage.status === 'pending' ? 'skipped' : ended(stage.status),
    ...(stage.approval ? { approval: stage.approval } : {}),
    tasks: stage.tasks.flatMap((t) => {
      if (t.status === 'pending') return [];
      const hosts = tasks.find((tree) => tree.workflowId === t.workflowId)?.hosts ?? [];
      return [{ name: t.name, status: ended(t.status), ...(t.reason ? { reason: t.reason } : {}), hosts: endedHosts(hosts), results: {} }];
    }),
  }));
}

function endedHosts(hosts: TaskProgress['hosts']): HostResult[] {
  return hosts.flatMap(({ host, status, exitCode, message, worker }) =>
    status === 'running' ? [] : [{ host, status, ...(exitCode !== undefined ? { exitCode } : {}), ...(message ? { message } : {}), ...(worker ? { worker } : {}), steps: [], results: {} }],
  );
}

function statusOf(err: WorkflowFailedError): RunStatus {
  return err.cause?.name === 'CancelledFailure' ? 'cancelled' : 'failed';
}

function failureMessage(err: WorkflowFailedError): string {
  return err.cause?.message ?? err.message;
}

/** The progress of a run and of every task and host group under it, read with queries. */
export interface RunTree {
  runId: string;
  kind: 'pipeline' | 'task';
  closed: boolean;
  pipeline?: PipelineProgress;
  tasks: Array<TaskProgress & { workflowId: string }>;
  /** Why the run makes no progress: its workflow task keeps failing on the worker, or no worker polls its queue. */
  stuck?: string;
}

const QUERY_DEADLINE_MS = 5_000;

/**
 * A watcher that knows the run's kind asks the run alone; the run's description (closed, stuck)
 * is read only when the run does not answer, or when the kind is not known.
 */
export async function runTree(client: Client, runId: string, kind?: RunTree['kind']): Promise<RunTree> {
  const asked = kind ? await queriedTree(client, runId, kind) : undefined;
  const status = asked?.pipeline?.status ?? asked?.tasks[0]?.status;
  if (asked && status) return { ...asked, closed: status !== 'running' };
  const description = await client.workflow.getHandle(runId).describe();
  const closed = description.status.name !== 'RUNNING';
  const stuck = closed ? {} : await whyNoProgress(client, runId, description.taskQueue, description.raw.pendingWorkflowTask);
  return { ...(asked ?? (await queriedTree(client, runId, description.type === 'pipelineRun' ? 'pipeline' : 'task'))), closed, ...stuck };
}

async function queriedTree(client: Client, runId: string, kind: RunTree['kind']): Promise<Omit<RunTree, 'closed' | 'stuck'>> {
  if (kind === 'pipeline') {
    const pipeline = await query(client, client.workflow.getHandle(runId), pipelineProgressQuery);
    const ids = (pipeline?.stages ?? []).filter((s) => s.status !== 'pending').flatMap((s) => s.tasks.filter((t) => t.status !== 'waiting' && (t.status !== 'pending' || s.status === 'running')).map((t) => t.workflowId));
    const tasks = (await Promise.all(ids.map((id) => taskTree(client, id)))).flat();
    return { runId, kind, pipeline, tasks };
  }
  return { runId, kind, tasks: await taskTree(client, runId) };
}

/** No worker has taken a run's workflow task for this long: worth checking whether any polls its queue. */
const NOT_TAKEN_MS = 3_000;

/** Why a run that does not answer makes no progress, when Temporal's description says why. */
async function whyNoProgress(
  client: Client,
  runId: string,
  taskQueue: string,
  pending: temporal.api.workflow.v1.IPendingWorkflowTaskInfo | null | undefined,
): Promise<{ stuck?: string }> {
  const attempt = pending?.attempt ?? 0;
  if (attempt > 1) return { stuck: await workflowTaskFailure(client, runId, attempt) };
  const scheduled = pending?.scheduledTime?.seconds;
  if (!pending || pending.startedTime || !scheduled || Date.now() - Number(scheduled) * 1000 < NOT_TAKEN_MS) return {};
  // A worker that is only busy takes it soon; one that is not there is the operator's to start.
  if ((await taskQueueWorkers(client, taskQueue)).online) return {};
  return { stuck: `no worker polls its task queue ${taskQueue} (start one: ${workerCommandFor(taskQueue)})` };
}

/**
 * The last failure of a run's workflow task, for a run that cannot start or go on: a worker whose
 * codec keys differ from the starter's cannot read the input, and Temporal retries it for ever.
 */
async function workflowTaskFailure(client: Client, runId: string, attempt: number): Promise<string> {
  const prefix = `its workflow task has failed ${attempt - 1} time(s) on the worker`;
  const { namespace, loadedDataConverter } = client.options;
  const history = await client.workflowService.getWorkflowExecutionHistoryReverse({ namespace, execution: { workflowId: runId }, maximumPageSize: 20 });
  const failure = history.history?.events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure;
  try {
    const error = await decodeOptionalFailureToOptionalError(loadedDataConverter, failure);
    return error ? `${prefix}: ${error.message}` : prefix;
  } catch {
    return `${prefix}, with an error this process cannot decrypt: the worker and this process do not share a codec key ring (OPS_DATA_DIR or OPS_CODEC_KEYS_FILE)`;
  }
}

/** A task's progress with the hosts of its running groups folded in. */
async function taskTree(client: Client, workflowId: string): Promise<RunTree['tasks']> {
  const progress = await query(client, client.workflow.getHandle(workflowId), taskProgressQuery);
  if (!progress) return [];
  const groups = await Promise.all(progress.groups.map((id) => query(client, client.workflow.getHandle(id), taskProgressQuery)));
  const known = new Set(progress.hosts.map((h) => h.host));
  const hosts = [...progress.hosts, ...groups.flatMap((g) => g?.hosts ?? []).filter((h) => !known.has(h.host))];
  return [{ ...progress, workflowId, hosts }];
}

/** A query answered within a few seconds, or undefined (not started yet, or no worker to answer right now). */
export async function query<T>(client: Client, handle: WorkflowHandle, definition: QueryDefinition<T>): Promise<T | undefined> {
  try {
    return await askRun(client, handle, definition);
  } catch {
    // Not started yet, or no worker to answer right now: the next poll will see it.
    return undefined;
  }
}

/** A query answered within a few seconds; throws when the run does not answer, for callers that must tell that from "nothing". */
export function askRun<T>(client: Client, handle: WorkflowHandle, definition: QueryDefinition<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(definition));
}
