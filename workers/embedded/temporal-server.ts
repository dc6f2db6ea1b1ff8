// A Temporal dev server (`temporal server start-dev`): the embedded stack's engine, and the tests'.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { OPS_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { canConnect, freePort, opsCacheDir, pollUntil, stopProcess, watchProcess, WatchedProcess } from './processes';

const HOST = '127.0.0.1';
const SEARCH_ATTRIBUTE_FLAG_TYPES: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime' };
const START_TIMEOUT_MS = 60_000;

export interface TemporalOptions {
  /** SQLite file to keep state in; default a file in a temp dir removed by stop(). */
  dbFile?: string;
  /** Frontend port; default a free one. */
  port?: number;
  /** Serve the Web UI on this port; default headless. */
  uiPort?: number;
  /** Where Temporal Web sends payloads to be decoded (the control plane's codec endpoint). */
  codecEndpoint?: string;
}

export interface TemporalServer {
  /** host:port of the frontend gRPC service. */
  address: string;
  namespace: 'default';
  dbFile: string;
  /** Web UI URL when `uiPort` was given. */
  uiUrl?: string;
  /** Stops the server and removes the temp dir (a given dbFile is kept). */
  stop(): Promise<void>;
  /** Stops and starts it again on the same ports and db file. */
  restart(): Promise<void>;
}

export function temporalBinary(): string {
  return process.env.OPS_TEMPORAL_BIN ?? join(opsCacheDir(), 'bin', 'temporal');
}

export async function startTemporal(opts: TemporalOptions = {}): Promise<TemporalServer> {
  const binary = temporalBinary();
  if (!existsSync(binary)) {
    throw new Error(`Temporal CLI not found at ${binary}: run "sh scripts/provision.sh stack" (npm start does) or set OPS_TEMPORAL_BIN`);
  }
  const tempDir = opts.dbFile ? undefined : await mkdtemp(join(tmpdir(), 'ops-temporal-'));
  const dbFile = opts.dbFile ?? join(tempDir as string, 'temporal.db');
  // Every port it opens is chosen here (the internal ones it picks itself), so
  // several servers can run side by side and a restart keeps the same address.
  const [port, httpPort, metricsPort] = [opts.port ?? (await freePort(HOST)), await freePort(HOST), await freePort(HOST)];
  const args = [
    'server', 'start-dev',
    '--ip', HOST,
    '--port', String(port),
    '--http-port', String(httpPort),
    '--metrics-port', String(metricsPort),
    '--db-filename', dbFile,
    // WAL with synchronous=normal: several times the throughput of the default rollback journal,
    // and still safe when a process crashes (only an OS crash can lose the last transactions).
    '--sqlite-pragma', 'journal_mode=wal',
    '--sqlite-pragma', 'synchronous=normal',
    '--log-level', 'error',
    // A workflow task that schedules steps hands them straight back to the worker that completed
    // it (up to its free slots): no trip through the task queue, a third of the server's work a step.
    '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
    // Steps that end while a workflow task is being worked on wait in a buffer; past 100 the
    // server fails that task and the worker replays the whole run, slower the wider the fan-out.
    '--dynamic-config-value', 'history.maximumBufferedEventsBatch=1000',
    ...(opts.uiPort ? ['--ui-port', String(opts.uiPort)] : ['--headless']),
    ...(opts.codecEndpoint ? ['--ui-codec-endpoint', opts.codecEndpoint] : []),
    // Registered at start so runs can use them at once (workers also add them on other servers).
    ...OPS_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${SEARCH_ATTRIBUTE_FLAG_TYPES[key.type]}`]),
  ];
  const address = `${HOST}:${port}`;

  const launch = async (): Promise<WatchedProcess> => {
    const server = watchProcess(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await pollUntil(`temporal ${address}`, () => canConnect(HOST, port), START_TIMEOUT_MS, server);
      await waitForNamespace(address, server);
      return server;
    } catch (error) {
      await stopProcess(server);
      throw error;
    }
  };

  let server = await launch();
  return {
    address,
    namespace: 'default',
    dbFile,
    uiUrl: opts.uiPort ? `http://${HOST}:${opts.uiPort}` : undefined,
    async stop() {
      await stopProcess(server);
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
    async restart() {
      await stopProcess(server);
      server = await launch();
    },
  };
}

/** The frontend answers before the namespace is registered: wait for both. */
async function waitForNamespace(address: string, server: WatchedProcess): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    const describe = (): Promise<boolean> =>
      connection
        .withDeadline(Date.now() + 2000, () => connection.workflowService.describeNamespace({ namespace: 'default' }))
        .then(() => true, () => false);
    await pollUntil(`temporal ${address} namespace default`, describe, START_TIMEOUT_MS, server);
  } finally {
    await connection.close();
  }
}
