import type { Context } from '@temporalio/activity';
import { STEP_HEARTBEAT_MS } from '../model/timing';

/**
 * A cancel reaches a step with a heartbeat's answer, so within seconds; the SDK sends the first at
 * once and later ones at most every STEP_HEARTBEAT_MS (the worker's throttle). Every heartbeat
 * sent is a write on the server: a step that ends within this never sends one. Heartbeats with
 * fresh details until the returned function is called.
 */
export function keepHeartbeating(ctx: Context, details: () => unknown): () => void {
  const timer = setInterval(() => ctx.heartbeat(details()), STEP_HEARTBEAT_MS);
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
