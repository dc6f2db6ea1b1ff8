import { z } from 'zod';
import { dnsLabel, identifier, regexSource, resourceSchema } from './meta';
import { eventSubjectProblem, subjectMatches, subjectPatternProblem } from './subjects';
import { templateRefs, TemplateError } from './template';
import { EVENT_FIELD, eventRefProblem, type CloudEvent } from './event-match';

/** One condition on a field of the CloudEvent (`data.state`, `type`, `subject`…): all of a hook's must hold. */
export const fieldMatchSpec = z
  .strictObject({
    field: z.string().regex(EVENT_FIELD, 'must be a path into the event such as data.state or subject'),
    equals: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
    contains: z.string().optional(),
    regex: regexSource.optional(),
  })
  .refine((m) => [m.equals, m.contains, m.regex].filter((x) => x !== undefined).length === 1, { message: 'give exactly one of equals, contains or regex' });
export type FieldMatch = z.infer<typeof fieldMatchSpec>;

/** `${data.host}`, `${subject}`…: a value taken from the event. */
const eventTemplate = z.string().superRefine((t, ctx) => {
  let refs: string[];
  try {
    refs = templateRefs(t);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    return void ctx.addIssue({ code: 'custom', message: e.message });
  }
  for (const ref of refs) {
    const problem = eventRefProblem(ref);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }
});

export const eventHookSpec = z
  .strictObject({
    description: z.string().optional(),
    /** Events whose subject matches this pattern ("*" one token, ">" the rest), e.g. ops.clusters.*.inspections.disk-usage.> */
    subject: z.string().min(1),
    match: z.array(fieldMatchSpec).default([]),
    /** POST the event (JSON) to a URL, signed with HMAC-SHA256 when `secretRef` names a secret of the server. */
    webhook: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
        secretRef: z.string().min(1).optional(),
        timeoutSeconds: z.number().int().min(1).max(300).default(10),
        headers: z.record(z.string(), z.string()).default({}),
      })
      .optional(),
    /** Publish the event again on another subject. */
    publish: z.strictObject({ subject: z.string().min(1) }).optional(),
    /** Start a pipeline or task run; variables (and a task's hosts) may take values from the event. */
    run: z
      .strictObject({
        pipeline: dnsLabel.optional(),
        task: dnsLabel.optional(),
        variables: z.record(identifier, eventTemplate).default({}),
        /** A task only: run on these hosts instead of the task's targets, e.g. ["${data.host}"]. */
        hosts: z.array(eventTemplate).min(1).optional(),
        cluster: dnsLabel.optional(),
      })
      .optional(),
    /** Delivery attempts before the event is parked, and the backoff between them (doubling up to the maximum). */
    retry: z
      .strictObject({
        maxAttempts: z.number().int().min(1).max(1000).default(10),
        backoffSeconds: z.number().min(0.1).max(3600).default(2),
        maxBackoffSeconds: z.number().min(0.1).max(24 * 3600).default(300),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    const subjectProblem = eventSubjectProblem(s.subject);
    if (subjectProblem) ctx.addIssue({ code: 'custom', path: ['subject'], message: subjectProblem });
    if ([s.webhook, s.publish, s.run].filter((x) => x !== undefined).length !== 1) ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'give exactly one action: webhook, publish or run' });
    if (s.publish) {
      const problem = subjectPatternProblem(s.publish.subject, { wildcards: false });
      if (problem) ctx.addIssue({ code: 'custom', path: ['publish', 'subject'], message: problem });
      else if (subjectMatches(s.subject, s.publish.subject)) ctx.addIssue({ code: 'custom', path: ['publish', 'subject'], message: `matches the hook's own subject ${s.subject}: it would deliver its own events forever` });
    }
    if (s.run) {
      if ((s.run.pipeline === undefined) === (s.run.task === undefined)) ctx.addIssue({ code: 'custom', path: ['run', 'pipeline'], message: 'give exactly one of pipeline or task' });
      if (s.run.pipeline !== undefined && (s.run.hosts || s.run.cluster)) ctx.addIssue({ code: 'custom', path: ['run', 'hosts'], message: 'hosts and cluster apply to a task only' });
    }
    if (s.retry.maxBackoffSeconds < s.retry.backoffSeconds) ctx.addIssue({ code: 'custom', path: ['retry', 'maxBackoffSeconds'], message: 'must be at least backoffSeconds' });
  });

export const eventHookSchema = resourceSchema('EventHook', dnsLabel, eventHookSpec);
export type EventHook = z.infer<typeof eventHookSchema>;
export type EventHookSpec = z.infer<typeof eventHookSpec>;

/** The wait before delivery attempt `attempt + 1` (attempts count from 1). */
export function backoffMs(retry: EventHookSpec['retry'], attempt: number): number {
  return Math.min(retry.backoffSeconds * 2 ** Math.max(0, attempt - 1), retry.maxBackoffSeconds) * 1000;
}

/** Who the runs a hook starts are requested by (their OpsRequester, and `requester` in their events). */
export function hookRequester(hook: string): string {
  return `eventhook:${hook}`;
}

/**
 * Whether the event reports a run the hook itself started. A run hook ignores those, so a hook on
 * failed runs that starts a run cannot feed on its own failures.
 */
export function startedByHook(hook: EventHook, event: CloudEvent): boolean {
  return hook.spec.run !== undefined && event.data?.requester === hookRequester(hook.metadata.name);
}
