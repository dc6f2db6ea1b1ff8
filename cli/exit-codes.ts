/** What `ops` exit codes mean, so scripts can tell a failed run from a typo. */
export const ExitCode = {
  ok: 0,
  runFailed: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  /** Something outside the run went wrong (Temporal unreachable, a server down). */
  unavailable: 5,
  /** Ctrl-C, as shells report it (128 + SIGINT): the command stopped, a run it was following goes on. */
  interrupted: 130,
  /** Whoever read the output went away (`ops logs RUN | head`), as shells report it (128 + SIGPIPE). */
  outputClosed: 141,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Ends a follow on Ctrl-C: the signal aborts it, and the command, once it has closed what it opened, exits 130. */
export function stopOnInterrupt(): AbortController {
  const stop = new AbortController();
  process.once('SIGINT', () => {
    process.exitCode = ExitCode.interrupted;
    stop.abort();
  });
  return stop;
}
