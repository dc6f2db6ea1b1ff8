import type { HostTarget } from '../../model/run';
import type { InspectionSpec } from '../../model/inspection';
import { hostMetric, judge, lastNumber, type InspectionResult } from '../../model/facts';
import { inspectionSubject } from '../../model/naming';
import { eventIdPrefix } from '../events';
import type { ActivityDeps } from '../step-input';
import { forEachHost, measureHost, runOnHost } from './host-facts';
import { clusterApi, kubernetesFacts } from './cluster-facts';

export interface InspectionBatch {
  inspection: string;
  cluster: string;
  spec: InspectionSpec;
  hosts: HostTarget[];
}

export interface InspectionBatchResult {
  alerting: string[];
  normal: number;
  unknown: string[];
}

export interface ClusterInspection {
  inspection: string;
  cluster: string;
  spec: InspectionSpec;
  kubeconfigRef?: string;
}

type Measurement = Pick<InspectionResult, 'value' | 'detail' | 'reason'>;

/**
 * An inspection's pass over some hosts (the `inspectHosts` activity): measures each, judges the
 * value against the threshold, and publishes the verdict as an event, alerting or normal.
 */
export async function inspectHosts(deps: ActivityDeps, batch: InspectionBatch): Promise<InspectionBatchResult> {
  const results = await forEachHost(batch.hosts, async (host) => publishVerdict(deps, batch, host.name, await measure(deps, batch.spec, host)));
  return {
    alerting: results.filter((r) => r.state === 'alerting').map((r) => r.target),
    normal: results.filter((r) => r.state === 'normal').length,
    unknown: results.filter((r) => r.state === 'unknown').map((r) => r.target),
  };
}

/** A cluster metric (the `inspectCluster` activity): measured on the cluster's Kubernetes API. */
export async function inspectCluster(deps: ActivityDeps, input: ClusterInspection): Promise<InspectionResult> {
  let measured: Measurement;
  try {
    const k = await kubernetesFacts(clusterApi(deps.clusters, input.kubeconfigRef));
    measured = { value: k.nodes.total - k.nodes.ready, detail: `${k.nodes.ready}/${k.nodes.total} nodes ready` };
  } catch (e) {
    measured = { reason: (e as Error).message };
  }
  return publishVerdict(deps, input, `cluster/${input.cluster}`, measured);
}

async function measure(deps: ActivityDeps, spec: InspectionSpec, host: HostTarget): Promise<Measurement> {
  if (spec.metric === 'command' && spec.command) {
    const out = await runOnHost(deps.hosts, host, spec.command.shell, { sudo: spec.command.sudo, timeoutMs: spec.command.timeoutSeconds * 1000 });
    if (!('value' in out)) return { reason: out.reason };
    const value = lastNumber(out.value);
    return value === undefined ? { reason: `the command's last line is not a number: ${JSON.stringify(out.value.trim().split('\n').pop() ?? '')}` } : { value };
  }
  const facts = await measureHost(deps.hosts, host);
  if (spec.metric === 'unreachable') return 'value' in facts ? { value: 0 } : { value: 1, detail: facts.reason };
  if (!('value' in facts)) return { reason: facts.reason };
  if (spec.metric === 'nodesNotReady' || spec.metric === 'command') return { reason: `metric ${spec.metric} is not measured on hosts` };
  const m = hostMetric(spec.metric, facts.value);
  return m.value === undefined ? { reason: `the host reports no ${spec.metric}` } : m;
}

async function publishVerdict(deps: ActivityDeps, on: { inspection: string; cluster: string; spec: InspectionSpec }, target: string, m: Measurement): Promise<InspectionResult> {
  const run = eventIdPrefix();
  const result: InspectionResult = {
    inspection: on.inspection,
    cluster: on.cluster,
    target,
    metric: on.spec.metric,
    state: judge(on.spec, m.value),
    ...m,
    threshold: { ...(on.spec.alertAbove !== undefined ? { above: on.spec.alertAbove } : {}), ...(on.spec.alertBelow !== undefined ? { below: on.spec.alertBelow } : {}) },
    observedAt: new Date().toISOString(),
  };
  await deps.events.publish({ subject: inspectionSubject(on.cluster, on.inspection, target), type: `dev.ops.inspection.${result.state}`, id: `${run}/${target}`, data: result });
  return result;
}
