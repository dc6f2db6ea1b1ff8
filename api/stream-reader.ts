import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JsMsg, type NatsConnection } from 'nats';

/**
 * Reading a JetStream stream: each read makes an ephemeral pull consumer and deletes it after. Not
 * the client's ordered consumer, so it works on nats-server 2.9, Debian 12's version.
 */

const RETRY_MS = 2_000;
/** A consumer whose reader went away without deleting it (a crash, a lost connection) is dropped after this long. */
const INACTIVE_MS = 60_000;
/** The most messages one pull asks for. */
const MAX_BATCH = 500;

export type StreamStart = Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_seq' | 'opt_start_time'>;

export interface StreamRead {
  /** A subject pattern; default every subject of the stream. */
  filter?: string;
  start: StreamStart;
}

/** After this stream sequence, else from this time on, else from the oldest message kept. */
export function startFrom(from: { after?: number; since?: Date }): StreamStart {
  if (from.after !== undefined) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.after + 1 };
  if (from.since) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.since.toISOString() };
  return { deliver_policy: DeliverPolicy.All };
}

/**
 * A new consumer's messages until `signal` aborts, `limit` are read, the reader stops, the consumer
 * goes away (it throws then) or, with `storedOnly`, the last one stored when it was made. The
 * consumer is deleted after.
 */
async function* consumerMessages(nc: NatsConnection, stream: string, read: StreamRead & { storedOnly: boolean; limit?: number; signal?: AbortSignal }): AsyncGenerator<JsMsg> {
  const jsm = await nc.jetstreamManager();
  const created = await jsm.consumers.add(stream, { ...(read.filter ? { filter_subject: read.filter } : {}), ack_policy: AckPolicy.None, inactive_threshold: nanos(INACTIVE_MS), ...read.start });
  try {
    if (read.storedOnly && created.num_pending === 0) return;
    const consumer = await nc.jetstream().consumers.get(stream, created.name);
    const messages = await consumer.consume({ abort_on_missing_resource: true, ...(read.limit ? { max_messages: Math.min(read.limit, MAX_BATCH) } : {}) });
    const stop = () => messages.stop();
    read.signal?.addEventListener('abort', stop, { once: true });
    // Aborted while the consumer was being made: no later abort event would stop the wait.
    if (read.signal?.aborted) stop();
    try {
      let count = 0;
      for await (const m of messages) {
        yield m;
        count += 1;
        if (count >= (read.limit ?? Infinity) || (read.storedOnly && m.info.pending === 0)) break;
      }
    } finally {
      read.signal?.removeEventListener('abort', stop);
    }
  } finally {
    await jsm.consumers.delete(stream, created.name).catch(() => undefined);
  }
}

/**
 * The messages stored so far from `start` on, oldest first, at most `limit`: none, at once, when none
 * are stored. Its consumer is deleted after, also when the reader stops early or `signal` aborts.
 */
export function readStored(nc: NatsConnection, stream: string, read: StreamRead & { limit?: number; signal?: AbortSignal }): AsyncGenerator<JsMsg> {
  return consumerMessages(nc, stream, { ...read, storedOnly: true });
}

/**
 * Reads a stream from `start` on, then every new message, until `signal` aborts. A consumer that
 * goes away (lost over a server restart, the stream recreated) is made again after the last message
 * seen, so nothing is skipped and nothing read twice.
 */
export async function followStream(nc: NatsConnection, stream: string, read: StreamRead, onMessage: (m: JsMsg) => void, signal: AbortSignal, log: (message: string) => void): Promise<void> {
  let start = read.start;
  while (!signal.aborted && !nc.isClosed()) {
    try {
      for await (const m of consumerMessages(nc, stream, { ...read, start, storedOnly: false, signal })) {
        onMessage(m);
        start = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: m.seq + 1 };
      }
    } catch (e) {
      if (!signal.aborted) log(`following ${stream}${read.filter ? ` (${read.filter})` : ''}: ${(e as Error).message}; trying again`);
    }
    await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
  }
}
