import type { JsMsg, NatsConnection } from 'nats';
import type { CloudEvent } from '../model/event-match';
import { EVENTS_STREAM } from '../model/naming';
import { followStream, readStored, startFrom } from './stream-reader';

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

function stored(m: JsMsg): StoredEvent | undefined {
  try {
    return { seq: m.seq, subject: m.subject, stored: new Date(Math.floor(m.info.timestampNanos / 1e6)).toISOString(), event: m.json<CloudEvent>() };
  } catch {
    return undefined; // not JSON: not an event
  }
}

/** The events stored so far that match, oldest first, at most `limit`. */
export async function readEvents(nc: NatsConnection, options: ReadEventsOptions): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const m of readStored(nc, EVENTS_STREAM, { filter: options.subject, start: startFrom(options), limit: options.limit })) {
    const e = stored(m);
    if (e) events.push(e);
  }
  return events;
}

/** Every matching event from the start on, as it arrives, until `signal` aborts. */
export function followEvents(nc: NatsConnection, options: Omit<ReadEventsOptions, 'limit'>, onEvent: (e: StoredEvent) => void, signal: AbortSignal, log: (message: string) => void): Promise<void> {
  return followStream(
    nc,
    EVENTS_STREAM,
    { filter: options.subject, start: startFrom(options) },
    (m) => {
      const e = stored(m);
      if (e) onEvent(e);
    },
    signal,
    log,
  );
}
