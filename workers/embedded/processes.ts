// Starting and stopping the servers of the embedded stack and of the tests: free ports,
// readiness polling, and stopping child processes together with everything below them.
import { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where Ops keeps built tools (bin/) and machine-wide state, outside any clone: ${OPS_CACHE_DIR:-~/.cache/ops}. */
export function opsCacheDir(): string {
  return process.env.OPS_CACHE_DIR ?? join(homedir(), '.cache', 'ops');
}

/** A TCP port that is free on `host` right now (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`no free port on ${host}`))));
    });
  });
}

/** Whether a TCP connect to host:port succeeds within `timeoutMs`. */
export async function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return (await tcpConnectError(host, port, timeoutMs)) === undefined;
}

/** How a TCP connect to host:port ends: undefined when it connects, else the error's code (ETIMEDOUT after `timeoutMs`). */
export function tcpConnectError(host: string, port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (code: string | undefined): void => {
      socket.destroy();
      resolve(code);
    };
    socket.setTimeout(timeoutMs, () => done('ETIMEDOUT'));
    socket.once('connect', () => done(undefined));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/**
 * Polls `check` until it returns true. Rejects after `timeoutMs`, or as soon as
 * `server` (the process being waited for) exits, with its output tail.
 */
export async function pollUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  server?: WatchedProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server?.exited) throw new Error(`${what}: process exited (${server.exited})\n${server.outputTail()}`);
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${timeoutMs} ms${server ? `\n${server.outputTail()}` : ''}`);
    }
    await sleep(25);
  }
}

/** Waits until host:port accepts TCP connections. */
export function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  return pollUntil(`${host}:${port}`, () => canConnect(host, port), timeoutMs);
}

/** A spawned server process with its exit state and the last few KB of its output. */
export interface WatchedProcess {
  child: ChildProcess;
  /** Why it exited ('code 1', 'signal SIGKILL'), or undefined while it runs. */
  readonly exited: string | undefined;
  outputTail(): string;
}

const TAIL_BYTES = 8192;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Tracks a child: remembers its output tail and kills it when the test process
 * exits, so no server outlives the test run even if a test forgot stop().
 */
export function watchProcess(child: ChildProcess): WatchedProcess {
  let tail = '';
  let exited: string | undefined;
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  running.add(child);
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `code ${code}`;
    running.delete(child);
  });
  child.once('error', (error) => {
    exited ??= `spawn error: ${error.message}`;
    running.delete(child);
  });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => running.forEach(killTreeNow));
  }
  return {
    child,
    get exited() {
      return exited;
    },
    outputTail: () => tail,
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopProcess(watched: WatchedProcess, graceMs = 5000): Promise<void> {
  const { child } = watched;
  if (watched.exited) return;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exit;
  clearTimeout(timer);
}

/**
 * Kills a process and everything below it at once, then waits for it to exit.
 * sshd forks a process per connection in its own session, so killing only the
 * listener would leave open connections alive; a stopped "host" must drop them.
 */
export async function killProcessTree(watched: WatchedProcess): Promise<void> {
  if (watched.exited) return;
  const exit = new Promise<void>((resolve) => watched.child.once('exit', () => resolve()));
  killTreeNow(watched.child);
  await exit;
}

function killTreeNow(child: ChildProcess): void {
  if (child.pid === undefined) return;
  // Freeze the root first so it forks nothing new while its tree is collected.
  child.kill('SIGSTOP');
  for (const pid of descendantPids(child.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  child.kill('SIGKILL');
}

/** Descendants of `rootPid`, from the parent pid field of /proc/<pid>/stat. */
export function descendantPids(rootPid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while scanning
    }
    // "pid (comm) state ppid ...": comm may contain spaces, so parse after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    for (const pid of childrenOf.get(queue.shift() as number) ?? []) {
      found.push(pid);
      queue.push(pid);
    }
  }
  return found;
}
