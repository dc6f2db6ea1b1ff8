import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Catalog } from '../model/catalog';
import { planSchedules, type PlannedSchedule, type ScheduleProblem } from '../workers/schedule-plan';
import { applySchedule, opsScheduleIds, removeSchedule, runActionNow } from '../workers/schedules';
import { canonicalJson } from './store/definitions';
import type { SchedulePauses } from './store/schedule-pauses';
import type { HeartbeatInput } from '../workflows/heartbeat-run';

/**
 * Keeps Temporal's schedules what the definitions call for: creates the missing, updates those
 * whose plan changed, deletes those no definition wants any more (a removed cluster's heartbeat,
 * a deleted Schedule, one that can no longer be planned: `problems` says why).
 */
export class ScheduleReconciler {
  readonly name = 'schedules';
  /** The plan each schedule was last brought to by this process; at start every schedule is updated once. */
  private readonly applied = new Map<string, string>();
  /** The hosts of each heartbeat as last planned, so a host added gets its first beat at once. */
  private readonly beating = new Map<string, Set<string>>();
  problems: ScheduleProblem[] = [];

  constructor(
    private readonly temporal: Client,
    private readonly pauses: SchedulePauses,
    private readonly log: (message: string) => void,
  ) {}

  async reconcile(catalog: Catalog): Promise<void> {
    const plan = planSchedules(catalog);
    const paused = await this.pauses.all();
    const schedules = plan.schedules.map((s) => keepPause(s, paused));
    this.problems = plan.problems;
    const existing = await opsScheduleIds(this.temporal);
    for (const planned of schedules) {
      const id = planned.options.scheduleId;
      const hash = planHash(planned);
      if (existing.has(id) && this.applied.get(id) === hash) continue;
      const outcome = await applySchedule(this.temporal, planned, existing.has(id));
      this.applied.set(id, hash);
      if (outcome === 'created') this.log(`schedule ${id} created (${planned.kind} ${planned.name})`);
      else if (this.hostsAdded(planned)) this.log(`schedule ${id}: hosts added, heartbeat ${await runActionNow(this.temporal, planned, 'hosts-added')} started`);
      if (planned.kind === 'heartbeat') this.beating.set(id, new Set(heartbeatHosts(planned)));
    }
    const wanted = new Set(schedules.map((s) => s.options.scheduleId));
    for (const id of existing) {
      if (wanted.has(id)) continue;
      await removeSchedule(this.temporal, id);
      this.applied.delete(id);
      this.beating.delete(id);
      this.log(`schedule ${id} deleted: no definition calls for it any more`);
    }
  }

  private hostsAdded(planned: PlannedSchedule): boolean {
    const before = this.beating.get(planned.options.scheduleId);
    return planned.kind === 'heartbeat' && before !== undefined && heartbeatHosts(planned).some((h) => !before.has(h));
  }
}

/**
 * A Schedule the operator paused is created paused, with its note: a schedule deleted while its
 * definition could not be planned must not come back running. An update keeps Temporal's state.
 */
function keepPause(planned: PlannedSchedule, paused: Map<string, string>): PlannedSchedule {
  const note = planned.kind === 'schedule' ? paused.get(planned.name) : undefined;
  return note === undefined ? planned : { ...planned, options: { ...planned.options, state: { ...planned.options.state, paused: true, note } } };
}

function heartbeatHosts(planned: PlannedSchedule): string[] {
  return ((planned.options.action.args?.[0] as HeartbeatInput | undefined)?.hosts ?? []).map((h) => h.name);
}

function planHash(planned: PlannedSchedule): string {
  const { state: _state, ...options } = planned.options;
  return createHash('sha256').update(canonicalJson(options)).digest('hex');
}
