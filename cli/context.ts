import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { loadConfig, type ConfigFlags, type OpsConfig } from '../workers/config';
import type { Catalog } from '../model/catalog';
import { loadResourcesOnThread } from '../model/load-thread';
import { CliError, ExitCode } from './exit-codes';

// The Temporal client, NATS and the YAML parser are loaded when a command first needs them, so a
// command pays only for what it uses (the client alone takes ~200 ms to load).

/** Global flags every command accepts; environment variables fill in what is not given. */
export function addConnectionOptions(program: Command): Command {
  return program
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS)')
    .option('--namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE)')
    .option('--tls-cert <file>', 'client certificate for mTLS (env TEMPORAL_TLS_CERT)')
    .option('--tls-key <file>', 'client key for mTLS (env TEMPORAL_TLS_KEY)')
    .option('--tls-ca <file>', 'CA certificate of the server (env TEMPORAL_TLS_CA)')
    .option('--tls-server-name <name>', 'server name to verify (env TEMPORAL_TLS_SERVER_NAME)')
    .option('--api-key <key>', 'Temporal Cloud API key (env TEMPORAL_API_KEY)')
    .option('--nats <url>', 'NATS server for run output, or "off" (env OPS_NATS_URL)')
    .option('--data-dir <dir>', 'where Ops keeps its keys and state (env OPS_DATA_DIR)')
    .option('--server <url>', 'the Ops server (env OPS_SERVER, or server: in ~/.config/ops/config.yaml); its token from OPS_TOKEN or token:');
}

export function configFrom(command: Command): OpsConfig {
  return loadConfig(command.optsWithGlobals() as ConfigFlags);
}

export async function temporalClient(config: OpsConfig): Promise<Client> {
  const { connectClient } = await import('../workers/temporal');
  try {
    return await connectClient(config);
  } catch (e) {
    throw new CliError((e as Error).message, ExitCode.unavailable);
  }
}

export async function natsConnection(config: OpsConfig): Promise<NatsConnection> {
  if (config.natsUrl === 'off') throw new CliError('run output needs NATS; OPS_NATS_URL is "off"', ExitCode.unavailable);
  const { connectNats } = await import('../activities/nats');
  try {
    // As the workers and the server do: a follow (`ops logs -f`, `ops events -f`) outlasts a NATS outage
    // of any length; with the client's default it ended after ~20 s, quietly, as if the run had.
    return await connectNats(config.natsUrl, { name: 'ops-cli', maxReconnectAttempts: -1 });
  } catch (e) {
    throw new CliError((e as Error).message, ExitCode.unavailable);
  }
}

/**
 * Parses and validates the definition files on a second thread (model/load-thread.ts), which
 * starts at once: a command calls this first, then loads and connects what it needs, then awaits.
 */
export async function loadCatalog(files: string[] | undefined): Promise<Catalog> {
  if (!files?.length) throw new CliError('give definition files or directories with -f', ExitCode.usage);
  const loading = loadResourcesOnThread(files);
  const { Catalog } = await import('../model/catalog');
  return Catalog.from(await loading);
}

/** `--var k=v` (repeatable); `k=@file` reads the value from a file, so secrets stay out of `ps`. */
export function parseVars(pairs: string[] = []): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--var ${pair}: expected name=value`, ExitCode.usage);
    const name = pair.slice(0, eq);
    // Which of two values was meant is not for Ops to guess (and the values are not printed: one may be a secret).
    if (Object.hasOwn(vars, name)) throw new CliError(`--var ${name}: given twice; give each variable once`, ExitCode.usage);
    const value = pair.slice(eq + 1);
    vars[name] = value.startsWith('@') ? readValueFile(name, value.slice(1)) : value;
  }
  return vars;
}

function readValueFile(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new CliError(`--var ${name}=@${path}: ${(e as Error).message}`, ExitCode.usage);
  }
}

/** An option parser for whole numbers of at least `min`; anything else is a usage error naming the option. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return n;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
