import type { V1Node } from '@kubernetes/client-node';
import type { HostTarget } from '../../model/run';
import type { NodeTargets } from '../../model/task';
import { matchesSelector, parseSelector } from '../../model/selector';
import { apiErrorMessage } from './api-errors';
import type { ClusterApis } from './cluster-api';

export interface NodeQuery {
  cluster: string;
  nodes: NodeTargets;
  kubeconfigRef?: string;
}

/**
 * The `kubeNodes` activity: the nodes the targets name, as hosts of the task run, ordered by name.
 * Selectors are matched here with the same rules as Host selectors. A node that is not Ready is
 * still a target: its steps fail as NodeNotReady, so the run says which nodes were skipped and why.
 */
export async function listNodeTargets(apis: ClusterApis, query: NodeQuery): Promise<HostTarget[]> {
  const api = apis.get(query.kubeconfigRef);
  let nodes: V1Node[];
  try {
    nodes = (await api.core.listNode()).items;
  } catch (e) {
    throw new Error(`listing nodes: ${apiErrorMessage(e)}`);
  }
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  let chosen: V1Node[];
  if (query.nodes === 'all') chosen = nodes;
  else if ('names' in query.nodes) {
    const missing = query.nodes.names.filter((n) => !byName.has(n));
    if (missing.length) throw new Error(`cluster ${query.cluster} has no node(s) named ${missing.join(', ')}`);
    chosen = query.nodes.names.map((n) => byName.get(n) as V1Node);
  } else {
    const requirements = parseSelector(query.nodes.selector);
    chosen = nodes.filter((n) => matchesSelector(requirements, n.metadata?.labels ?? {}));
  }
  return chosen
    .map((n) => nodeTarget(n, query))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function nodeTarget(node: V1Node, query: NodeQuery): HostTarget {
  const name = node.metadata?.name ?? '';
  const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? name;
  return {
    name,
    address,
    port: 0,
    connection: 'node',
    cluster: query.cluster,
    ...(query.kubeconfigRef ? { credentialRef: query.kubeconfigRef } : {}),
    trustOnFirstUse: false,
    labels: node.metadata?.labels ?? {},
  };
}
