import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HostBatchStatus } from '../activities/facts/status-activities';
import type { ClusterStatus } from '../model/facts';
import type { HostTarget } from '../model/run';
import { inBatches } from './host-batches';

export interface HeartbeatInput {
  cluster: string;
  /** The cluster's hosts, as the control plane last planned them. */
  hosts: HostTarget[];
  kubeconfigRef?: string;
}

export interface HeartbeatResult extends HostBatchStatus {
  /** Hosts whose activity failed for good this time: nothing was reported for them. */
  unmeasured: string[];
  kubernetes?: ClusterStatus['kubernetes'];
  reason?: string;
}

const { hostFacts, clusterFacts } = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

/**
 * One heartbeat of a cluster (started by its Temporal Schedule, on the cluster's queue): every host
 * reachable or not with its facts, then the cluster's Kubernetes API; each reported as an event.
 */
export async function heartbeatRun(input: HeartbeatInput): Promise<HeartbeatResult> {
  setCurrentDetails(`heartbeat of cluster ${input.cluster}: measuring ${input.hosts.length} host(s)`);
  const { results, failed } = await inBatches(input.hosts, (hosts) => hostFacts({ cluster: input.cluster, hosts }));
  const reachable = results.reduce((n, r) => n + r.reachable, 0);
  const unreachable = results.flatMap((r) => r.unreachable);
  setCurrentDetails(`heartbeat of cluster ${input.cluster}: ${reachable} reachable, ${unreachable.length} unreachable; asking its Kubernetes API`);
  const cluster = await clusterFacts({ cluster: input.cluster, kubeconfigRef: input.kubeconfigRef, hosts: { reachable, unreachable: unreachable.length } });
  const result: HeartbeatResult = { reachable, unreachable, unmeasured: failed.flatMap((f) => f.hosts), ...(cluster.kubernetes ? { kubernetes: cluster.kubernetes } : {}), ...(cluster.reason ? { reason: cluster.reason } : {}) };
  setCurrentDetails(`done: ${reachable} reachable, ${unreachable.length} unreachable${result.unmeasured.length ? `, ${result.unmeasured.length} not measured` : ''}`);
  return result;
}
