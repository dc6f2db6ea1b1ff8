import { connect, type ConnectionOptions, type NatsConnection } from 'nats';

/** Connects to NATS, or says which server could not be reached and how to name another. */
export async function connectNats(url: string, options: Omit<ConnectionOptions, 'servers'>): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, ...options });
  } catch (e) {
    throw new Error(`cannot reach NATS at ${url}: ${(e as Error).message} (set --nats or OPS_NATS_URL)`);
  }
}
