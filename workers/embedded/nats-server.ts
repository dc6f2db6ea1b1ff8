// A nats-server with JetStream: the embedded stack's, and the tests'.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort, pollUntil, stopProcess, watchProcess, WatchedProcess } from './processes';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 20_000;

export interface NatsOptions {
  /** JetStream store directory; default a temp dir removed by stop(). */
  storeDir?: string;
  /** Client port; default a free one. */
  port?: number;
  /** Extra nats-server config file text (e.g. a leafnodes block); command-line flags win over it. */
  extraConfig?: string;
}

export interface NatsServer {
  url: string;
  port: number;
  /** HTTP monitoring port (/healthz, /varz, /leafz). */
  monitorPort: number;
  storeDir: string;
  stop(): Promise<void>;
  /** Stops and starts it again on the same ports, config and store; `downMs` later, for an outage. */
  restart(options?: { downMs?: number }): Promise<void>;
}

export async function startNats(opts: NatsOptions = {}): Promise<NatsServer> {
  const tempDir = await mkdtemp(join(tmpdir(), 'ops-nats-'));
  const storeDir = opts.storeDir ?? join(tempDir, 'store');
  const port = opts.port ?? (await freePort(HOST));
  const monitorPort = await freePort(HOST);
  const args = ['-js', '-a', HOST, '-p', String(port), '-m', String(monitorPort), '-sd', storeDir];
  if (opts.extraConfig !== undefined) {
    const configFile = join(tempDir, 'nats.conf');
    await writeFile(configFile, opts.extraConfig);
    args.push('-c', configFile);
  }

  const launch = async (): Promise<WatchedProcess> => {
    const server = watchProcess(spawn(natsBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await pollUntil(`nats ${HOST}:${port}`, () => canConnect(HOST, port), START_TIMEOUT_MS, server);
      // The client port opens before JetStream is ready; /healthz says when it is.
      await pollUntil(`nats ${HOST}:${port} healthz`, () => healthy(monitorPort), START_TIMEOUT_MS, server);
      return server;
    } catch (error) {
      await stopProcess(server);
      throw error;
    }
  };

  let server = await launch();
  return {
    url: `nats://${HOST}:${port}`,
    port,
    monitorPort,
    storeDir,
    async stop() {
      await stopProcess(server);
      await rm(tempDir, { recursive: true, force: true });
    },
    async restart({ downMs = 0 } = {}) {
      await stopProcess(server);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await launch();
    },
  };
}

/** Debian puts nats-server in /usr/sbin, which is not on every user's PATH. */
export function natsBinary(): string {
  if (process.env.OPS_NATS_BIN) return process.env.OPS_NATS_BIN;
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

function healthy(monitorPort: number): Promise<boolean> {
  return fetch(`http://${HOST}:${monitorPort}/healthz`).then((response) => response.ok, () => false);
}
