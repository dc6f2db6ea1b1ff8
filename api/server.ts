import type { AddressInfo } from 'node:net';
import express, { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { NatsConnection } from 'nats';
import { connectNats } from '../activities/nats';
import type { OpsConfig } from '../workers/config';
import { connectClient, payloadCodec } from '../workers/temporal';
import { ensureSearchAttributes } from '../workers/search-attributes';
import { startWorkers, type RunningWorkers } from '../workers/worker';
import { openStore, type Store } from './store';
import { authenticate } from './auth';
import { auditTrail } from './audit';
import { errorHandler, requireJsonBody, sendError } from './errors';
import { Metrics } from './metrics';
import { FleetStatus } from './fleet-status';
import { EventHub } from './event-hub';
import { Reconciler } from './reconciler';
import { ScheduleReconciler } from './schedule-reconciler';
import { HookService } from './hooks/service';
import { definitionStatuses } from './statuses';
import { scheduleRoutes } from './routes/schedules';
import { hookRoutes } from './routes/hooks';
import { eventRoutes } from './routes/events';
import { CredentialStore } from '../activities/credentials';
import { watchRunMetrics } from './run-metrics';
import { openApiDocument } from './openapi';
import { opsVersion } from '../workers/version';
import { definitionRoutes } from './routes/definitions';
import { clusterRoutes } from './routes/clusters';
import { runRoutes } from './routes/runs';
import { logRoutes } from './routes/logs';
import { adminRoutes } from './routes/admin';
import { approvalRoutes } from './routes/approvals';
import { codecOrigins, codecRoutes } from './codec';

export interface ServerContext {
  store: Store;
  temporal: Client;
  /** Absent when OPS_NATS_URL is "off": log streaming then answers 503. */
  nats?: NatsConnection;
  config: OpsConfig;
  /** Decodes payloads for Temporal Web (POST /codec/decode). */
  codec: PayloadCodec;
  metrics: Metrics;
  fleet: FleetStatus;
  schedules: ScheduleReconciler;
  hooks?: HookService;
  /** Brings schedules, the hub's streams and hook consumers in step after a definition changed. */
  reconciler: Pick<Reconciler, 'request'>;
  log: (message: string) => void;
}

const CHECK_TIMEOUT_MS = 2000;

/** The express app: the API under /api/v1, and the unauthenticated probes, metrics and OpenAPI. */
export function createApp(ctx: ServerContext): express.Express {
  const { store, temporal, nats, config, codec, metrics, fleet, schedules, hooks, reconciler, log } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.use(metrics.middleware());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await readiness(ctx);
    const ready = Object.values(checks).every((c) => c === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const openapi = openApiDocument(opsVersion());
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  app.use('/codec', codecRoutes({ codec, tokens: store.tokens, audit: store.audit, namespace: config.namespace, origins: codecOrigins() }));

  const api = Router();
  api.use(authenticate(store.tokens));
  api.use(auditTrail(store.audit));
  api.use(requireJsonBody);
  api.use(express.json({ limit: '4mb' }));
  api.use(clusterRoutes(store.definitions, temporal, fleet));
  api.use(scheduleRoutes(store.definitions, store.schedulePauses, temporal));
  if (hooks) api.use(hookRoutes(store.definitions, store.parkedEvents, hooks));
  api.use(definitionRoutes(store.definitions, { status: definitionStatuses({ temporal, nats, fleet, schedules, parked: store.parkedEvents }), changed: () => reconciler.request() }));
  api.use(eventRoutes(nats, log));
  api.use(runRoutes({ store, temporal, config }));
  api.use(logRoutes(temporal, nats));
  api.use(approvalRoutes(temporal, config));
  api.use(adminRoutes(store));
  api.use((req, res) => sendError(res, 404, `no such API: ${req.method} /api/v1${req.path}`));
  app.use('/api/v1', api);
  app.use(errorHandler(log));
  return app;
}

/** Each dependency answers within 2 s, or the server is not ready. */
async function readiness({ store, temporal, nats }: ServerContext): Promise<Record<string, string>> {
  const check = (work: () => Promise<unknown>) =>
    Promise.race([
      work().then(() => 'ok'),
      new Promise<string>((r) => setTimeout(() => r(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS).unref()),
    ]).catch((e: Error) => e.message);
  const [temporalCheck, natsCheck, storeCheck] = await Promise.all([
    check(() => temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.workflowService.getSystemInfo({}))),
    nats ? check(() => nats.flush()) : Promise.resolve('ok (disabled: OPS_NATS_URL=off)'),
    check(() => store.db.query('SELECT 1')),
  ]);
  return { temporal: temporalCheck, nats: natsCheck, store: storeCheck };
}


export interface ServerOptions {
  config: OpsConfig;
  port: number;
  host: string;
  /** PostgreSQL URL; without it, PGlite in the data directory. */
  databaseUrl?: string;
  /** Also run the control worker (pipeline runs) in this process. */
  controlWorker?: boolean;
  /** Create an admin token when the store has none, and return it (the embedded stack prints it). */
  bootstrapAdmin?: boolean;
  /** How often run metrics are read from visibility. */
  metricsIntervalMs?: number;
  log?: (message: string) => void;
}

export interface RunningServer {
  url: string;
  store: Store;
  /** Set when `bootstrapAdmin` created one; shown once. */
  adminToken?: string;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? console.error;
  const { config } = options;
  const store = await openStore({ databaseUrl: options.databaseUrl, dataDir: config.dataDir }, log);
  const cleanup: Array<() => Promise<unknown>> = [() => store.close()];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await step().catch((e: Error) => log(`shutdown: ${e.message}`));
  };
  try {
    const adminToken = options.bootstrapAdmin && !(await store.tokens.hasActiveAdmin()) ? (await store.tokens.create('admin', 'admin', 'ops up')).token : undefined;
    const temporal = await connectClient(config);
    cleanup.push(() => temporal.connection.close());
    // Run listings filter on Ops' search attributes, whether or not a worker has started yet.
    await ensureSearchAttributes(temporal.connection, config.namespace);
    const nats = config.natsUrl === 'off' ? undefined : await connectNats(config.natsUrl, { name: 'ops-server', maxReconnectAttempts: -1 });
    if (nats) cleanup.push(() => nats.close());
    const fleet = new FleetStatus(store.definitions);
    cleanup.push(async () => fleet.close());
    const metrics = new Metrics(() => fleet.counts());
    const runWatch = watchRunMetrics(temporal, metrics, options.metricsIntervalMs ?? 10_000, log);
    cleanup.push(async () => runWatch.stop());
    let workers: RunningWorkers | undefined;
    if (options.controlWorker) {
      workers = await startWorkers(config, { control: true }, log);
      cleanup.push(() => (workers as RunningWorkers).shutdown());
    }
    // The hub's streams first (hook consumers and the fleet status read them), then schedules, then hooks.
    const schedules = new ScheduleReconciler(temporal, store.schedulePauses, log);
    const hooks = nats ? new HookService({ nc: nats, temporal, definitions: store.definitions, credentials: CredentialStore.load(config.credentialsFile), parked: store.parkedEvents }, log) : undefined;
    const reconciler = new Reconciler(store.definitions, [...(nats ? [new EventHub(nats, config.eventLimits)] : []), schedules, ...(hooks ? [hooks] : [])], log);
    await reconciler.start();
    cleanup.push(async () => {
      await reconciler.stop();
      await hooks?.stop();
    });
    if (nats) fleet.follow(nats, log);
    const app = createApp({ store, temporal, nats, config, codec: payloadCodec(config, { createKeys: true }), metrics, fleet, schedules, hooks, reconciler, log });
    const server = await new Promise<import('node:http').Server>((resolveListen, reject) => {
      const s = app.listen(options.port, options.host, () => resolveListen(s));
      s.once('error', reject);
    });
    cleanup.push(
      () =>
        new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections(); // log streams would otherwise hold the close open
        }),
    );
    const { port } = server.address() as AddressInfo;
    const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
    return { url: `http://${shownHost}:${port}`, store, adminToken, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
