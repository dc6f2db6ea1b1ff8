/** What a step needs from a host, whether reached over SSH or on the worker's own machine. */
export interface HostSession {
  /** Runs a command with `sh -c` semantics; output is delivered as it arrives. */
  exec(command: string, io: ExecIO): Promise<ExecResult>;
  /**
   * Writes `data` (a local file, or bytes in memory) to a file on the host (created or truncated,
   * mode 0600); relative paths start at the user's home. `onBytes` hears the running total.
   */
  upload(data: { path: string } | { bytes: Buffer }, remotePath: string, onBytes?: (total: number) => void): Promise<void>;
  /** Copies a file of the host to a local path. */
  download(remotePath: string, localPath: string, onBytes?: (total: number) => void): Promise<void>;
}

export interface ExecIO {
  stdin?: string | Buffer;
  onStdout?(chunk: Buffer): void;
  onStderr?(chunk: Buffer): void;
}

export interface ExecResult {
  /** null when the process was ended by a signal. */
  code: number | null;
  signal?: string;
}

/** A session borrowed from the pool; `release` hands it back for reuse. */
export interface HostLease {
  session: HostSession;
  release(): void;
}

/** Runs a short command and returns its output, for the file steps' bookkeeping. */
export async function execCapture(session: HostSession, command: string, stdin?: string | Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const { code } = await session.exec(command, { stdin, onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
