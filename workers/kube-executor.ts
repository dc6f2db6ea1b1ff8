import { hostname } from 'node:os';
import type { CredentialStore } from '../activities/credentials';
import { ClusterApis, stepPodNamespace } from '../activities/kube/cluster-api';
import { KubeNodeConnector, type KubeExecutorSettings } from '../activities/kube/node-connector';
import { workerLabelValue } from '../activities/kube/step-pod';
import { StepPodSweeper } from '../activities/kube/sweep';

/** Busybox has nsenter and sleep, all a step pod runs itself; the step uses the host's own tools. */
export const DEFAULT_NODE_IMAGE = 'busybox:1.37';

export interface KubeExecutor {
  clusters: ClusterApis;
  nodes: KubeNodeConnector;
  stop(): void;
}

/**
 * The Kubernetes side of a cluster worker: its cluster APIs, step pods on nodes, and the sweep of
 * step pods left behind. Settings: OPS_KUBE_NAMESPACE (step pods' namespace), OPS_NODE_IMAGE,
 * OPS_KUBE_POD_START_SECONDS (120).
 */
export function startKubeExecutor(credentials: CredentialStore, cluster: string, log: (message: string) => void, env: NodeJS.ProcessEnv = process.env): KubeExecutor {
  const clusters = new ClusterApis(credentials);
  const settings: KubeExecutorSettings = {
    namespace: stepPodNamespace(env),
    image: env.OPS_NODE_IMAGE || DEFAULT_NODE_IMAGE,
    worker: workerLabelValue(`${hostname()}.${cluster}`),
    podStartSeconds: Number(env.OPS_KUBE_POD_START_SECONDS || 120),
  };
  const refs = [...(ClusterApis.hasDefault(env) ? [undefined] : []), ...credentials.kubeconfigRefs()];
  const sweeper = new StepPodSweeper(clusters, refs, settings.namespace, settings.worker, log);
  // Not awaited: an unreachable cluster must not hold up the worker's start.
  if (refs.length) void sweeper.start();
  return { clusters, nodes: new KubeNodeConnector(clusters, settings), stop: () => sweeper.stop() };
}
