import { z } from 'zod';
import { dnsLabel, duration, identifier, resourceSchema, timingFields } from './meta';
import { timingIssues } from './timing';

/** What happens when a run is due while the last one still runs (Temporal's overlap policies). */
export const OVERLAP_POLICIES = ['skip', 'bufferOne', 'bufferAll', 'cancelOther', 'terminateOther', 'allowAll'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/**
 * A pipeline or task started on a timetable: a Temporal Schedule the control plane keeps in step
 * with this definition. Each run is planned from the definitions as they are when the schedule is
 * applied (and again whenever a definition changes), like any run from a frozen snapshot.
 */
export const scheduleSpec = z
  .strictObject({
    description: z.string().optional(),
    pipeline: dnsLabel.optional(),
    task: dnsLabel.optional(),
    variables: z.record(identifier, z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
    /** For a task on a cluster's nodes or API: which cluster (as `ops run --cluster`). */
    cluster: dnsLabel.optional(),
    ...timingFields,
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    /** A run missed by less than this (Temporal was down) still starts late; older ones are skipped. */
    catchupWindow: duration(10).default('1h'),
    /** Pause the schedule when a run fails, until someone unpauses it. */
    pauseOnFailure: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    if ((s.pipeline === undefined) === (s.task === undefined)) ctx.addIssue({ code: 'custom', path: ['pipeline'], message: 'give exactly one of pipeline or task' });
    if (s.cluster !== undefined && s.task === undefined) ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'applies to a task only (a pipeline names its clusters per stage)' });
    for (const issue of timingIssues(s)) ctx.addIssue({ code: 'custom', ...issue });
  });

export const scheduleSchema = resourceSchema('Schedule', dnsLabel, scheduleSpec);
export type Schedule = z.infer<typeof scheduleSchema>;
export type ScheduleSpec = z.infer<typeof scheduleSpec>;
