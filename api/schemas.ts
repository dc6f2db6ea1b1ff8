/**
 * Request and response shapes of the REST API as zod schemas: the same objects validate requests
 * and generate /openapi.json. Definitions themselves use model/'s resource schemas.
 */
import { z } from 'zod';
import { dnsLabel, dnsSubdomain, identifier } from '../model/meta';
import { targetsSpec } from '../model/task';
import { RUN_STATES } from '../workers/run-list';
import { ROLES } from './store/tokens';
import { parseDuration } from '../model/timing';
import { eventSubjectProblem } from '../model/subjects';
import { OVERLAP_POLICIES } from '../model/schedule';

const variableValues = z.record(identifier, z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({});
/** Runs started by a person at the CLI say so; schedules and events are the server's own triggers. */
const requestTrigger = z.enum(['api', 'cli']).default('api');

export const pipelineRunRequest = z.strictObject({
  pipeline: dnsLabel,
  variables: variableValues,
  trigger: requestTrigger,
});

export const taskRunRequest = z.strictObject({
  task: dnsLabel,
  variables: variableValues,
  /** Overrides the task's own targets for this run. */
  targets: targetsSpec.optional(),
  /** For targets on a cluster's nodes or API: which cluster (default local). */
  cluster: dnsLabel.optional(),
  trigger: requestTrigger,
});

export const tokenRequest = z.strictObject({
  name: dnsLabel,
  role: z.enum(ROLES),
});

/** Requester names: token names, or user@host from the CLI. */
const requester = z.string().regex(/^[A-Za-z0-9_.@:-]{1,200}$/, 'must be letters, digits and _ . @ : -');

/** What a pageToken must be; Temporal is the judge of one that looks right (routes/runs.ts). */
export const PAGE_TOKEN_EXPECTED = 'must be a nextPageToken from an earlier page';

export const runListQuery = z.object({
  pipeline: dnsLabel.optional(),
  task: dnsLabel.optional(),
  cluster: dnsLabel.optional(),
  status: z.enum(RUN_STATES).optional(),
  trigger: z.enum(['cli', 'api', 'schedule', 'event']).optional(),
  requester: requester.optional(),
  /** Runs a schedule started: its name. */
  schedule: dnsLabel.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  pageToken: z.string().regex(/^[A-Za-z0-9_-]+$/, PAGE_TOKEN_EXPECTED).optional(),
});

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const logsQuery = z.object({
  host: dnsSubdomain.optional(),
  follow: flag.default(false),
  /** Resume after this stream sequence (also the Last-Event-ID header). */
  after: z.coerce.number().int().min(0).optional(),
});

export const auditQuery = z.object({
  actor: z.string().max(200).optional(),
  outcome: z.enum(['succeeded', 'refused', 'failed']).optional(),
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const listSelectorQuery = z.object({
  labelSelector: z.string().max(2000).optional(),
});

export const errorBody = z.object({
  error: z.string().meta({ description: 'HTTP reason, e.g. Unprocessable Entity' }),
  message: z.string(),
  issues: z.array(z.object({ document: z.string().optional(), path: z.string(), message: z.string() })).optional(),
});

export const runStarted = z.object({
  id: z.string(),
  kind: z.enum(['pipeline', 'task']),
  name: z.string(),
  status: z.string(),
  temporalWeb: z.string(),
  links: z.object({ self: z.string(), logs: z.string() }),
});

export const approvalDecisionRequest = z.strictObject({
  /** The approval stage; may be left out while exactly one stage of the run waits. */
  stage: dnsLabel.optional(),
  decision: z.enum(['approve', 'reject']),
  /** Why; kept in the run's history and the audit log. */
  comment: z.string().max(1000, 'must be at most 1000 characters').optional(),
});

export const approvalsQuery = z.object({
  /** Only waiting approvals are listed; a decided one is in its run (GET /api/v1/runs/ID) and the audit log. */
  state: z.literal('pending').default('pending'),
  pipeline: dnsLabel.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const idempotencyKey = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters without spaces');

/** `1h`, `30m` (that long ago) or an ISO 8601 time. */
const since = z
  .string()
  .refine((s) => parseDuration(s) !== undefined || !Number.isNaN(Date.parse(s)), 'must be a duration such as "1h" (that long ago) or an ISO 8601 time')
  .transform((s) => {
    const seconds = parseDuration(s);
    return seconds !== undefined ? new Date(Date.now() - seconds * 1000) : new Date(s);
  });

export const eventsQuery = z.object({
  /** A subject pattern: "*" matches one token, ">" the rest, e.g. ops.clusters.*.inspections.> */
  subject: z
    .string()
    .max(500)
    .superRefine((s, ctx) => {
      const problem = eventSubjectProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  since: since.optional(),
  /** Resume after this stream sequence (also the Last-Event-ID header). */
  after: z.coerce.number().int().min(0).optional(),
  follow: flag.default(false),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const overlap = z.enum(OVERLAP_POLICIES);

export const schedulePauseRequest = z.strictObject({
  /** Why; shown with the schedule while it is paused. */
  note: z.string().max(500).optional(),
});

export const scheduleTriggerRequest = z.strictObject({
  /** What to do if a run of the schedule is still going (default the schedule's own policy). */
  overlap: overlap.optional(),
});

export const scheduleBackfillRequest = z
  .strictObject({
    /** Runs the schedule would have started in [start, end) start now, as if that time passed. */
    start: z.iso.datetime({ offset: true }),
    end: z.iso.datetime({ offset: true }),
    overlap: overlap.optional(),
  })
  .refine((b) => Date.parse(b.start) < Date.parse(b.end), { message: 'start must be before end', path: ['end'] });
