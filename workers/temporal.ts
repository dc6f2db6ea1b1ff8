import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { OpsConfig } from './config';
import { EncryptionCodec, KeyRingFile } from './codec';
import { tcpConnectError } from './embedded/processes';

export function tlsConfig(config: OpsConfig): TLSConfig | boolean | undefined {
  if (!config.tls) return undefined;
  const { certFile, keyFile, caFile, serverName } = config.tls;
  if (!certFile && !keyFile && !caFile && !serverName) return true;
  return {
    serverNameOverride: serverName,
    serverRootCACertificate: caFile ? readFileSync(caFile) : undefined,
    clientCertPair: certFile && keyFile ? { crt: readFileSync(certFile), key: readFileSync(keyFile) } : undefined,
  };
}

/**
 * Every client and worker encrypts payloads and failure messages with the same key ring. Only the
 * process that owns the data directory creates keys; others must be given the file.
 */
export function dataConverter(config: OpsConfig, { createKeys }: { createKeys: boolean }): DataConverter {
  return {
    payloadCodecs: [payloadCodec(config, { createKeys })],
    failureConverterPath: resolve(__dirname, 'failure-converter'),
  };
}

/** The codec on its own, for the control plane's codec endpoint (Temporal Web). */
export function payloadCodec(config: OpsConfig, { createKeys }: { createKeys: boolean }): EncryptionCodec {
  return new EncryptionCodec(new KeyRingFile(config.codecKeysFile, { create: createKeys }));
}

/** Answers to a TCP connect that mean nobody will answer gRPC there either. */
const NOBODY_THERE: Record<string, string> = {
  ECONNREFUSED: 'nothing listens there',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the name does not resolve now',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/** Longer than any answer a live address gives; gRPC's own deadline covers a slow one. */
const PROBE_TIMEOUT_MS = 5_000;

/**
 * A client of the configured Temporal, or an error naming the address and why. gRPC retries a
 * refused connection until its 10 s deadline; a plain TCP connect beside it tells at once that
 * nothing is there, and costs nothing when something is.
 */
export async function connectClient(config: OpsConfig, options: { createKeys?: boolean } = {}): Promise<Client> {
  const address = config.temporalAddress;
  const connecting = Connection.connect({ address, tls: tlsConfig(config), apiKey: config.apiKey });
  const nobodyThere = probeAddress(address).then((code) => {
    if (code && code in NOBODY_THERE) throw new Error(`${code}, ${NOBODY_THERE[code]}`);
    return connecting;
  });
  let connection: Connection;
  try {
    connection = await Promise.race([connecting, nobodyThere]);
  } catch (e) {
    // A connection gRPC makes after the probe gave up (a server just starting) is not left open.
    connecting.then((late) => late.close()).catch(() => undefined);
    throw new Error(`cannot reach Temporal at ${address}: ${(e as Error).message} (set --address or TEMPORAL_ADDRESS)`);
  }
  return new Client({ connection, namespace: config.namespace, dataConverter: dataConverter(config, { createKeys: options.createKeys ?? true }) });
}

/** The TCP connect's error code for a host:port address, or undefined (connected, or no host:port to try). */
async function probeAddress(address: string): Promise<string | undefined> {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  return match ? tcpConnectError(match[1], Number(match[2]), PROBE_TIMEOUT_MS) : undefined;
}
