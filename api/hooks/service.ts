import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, nanos, type ConsumerMessages, type JsMsg } from 'nats';
import type { Catalog } from '../../model/catalog';
import { backoffMs, startedByHook, type EventHook } from '../../model/event-hook';
import { matchesEvent, type CloudEvent } from '../../model/event-match';
import { EVENTS_STREAM } from '../../model/naming';
import { Semaphore } from '../../activities/semaphore';
import type { ParkedEvents } from '../store/parked-events';
import type { Reconciled } from '../reconciler';
import { deliver, PermanentFailure, type DeliveryContext } from './deliver';

/** Deliveries of one hook under way at once. */
const PARALLEL = 8;
const CONSUMER_PREFIX = 'hook_';
const RETRY_MS = 2_000;

/** One durable consumer per hook and subject: a changed subject is a new consumer, from then on. */
export function hookConsumerName(hook: EventHook): string {
  return `${CONSUMER_PREFIX}${hook.metadata.name}_${createHash('sha256').update(hook.spec.subject).digest('hex').slice(0, 8)}`;
}

/** Time a delivery may take before JetStream offers the event again: the webhook's timeout and a margin. */
function ackWaitMs(hook: EventHook): number {
  return ((hook.spec.webhook?.timeoutSeconds ?? 10) + 30) * 1000;
}

interface Consuming {
  hook: EventHook;
  consumer: string;
  stop(): Promise<void>;
}

/**
 * Runs every EventHook inside `ops server`: a durable JetStream consumer on the hub's events stream
 * per hook, so events that arrive while a receiver (or the server) is down wait for it. A failed
 * delivery is offered again after a backoff; after the hook's last attempt the event is parked in
 * the store, where the API lists it and replays it. Several servers share each hook's consumer.
 */
export class HookService implements Reconciled {
  readonly name = 'event hooks';
  private readonly consuming = new Map<string, Consuming>();

  constructor(
    private readonly ctx: DeliveryContext & { parked: ParkedEvents },
    private readonly log: (message: string) => void,
  ) {}

  async reconcile(catalog: Catalog): Promise<void> {
    const jsm = await this.ctx.nc.jetstreamManager();
    const wanted = new Map([...catalog.eventHooks.values()].map((h) => [hookConsumerName(h), h]));
    const existing = new Map<string, number>();
    for await (const c of jsm.consumers.list(EVENTS_STREAM)) if (c.name.startsWith(CONSUMER_PREFIX)) existing.set(c.name, c.config.ack_wait ?? 0);
    for (const [consumer, hook] of wanted) {
      const ackWait = nanos(ackWaitMs(hook));
      if (!existing.has(consumer)) {
        await jsm.consumers.add(EVENTS_STREAM, { durable_name: consumer, filter_subject: hook.spec.subject, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New, ack_wait: ackWait, max_deliver: -1 });
      } else if (existing.get(consumer) !== ackWait) {
        await jsm.consumers.update(EVENTS_STREAM, consumer, { ack_wait: ackWait });
      }
      const running = this.consuming.get(hook.metadata.name);
      if (running?.consumer === consumer) {
        running.hook = hook; // the new spec applies from the next event on
        continue;
      }
      await running?.stop();
      this.consuming.set(hook.metadata.name, this.consume(hook, consumer));
    }
    for (const [name, running] of this.consuming) {
      if (wanted.has(running.consumer)) continue;
      await running.stop();
      this.consuming.delete(name);
    }
    for (const consumer of existing.keys()) if (!wanted.has(consumer)) await jsm.consumers.delete(EVENTS_STREAM, consumer).catch(() => undefined);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.consuming.values()].map((c) => c.stop()));
    this.consuming.clear();
  }

  /** Delivers a parked event once more, now: it leaves the store when it arrives, else stays with the new error. */
  async replay(hook: EventHook, id: string): Promise<{ delivered: boolean; result: string } | undefined> {
    const parked = await this.ctx.parked.get(hook.metadata.name, id);
    if (!parked) return undefined;
    const attempt = parked.attempts + 1;
    try {
      const result = await deliver(this.ctx, hook, parked.event, JSON.stringify(parked.event), attempt);
      await this.ctx.parked.remove(hook.metadata.name, id);
      return { delivered: true, result };
    } catch (e) {
      await this.ctx.parked.park(hook.metadata.name, parked.event, attempt, (e as Error).message);
      return { delivered: false, result: (e as Error).message };
    }
  }

  private consume(hook: EventHook, consumer: string): Consuming {
    const inFlight = new Set<Promise<void>>();
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    const state: Consuming = {
      hook,
      consumer,
      stop: async () => {
        stopped = true;
        messages?.stop();
        await loop;
        await Promise.all(inFlight);
      },
    };
    const loop = (async () => {
      while (!stopped) {
        try {
          messages = await (await this.ctx.nc.jetstream().consumers.get(EVENTS_STREAM, consumer)).consume({ max_messages: PARALLEL, abort_on_missing_resource: true });
          if (stopped) messages.stop();
          const gate = new Semaphore(PARALLEL);
          for await (const m of messages) {
            const release = await gate.acquire();
            const handled = this.handle(state.hook, m).finally(() => {
              release();
              inFlight.delete(handled);
            });
            inFlight.add(handled);
          }
        } catch (e) {
          if (!stopped) this.log(`eventhook ${state.hook.metadata.name}: ${(e as Error).message}; trying again`);
        }
        if (!stopped) await sleep(RETRY_MS);
      }
    })();
    return state;
  }

  private async handle(hook: EventHook, m: JsMsg): Promise<void> {
    const name = hook.metadata.name;
    let event: CloudEvent;
    try {
      event = m.json<CloudEvent>();
    } catch {
      m.term();
      return;
    }
    if (!matchesEvent(hook.spec.match, event) || startedByHook(hook, event)) return m.ack();
    const attempt = m.info.deliveryCount;
    try {
      await deliver(this.ctx, hook, event, m.string(), attempt);
      m.ack();
    } catch (e) {
      const message = (e as Error).message;
      if (!(e instanceof PermanentFailure) && attempt < hook.spec.retry.maxAttempts) return m.nak(backoffMs(hook.spec.retry, attempt));
      try {
        await this.ctx.parked.park(name, event, attempt, message);
        m.term();
        this.log(`eventhook ${name}: parked event ${event.id} after ${attempt} attempt(s): ${message}`);
      } catch (parkError) {
        // The store is away: offer the event again rather than lose it.
        this.log(`eventhook ${name}: could not park event ${event.id}: ${(parkError as Error).message}`);
        m.nak(backoffMs(hook.spec.retry, attempt));
      }
    }
  }
}
