import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JsMsg, type NatsConnection } from 'nats';
import type { CloudEvent } from '../model/event-match';
import { EVENTS_STREAM } from '../model/naming';
import { followStream } from './follow';

/** One stored event, with its place in the hub's stream (resume after `seq`). */
export interface StoredEvent {
  seq: number;
  subject: string;
  /** When the stream stored it. */
  stored: string;
  event: CloudEvent;
}

export interface ReadEventsOptions {
  /** A subject pattern ("*" one token, ">" the rest); default every event. */
  subject?: string;
  /** From this time on… */
  since?: Date;
  /** …or after this stream sequence (wins over since). */
  after?: number;
  limit: number;
}

function startOf(options: Pick<ReadEventsOptions, 'since' | 'after'>): Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_seq' | 'opt_start_time'> {
  if (options.after !== undefined) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.after + 1 };
  if (options.since) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: options.since.toISOString() };
  return { deliver_policy: DeliverPolicy.All };
}

function stored(m: JsMsg): StoredEvent | undefined {
  try {
    return { seq: m.seq, subject: m.subject, stored: new Date(Math.floor(m.info.timestampNanos / 1e6)).toISOString(), event: m.json<CloudEvent>() };
  } catch {
    return undefined; // not JSON: not an event
  }
}

/** The events stored so far that match, oldest first, at most `limit`. */
export async function readEvents(nc: NatsConnection, options: ReadEventsOptions): Promise<StoredEvent[]> {
  const jsm = await nc.jetstreamManager();
  const created = await jsm.consumers.add(EVENTS_STREAM, { ...(options.subject ? { filter_subject: options.subject } : {}), ack_policy: AckPolicy.None, inactive_threshold: nanos(60_000), ...startOf(options) });
  const events: StoredEvent[] = [];
  try {
    if (created.num_pending === 0) return events;
    const messages = await (await nc.jetstream().consumers.get(EVENTS_STREAM, created.name)).consume({ max_messages: Math.min(options.limit, 500) });
    for await (const m of messages) {
      const e = stored(m);
      if (e) events.push(e);
      if (events.length >= options.limit || m.info.pending === 0) break;
    }
    messages.stop();
    return events;
  } finally {
    await jsm.consumers.delete(EVENTS_STREAM, created.name).catch(() => undefined);
  }
}

/** Every matching event from the start on, as it arrives, until `signal` aborts. */
export function followEvents(nc: NatsConnection, options: Omit<ReadEventsOptions, 'limit'>, onEvent: (e: StoredEvent) => void, signal: AbortSignal, log: (message: string) => void): Promise<void> {
  return followStream(
    nc,
    EVENTS_STREAM,
    { filter: options.subject, start: startOf(options) },
    (m) => {
      const e = stored(m);
      if (e) onEvent(e);
    },
    signal,
    log,
  );
}
