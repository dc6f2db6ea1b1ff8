import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import type { EventHook } from '../model/event-hook';
import { EVENTS_STREAM, inspectionScheduleId, userScheduleId } from '../model/naming';
import { formatIssue } from '../model/errors';
import { scheduleState } from '../workers/schedules';
import type { DefinitionRouteOptions } from './routes/definitions';
import type { FleetStatus } from './fleet-status';
import type { ScheduleReconciler } from './schedule-reconciler';
import type { ParkedEvents } from './store/parked-events';
import { hookConsumerName } from './hooks/service';

export interface StatusSources {
  temporal: Client;
  nats?: NatsConnection;
  fleet: FleetStatus;
  schedules: ScheduleReconciler;
  parked: ParkedEvents;
}

/**
 * The `status` the API adds to definitions, from what Ops observes: a host's last heartbeat, a
 * schedule's state in Temporal (or why it has none), an inspection's verdicts, a hook's backlog.
 */
export function definitionStatuses(s: StatusSources): DefinitionRouteOptions['status'] {
  const problemsOf = (document: string) => {
    const found = s.schedules.problems.filter((p) => p.of === document).map((p) => formatIssue(p.issue));
    return found.length ? { problems: found } : {};
  };
  const temporalSchedule = async (id: string, document: string) => {
    const state = await scheduleState(s.temporal, id);
    return { scheduled: Boolean(state), ...(state ?? {}), ...problemsOf(document) };
  };
  return {
    Host: async (r) => s.fleet.host(r.metadata.name) ?? { state: 'unknown' },
    Schedule: (r) => temporalSchedule(userScheduleId(r.metadata.name), `Schedule/${r.metadata.name}`),
    Inspection: async (r) => ({ results: s.fleet.inspection(r.metadata.name), ...(await temporalSchedule(inspectionScheduleId(r.metadata.name), `Inspection/${r.metadata.name}`)) }),
    EventHook: async (r) => {
      const parked = await s.parked.count(r.metadata.name);
      const info = await s.nats
        ?.jetstreamManager()
        .then((jsm) => jsm.consumers.info(EVENTS_STREAM, hookConsumerName(r as EventHook)))
        .catch(() => undefined);
      return { parked, ...(info ? { pending: info.num_pending, delivering: info.num_ack_pending, redelivered: info.num_redelivered } : {}) };
    },
  };
}
