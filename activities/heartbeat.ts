import type { Context } from '@temporalio/activity';

/** Often enough that a cancel reaches a step within seconds; the SDK throttles what it sends. */
const HEARTBEAT_MS = 2_000;

/** Heartbeats with fresh details until the returned function is called. */
export function keepHeartbeating(ctx: Context, details: () => unknown): () => void {
  const timer = setInterval(() => ctx.heartbeat(details()), HEARTBEAT_MS);
  return () => clearInterval(timer);
}

/** Heartbeats while `work` runs: reaching a host can take long (a step pod pulling its image). */
export async function heartbeatWhile<T>(ctx: Context, work: Promise<T>): Promise<T> {
  const stop = keepHeartbeating(ctx, () => ({ connecting: true }));
  try {
    return await work;
  } finally {
    stop();
  }
}
