import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client, SFTPWrapper } from 'ssh2';
import type { ExecIO, ExecResult, HostSession } from '../host-session';
import { FailureType } from '../../model/failures';
import { ConnectError } from '../step-failure';
import type { PooledConnection } from './pool';

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

  async upload(data: Readable, remotePath: string): Promise<void> {
    const sftp = await this.sftp();
    await pipeline(data, sftp.createWriteStream(remotePath, { mode: 0o600 }));
  }

  async download(remotePath: string, sink: Writable): Promise<void> {
    const sftp = await this.sftp();
    await pipeline(sftp.createReadStream(remotePath), sink);
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
