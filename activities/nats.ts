import { connect, type ConnectionOptions, type NatsConnection } from 'nats';

/**
 * Connects to NATS, or says which server could not be reached and how to name another.
 * Without async traces: the client would otherwise capture two stacks for every request (each
 * JetStream publish of a step's output is one) to decorate errors whose messages already say what failed.
 */
export async function connectNats(url: string, options: Omit<ConnectionOptions, 'servers'>): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, noAsyncTraces: true, ...options });
  } catch (e) {
    throw new Error(`cannot reach NATS at ${url}: ${(e as Error).message} (set --nats or OPS_NATS_URL)`);
  }
}
