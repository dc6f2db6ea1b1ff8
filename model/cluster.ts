import { z } from 'zod';
import { DEFAULT_WORKER_WAIT_SECONDS } from './run';
import { dnsLabel, resourceSchema } from './meta';
import { LOCAL_CLUSTER } from './host';
import { API_VERSION } from './meta';

export const clusterSpec = z.strictObject({
  description: z.string().optional(),
  /** Name of a kubeconfig the cluster's worker resolves locally. */
  kubeconfigRef: z.string().min(1).optional(),
  /** How long a pipeline stage on this cluster waits for one of its workers before it fails. */
  workerWaitSeconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
});

/** Ten minutes: long enough for a worker to restart or roll out, short enough to notice. */

export function workerWaitSeconds(cluster: Cluster | undefined): number {
  return cluster?.spec.workerWaitSeconds ?? DEFAULT_WORKER_WAIT_SECONDS;
}

export const clusterSchema = resourceSchema('Cluster', dnsLabel, clusterSpec);
export type Cluster = z.infer<typeof clusterSchema>;

/** The cluster that always exists: the machine the embedded stack runs on. */
export const localCluster: Cluster = {
  apiVersion: API_VERSION,
  kind: 'Cluster',
  metadata: { name: LOCAL_CLUSTER },
  spec: { description: 'Hosts reached from the built-in worker' },
};
