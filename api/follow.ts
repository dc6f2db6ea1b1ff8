import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JsMsg, type NatsConnection } from 'nats';

const RETRY_MS = 2_000;

/**
 * Reads a stream from `start` on, then every new message, until `signal` aborts. An ephemeral
 * consumer that goes away (the server restarted, the stream was recreated) is made again after
 * the last message seen, so nothing is skipped and nothing read twice.
 */
export async function followStream(
  nc: NatsConnection,
  stream: string,
  options: { filter?: string; start: Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_seq' | 'opt_start_time'> },
  onMessage: (m: JsMsg) => void,
  signal: AbortSignal,
  log: (message: string) => void,
): Promise<void> {
  let start = options.start;
  while (!signal.aborted && !nc.isClosed()) {
    try {
      const jsm = await nc.jetstreamManager();
      const created = await jsm.consumers.add(stream, { ...(options.filter ? { filter_subject: options.filter } : {}), ack_policy: AckPolicy.None, inactive_threshold: nanos(60_000), ...start });
      const messages = await (await nc.jetstream().consumers.get(stream, created.name)).consume({ abort_on_missing_resource: true });
      const stop = () => messages.stop();
      signal.addEventListener('abort', stop, { once: true });
      try {
        for await (const m of messages) {
          onMessage(m);
          start = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: m.seq + 1 };
        }
      } finally {
        signal.removeEventListener('abort', stop);
        await jsm.consumers.delete(stream, created.name).catch(() => undefined);
      }
    } catch (e) {
      if (!signal.aborted) log(`following ${stream}${options.filter ? ` (${options.filter})` : ''}: ${(e as Error).message}; trying again`);
    }
    await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
  }
}
