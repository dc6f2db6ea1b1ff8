import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client, SFTPWrapper } from 'ssh2';
import type { ExecIO, ExecResult, HostSession } from '../host-session';
import { FailureType } from '../../model/failures';
import { ConnectError } from '../step-failure';
import type { PooledConnection } from './pool';

const TRANSFER = { concurrency: 64, chunkSize: 32 * 1024 };

/** A HostSession over one pooled SSH connection; each exec is one channel. */
export class SshSession implements HostSession {
  constructor(
    private readonly connection: PooledConnection,
    private readonly markBroken: () => void,
  ) {}

  get client(): Client {
    return this.connection.client;
  }

  async exec(command: string, io: ExecIO): Promise<ExecResult> {
    const release = await this.connection.channels.acquire();
    try {
      return await new Promise<ExecResult>((resolve, reject) => {
        this.connection.client.exec(command, (err, channel) => {
          if (err) {
            this.markBroken();
            reject(new ConnectError(FailureType.HostUnreachable, `could not open a channel: ${err.message}`));
            return;
          }
          let code: number | null = null;
          let signal: string | undefined;
          channel.on('data', (chunk: Buffer) => io.onStdout?.(chunk));
          channel.stderr.on('data', (chunk: Buffer) => io.onStderr?.(chunk));
          channel.on('exit', (c: number | null, s?: string) => {
            code = c;
            signal = s ?? undefined;
          });
          channel.on('close', () => {
            // A channel that closes without an exit status means the connection went away mid-command.
            if (code === null && signal === undefined) {
              this.markBroken();
              reject(new ConnectError(FailureType.HostUnreachable, 'the connection closed before the command reported its exit status'));
            } else resolve({ code, signal });
          });
          channel.end(io.stdin ?? undefined);
        });
      });
    } finally {
      release();
    }
  }

  /** Files go with many SFTP requests in flight (fastPut/fastGet): one at a time is several times slower. */
  async upload(data: { path: string } | { bytes: Buffer }, remotePath: string, onBytes?: (total: number) => void): Promise<void> {
    const sftp = await this.sftp();
    if ('bytes' in data) {
      await pipeline(Readable.from([data.bytes]), sftp.createWriteStream(remotePath, { mode: 0o600 }));
      onBytes?.(data.bytes.length);
      return;
    }
    await new Promise<void>((resolve, reject) =>
      sftp.fastPut(data.path, remotePath, { ...TRANSFER, mode: 0o600, step: (total) => onBytes?.(total) }, (err) => (err ? reject(err) : resolve())),
    );
  }

  async download(remotePath: string, localPath: string, onBytes?: (total: number) => void): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.fastGet(remotePath, localPath, { ...TRANSFER, step: (total) => onBytes?.(total) }, (err) => (err ? reject(err) : resolve())),
    );
  }

  private sftp(): Promise<SFTPWrapper> {
    if (!this.connection.sftp) {
      this.connection.sftp = new Promise<SFTPWrapper>((resolve, reject) => {
        this.connection.client.sftp((err, sftp) => {
          if (err) {
            this.connection.sftp = undefined;
            reject(new Error(`SFTP is not available on this host: ${err.message}`));
          } else {
            sftp.on('close', () => (this.connection.sftp = undefined));
            resolve(sftp);
          }
        });
      });
    }
    return this.connection.sftp;
  }
}
