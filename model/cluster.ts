import { z } from 'zod';
import { dnsLabel, duration, resourceSchema } from './meta';
import { parseDuration } from './timing';

const DEFAULT_HEARTBEAT = '5m';

export const clusterSpec = z.strictObject({
  description: z.string().optional(),
  /** Name of a kubeconfig the cluster's worker resolves locally. */
  kubeconfigRef: z.string().min(1).optional(),
  /** How long a pipeline stage on this cluster waits for one of its workers before it fails. */
  workerWaitSeconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
  /** How often the cluster's worker reports on its hosts and its Kubernetes API (a Temporal Schedule). */
  heartbeat: z
    .strictObject({
      every: duration(10).default(DEFAULT_HEARTBEAT),
      /** Each beat starts up to this much later, at random, so clusters do not all beat at once (default a tenth of every, at most 1m). */
      jitter: duration(1).optional(),
    })
    .optional(),
});

/** Seconds between heartbeats, and their jitter. */
export function heartbeatTiming(cluster: Cluster): { everySeconds: number; jitterSeconds: number } {
  const everySeconds = parseDuration(cluster.spec.heartbeat?.every ?? DEFAULT_HEARTBEAT) as number;
  const jitter = cluster.spec.heartbeat?.jitter;
  return { everySeconds, jitterSeconds: jitter ? (parseDuration(jitter) as number) : Math.min(60, Math.floor(everySeconds / 10)) };
}

export const clusterSchema = resourceSchema('Cluster', dnsLabel, clusterSpec);
export type Cluster = z.infer<typeof clusterSchema>;
