// Where a product run spent its time, read back from the Temporal histories of the task run and
// its host-group children (event timestamps are the server's clock, the same machine's as ours).
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';
import type { TaskRunResult } from '../model/run';

const EventType = temporal.api.enums.v1.EventType;
const STEP_ACTIVITIES = new Set(['sshShell', 'sshFile', 'kubeShell', 'kubeFile', 'kubectl']);
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface RunBreakdown {
  /** CLI spawn → taskRun WorkflowExecutionStarted: node start-up, module loading, parsing, planning, connecting, the start RPC. */
  cliToStartMs: number;
  /** taskRun started → first sshShell activity scheduled (first workflow tasks, child workflows started). */
  startToFirstScheduleMs: number;
  /** Per activity: scheduled → started (waiting for a worker poll). */
  scheduleToStartMs: number[];
  /** Per activity: started → completed, as the server saw it. */
  executionMs: number[];
  /** Per activity: the wrapper's exec on the host, as the activity measured it (durationMs of the step result). */
  execMs: number[];
  /** First activity scheduled → last activity completed. */
  activitySpanMs: number;
  /** Last activity completed → taskRun completed (the workflow tasks that record results, children closing). */
  lastActivityToCloseMs: number;
  /** taskRun completed → CLI exit (watch poll interval, result fetch, process exit). */
  closeToExitMs: number;
  /** Most activities running at once (started, not yet completed). */
  peakInFlight: number;
  /** Activities started per second, from the first to the last start. */
  startRate: number;
  /** Events in all histories of the run, and workflow tasks among them. */
  events: number;
  workflowTasks: number;
}

export async function runBreakdown(client: Client, runId: string, spawnAt: number, exitAt: number): Promise<RunBreakdown> {
  const parent = (await client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  const childIds = parent.flatMap((e) => (e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId] : []));
  const children = await Promise.all(childIds.map(async (id) => (await client.workflow.getHandle(id).fetchHistory()).events ?? []));
  const all = [parent, ...children];
  const time = (e: HistoryEvent) => tsToMs(e.eventTime);
  const first = (events: HistoryEvent[], type: number) => events.find((e) => e.eventType === type);

  const started = time(first(parent, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) as HistoryEvent);
  const closed = parent.find((e) => [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED].includes(e.eventType as number));
  const scheduleToStartMs: number[] = [];
  const executionMs: number[] = [];
  const scheduledTimes: number[] = [];
  const completedTimes: number[] = [];
  const intervals: Array<[number, number]> = [];
  // Steps only: the run's status events are activities too, but not the fan-out's.
  const isStep = (e: HistoryEvent | undefined) => STEP_ACTIVITIES.has(e?.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
  for (const events of all) {
    const byId = new Map(events.map((e) => [Number(e.eventId), e]));
    for (const e of events) {
      if (isStep(e)) scheduledTimes.push(time(e));
      const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
      if (!done) continue;
      const scheduled = byId.get(Number(done.scheduledEventId));
      const start = byId.get(Number(done.startedEventId));
      if (!scheduled || !start || !isStep(scheduled)) continue;
      scheduleToStartMs.push(time(start) - time(scheduled));
      executionMs.push(time(e) - time(start));
      completedTimes.push(time(e));
      intervals.push([time(start), time(e)]);
    }
  }
  let execMs: number[] = [];
  try {
    const result = (await client.workflow.getHandle(runId).result()) as TaskRunResult;
    execMs = result.hosts.flatMap((h) => h.steps.flatMap((s) => (s.durationMs !== undefined ? [s.durationMs] : [])));
  } catch {
    // A failed run: the breakdown still stands without the per-step durations.
  }
  const firstScheduled = Math.min(...scheduledTimes);
  const lastCompleted = Math.max(...completedTimes);
  const closedAt = closed ? time(closed) : NaN;
  const edges = intervals.flatMap(([a, b]) => [[a, 1], [b, -1]] as Array<[number, number]>).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let inFlight = 0;
  let peakInFlight = 0;
  for (const [, delta] of edges) peakInFlight = Math.max(peakInFlight, (inFlight += delta));
  const starts = intervals.map(([a]) => a);
  const startSpan = (Math.max(...starts) - Math.min(...starts)) / 1000;
  return {
    cliToStartMs: started - spawnAt,
    startToFirstScheduleMs: firstScheduled - started,
    scheduleToStartMs,
    executionMs,
    execMs,
    activitySpanMs: lastCompleted - firstScheduled,
    lastActivityToCloseMs: closedAt - lastCompleted,
    closeToExitMs: exitAt - closedAt,
    peakInFlight,
    startRate: startSpan > 0 ? starts.length / startSpan : NaN,
    events: all.reduce((n, events) => n + events.length, 0),
    workflowTasks: all.reduce((n, events) => n + events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length, 0),
  };
}
