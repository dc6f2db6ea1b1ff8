import { Router } from 'express';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { userScheduleId } from '../../model/naming';
import { principalOf, requireRole } from '../auth';
import { audited, auditAs } from '../audit';
import { HttpError, parseRequest } from '../errors';
import { scheduleBackfillRequest, schedulePauseRequest, scheduleTriggerRequest } from '../schemas';
import type { DefinitionStore } from '../store/definitions';
import type { SchedulePauses } from '../store/schedule-pauses';
import { scheduleState } from '../../workers/schedules';

const OVERLAP = { skip: 'SKIP', bufferOne: 'BUFFER_ONE', bufferAll: 'BUFFER_ALL', cancelOther: 'CANCEL_OTHER', terminateOther: 'TERMINATE_OTHER', allowAll: 'ALLOW_ALL' } as const;

/**
 * What Temporal does with a Schedule besides keeping it in step with its definition: pause and
 * unpause (kept in the store too, so the pause outlives the Temporal schedule: see SchedulePauses),
 * start a run now, and start the runs of a past period.
 * The definition itself is the generic PUT/GET/DELETE of /api/v1/schedules/NAME.
 */
export function scheduleRoutes(definitions: DefinitionStore, pauses: SchedulePauses, temporal: Client): Router {
  const router = Router();
  const handleOf = async (name: string) => {
    if (!(await definitions.get('Schedule', name))) throw new HttpError(404, `Schedule/${name} is not defined`);
    return temporal.schedule.getHandle(userScheduleId(name));
  };
  const act = (verb: string, run: (name: string, body: unknown, who: string) => Promise<string>) =>
    router.post(`/schedules/:name/${verb}`, audited((p) => [`${verb} schedule ${p.name}`, `Schedule/${p.name}`]), requireRole('operator'), async (req, res) => {
      const name = String(req.params.name);
      try {
        const done = await run(name, req.body, principalOf(res)?.name ?? 'unknown');
        auditAs(res, `${verb} schedule ${name}: ${done}`, `Schedule/${name}`);
        res.json({ schedule: name, result: done, ...(await scheduleState(temporal, userScheduleId(name))) });
      } catch (e) {
        if (e instanceof ScheduleNotFoundError) throw new HttpError(409, `Schedule/${name} has no Temporal schedule: it cannot be planned now (GET /api/v1/schedules/${name} says why)`);
        throw e;
      }
    });
  act('pause', async (name, body, who) => {
    const { note } = parseRequest(schedulePauseRequest, body, 'body');
    const said = `paused by ${who}${note ? `: ${note}` : ''}`;
    await (await handleOf(name)).pause(said);
    await pauses.pause(name, said);
    return 'paused';
  });
  act('unpause', async (name, body, who) => {
    const { note } = parseRequest(schedulePauseRequest, body, 'body');
    await (await handleOf(name)).unpause(`unpaused by ${who}${note ? `: ${note}` : ''}`);
    await pauses.unpause(name);
    return 'active';
  });
  act('trigger', async (name, body) => {
    const { overlap } = parseRequest(scheduleTriggerRequest, body, 'body');
    await (await handleOf(name)).trigger(overlap ? OVERLAP[overlap] : undefined);
    return 'a run starts now';
  });
  act('backfill', async (name, body) => {
    const b = parseRequest(scheduleBackfillRequest, body, 'body');
    // Backfilled runs are all due at once: by default they run one after another rather than skip each other.
    await (await handleOf(name)).backfill({ start: new Date(b.start), end: new Date(b.end), overlap: OVERLAP[b.overlap ?? 'bufferAll'] });
    return `runs due from ${b.start} to ${b.end} start now`;
  });
  return router;
}
