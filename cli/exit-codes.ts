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
