import { z } from 'zod';
import { dnsLabel, dnsSubdomain, identifier, namedItems, resourceSchema } from './meta';
import { variableList } from './variables-schema';
import { checkTaskReferences } from './scope';

/** A count of hosts ("3") or a share of the targets ("25%"). */
export const countOrPercent = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?%$/, 'must be a whole number or a percentage such as "10%"'),
]);

export const labelSelectorSchema = z.union([
  z.string().min(1),
  z.strictObject({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z.strictObject({
          key: z.string().min(1),
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: z.array(z.string()).optional(),
        }),
      )
      .optional(),
  }),
]);
export type LabelSelectorInput = z.infer<typeof labelSelectorSchema>;

/** Nodes of the stage's cluster, looked up by its worker when the task starts. */
export const nodeTargetsSpec = z.union([
  z.literal('all'),
  z.strictObject({ selector: labelSelectorSchema }),
  z.strictObject({ names: z.array(dnsSubdomain).min(1) }),
]);
export type NodeTargets = z.infer<typeof nodeTargetsSpec>;

export const targetsSpec = z
  .strictObject({
    hosts: z.array(dnsSubdomain).min(1).optional(),
    selector: labelSelectorSchema.optional(),
    all: z.literal(true).optional(),
    nodes: nodeTargetsSpec.optional(),
    /** The cluster's API itself: one target, for kubectl steps. */
    cluster: z.literal(true).optional(),
  })
  .refine((t) => [t.hosts, t.selector, t.all, t.nodes, t.cluster].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of hosts, selector, all, nodes or cluster',
  });
export type TargetsSpec = z.infer<typeof targetsSpec>;

const stepCommon = {
  name: dnsLabel.optional(),
  sudo: z.boolean().default(false),
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(600),
  /** Further attempts after a non-zero exit or a timeout. */
  retries: z.number().int().min(0).max(20).default(0),
  retryDelaySeconds: z.number().min(0).max(3600).default(5),
  /** Expression deciding per host whether the step runs, e.g. `${steps.check.exitCode} != 0`. */
  when: z.string().min(1).optional(),
  allowFailure: z.boolean().default(false),
};

export const fileSpec = z
  .strictObject({
    direction: z.enum(['push', 'pull']).default('push'),
    /** push: a path on the worker's machine; pull: the path on the host. */
    source: z.string().min(1).optional(),
    /** push only: inline content, rendered with variables. */
    content: z.string().optional(),
    /** push: the path on the host; pull: a directory on the worker's machine (one sub-directory per host). */
    destination: z.string().min(1),
    mode: z.string().regex(/^0?[0-7]{3,4}$/, 'must be an octal mode such as "0644"').optional(),
    owner: z
      .string()
      .regex(/^([A-Za-z0-9_.-]|\$\{[^}]+\})+(:([A-Za-z0-9_.-]|\$\{[^}]+\})+)?$/, 'must be "user" or "user:group" (variables allowed)')
      .optional(),
  })
  .superRefine((f, ctx) => {
    if (f.direction === 'push' && (f.source === undefined) === (f.content === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'a push needs exactly one of source or content' });
    }
    if (f.direction === 'pull' && (f.source === undefined || f.content !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'a pull needs source (the path on the host) and no content' });
    }
  });
export type FileSpec = z.infer<typeof fileSpec>;

/** An object name, possibly built from variables. */
const objectName = '([a-z0-9.-]|\\$\\{[^}]+\\})+';

/** A call to the cluster's API, made by the cluster's worker (like the kubectl command of that name). */
export const kubectlSpec = z
  .strictObject({
    /** Namespace of the objects (default: the manifest's own, else "default"). */
    namespace: dnsLabel.optional(),
    /** Manifest (YAML, one or more documents, rendered with variables) to create or update by server-side apply. */
    apply: z.string().min(1).optional(),
    /** `deployment/NAME`, `daemonset/NAME` or `statefulset/NAME`: restart its pods as `kubectl rollout restart` does. */
    rolloutRestart: z.string().regex(new RegExp(`^(deployment|daemonset|statefulset)/${objectName}$`), 'must be deployment/NAME, daemonset/NAME or statefulset/NAME').optional(),
    /** `deployment|daemonset|statefulset/NAME` (rollout complete), `pod/NAME` or `node/NAME` (Ready): wait up to the step's timeout. */
    waitReady: z.string().regex(new RegExp(`^(deployment|daemonset|statefulset|pod|node)/${objectName}$`), 'must be KIND/NAME with KIND deployment, daemonset, statefulset, pod or node').optional(),
  })
  .refine((k) => [k.apply, k.rolloutRestart, k.waitReady].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of apply, rolloutRestart or waitReady',
  });
export type KubectlSpec = z.infer<typeof kubectlSpec>;

export const stepSpec = z
  .strictObject({
    ...stepCommon,
    /** A script run by `sh` on the host. */
    shell: z.string().min(1, 'must not be empty').optional(),
    file: fileSpec.optional(),
    kubectl: kubectlSpec.optional(),
  })
  .refine((s) => [s.shell, s.file, s.kubectl].filter((x) => x !== undefined).length === 1, {
    message: 'a step needs exactly one of shell (a script), file (a transfer) or kubectl (a call to the cluster API)',
  });
export type StepSpec = z.infer<typeof stepSpec>;

export const batchSpec = z.strictObject({
  /** Hosts in the first batch; the run stops there if it fails, whatever maxFailures allows. */
  canary: z.number().int().min(1).optional(),
  /** Hosts in each later batch; without it, all the rest at once after the canary. */
  size: countOrPercent.refine((v) => v !== 0 && !/^0+(\.0+)?%$/.test(String(v)), 'must be at least 1 host or above 0%').optional(),
});

export const taskSpec = z
  .strictObject({
    description: z.string().optional(),
    variables: variableList,
    targets: targetsSpec.optional(),
    steps: z.array(stepSpec).min(1, 'a task needs at least one step'),
    concurrency: z.number().int().min(1).max(10000).default(20),
    batch: batchSpec.optional(),
    maxFailures: countOrPercent.default(0),
    results: z.array(z.strictObject({ name: identifier, description: z.string().optional() }, namedItems('results')), namedItems('results')).default([]),
  })
  .transform((spec) => ({
    ...spec,
    steps: spec.steps.map((s, i) => ({ ...s, name: s.name ?? `step-${i + 1}` })),
  }))
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.steps.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'name'], message: `duplicate step name "${s.name}"` });
      names.add(s.name);
    });
    for (const problem of checkTaskReferences(spec)) ctx.addIssue({ code: 'custom', ...problem });
    if (spec.targets?.cluster) {
      spec.steps.forEach((s, i) => {
        if (!s.kubectl) ctx.addIssue({ code: 'custom', path: ['steps', i], message: 'targets.cluster runs kubectl steps only; use targets.nodes for shell and file steps on nodes' });
      });
    }
  });

export const taskSchema = resourceSchema('Task', dnsLabel, taskSpec);
export type Task = z.infer<typeof taskSchema>;
export type TaskSpec = z.infer<typeof taskSpec>;
export type Step = TaskSpec['steps'][number];
