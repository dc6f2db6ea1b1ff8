import { z } from 'zod';
import { API_VERSION } from './naming';
import { hostSchema, type Host } from './host';
import { clusterSchema, type Cluster } from './cluster';
import { taskSchema, type Task } from './task';
import { pipelineSchema, type Pipeline } from './pipeline';
import { scheduleSchema, type Schedule } from './schedule';
import { inspectionSchema, type Inspection } from './inspection';
import { eventHookSchema, type EventHook } from './event-hook';
import { formatPath, type Issue } from './errors';

export const resourceSchemas = {
  Host: hostSchema,
  Cluster: clusterSchema,
  Task: taskSchema,
  Pipeline: pipelineSchema,
  Schedule: scheduleSchema,
  Inspection: inspectionSchema,
  EventHook: eventHookSchema,
} as const;

export type Kind = keyof typeof resourceSchemas;
export type Resource = Host | Cluster | Task | Pipeline | Schedule | Inspection | EventHook;
export const KINDS = Object.keys(resourceSchemas) as Kind[];

/** The plural names used in URLs and on the command line (`/api/v1/hosts`, `ops get hosts`). */
export const KIND_PLURALS: Record<Kind, string> = {
  Host: 'hosts',
  Cluster: 'clusters',
  Task: 'tasks',
  Pipeline: 'pipelines',
  Schedule: 'schedules',
  Inspection: 'inspections',
  EventHook: 'eventhooks',
};

export function kindFromPlural(plural: string): Kind | undefined {
  return KINDS.find((k) => KIND_PLURALS[k] === plural.toLowerCase() || k.toLowerCase() === plural.toLowerCase());
}

/** Validates one parsed document. Issues carry the field path; the caller adds file and line. */
export function validateResource(doc: unknown): { resource?: Resource; issues: Issue[] } {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { issues: [{ path: '', message: 'must be a mapping with apiVersion, kind, metadata and spec' }] };
  }
  const { kind, apiVersion, metadata } = doc as Record<string, unknown>;
  const name = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>).name : undefined;
  const document = `${typeof kind === 'string' ? kind : '?'}/${typeof name === 'string' ? name : '?'}`;
  if (apiVersion !== API_VERSION) {
    return { issues: [{ document, path: 'apiVersion', at: ['apiVersion'], message: `must be "${API_VERSION}" (got ${JSON.stringify(apiVersion)})` }] };
  }
  if (typeof kind !== 'string' || !(kind in resourceSchemas)) {
    return { issues: [{ document, path: 'kind', at: ['kind'], message: `must be one of ${KINDS.join(', ')} (got ${JSON.stringify(kind)})` }] };
  }
  // `status` is what the server reports about a definition, not part of it: read-only, so a document read back applies as it is (as in kubectl).
  const { status: _status, ...definition } = doc as Record<string, unknown>;
  const parsed = (resourceSchemas[kind as Kind] as z.ZodType).safeParse(definition);
  if (parsed.success) return { resource: parsed.data as Resource, issues: [] };
  return { issues: zodIssues(parsed.error, document) };
}

export function zodIssues(error: z.ZodError, document?: string, prefix: PropertyKey[] = []): Issue[] {
  return error.issues.map((issue) => ({
    document,
    path: formatPath([...prefix, ...issue.path]),
    at: [...prefix, ...issue.path],
    message: describeZodIssue(issue),
  }));
}

function describeZodIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  // Zod leaves `input` out of issues; a missing field reads "…, received undefined".
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return 'is required';
  return issue.message;
}
