import { z } from 'zod';
import { dnsLabel, dnsSubdomain, resourceSchema, timingFields } from './meta';
import { LOCAL_CLUSTER } from './naming';
import { labelSelectorSchema } from './task';
import { timingIssues } from './timing';

/**
 * What an inspection measures. Per host: the fullest file system's use, memory in use, the 1-minute
 * load per CPU, whether the host is unreachable (1) or not (0), or a number a command prints. Per
 * cluster: the nodes that are not Ready.
 */
export const HOST_METRICS = ['diskUsePercent', 'memoryUsePercent', 'loadPerCpu', 'unreachable', 'command'] as const;
export const CLUSTER_METRICS = ['nodesNotReady'] as const;
export type InspectionMetric = (typeof HOST_METRICS)[number] | (typeof CLUSTER_METRICS)[number];

export const inspectionSpec = z
  .strictObject({
    description: z.string().optional(),
    /** The cluster whose worker measures (its hosts, or its Kubernetes API). */
    cluster: dnsLabel.default(LOCAL_CLUSTER),
    ...timingFields,
    /** Hosts of the cluster to inspect (default all of them); not for cluster metrics. */
    targets: z
      .strictObject({ hosts: z.array(dnsSubdomain).min(1).optional(), selector: labelSelectorSchema.optional(), all: z.literal(true).optional() })
      .refine((t) => [t.hosts, t.selector, t.all].filter((x) => x !== undefined).length === 1, { message: 'give exactly one of hosts, selector or all' })
      .optional(),
    metric: z.enum([...HOST_METRICS, ...CLUSTER_METRICS]),
    /** For metric "command": a script whose last line of output is the value. */
    command: z
      .strictObject({
        shell: z.string().min(1),
        sudo: z.boolean().default(false),
        timeoutSeconds: z.number().int().min(1).max(3600).default(60),
      })
      .optional(),
    /** The target alerts while the value is above this… */
    alertAbove: z.number().optional(),
    /** …or below this. */
    alertBelow: z.number().optional(),
  })
  .superRefine((s, ctx) => {
    for (const issue of timingIssues(s)) ctx.addIssue({ code: 'custom', ...issue });
    if ((s.alertAbove === undefined) === (s.alertBelow === undefined)) ctx.addIssue({ code: 'custom', path: ['alertAbove'], message: 'give exactly one of alertAbove or alertBelow' });
    if ((s.metric === 'command') !== (s.command !== undefined)) ctx.addIssue({ code: 'custom', path: ['command'], message: 'is required with metric "command", and only then' });
    if (isClusterMetric(s.metric) && s.targets) ctx.addIssue({ code: 'custom', path: ['targets'], message: `metric "${s.metric}" measures the cluster itself; it takes no targets` });
  });

export function isClusterMetric(metric: InspectionMetric): boolean {
  return (CLUSTER_METRICS as readonly string[]).includes(metric);
}

export const inspectionSchema = resourceSchema('Inspection', dnsLabel, inspectionSpec);
export type Inspection = z.infer<typeof inspectionSchema>;
export type InspectionSpec = z.infer<typeof inspectionSpec>;
