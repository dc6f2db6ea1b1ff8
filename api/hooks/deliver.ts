import { createHash, createHmac } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import type { CredentialStore } from '../../activities/credentials';
import { hookRequester, type EventHook } from '../../model/event-hook';
import { renderFromEvent, type CloudEvent } from '../../model/event-match';
import { ValidationError } from '../../model/errors';
import { TemplateError } from '../../model/template';
import { newRunId } from '../../model/naming';
import { planPipelineRun, planTaskRun } from '../../model/plan';
import { startPipelineRun, startTaskRun } from '../../workers/runs';
import type { DefinitionStore } from '../store/definitions';

/** Retrying cannot help (the run cannot be planned, the secret is missing): the event is parked at once. */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure';
}

export interface DeliveryContext {
  nc: NatsConnection;
  temporal: Client;
  definitions: DefinitionStore;
  /** The server's credentials file: webhook signing secrets. */
  credentials: CredentialStore;
}

/** The header a webhook's body is signed in: `sha256=<hex HMAC-SHA256 of the body>`. */
export const SIGNATURE_HEADER = 'X-Ops-Signature';

/** Delivers one event by the hook's action; resolves with what it did, throws when it did not. */
export async function deliver(ctx: DeliveryContext, hook: EventHook, event: CloudEvent, body: string, attempt: number): Promise<string> {
  const { spec } = hook;
  if (spec.webhook) return postWebhook(ctx, hook, body, event, attempt);
  if (spec.publish) return publishAgain(ctx, hook, spec.publish.subject, body, event);
  return startRun(ctx, hook, event);
}

async function postWebhook(ctx: DeliveryContext, hook: EventHook, body: string, event: CloudEvent, attempt: number): Promise<string> {
  const webhook = hook.spec.webhook as NonNullable<EventHook['spec']['webhook']>;
  let signature: Record<string, string> = {};
  if (webhook.secretRef) {
    let secret: string;
    try {
      secret = ctx.credentials.secret(webhook.secretRef);
    } catch (e) {
      throw new PermanentFailure((e as Error).message);
    }
    signature = { [SIGNATURE_HEADER]: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` };
  }
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        ...webhook.headers,
        'Content-Type': 'application/cloudevents+json',
        'X-Ops-Hook': hook.metadata.name,
        'X-Ops-Event-Id': event.id,
        'X-Ops-Delivery-Attempt': String(attempt),
        ...signature,
      },
      body,
      signal: AbortSignal.timeout(webhook.timeoutSeconds * 1000),
      redirect: 'error',
    });
  } catch (e) {
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new Error(`POST ${webhook.url}: ${(e as Error).name === 'TimeoutError' ? `no answer within ${webhook.timeoutSeconds}s` : cause}`);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new Error(`POST ${webhook.url}: HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  return `POST ${webhook.url}: HTTP ${response.status}`;
}

/** Into JetStream when a stream keeps the subject (deduplicated by hook and event), else plain NATS. */
async function publishAgain(ctx: DeliveryContext, hook: EventHook, subject: string, body: string, event: CloudEvent): Promise<string> {
  try {
    await ctx.nc.jetstream().publish(subject, body, { msgID: `${hook.metadata.name}/${event.id}` });
    return `published to ${subject} (JetStream)`;
  } catch (e) {
    if ((e as { code?: string }).code !== '503') throw e;
    ctx.nc.publish(subject, body);
    await ctx.nc.flush();
    return `published to ${subject}`;
  }
}

/**
 * Starts the hook's run with variables from the event. Its id comes from the hook and the event,
 * so a redelivered event finds the run it already started instead of starting a second.
 */
async function startRun(ctx: DeliveryContext, hook: EventHook, event: CloudEvent): Promise<string> {
  const run = hook.spec.run as NonNullable<EventHook['spec']['run']>;
  const name = (run.pipeline ?? run.task) as string;
  const runId = newRunId(name, seededRandom(`${hook.metadata.name}\n${event.id}`));
  const origin = { trigger: 'event' as const, requester: hookRequester(hook.metadata.name) };
  try {
    const variables = Object.fromEntries(Object.entries(run.variables).map(([k, v]) => [k, renderFromEvent(v, event)]));
    const catalog = await ctx.definitions.catalog();
    const started = run.pipeline
      ? await startPipelineRun(ctx.temporal, planPipelineRun(catalog, run.pipeline, { variables, origin, runId }), { idempotent: true })
      : await startTaskRun(ctx.temporal, planTaskRun(catalog, name, { variables, origin, runId, cluster: run.cluster, ...(run.hosts ? { targets: { hosts: run.hosts.map((h) => renderFromEvent(h, event)) } } : {}) }), { idempotent: true });
    return `${started.existing ? 'already started' : 'started'} run ${started.runId}`;
  } catch (e) {
    if (e instanceof ValidationError || e instanceof TemplateError) throw new PermanentFailure(`cannot start ${run.pipeline ? 'pipeline' : 'task'} ${name}: ${e.message.replace(/\n/g, '; ')}`);
    throw e;
  }
}

/** A "random" sequence fixed by the text, for run ids that are the same on every redelivery. */
function seededRandom(text: string): () => number {
  const bytes = createHash('sha256').update(text).digest();
  let i = 0;
  return () => bytes[i++ % bytes.length] / 256;
}
