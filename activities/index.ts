import { runShellStep } from './shell-step';
import { runFileStep } from './file-step';
import { runKubectlStep } from './kube/kubectl-step';
import { listNodeTargets, type NodeQuery } from './kube/nodes';
import type { ActivityDeps, StepInput } from './step-input';

export type { StepInput, ActivityDeps } from './step-input';

/**
 * The activities a cluster worker registers. `connection: local` hosts go through the SSH ones;
 * Kubernetes nodes run the same step code through their step pods, under their own names so
 * Temporal Web tells them apart.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    sshShell: (input: StepInput) => runShellStep(deps, input),
    sshFile: (input: StepInput) => runFileStep(deps, input),
    kubeShell: (input: StepInput) => runShellStep(deps, input),
    kubeFile: (input: StepInput) => runFileStep(deps, input),
    kubectl: (input: StepInput) => runKubectlStep(deps, input),
    kubeNodes: (query: NodeQuery) => listNodeTargets(deps.clusters, query),
  };
}

export type Activities = ReturnType<typeof createActivities>;
