import { runShellStep } from './shell-step';
import { runFileStep } from './file-step';
import { runKubectlStep } from './kube/kubectl-step';
import { listNodeTargets, type NodeQuery } from './kube/nodes';
import { stepInputOf, type ActivityDeps, type StepInput, type StepRequest } from './step-input';
import type { OpsEvent } from './events';
import { reportClusterStatus, reportHostStatus, type ClusterStatusInput, type HostBatch } from './facts/status-activities';
import { inspectCluster, inspectHosts, type ClusterInspection, type InspectionBatch } from './facts/inspection-activities';

export type { StepInput, StepRequest, ActivityDeps } from './step-input';

/**
 * The activities a cluster worker registers. `connection: local` hosts go through the SSH ones;
 * Kubernetes nodes run the same step code through their step pods, under their own names so
 * Temporal Web tells them apart. Heartbeats and inspections measure hosts over the same pooled
 * connections and publish what they find as events; task runs announce their status as events.
 */
export function createActivities(deps: ActivityDeps) {
  const step = <T>(run: (deps: ActivityDeps, input: StepInput) => Promise<T>) => async (request: StepRequest) => run(deps, await stepInputOf(deps.snapshots, request));
  return {
    sshShell: step(runShellStep),
    sshFile: step(runFileStep),
    kubeShell: step(runShellStep),
    kubeFile: step(runFileStep),
    kubectl: step(runKubectlStep),
    kubeNodes: (query: NodeQuery) => listNodeTargets(deps.clusters, query),
    hostFacts: (batch: HostBatch) => reportHostStatus(deps, batch),
    clusterFacts: (input: ClusterStatusInput) => reportClusterStatus(deps, input),
    inspectHosts: (batch: InspectionBatch) => inspectHosts(deps, batch),
    inspectCluster: (input: ClusterInspection) => inspectCluster(deps, input),
    publishEvent: (event: OpsEvent) => deps.events.publish(event),
  };
}

export type Activities = ReturnType<typeof createActivities>;
