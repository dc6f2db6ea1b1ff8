import type { Context } from '@temporalio/activity';

/**
 * A cancel reaches a step with a heartbeat's answer, so within seconds; the SDK sends the first at
 * once and later ones at most every 8 s (80 % of the 10 s heartbeat timeout). Every heartbeat
 * sent is a write on the server: a step that ends within this never sends one.
 */
const HEARTBEAT_MS = 5_000;

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
