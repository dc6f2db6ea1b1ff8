import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client } from '@temporalio/client';
import { SCHEDULE_ID_PREFIX } from '../model/naming';
import type { PlannedSchedule } from './schedule-plan';

/** Ops' Temporal Schedules: creating, updating and removing them, and reading their state. */

/** Ids of the schedules Ops keeps (visibility: one just created may show a moment later). */
export async function opsScheduleIds(client: Client): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) ids.add(s.scheduleId);
  return ids;
}

/**
 * Makes the schedule what the plan says. An update keeps its state: a paused schedule stays
 * paused (with its note), whatever the definitions say.
 */
export async function applySchedule(client: Client, planned: PlannedSchedule, exists: boolean): Promise<'created' | 'updated'> {
  const { scheduleId, state, ...options } = planned.options;
  if (!exists) {
    try {
      await client.schedule.create(planned.options);
      return 'created';
    } catch (e) {
      if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    }
  }
  try {
    await client.schedule.getHandle(scheduleId).update((current) => ({ ...options, state: { paused: current.state.paused, note: current.state.note, remainingActions: current.state.remainingActions } }));
    return 'updated';
  } catch (e) {
    if (!(e instanceof ScheduleNotFoundError)) throw e;
    await client.schedule.create({ ...planned.options, state });
    return 'created';
  }
}

/**
 * Starts the schedule's action once now, outside the schedule: unlike a trigger it is neither
 * skipped by the overlap policy while a run is going nor dropped for sharing a second with one.
 */
export async function runActionNow(client: Client, planned: PlannedSchedule, why: string): Promise<string> {
  const { workflowType, workflowId, taskQueue, args, typedSearchAttributes, workflowExecutionTimeout, staticSummary } = planned.options.action;
  const handle = await client.workflow.start(workflowType as string, {
    workflowId: `${workflowId}-${why}-${new Date().toISOString()}`,
    taskQueue,
    args: args ?? [],
    ...(typedSearchAttributes ? { typedSearchAttributes } : {}),
    ...(workflowExecutionTimeout ? { workflowExecutionTimeout } : {}),
    ...(staticSummary ? { staticSummary: `${staticSummary}, ${why}` } : {}),
  });
  return handle.workflowId;
}

export async function removeSchedule(client: Client, scheduleId: string): Promise<void> {
  await client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch((e: unknown) => {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
    });
}

export interface ScheduleState {
  paused: boolean;
  note?: string;
  /** The next times it fires (before jitter). */
  nextRuns: string[];
  /** Its latest runs, newest last. */
  recentRuns: Array<{ runId: string; scheduledAt: string; startedAt: string }>;
}

/** The schedule as Temporal has it now; undefined when it does not exist (yet). */
export async function scheduleState(client: Client, scheduleId: string): Promise<ScheduleState | undefined> {
  try {
    const d = await client.schedule.getHandle(scheduleId).describe();
    return {
      paused: d.state.paused,
      ...(d.state.note ? { note: d.state.note } : {}),
      nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
      recentRuns: d.info.recentActions.map((a) => ({ runId: a.action.workflow.workflowId, scheduledAt: a.scheduledAt.toISOString(), startedAt: a.takenAt.toISOString() })),
    };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return undefined;
    throw e;
  }
}
