import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What /metrics exposes; one registry per server so tests can run several in one process. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'ops_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: 'ops_http_request_duration_seconds',
    help: 'Time to answer HTTP requests (log streams excluded)',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly runsStarted = new Counter({ name: 'ops_runs_started_total', help: 'Runs started (any trigger), seen in Temporal visibility', labelNames: ['kind', 'trigger'], registers: [this.registry] });
  readonly runsFinished = new Counter({ name: 'ops_runs_finished_total', help: 'Runs that ended, by status and trigger', labelNames: ['kind', 'status', 'trigger'], registers: [this.registry] });
  readonly runDuration = new Histogram({
    name: 'ops_run_duration_seconds',
    help: 'Duration of runs that ended',
    labelNames: ['kind', 'status'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600],
    registers: [this.registry],
  });

  constructor(hostStates: () => Promise<Record<string, number>>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ops_server_' });
    new Gauge({
      name: 'ops_hosts',
      help: 'Defined hosts by the state of their last heartbeat (unknown: none seen yet)',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [state, count] of Object.entries(await hostStates())) this.set({ state }, count);
      },
    });
  }

  /** Counts each answered request under its route pattern (never the raw path, which has names in it). */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.httpDuration.startTimer();
      res.once('finish', () => {
        const route = req.route?.path ? `${req.baseUrl}${typeof req.route.path === 'string' ? req.route.path : '(multiple)'}` : 'unmatched';
        this.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
        if (res.get('content-type')?.startsWith('text/event-stream') !== true) end({ method: req.method, route });
      });
      next();
    };
  }
}
