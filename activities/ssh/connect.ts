import { Client, type ConnectConfig } from 'ssh2';
import type { Duplex } from 'node:stream';
import type { HostTarget } from '../../model/run';
import { FailureType } from '../../model/failures';
import { ConnectError } from '../step-failure';
import type { CredentialStore } from '../credentials';
import type { KnownHosts } from './host-keys';

export interface ConnectDeps {
  credentials: CredentialStore;
  knownHosts: KnownHosts;
  readyTimeoutMs: number;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);

/** Opens an authenticated SSH connection to a host, over `sock` when a bastion carries it. */
export function connectSsh(target: HostTarget, deps: ConnectDeps, sock?: Duplex): Promise<Client> {
  let auth;
  try {
    auth = deps.credentials.resolve(target.credentialRef, target.username);
  } catch (e) {
    return Promise.reject(new ConnectError(FailureType.AuthFailed, `${target.name}: ${(e as Error).message}`));
  }
  let hostKeyRefusal: string | undefined;
  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: auth.username,
    privateKey: auth.privateKey,
    passphrase: auth.passphrase,
    password: auth.password,
    agent: auth.agent,
    sock,
    readyTimeout: deps.readyTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => {
      const verdict = deps.knownHosts.verify(target, key);
      if (!verdict.ok) hostKeyRefusal = verdict.reason;
      return verdict.ok;
    },
  };
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      // sshd sets TCP_NODELAY only for sessions with a terminal, and Node not at all: with Nagle's
      // algorithm on both ends each exec stalled on a 40 ms delayed ACK (48 ms a plain exec, 5 ms without).
      .once('connect', () => client.setNoDelay(true))
      .once('ready', () => resolve(client))
      .once('error', (err: Error & { level?: string; code?: string }) => {
        client.end();
        reject(classifyConnectError(target, auth.username, err, hostKeyRefusal));
      });
    try {
      client.connect(config);
    } catch (e) {
      // ssh2 refuses a key it cannot parse before connecting: the credential is wrong, not the host.
      reject(new ConnectError(FailureType.AuthFailed, `${target.name}: credential "${target.credentialRef ?? 'default'}" cannot be used: ${(e as Error).message}`));
    }
  });
}

function classifyConnectError(target: HostTarget, username: string, err: Error & { level?: string; code?: string }, hostKeyRefusal?: string): ConnectError {
  const where = `${target.name} (${target.address}:${target.port})`;
  if (hostKeyRefusal) return new ConnectError(FailureType.HostKeyRejected, hostKeyRefusal);
  if (err.level === 'client-authentication') {
    return new ConnectError(FailureType.AuthFailed, `authentication as "${username}" on ${where} failed: the server accepted none of the configured methods`);
  }
  if (err.level === 'client-timeout') return new ConnectError(FailureType.HostUnreachable, `${where} did not complete the SSH handshake in time`);
  if (err.code && UNREACHABLE_CODES.has(err.code)) return new ConnectError(FailureType.HostUnreachable, `${where} is unreachable: ${err.code} (${err.message})`);
  return new ConnectError(FailureType.HostUnreachable, `${where}: SSH connection failed: ${err.message}`);
}

/** A TCP stream to `target` tunnelled through an already connected bastion. */
export function tunnelThrough(bastion: Client, target: HostTarget): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    bastion.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) => {
      if (err) reject(new ConnectError(FailureType.HostUnreachable, `${target.name}: the bastion could not reach ${target.address}:${target.port}: ${err.message}`));
      else resolve(stream);
    });
  });
}
