// Everything an integration test runs against, all real: a Temporal dev server, a nats-server
// with JetStream, a fleet of sshd hosts, and `ops` workers and commands as separate processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { connect, type NatsConnection } from 'nats';
import { startTemporal, type TemporalServer } from '../../workers/embedded/temporal-server';
import { startNats, type NatsServer } from '../../workers/embedded/nats-server';
import { loadConfig, type OpsConfig } from '../../workers/config';
import { connectClient } from '../../workers/temporal';
import { startFleet, type Fleet, type FleetOptions } from './fleet';

export const REPO = resolve(__dirname, '..', '..');
const CLI = join(REPO, 'dist', 'cli', 'main.js');

export interface TestStack {
  temporal: TemporalServer;
  nats: NatsServer;
  fleet: Fleet;
  dir: string;
  config: OpsConfig;
  /** Environment that points an `ops` process at this stack. */
  env: NodeJS.ProcessEnv;
  client: Client;
  natsConnection(): Promise<NatsConnection>;
  /** Host definitions (YAML) for the fleet, with their real host keys. */
  hostsYaml(overrides?: (host: Fleet['hosts'][number], index: number) => Record<string, unknown>): string;
  /** Writes a definition file into the stack's directory and returns its path. */
  writeFile(name: string, text: string): string;
  /** Starts `ops worker` (control and cluster local) as its own process; `env` adds to the stack's environment. */
  startWorker(args?: string[], env?: NodeJS.ProcessEnv): WorkerProcess;
  /** Runs `ops ARGS` to completion; `env` replaces the stack's environment (e.g. a server's). */
  /**
   * Runs the ops CLI to its end. For commands that follow: `onStdout` sees the output so far as it
   * grows, `signal` interrupts the command (SIGINT, as Ctrl-C does).
   */
  ops(args: string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal; onStdout?: (soFar: string) => void }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when it polls its queues. */
  ready: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StackOptions {
  /** Extra nats-server configuration, e.g. a JetStream domain and leafnodes to make it a hub (harness/nats-link.ts). */
  natsConfig?: string;
}

export async function startStack(fleetOptions: FleetOptions = { count: 3 }, options: StackOptions = {}): Promise<TestStack> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  const dir = mkdtempSync(join(tmpdir(), 'ops-stack-'));
  const [temporal, nats, fleet] = await Promise.all([startTemporal(), startNats({ extraConfig: options.natsConfig }), startFleet(fleetOptions)]);
  const credentialsFile = join(dir, 'credentials.yaml');
  writeFileSync(credentialsFile, `default: fleet\ncredentials:\n  fleet:\n    username: ${fleet.user}\n    privateKeyFile: ${fleet.clientKeyPath}\n  fleet-password:\n    username: ${fleet.user}\n    passwordFile: ${join(dir, 'fleet-password')}\n  wrong-password:\n    username: ${fleet.user}\n    passwordFile: ${join(dir, 'wrong-password')}\n`);
  writeFileSync(join(dir, 'wrong-password'), 'not-the-password', { mode: 0o600 });
  writeFileSync(join(dir, 'fleet-password'), fleet.password, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    OPS_NATS_URL: nats.url,
    OPS_DATA_DIR: join(dir, 'data'),
    OPS_CREDENTIALS_FILE: credentialsFile,
  };
  const config = loadConfig({}, env);
  const client = await connectClient(config);
  const workers: WorkerProcess[] = [];
  let logIndex = 0;

  const stack: TestStack = {
    temporal,
    nats,
    fleet,
    dir,
    config,
    env,
    client,
    natsConnection: () => connect({ servers: nats.url }),
    hostsYaml(overrides) {
      return fleet.hosts
        .map((h, i) => {
          const spec = { address: h.address, port: h.port, hostKey: h.hostKeyFingerprint, ...(overrides?.(h, i) ?? {}) };
          const labels = { role: 'fleet', index: String(i + 1) };
          return `apiVersion: ops.dev/v1\nkind: Host\nmetadata:\n  name: ${h.name}\n  labels: ${JSON.stringify(labels)}\nspec: ${JSON.stringify(spec)}\n`;
        })
        .join('---\n');
    },
    writeFile(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    startWorker(args = [], extraEnv = {}) {
      logIndex += 1;
      const log = createWriteStream(join(dir, `worker-${logIndex}.log`));
      const child = spawn(process.execPath, [CLI, 'worker', ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(log);
      const ready = new Promise<void>((resolveReady, reject) => {
        let seen = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          log.write(chunk);
          seen += chunk.toString();
          if (/polling/.test(seen)) resolveReady();
        });
        child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before polling:\n${seen}`)));
      });
      const worker: WorkerProcess = {
        child,
        ready,
        kill: (signal = 'SIGTERM') =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill(signal);
          }),
      };
      workers.push(worker);
      return worker;
    },
    ops(args, options = {}) {
      return new Promise((resolveRun) => {
        const child = spawn(process.execPath, [CLI, ...args], { env: options.env ?? env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
          options.onStdout?.(stdout);
        });
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
        options.signal?.addEventListener('abort', () => child.kill('SIGINT'));
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolveRun({ code: code ?? -1, stdout, stderr });
        });
      });
    },
    async stop() {
      await Promise.all(workers.map((w) => w.kill('SIGKILL')));
      await client.connection.close();
      await Promise.all([temporal.stop(), nats.stop(), fleet.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** The text of a worker's log, for failure messages. */
export function workerLogs(stack: TestStack): string {
  let out = '';
  for (let i = 1; existsSync(join(stack.dir, `worker-${i}.log`)); i += 1) out += readFileSync(join(stack.dir, `worker-${i}.log`), 'utf8');
  return out;
}
