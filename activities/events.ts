import { Context } from '@temporalio/activity';
import type { JetStreamClient, NatsConnection } from 'nats';
import { connectNats } from './nats';
import { ensureStream, eventStreamConfig, type EventLimits } from './streams';

/** An event to publish; `id` is stable, so a retried publish is dropped as a duplicate. */
export interface OpsEvent {
  subject: string;
  /** CloudEvents type, e.g. `dev.ops.approval.pending`. */
  type: string;
  id: string;
  data: object;
}

export interface EventPublisher {
  publish(event: OpsEvent): Promise<void>;
  close(): Promise<void>;
}

/**
 * An activity's events are named after its workflow execution, so a retried attempt's are dropped
 * as duplicates. The workflow id and run id both: a schedule may reuse an id within one second.
 */
export function eventIdPrefix(): string {
  const { workflowExecution, activityId } = Context.current().info;
  return workflowExecution ? `${workflowExecution.workflowId}/${workflowExecution.runId}` : activityId;
}

/** CloudEvents 1.0 in structured JSON mode. */
export function cloudEvent(event: OpsEvent, source: string, time = new Date()): Record<string, unknown> {
  return { specversion: '1.0', id: event.id, source, type: event.type, subject: event.subject, time: time.toISOString(), datacontenttype: 'application/json', data: event.data };
}

/**
 * Publishes to JetStream on the worker's own NATS: the events stream there keeps them (also while
 * the link to the hub is cut), and the hub's sources them, so EventHooks see every event.
 */
export class NatsEventPublisher implements EventPublisher {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly source: string,
  ) {}

  static async connect(url: string, identity: string, limits: EventLimits): Promise<NatsEventPublisher> {
    const nc = await connectNats(url, { name: 'ops-worker-events', maxReconnectAttempts: -1 });
    await ensureStream(nc, eventStreamConfig(limits));
    return new NatsEventPublisher(nc, nc.jetstream(), `/ops/workers/${encodeURIComponent(identity)}`);
  }

  async publish(event: OpsEvent): Promise<void> {
    await this.js.publish(event.subject, JSON.stringify(cloudEvent(event, this.source)), { msgID: event.id });
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}

/** Used when the worker has no NATS (OPS_NATS_URL=off): events are dropped, runs go on. */
export const noEvents: EventPublisher = {
  publish: async () => undefined,
  close: async () => undefined,
};
