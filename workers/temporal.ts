import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { OpsConfig } from './config';
import { EncryptionCodec, KeyRingFile } from './codec';

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

export async function connectClient(config: OpsConfig, options: { createKeys?: boolean } = {}): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporalAddress, tls: tlsConfig(config), apiKey: config.apiKey });
  return new Client({ connection, namespace: config.namespace, dataConverter: dataConverter(config, { createKeys: options.createKeys ?? true }) });
}
