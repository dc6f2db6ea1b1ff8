import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import type { V1Status } from '@kubernetes/client-node';
import type { ExecIO, ExecResult, HostSession } from '../host-session';
import { shellQuote } from '../../model/template';
import type { ClusterApi } from './cluster-api';

/** Enters the host's mount, UTS, IPC, network and PID namespaces from the (hostPID) step pod. */
export const HOST_NAMESPACES = ['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--'];

/**
 * A node reached through its step pod: commands are exec'd into the pod and run in the host's
 * namespaces as root, so the SSH step machinery (remote-step.ts) works unchanged. Input is sent
 * with its length and read with `head -c`, because exec streams of the v4 protocol (and some
 * kubelets) never tell a command that its input has ended.
 */
export class KubeNodeSession implements HostSession {
  constructor(
    private readonly api: ClusterApi,
    private readonly namespace: string,
    private readonly pod: string,
  ) {}

  /** Runs in root's home directory, as an SSH session starts in the user's. */
  exec(command: string, io: ExecIO): Promise<ExecResult> {
    const inHome = `cd "$HOME" 2>/dev/null; ${command}`;
    if (io.stdin === undefined) return this.run(['sh', '-c', inHome], io);
    const input = Buffer.from(io.stdin);
    return this.run(['sh', '-c', `head -c ${input.length} | sh -c "$1"`, 'ops-stdin', inHome], io, Readable.from([input]));
  }

  /** Relative paths start at the home directory, as over SFTP. */
  async upload(data: { path: string } | { bytes: Buffer }, remotePath: string, onBytes?: (total: number) => void): Promise<void> {
    const size = 'bytes' in data ? data.bytes.length : (await stat(data.path)).size;
    const source = 'bytes' in data ? Readable.from([data.bytes]) : createReadStream(data.path);
    const stderr: Buffer[] = [];
    const script = `cd "$HOME" 2>/dev/null; umask 077; head -c ${size} > ${shellQuote(remotePath)} && [ "$(wc -c < ${shellQuote(remotePath)})" -eq ${size} ]`;
    const { code } = await this.run(['sh', '-c', script], { onStderr: (c) => stderr.push(c) }, source);
    if (code !== 0) throw new Error(Buffer.concat(stderr).toString('utf8').trim() || `writing ${remotePath} ended with exit code ${code}`);
    onBytes?.(size);
  }

  async download(remotePath: string, localPath: string, onBytes?: (total: number) => void): Promise<void> {
    const file = createWriteStream(localPath, { mode: 0o600 });
    const stderr: Buffer[] = [];
    let total = 0;
    const { code } = await this.run(['sh', '-c', `cd "$HOME" 2>/dev/null; cat -- ${shellQuote(remotePath)}`], {
      onStdout: (c) => {
        total += c.length;
        file.write(c);
        onBytes?.(total);
      },
      onStderr: (c) => stderr.push(c),
    });
    await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (code !== 0) throw new Error(Buffer.concat(stderr).toString('utf8').trim() || `reading ${remotePath} ended with exit code ${code}`);
  }

  private run(argv: string[], io: ExecIO, stdin?: Readable): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const sink = (deliver?: (chunk: Buffer) => void) =>
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            deliver?.(chunk);
            done();
          },
        });
      let status: V1Status | undefined;
      this.api.exec
        .exec(this.namespace, this.pod, 'step', [...HOST_NAMESPACES, ...argv], sink(io.onStdout), sink(io.onStderr), stdin ?? null, false, (s) => (status = s))
        .then((socket) => {
          socket.on('error', reject);
          socket.on('close', () => {
            if (!status) return reject(new Error(`the exec stream to pod ${this.namespace}/${this.pod} closed before the command ended`));
            const code = exitCodeOf(status);
            if (code === undefined) return reject(new Error(`exec in pod ${this.namespace}/${this.pod} failed: ${status.message ?? status.reason ?? 'unknown error'}`));
            resolve({ code });
          });
        })
        .catch(reject);
    });
  }
}

/**
 * The exit code an exec status reports: 0 on success, the ExitCode cause of a NonZeroExitCode
 * failure, or "exit status N" in the message, as kubelets whose runtime wraps the error send it.
 * undefined when the command could not run at all.
 */
export function exitCodeOf(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode' || (c as { type?: string }).type === 'ExitCode');
  if (cause?.message && /^\d+$/.test(cause.message)) return Number(cause.message);
  const wrapped = /exit status (\d+)/.exec(status.message ?? '');
  return wrapped ? Number(wrapped[1]) : undefined;
}
