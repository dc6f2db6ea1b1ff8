import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { InspectionBatchResult } from '../activities/facts/inspection-activities';
import type { InspectionSpec } from '../model/inspection';
import type { HostTarget } from '../model/run';
import { inBatches } from './host-batches';

export interface InspectionRunInput {
  inspection: string;
  cluster: string;
  spec: InspectionSpec;
  /** The hosts to inspect; none when the metric is the cluster's own (`onCluster`). */
  hosts: HostTarget[];
  onCluster: boolean;
  kubeconfigRef?: string;
}

export interface InspectionRunResult extends InspectionBatchResult {
  unmeasured: string[];
}

const { inspectHosts, inspectCluster } = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

/** One pass of an inspection (started by its Temporal Schedule, on the cluster's queue): a verdict per target, each an event. */
export async function inspectionRun(input: InspectionRunInput): Promise<InspectionRunResult> {
  const { inspection, cluster, spec } = input;
  if (input.onCluster) {
    const verdict = await inspectCluster({ inspection, cluster, spec, kubeconfigRef: input.kubeconfigRef });
    const target = [verdict.target];
    return { alerting: verdict.state === 'alerting' ? target : [], normal: verdict.state === 'normal' ? 1 : 0, unknown: verdict.state === 'unknown' ? target : [], unmeasured: [] };
  }
  setCurrentDetails(`inspection ${inspection}: measuring ${spec.metric} on ${input.hosts.length} host(s)`);
  const { results, failed } = await inBatches(input.hosts, (hosts) => inspectHosts({ inspection, cluster, spec, hosts }));
  const result: InspectionRunResult = {
    alerting: results.flatMap((r) => r.alerting),
    normal: results.reduce((n, r) => n + r.normal, 0),
    unknown: results.flatMap((r) => r.unknown),
    unmeasured: failed.flatMap((f) => f.hosts),
  };
  setCurrentDetails(`done: ${result.alerting.length} alerting${result.alerting.length ? ` (${result.alerting.slice(0, 5).join(', ')}${result.alerting.length > 5 ? ' …' : ''})` : ''}, ${result.normal} normal, ${result.unknown.length} unknown`);
  return result;
}
