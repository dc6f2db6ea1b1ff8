import { Router } from 'express';
import type { EventHook } from '../../model/event-hook';
import { requireRole } from '../auth';
import { audited, auditAs } from '../audit';
import { HttpError } from '../errors';
import type { DefinitionStore } from '../store/definitions';
import type { ParkedEvents } from '../store/parked-events';
import type { HookService } from '../hooks/service';

/** Events an EventHook gave up on: list them, deliver them again (now, once), or discard them. */
export function hookRoutes(definitions: DefinitionStore, parked: ParkedEvents, hooks: HookService): Router {
  const router = Router();
  const hookOf = async (name: string): Promise<EventHook> => {
    const hook = await definitions.get('EventHook', name);
    if (!hook) throw new HttpError(404, `EventHook/${name} is not defined`);
    return hook as EventHook;
  };
  router.get('/eventhooks/:name/parked', requireRole('viewer'), async (req, res) => {
    const hook = await hookOf(String(req.params.name));
    res.json({ items: await parked.list(hook.metadata.name) });
  });
  router.post('/eventhooks/:name/parked/:id/replay', audited((p) => [`replay parked event ${p.id}`, `EventHook/${p.name}`]), requireRole('operator'), async (req, res) => {
    const hook = await hookOf(String(req.params.name));
    const outcome = await hooks.replay(hook, String(req.params.id));
    if (!outcome) throw new HttpError(404, `EventHook/${hook.metadata.name} has no parked event ${String(req.params.id)}`);
    auditAs(res, `replay parked event ${String(req.params.id)}: ${outcome.delivered ? 'delivered' : 'failed again'}`, `EventHook/${hook.metadata.name}`);
    // The replay itself worked either way; whether the event arrived is in `delivered`.
    res.json({ id: String(req.params.id), ...outcome });
  });
  router.post('/eventhooks/:name/replay', audited((p) => [`replay parked events`, `EventHook/${p.name}`]), requireRole('operator'), async (req, res) => {
    const hook = await hookOf(String(req.params.name));
    const results = [];
    for (const p of await parked.list(hook.metadata.name)) results.push({ id: p.id, ...(await hooks.replay(hook, p.id)) });
    const delivered = results.filter((r) => r.delivered).length;
    auditAs(res, `replay ${results.length} parked event(s): ${delivered} delivered`, `EventHook/${hook.metadata.name}`);
    res.json({ delivered, failed: results.length - delivered, items: results });
  });
  router.delete('/eventhooks/:name/parked/:id', audited((p) => [`discard parked event ${p.id}`, `EventHook/${p.name}`]), requireRole('operator'), async (req, res) => {
    const hook = await hookOf(String(req.params.name));
    if (!(await parked.remove(hook.metadata.name, String(req.params.id)))) throw new HttpError(404, `EventHook/${hook.metadata.name} has no parked event ${String(req.params.id)}`);
    res.json({ id: String(req.params.id), discarded: true });
  });
  return router;
}
