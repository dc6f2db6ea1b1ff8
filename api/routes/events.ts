import { Router } from 'express';
import type { NatsConnection } from 'nats';
import { followEvents, readEvents } from '../events';
import { requireRole } from '../auth';
import { HttpError, parseRequest } from '../errors';
import { eventsQuery } from '../schemas';

const KEEP_ALIVE_MS = 15_000;
/** Without since or after, a listing starts this long ago. */
const DEFAULT_SINCE_MS = 3600_000;

/**
 * GET /api/v1/events: events the hub keeps (every cluster's, aggregated), oldest first, as JSON; with
 * follow=true as Server-Sent Events (`event` events, id = stream sequence; resume with Last-Event-ID).
 */
export function eventRoutes(nats: NatsConnection | undefined, log: (message: string) => void): Router {
  const router = Router();
  router.get('/events', requireRole('viewer'), async (req, res) => {
    const query = parseRequest(eventsQuery, req.query, 'query');
    if (!nats) throw new HttpError(503, 'events need NATS, and this server has none (OPS_NATS_URL=off)');
    const lastEventId = req.get('last-event-id');
    const after = lastEventId && /^\d+$/.test(lastEventId) ? Number(lastEventId) : query.after;
    const from = { subject: query.subject, after, since: after === undefined ? (query.since ?? new Date(Date.now() - DEFAULT_SINCE_MS)) : undefined };
    if (!query.follow) return void res.json({ items: await readEvents(nats, { ...from, limit: query.limit }) });
    const stop = new AbortController();
    req.on('close', () => stop.abort());
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no', Connection: 'keep-alive' });
    res.flushHeaders();
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    try {
      await followEvents(nats, from, (e) => res.write(`id: ${e.seq}\nevent: event\ndata: ${JSON.stringify(e)}\n\n`), stop.signal, log);
    } finally {
      clearInterval(keepAlive);
      res.end();
    }
  });
  return router;
}
