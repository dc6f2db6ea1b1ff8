import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { HostTarget } from '../../model/run';
import { FailureType } from '../../model/failures';
import type { ExecIO, ExecResult, HostLease, HostSession } from '../host-session';
import { ConnectError } from '../step-failure';
import type { PoolOptions } from './pool';

/** What the SSH thread builds its pool from (activities/ssh/thread.ts). */
export interface SshThreadConfig {
  credentialsFile: string;
  knownHostsFile: string;
  readyTimeoutMs: number;
  pool: PoolOptions;
}

/** Requests to the SSH thread; `id` pairs each with its replies. */
export type SshRequest =
  | { op: 'acquire'; id: number; target: HostTarget }
  | { op: 'release'; lease: number }
  | { op: 'exec'; id: number; lease: number; command: string; stdin?: string | Uint8Array }
  | { op: 'upload'; id: number; lease: number; data: { path: string } | { bytes: Uint8Array }; remotePath: string }
  | { op: 'download'; id: number; lease: number; remotePath: string; localPath: string }
  | { op: 'close'; id: number };

export type SshReply =
  | { id: number; op: 'leased'; lease: number }
  | { id: number; op: 'stdout' | 'stderr'; chunk: Uint8Array }
  | { id: number; op: 'bytes'; total: number }
  | { id: number; op: 'done'; result?: ExecResult }
  | { id: number; op: 'failed'; error: { message: string; type?: FailureType } };

/** How long closing waits for the connections to say goodbye before the thread is ended. */
const CLOSE_WAIT_MS = 2_000;

interface Call {
  resolve(reply: SshReply & { op: 'leased' | 'done' }): void;
  reject(error: Error): void;
  onOutput?(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  onBytes?(total: number): void;
}

/**
 * The worker's SSH connections live on a thread of their own: key exchanges, packet ciphers and
 * socket I/O for hundreds of hosts held the main thread's event loop up to a second behind, and
 * all the SDK does there (workflow and activity tasks, queries, heartbeats) waited on it. Steps
 * lease sessions here as from the pool itself.
 */
export class SshThreadPool {
  private thread?: Worker;
  private nextId = 1;
  private readonly calls = new Map<number, Call>();

  constructor(private readonly config: SshThreadConfig) {}

  async acquire(target: HostTarget): Promise<HostLease> {
    const thread = this.running();
    const { lease } = (await this.call(thread, { op: 'acquire', target })) as { lease: number };
    let released = false;
    return {
      session: new ThreadSession(this, thread, lease),
      release: () => {
        if (released) return;
        released = true;
        if (thread === this.thread) thread.postMessage({ op: 'release', lease } satisfies SshRequest);
      },
    };
  }

  /** Closes every connection and ends the thread. */
  async close(): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    const closed = this.call(thread, { op: 'close' }).catch(() => undefined);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
    this.thread = undefined;
    await thread.terminate();
  }

  call(thread: Worker, request: CallRequest, handlers: Pick<Call, 'onOutput' | 'onBytes'> = {}): Promise<SshReply & { op: 'leased' | 'done' }> {
    if (thread !== this.thread) return Promise.reject(new ConnectError(FailureType.HostUnreachable, 'the connection was lost when the SSH thread restarted'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, ...handlers });
      thread.postMessage({ ...request, id } as SshRequest);
    });
  }

  private running(): Worker {
    if (this.thread) return this.thread;
    const thread = new Worker(join(__dirname, 'thread.js'), { workerData: this.config });
    thread.on('message', (reply: SshReply) => this.onReply(reply));
    // A thread that fails takes its connections with it: what waited on it fails, the next step starts another.
    const lost = (why: string) => {
      if (this.thread === thread) this.thread = undefined;
      for (const [id, call] of this.calls) {
        this.calls.delete(id);
        call.reject(new ConnectError(FailureType.HostUnreachable, `the SSH thread stopped (${why})`));
      }
    };
    thread.on('error', (e) => lost(e.message));
    thread.on('exit', (code) => lost(`exit code ${code}`));
    thread.unref();
    this.thread = thread;
    return thread;
  }

  private onReply(reply: SshReply): void {
    const call = this.calls.get(reply.id);
    if (!call) return;
    switch (reply.op) {
      case 'stdout':
      case 'stderr':
        call.onOutput?.(reply.op, Buffer.from(reply.chunk.buffer, reply.chunk.byteOffset, reply.chunk.byteLength));
        return;
      case 'bytes':
        call.onBytes?.(reply.total);
        return;
      case 'failed':
        this.calls.delete(reply.id);
        call.reject(reply.error.type ? new ConnectError(reply.error.type, reply.error.message) : new Error(reply.error.message));
        return;
      default:
        this.calls.delete(reply.id);
        call.resolve(reply);
    }
  }
}

/** A leased session on the SSH thread; every call runs there. */
class ThreadSession implements HostSession {
  constructor(
    private readonly pool: SshThreadPool,
    private readonly thread: Worker,
    private readonly lease: number,
  ) {}

  async exec(command: string, io: ExecIO): Promise<ExecResult> {
    const onOutput = (stream: 'stdout' | 'stderr', chunk: Buffer) => (stream === 'stdout' ? io.onStdout?.(chunk) : io.onStderr?.(chunk));
    const reply = await this.pool.call(this.thread, { op: 'exec', lease: this.lease, command, stdin: io.stdin }, { onOutput });
    return (reply as { result: ExecResult }).result;
  }

  async upload(data: { path: string } | { bytes: Buffer }, remotePath: string, onBytes?: (total: number) => void): Promise<void> {
    await this.pool.call(this.thread, { op: 'upload', lease: this.lease, data, remotePath }, { onBytes });
  }

  async download(remotePath: string, localPath: string, onBytes?: (total: number) => void): Promise<void> {
    await this.pool.call(this.thread, { op: 'download', lease: this.lease, remotePath, localPath }, { onBytes });
  }
}

/** A request that expects replies, before it is given its id. */
type CallRequest = Exclude<SshRequest, { op: 'release' }> extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;
