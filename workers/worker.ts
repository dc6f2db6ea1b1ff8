import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { STEP_HEARTBEAT_MS } from '../model/timing';
import { createControlActivities } from '../activities/control';
import { NatsEventPublisher, noEvents, type EventPublisher } from '../activities/events';
import { CredentialStore } from '../activities/credentials';
import { HostConnector } from '../activities/hosts';
import { NatsLogPublisher, noLogs, type LogPublisher } from '../activities/logs';
import { SshThreadPool } from '../activities/ssh/thread-pool';
import { HELPER_BINARY, StepHelper } from '../activities/ssh/step-helper';
import { RunSnapshots } from '../activities/run-snapshots';
import type { TaskRunInput } from '../model/run';
import { startKubeExecutor, type KubeExecutor } from './kube-executor';
import { opsVersion } from './version';
import { CONTROL_TASK_QUEUE, clusterTaskQueue } from '../model/naming';
import type { OpsConfig } from './config';
import { limitWorkflowStacks, WORKFLOW_BUNDLE, WORKFLOWS_PATH } from './bundle';
import { connectClient, dataConverter, tlsConfig } from './temporal';
import { startedWith } from './runs';
import { ensureSearchAttributes } from './search-attributes';

export interface WorkerPlan {
  /** Poll the control queue (pipeline runs). */
  control: boolean;
  /** Poll this cluster's queue (task runs and the steps on its hosts). */
  cluster?: string;
  /** Steps this worker runs at once. */
  maxActivities?: number;
  /** Seconds an idle SSH connection stays open. */
  sshIdleSeconds?: number;
  /** Steps one workflow task may hand straight to this worker; 0 sends every step through the task queue. */
  eagerSteps?: number;
}

/** Signals that stop a worker gracefully: it polls no more and leaves its running steps to the next worker. */
const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'];

/** A host group's whole first wave (workflows/task-run.ts: HOSTS_PER_WORKFLOW). */
const DEFAULT_EAGER_STEPS = 250;

export interface RunningWorkers {
  identity: string;
  /** Resolves when every worker has stopped. */
  done: Promise<void>;
  /** Each worker's state (RUNNING while it polls), for health checks. */
  states(): string[];
  shutdown(): Promise<void>;
}

/** Starts the workers a process runs; the control one and/or one cluster's. */
export async function startWorkers(config: OpsConfig, plan: WorkerPlan, log: (message: string) => void = console.error): Promise<RunningWorkers> {
  installRuntime(log);
  const identity = `${hostname()}/${process.pid}${plan.cluster ? `/${plan.cluster}` : ''}`;
  // Kept open: a cluster worker reads the snapshots of the task runs it serves steps of.
  const client = await connectClient(config);
  await ensureSearchAttributes(client.connection, config.namespace);
  const connection = await NativeConnection.connect({ address: config.temporalAddress, tls: tlsConfig(config), apiKey: config.apiKey });
  const common: Pick<WorkerOptions, 'connection' | 'namespace' | 'identity' | 'buildId' | 'dataConverter' | 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> = {
    connection,
    namespace: config.namespace,
    identity,
    // Shown with the task queue's pollers (ops get clusters); Ops uses no worker versioning.
    buildId: `ops@${opsVersion()}`,
    dataConverter: dataConverter(config, { createKeys: true }),
    ...(existsSync(WORKFLOW_BUNDLE) ? { workflowBundle: { codePath: WORKFLOW_BUNDLE } } : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: { webpackConfigHook: limitWorkflowStacks } }),
  };
  const workers: Worker[] = [];
  let logs: LogPublisher = noLogs;
  let pool: SshThreadPool | undefined;
  let kube: KubeExecutor | undefined;
  // Approval events (control) and heartbeats and inspections (cluster) go to this process's NATS.
  const events: EventPublisher = config.natsUrl === 'off' ? noEvents : await NatsEventPublisher.connect(config.natsUrl, identity, config.eventLimits);
  if (plan.control) {
    workers.push(await Worker.create({ ...common, taskQueue: CONTROL_TASK_QUEUE, activities: createControlActivities({ events }) }));
  }
  if (plan.cluster) {
    logs = config.natsUrl === 'off' ? noLogs : await NatsLogPublisher.connect(config.natsUrl, log);
    if (config.natsUrl === 'off') log('OPS_NATS_URL=off: step output is kept only as the short tail in each result');
    const credentials = CredentialStore.load(config.credentialsFile);
    kube = startKubeExecutor(credentials, plan.cluster, log);
    pool = new SshThreadPool({
      credentialsFile: config.credentialsFile,
      knownHostsFile: join(config.dataDir, 'known_hosts.json'),
      readyTimeoutMs: 10_000,
      pool: { idleMs: (plan.sshIdleSeconds ?? 300) * 1000, maxChannels: 8 },
    });
    const stepHelper = StepHelper.load();
    if (!stepHelper) log(`no step helper at ${HELPER_BINARY} (npm run build makes it where a C compiler is): shell steps run under the shell wrapper alone`);
    const maxActivities = plan.maxActivities ?? 500;
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: clusterTaskQueue(plan.cluster),
        activities: createActivities({
          snapshots: new RunSnapshots(async (execution) => (await startedWith(client, execution)).input as TaskRunInput),
          hosts: new HostConnector(pool, kube.nodes),
          logs,
          identity,
          clusters: kube.clusters,
          events,
          stepHelper,
        }),
        maxConcurrentActivityTaskExecutions: maxActivities,
        // The SDK would space heartbeats at 80 % of the timeout; a step's are spaced by their own interval.
        maxHeartbeatThrottleInterval: STEP_HEARTBEAT_MS,
        // A fan-out schedules hundreds of steps at once; idle long polls cost next to nothing.
        maxConcurrentActivityTaskPolls: Math.min(maxActivities, 100),
        maxConcurrentWorkflowTaskPolls: 10,
        // Where the server allows it (system.enableActivityEagerExecution), the steps a workflow
        // task schedules start on this worker at once, reusing its pooled connections.
        maxEagerActivityReservationsPerWorkflowTask: plan.eagerSteps ?? DEFAULT_EAGER_STEPS,
      }),
    );
  }
  const stopping = (signal: NodeJS.Signals) => log(`worker ${identity} stopping (${signal}): it takes no new work; the steps it runs go on on their hosts, and the next worker follows them to their end`);
  for (const signal of SHUTDOWN_SIGNALS) process.once(signal, stopping);
  const done = Promise.all(workers.map((w) => w.run())).then(async () => {
    for (const signal of SHUTDOWN_SIGNALS) process.removeListener(signal, stopping);
    await pool?.close();
    kube?.stop();
    await logs.close();
    await events.close();
    await connection.close();
    await client.connection.close();
  });
  return {
    identity,
    done,
    states: () => workers.map((w) => w.getState()),
    shutdown: async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}

let runtimeInstalled = false;

/** The SDK runtime is per process; a second set of workers in the same process reuses it. */
function installRuntime(log: (message: string) => void): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: quietRuntimeLogger(log), shutdownSignals: SHUTDOWN_SIGNALS });
  runtimeInstalled = true;
}

/** Only warnings and errors from the SDK; steps report through their own results and logs. */
function quietRuntimeLogger(log: (message: string) => void) {
  const write = (level: string) => (message: string, meta?: Record<string, unknown>) => log(`${level}: ${message}${meta?.error ? ` (${String(meta.error)})` : ''}`);
  const none = () => undefined;
  return { log: none, trace: none, debug: none, info: none, warn: write('warn'), error: write('error') };
}
