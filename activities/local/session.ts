import { spawn } from 'node:child_process';
import { chmod, copyFile, stat, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import type { ExecIO, ExecResult, HostSession } from '../host-session';
import { pruneCommand } from '../remote-step';

/**
 * What a login over SSH would have of the environment: the worker's own (its credentials' passwords,
 * Temporal and NATS settings) is not the steps' to read.
 */
const LOGIN_ENV = ['HOME', 'USER', 'LOGNAME', 'SHELL', 'PATH', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'TERM'];

function loginEnv(): NodeJS.ProcessEnv {
  const { username } = userInfo();
  return { ...Object.fromEntries(LOGIN_ENV.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]]))), HOME: homedir(), USER: username, LOGNAME: username };
}

/** `connection: local`: the worker's own machine, with the same semantics as a host over SSH (commands start in the home directory). */
export class LocalSession implements HostSession {
  private pruned = false;

  exec(command: string, io: ExecIO): Promise<ExecResult> {
    if (!this.pruned) {
      // Old step records go once per worker, in the background, rather than on every step.
      this.pruned = true;
      this.exec(pruneCommand(), {}).catch(() => undefined);
    }
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { cwd: homedir(), env: loginEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout.on('data', (chunk: Buffer) => io.onStdout?.(chunk));
      child.stderr.on('data', (chunk: Buffer) => io.onStderr?.(chunk));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal: signal ?? undefined }));
      child.stdin.on('error', () => undefined);
      child.stdin.end(io.stdin ?? undefined);
    });
  }

  /** Relative paths are relative to the home directory, as they are over SFTP. */
  async upload(data: { path: string } | { bytes: Buffer }, path: string, onBytes?: (total: number) => void): Promise<void> {
    const target = resolvePath(homedir(), path);
    if ('bytes' in data) await writeFile(target, data.bytes, { mode: 0o600 });
    else await copyFile(data.path, target);
    await chmod(target, 0o600);
    onBytes?.((await stat(target)).size);
  }

  async download(path: string, localPath: string, onBytes?: (total: number) => void): Promise<void> {
    await copyFile(resolvePath(homedir(), path), localPath);
    onBytes?.((await stat(localPath)).size);
  }
}
