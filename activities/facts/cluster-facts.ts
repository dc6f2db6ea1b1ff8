import { VersionApi } from '@kubernetes/client-node';
import type { ClusterStatus } from '../../model/facts';
import { apiErrorMessage } from '../kube/api-errors';
import { ClusterApis, type ClusterApi } from '../kube/cluster-api';

const PAGE = 500;

/** The cluster's Kubernetes API as this worker reaches it; an error that says why when it reaches none. */
export function clusterApi(apis: ClusterApis, kubeconfigRef: string | undefined): ClusterApi {
  if (kubeconfigRef === undefined && !ClusterApis.hasDefault()) {
    throw new Error('this worker reaches no Kubernetes API (the Cluster names no kubeconfigRef, and the worker has no in-cluster account or kubeconfig)');
  }
  return apis.get(kubeconfigRef);
}

/** The cluster's Kubernetes version, nodes Ready of all, and pods Running of all. */
export async function kubernetesFacts(api: ClusterApi): Promise<NonNullable<ClusterStatus['kubernetes']>> {
  try {
    const version = await api.config.makeApiClient(VersionApi).getCode();
    const nodes = (await api.core.listNode()).items;
    const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    const pods = { running: 0, total: 0 };
    // Pages, so a cluster of many thousand pods is not one huge answer.
    let next: string | undefined;
    do {
      const page = await api.core.listPodForAllNamespaces({ limit: PAGE, _continue: next });
      pods.total += page.items.length;
      pods.running += page.items.filter((p) => p.status?.phase === 'Running').length;
      next = page.metadata?._continue || undefined;
    } while (next);
    return { version: version.gitVersion, nodes: { ready, total: nodes.length }, pods };
  } catch (e) {
    throw new Error(`Kubernetes API: ${apiErrorMessage(e)}`);
  }
}
