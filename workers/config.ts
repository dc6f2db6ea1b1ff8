import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { EventLimits } from '../activities/streams';
import { parseDuration } from '../model/timing';

/**
 * Settings shared by the CLI, workers and server; each comes from a flag, else the environment,
 * else a default that suits one machine.
 */
export interface OpsConfig {
  temporalAddress: string;
  namespace: string;
  tls?: { certFile?: string; keyFile?: string; caFile?: string; serverName?: string };
  apiKey?: string;
  /** `off` disables publishing output (it then lives only in activity result tails). */
  natsUrl: string;
  dataDir: string;
  codecKeysFile: string;
  /** Credentials this worker resolves `credentialRef`s from (activities/credentials.ts). */
  credentialsFile: string;
  /** The control plane's PostgreSQL (DATABASE_URL); without it, PGlite in the data directory. */
  databaseUrl?: string;
  /** How much event history the events streams keep (OPS_EVENTS_MAX_AGE, _MAX_BYTES, _MAX_MESSAGES). */
  eventLimits: EventLimits;
}

export interface ConfigFlags {
  address?: string;
  namespace?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsServerName?: string;
  apiKey?: string;
  nats?: string;
  dataDir?: string;
}

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): OpsConfig {
  const dataDir = flags.dataDir ?? env.OPS_DATA_DIR ?? join(homedir(), '.local', 'share', 'ops');
  const certFile = flags.tlsCert ?? env.TEMPORAL_TLS_CERT;
  const keyFile = flags.tlsKey ?? env.TEMPORAL_TLS_KEY;
  const caFile = flags.tlsCa ?? env.TEMPORAL_TLS_CA;
  const serverName = flags.tlsServerName ?? env.TEMPORAL_TLS_SERVER_NAME;
  const apiKey = flags.apiKey ?? env.TEMPORAL_API_KEY;
  const wantsTls = certFile || keyFile || caFile || serverName || apiKey || env.TEMPORAL_TLS === 'true';
  return {
    temporalAddress: flags.address ?? env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: flags.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    tls: wantsTls ? { certFile, keyFile, caFile, serverName } : undefined,
    apiKey,
    natsUrl: flags.nats ?? env.OPS_NATS_URL ?? 'nats://127.0.0.1:4222',
    dataDir,
    codecKeysFile: env.OPS_CODEC_KEYS_FILE ?? join(dataDir, 'codec-keys.json'),
    credentialsFile: env.OPS_CREDENTIALS_FILE ?? join(configDir(env), 'credentials.yaml'),
    databaseUrl: env.DATABASE_URL || undefined,
    eventLimits: {
      maxAgeSeconds: setting('OPS_EVENTS_MAX_AGE', env.OPS_EVENTS_MAX_AGE ?? '30d', parseDuration),
      maxBytes: setting('OPS_EVENTS_MAX_BYTES', env.OPS_EVENTS_MAX_BYTES ?? String(1024 ** 3), wholeNumber),
      maxMessages: setting('OPS_EVENTS_MAX_MESSAGES', env.OPS_EVENTS_MAX_MESSAGES ?? '-1', wholeNumber),
    },
  };
}

function wholeNumber(text: string): number | undefined {
  return /^-?\d+$/.test(text) && Number(text) >= -1 ? Number(text) : undefined;
}

function setting(name: string, text: string, parse: (text: string) => number | undefined): number {
  const value = parse(text);
  if (value === undefined) throw new Error(`${name}=${text} is not valid (a duration such as 30d for ages, a whole number or -1 for no limit otherwise)`);
  return value;
}

/** Where a user's Ops settings live (credentials of a worker, the CLI's server and token). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPS_CONFIG_DIR ?? join(homedir(), '.config', 'ops');
}

/** The run in Temporal Web (OPS_TEMPORAL_WEB, default the embedded stack's). */
export function temporalWebLink(config: Pick<OpsConfig, 'namespace'>, workflowId: string): string {
  const base = process.env.OPS_TEMPORAL_WEB ?? 'http://localhost:8233';
  return `${base}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Who is asking, for the requester search attribute of runs started from this machine. */
export function localRequester(): string {
  return `${process.env.USER ?? accountName()}@${hostname()}`;
}

/** The account this process runs as, for where USER is not set (cron, containers, systemd units). */
function accountName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown'; // a uid without a passwd entry
  }
}
