import { RetentionPolicy, StorageType, type NatsConnection, type StreamConfig, type StreamSource } from 'nats';
import { EVENTS_STREAM, EVENT_SUBJECTS, LOGS_STREAM, LOGS_SUBJECTS } from '../model/naming';

/**
 * The JetStream streams Ops keeps: events and run logs. Every NATS a worker publishes to holds them
 * (a cluster's own NATS buffers while its link to the hub is cut); the hub's also source every
 * cluster's (api/event-hub.ts). Workers only create a missing stream, never change one, so they
 * never undo the sources and limits the control plane sets on the hub.
 */

/** How much of the event history a stream keeps; the oldest events go first. */
export interface EventLimits {
  maxAgeSeconds: number;
  /** -1: no limit. */
  maxBytes: number;
  maxMessages: number;
}

/** Published again within this window (a retried activity), an event or log chunk is dropped as a duplicate. */
const DUPLICATE_WINDOW_NS = 120 * 1e9;
const LOGS_MAX_AGE_NS = 14 * 24 * 3600 * 1e9;

export function eventStreamConfig(limits: EventLimits, sources: StreamSource[] = []): Partial<StreamConfig> & { name: string } {
  return {
    name: EVENTS_STREAM,
    subjects: EVENT_SUBJECTS,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: limits.maxAgeSeconds * 1e9,
    max_bytes: limits.maxBytes,
    max_msgs: limits.maxMessages,
    duplicate_window: DUPLICATE_WINDOW_NS,
    ...(sources.length ? { sources } : {}),
  };
}

export function logStreamConfig(sources: StreamSource[] = []): Partial<StreamConfig> & { name: string } {
  return { name: LOGS_STREAM, subjects: [LOGS_SUBJECTS], storage: StorageType.File, max_age: LOGS_MAX_AGE_NS, duplicate_window: DUPLICATE_WINDOW_NS, ...(sources.length ? { sources } : {}) };
}

/** Creates the stream when it is missing; an existing one is left as it is. */
export async function ensureStream(nc: NatsConnection, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const exists = await jsm.streams.info(config.name).then(
    () => true,
    () => false,
  );
  if (exists) return;
  await jsm.streams.add(config).catch(async (e: Error) => {
    // Another worker created it at the same moment.
    if (!(await jsm.streams.info(config.name).then(() => true, () => false))) throw e;
  });
}
