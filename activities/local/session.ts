import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExecIO, ExecResult, HostSession } from '../host-session';

/** `connection: local`: the worker's own machine, with the same semantics as a host over SSH. */
export class LocalSession implements HostSession {
  exec(command: string, io: ExecIO): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout.on('data', (chunk: Buffer) => io.onStdout?.(chunk));
      child.stderr.on('data', (chunk: Buffer) => io.onStderr?.(chunk));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal: signal ?? undefined }));
      child.stdin.on('error', () => undefined);
      child.stdin.end(io.stdin ?? undefined);
    });
  }

  /** Relative paths are relative to the home directory, as they are over SFTP. */
  upload(data: Readable, path: string): Promise<void> {
    return pipeline(data, createWriteStream(resolve(homedir(), path), { mode: 0o600 }));
  }

  download(path: string, sink: Writable): Promise<void> {
    return pipeline(createReadStream(resolve(homedir(), path)), sink);
  }
}
