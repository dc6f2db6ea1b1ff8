import { z } from 'zod';
import { cronProblem, isTimeZone, parseDuration } from './timing';
import { API_VERSION } from './naming';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** Variable and result names: usable in `${…}` and as shell-friendly identifiers. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A name that may appear inside task queues, subjects and `${tasks.<name>…}` references: no dots. */
export const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(DNS_LABEL, 'must be a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit');

/** Host names may be fully qualified (dots allowed). */
export const dnsSubdomain = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(DNS_SUBDOMAIN, 'must be a DNS name: lower-case letters, digits, "-" and "."');

export const identifier = z.string().regex(IDENTIFIER, 'must be a letter or "_" followed by letters, digits or "_"');

/**
 * A JavaScript regular expression's source, checked when the definition is read rather than when it is used.
 * An invalid one aborts, so the refinements of what holds it (a default matched against it) never compile it.
 */
export const regexSource = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a valid regular expression', abort: true },
);

/**
 * The error option of a list of named items (Kubernetes' `- name: token` form) and of its items:
 * a map in place of the list, or a bare name in place of an item, is told that form instead of
 * zod's "expected array, received object".
 */
export function namedItems(what: string) {
  return {
    error: (issue: { code: string; input?: unknown }) => {
      if (issue.code !== 'invalid_type') return undefined;
      const { input } = issue;
      if (typeof input === 'string') return `must be an item with its name (- name: ${input}), not a bare name`;
      if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
        return `must be a list of ${what}, each with its name (- name: ${Object.keys(input)[0] ?? '…'}), not a map`;
      }
      return undefined;
    },
  };
}

export const labels = z.record(
  z.string().max(316).regex(LABEL_KEY, 'label keys must be [prefix/]name of letters, digits, "-", "_" and "."'),
  z.string().max(63).regex(LABEL_VALUE, 'label values must be letters, digits, "-", "_" and "." (at most 63)'),
);

export function objectMeta<N extends z.ZodString>(name: N) {
  return z.strictObject({
    name,
    labels: labels.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    /** Set by the server's store; on a replace, a stale value is refused (optimistic concurrency). */
    resourceVersion: z.string().optional(),
    /** Set by the server's store; ignored on input, so a document read back can be applied again. */
    uid: z.string().optional(),
    creationTimestamp: z.string().optional(),
  });
}

export function resourceSchema<K extends string, N extends z.ZodString, S extends z.ZodType>(kind: K, name: N, spec: S) {
  return z.strictObject({
    apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
    kind: z.literal(kind),
    metadata: objectMeta(name),
    spec,
  });
}

/** A duration such as "5m" or "1h30m" (units d, h, m, s), at least `minSeconds`. */
export function duration(minSeconds = 1) {
  return z.string().refine((t) => (parseDuration(t) ?? 0) >= minSeconds, `must be a duration such as "90s", "5m" or "1h30m" (units d, h, m, s), at least ${minSeconds}s`);
}

/** `cron` (with `timezone`) or `every`, and optional `jitter`: spread starts at random over that much time. */
export const timingFields = {
  cron: z.string().optional().superRefine((c, ctx) => {
    const problem = c === undefined ? undefined : cronProblem(c);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  every: duration(1).optional(),
  /** IANA time zone of `cron` (default UTC). */
  timezone: z.string().refine(isTimeZone, 'must be an IANA time zone such as "Europe/Berlin" or "UTC"').optional(),
  jitter: duration(1).optional(),
};
