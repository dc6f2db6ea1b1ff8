import { z } from 'zod';
import { dnsLabel, resourceSchema } from './meta';
import { LOCAL_CLUSTER } from './host';
import { API_VERSION } from './meta';

export const clusterSpec = z.strictObject({
  description: z.string().optional(),
  /** Name of a kubeconfig the cluster's worker resolves locally. */
  kubeconfigRef: z.string().min(1).optional(),
});

export const clusterSchema = resourceSchema('Cluster', dnsLabel, clusterSpec);
export type Cluster = z.infer<typeof clusterSchema>;

/** The cluster that always exists: the machine the embedded stack runs on. */
export const localCluster: Cluster = {
  apiVersion: API_VERSION,
  kind: 'Cluster',
  metadata: { name: LOCAL_CLUSTER },
  spec: { description: 'Hosts reached from the built-in worker' },
};
