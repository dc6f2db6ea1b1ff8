import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { readLogs } from '../logs';
import { notAHostOfRun, whenRunEnds } from '../../workers/runs';
import { requireRole } from '../auth';
import { HttpError, parseRequest } from '../errors';
import { logsQuery } from '../schemas';

/** Output still published after the run ends (the last flush) is read for this long before closing. */
const DRAIN_MS = 1000;
const KEEP_ALIVE_MS = 15_000;

/**
 * GET …/runs/:id/logs: a run's output as Server-Sent Events, one `log` event per published chunk
 * with the stream sequence as its id, so a client resumes with Last-Event-ID (or ?after=).
 * With follow=true it stays open until the run ends; an `end` event closes the stream, an `error`
 * event (NATS did not answer) ends it without all the output.
 */
export function logRoutes(temporal: Client, nats: NatsConnection | undefined): Router {
  const router = Router();
  router.get(['/runs/:id/logs', '/pipelineruns/:id/logs', '/taskruns/:id/logs'], requireRole('viewer'), async (req, res) => {
    const query = parseRequest(logsQuery, req.query, 'query');
    const lastEventId = req.get('last-event-id');
    const after = lastEventId && /^\d+$/.test(lastEventId) ? Number(lastEventId) : query.after;
    if (!nats) throw new HttpError(503, 'run output needs NATS, and this server has none (OPS_NATS_URL=off)');
    const runId = String(req.params.id);
    await temporal.workflow.getHandle(runId).describe(); // 404 for an unknown run
    // A host the run does not target has no output: 404 rather than an empty stream that looks like silence.
    const notAHost = query.host ? await notAHostOfRun(temporal, runId, query.host) : undefined;
    if (notAHost) throw new HttpError(404, notAHost);
    const stop = new AbortController();
    req.on('close', () => stop.abort());
    if (query.follow) void whenRunEnds(temporal, runId).then(() => setTimeout(() => stop.abort(), DRAIN_MS));
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no', Connection: 'keep-alive' });
    res.flushHeaders();
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    try {
      for await (const chunk of readLogs(nats, runId, { host: query.host, follow: query.follow, after, signal: stop.signal })) {
        res.write(`id: ${chunk.seq}\nevent: ${chunk.stream === 'status' ? 'status' : 'log'}\ndata: ${JSON.stringify(chunk)}\n\n`);
      }
      if (!req.destroyed) res.write('event: end\ndata: {}\n\n');
    } catch (e) {
      // The answer has started (200): an `error` event, not `end`, so a reader never takes it for all the output.
      res.write(`event: error\ndata: ${JSON.stringify({ error: 'Service Unavailable', message: `could not read the run's output from NATS: ${(e as Error).message}` })}\n\n`);
    } finally {
      clearInterval(keepAlive);
      res.end();
    }
  });
  return router;
}
