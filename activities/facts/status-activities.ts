import type { HostTarget } from '../../model/run';
import type { ClusterStatus, HostStatus } from '../../model/facts';
import { clusterStatusSubject, hostStatusSubject } from '../../model/naming';
import { eventIdPrefix } from '../events';
import type { ActivityDeps } from '../step-input';
import { forEachHost, measureHost } from './host-facts';
import { clusterApi, kubernetesFacts } from './cluster-facts';

export interface HostBatch {
  cluster: string;
  hosts: HostTarget[];
}

export interface HostBatchStatus {
  reachable: number;
  unreachable: Array<{ host: string; reason: string }>;
}

export interface ClusterStatusInput {
  cluster: string;
  kubeconfigRef?: string;
  hosts: ClusterStatus['hosts'];
}

/**
 * A heartbeat's pass over some of a cluster's hosts (the `hostFacts` activity): reachable or not,
 * and the facts of those that are, each published as the host's status event. The event id is the
 * run's and the host's, so a retried attempt's events are dropped as duplicates.
 */
export async function reportHostStatus(deps: ActivityDeps, batch: HostBatch): Promise<HostBatchStatus> {
  const run = eventIdPrefix();
  const statuses = await forEachHost(batch.hosts, async (host) => {
    const measured = await measureHost(deps.hosts, host);
    const base = { host: host.name, cluster: batch.cluster, observedAt: new Date().toISOString() };
    const status: HostStatus = 'value' in measured ? { ...base, state: 'reachable', facts: measured.value } : { ...base, state: 'unreachable', failure: measured.failure, reason: measured.reason };
    await deps.events.publish({ subject: hostStatusSubject(batch.cluster, host.name), type: 'dev.ops.host.status', id: `${run}/${host.name}`, data: status });
    return status;
  });
  return {
    reachable: statuses.filter((s) => s.state === 'reachable').length,
    unreachable: statuses.flatMap((s) => (s.state === 'unreachable' ? [{ host: s.host, reason: s.reason ?? '' }] : [])),
  };
}

/** The cluster's own status event (the `clusterFacts` activity): its hosts in sum, and its Kubernetes API. */
export async function reportClusterStatus(deps: ActivityDeps, input: ClusterStatusInput): Promise<ClusterStatus> {
  const run = eventIdPrefix();
  const status: ClusterStatus = { cluster: input.cluster, observedAt: new Date().toISOString(), hosts: input.hosts };
  try {
    status.kubernetes = await kubernetesFacts(clusterApi(deps.clusters, input.kubeconfigRef));
  } catch (e) {
    status.reason = (e as Error).message;
  }
  await deps.events.publish({ subject: clusterStatusSubject(input.cluster), type: 'dev.ops.cluster.status', id: `${run}/cluster`, data: status });
  return status;
}
