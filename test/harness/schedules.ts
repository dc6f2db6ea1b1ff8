// Starting a Temporal Schedule's run now, as a test needs it.
import type { Client } from '@temporalio/client';

/**
 * Triggers the schedule and waits until Temporal took the action. Scheduled runs are named by the
 * second they start in, so a trigger in the same second as the run before is dropped: try again.
 */
export async function triggerSchedule(client: Client, scheduleId: string): Promise<string> {
  const handle = client.schedule.getHandle(scheduleId);
  const runs = async () => (await handle.describe()).info.recentActions.map((a) => a.action.workflow);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const before = new Set((await runs()).map((w) => w.firstExecutionRunId));
    await handle.trigger();
    for (const deadline = Date.now() + 3000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const started = (await runs()).find((w) => !before.has(w.firstExecutionRunId));
      if (started) return started.workflowId;
    }
    await new Promise((r) => setTimeout(r, 1100));
  }
  throw new Error(`schedule ${scheduleId} took no trigger`);
}
