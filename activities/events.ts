import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import { APPROVALS_STREAM, APPROVAL_SUBJECTS } from '../model/naming';

/** An event a workflow asks the control worker to publish; `id` is stable, so a retried publish is dropped as a duplicate. */
export interface OpsEvent {
  subject: string;
  /** CloudEvents type, e.g. `dev.ops.approval.pending`. */
  type: string;
  id: string;
  data: Record<string, unknown>;
}

export interface EventPublisher {
  publish(event: OpsEvent): Promise<void>;
  close(): Promise<void>;
}

/** How long JetStream keeps approval events for EventHooks that were down. */
const EVENTS_MAX_AGE_NS = 30 * 24 * 3600 * 1e9;

/** CloudEvents 1.0 in structured JSON mode. */
export function cloudEvent(event: OpsEvent, source: string, time = new Date()): Record<string, unknown> {
  return { specversion: '1.0', id: event.id, source, type: event.type, subject: event.subject, time: time.toISOString(), datacontenttype: 'application/json', data: event.data };
}

/** Publishes to JetStream, so EventHooks (durable consumers) see every event even if they were down. */
export class NatsEventPublisher implements EventPublisher {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly source: string,
  ) {}

  static async connect(url: string, identity: string): Promise<NatsEventPublisher> {
    const nc = await connect({ servers: url, name: 'ops-control-worker', maxReconnectAttempts: -1 });
    await ensureEventStream(nc);
    return new NatsEventPublisher(nc, nc.jetstream(), `/ops/workers/${encodeURIComponent(identity)}`);
  }

  async publish(event: OpsEvent): Promise<void> {
    await this.js.publish(event.subject, JSON.stringify(cloudEvent(event, this.source)), { msgID: event.id });
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}

async function ensureEventStream(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const config = { name: APPROVALS_STREAM, subjects: [APPROVAL_SUBJECTS], max_age: EVENTS_MAX_AGE_NS, duplicate_window: 120 * 1e9 };
  const exists = await jsm.streams.info(APPROVALS_STREAM).then(
    () => true,
    () => false,
  );
  if (exists) await jsm.streams.update(APPROVALS_STREAM, config);
  else await jsm.streams.add(config);
}

/** Used when the worker has no NATS (OPS_NATS_URL=off): events are dropped, runs go on. */
export const noEvents: EventPublisher = {
  publish: async () => undefined,
  close: async () => undefined,
};
