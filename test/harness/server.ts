// `ops server` as its own process against a test stack, with its store on PGlite or PostgreSQL.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, pollUntil, stopProcess, watchProcess } from '../../workers/embedded/processes';
import { workerLogs, type TestStack } from './stack';
import { until } from './until';

const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface OpsServer {
  url: string;
  adminToken: string;
  /** Environment for `ops` commands in server mode (OPS_SERVER and OPS_TOKEN set to the admin's). */
  env: NodeJS.ProcessEnv;
  /** A JSON call; the body is parsed when it is JSON. */
  call(method: string, path: string, options?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  /** The run (`GET /api/v1/runs/ID`) once it is no longer running. */
  ended(runId: string, timeoutMs?: number): Promise<any>;
  log(): string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Used for the data directory and log file names. */
  name: string;
  /** PostgreSQL URL; without it the store is PGlite in the server's data directory. */
  databaseUrl?: string;
}

export async function startOpsServer(stack: TestStack, options: ServerOptions): Promise<OpsServer> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...stack.env,
    OPS_DATA_DIR: join(stack.dir, `server-${options.name}`),
    // Clients and workers must share one codec key ring.
    OPS_CODEC_KEYS_FILE: join(stack.config.dataDir, 'codec-keys.json'),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  };
  const init = await stack.ops(['server', 'init'], { env });
  const adminToken = init.stdout.trim();
  if (init.code !== 0 || !adminToken.startsWith('ops_')) throw new Error(`ops server init failed (${init.code}):\n${init.stderr}`);
  const logFile = join(stack.dir, `server-${options.name}.log`);
  const log = createWriteStream(logFile);
  const server = watchProcess(spawn(process.execPath, [CLI, 'server', '--port', String(port), '--run-metrics-interval', '1'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  server.child.stdout?.pipe(log);
  server.child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  await pollUntil(`ops server ${url}/readyz`, () => fetch(`${url}/readyz`).then((r) => r.ok, () => false), 60_000, server);
  const serverLog = () => readFileSync(logFile, 'utf8');
  const ops: OpsServer = {
    url,
    adminToken,
    env: { ...env, OPS_SERVER: url, OPS_TOKEN: adminToken },
    async call(method, path, { token = adminToken, body, headers = {} } = {}) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (metrics, event streams)
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async ended(runId, timeoutMs = 90_000) {
      const run = await until(`run ${runId} to end`, () => ops.call('GET', `/api/v1/runs/${runId}`), (r) => r.status === 200 && r.body.status !== 'running', { timeoutMs, everyMs: 300, context: () => `${workerLogs(stack)}\n${serverLog()}` });
      return run.body;
    },
    log: serverLog,
    stop: () => stopProcess(server),
  };
  return ops;
}
