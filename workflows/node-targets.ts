import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { TaskRunInput } from '../model/run';

const { kubeNodes } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

/** Node targets become hosts when the run starts: the cluster's worker lists the matching nodes. */
export async function withNodeTargets(input: TaskRunInput): Promise<{ input: TaskRunInput; problem?: string }> {
  if (!input.nodes) return { input };
  try {
    const hosts = await kubeNodes({ cluster: input.cluster, nodes: input.nodes, kubeconfigRef: input.kubeconfigRef });
    return { input: { ...input, hosts } };
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
    return { input, problem: `could not list the nodes of cluster "${input.cluster}": ${(cause as Error).message}` };
  }
}
