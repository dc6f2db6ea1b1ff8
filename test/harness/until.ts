// Waiting for something the servers do in their own time.

export interface UntilOptions {
  timeoutMs?: number;
  everyMs?: number;
  /** What to add to a timeout's message, such as the servers' logs. */
  context?: () => string | Promise<string>;
}

/**
 * Reads until `ok` holds of what was read and returns it. A read that throws counts as not yet.
 * Past the deadline it fails with what it waited for, the last value or error and the context.
 */
export async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, options: UntilOptions = {}): Promise<T> {
  const { timeoutMs = 60_000, everyMs = 250, context } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: string;
    try {
      const value = await read();
      if (ok(value)) return value;
      last = `last value ${JSON.stringify(value)}`;
    } catch (e) {
      last = `last error ${(e as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; ${last}${context ? `\n${await context()}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** An `until` whose timeouts carry the given context (a test file's servers' logs) and default timeout. */
export function untilWith(context: () => string | Promise<string>, timeoutMs = 60_000) {
  return <T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeout = timeoutMs): Promise<T> => until(what, read, ok, { timeoutMs: timeout, context });
}
