import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { API_VERSION } from '../../model/naming';
import { localCluster } from '../../model/catalog';
import { parseSelector } from '../../model/selector';
import type { Resource } from '../../model/resources';
import { clusterWorkerStatus } from '../../workers/cluster-workers';
import type { DefinitionStore } from '../store/definitions';
import type { FleetStatus } from '../fleet-status';
import { requireRole } from '../auth';
import { HttpError, parseRequest } from '../errors';
import { listSelectorQuery } from '../schemas';

/**
 * GET /api/v1/clusters[/NAME]: the Cluster definitions with a `status` Ops does not store: whether
 * a worker polls the cluster's task queue, with the workers' identities and versions, and the
 * cluster's last heartbeat. The other methods are the generic definition routes.
 */
export function clusterRoutes(definitions: DefinitionStore, temporal: Client, fleet: FleetStatus): Router {
  const router = Router();
  const withStatus = async (cluster: Resource) => {
    const heartbeat = fleet.cluster(cluster.metadata.name);
    return { ...cluster, status: { ...(await clusterWorkerStatus(temporal, cluster.metadata.name)), ...(heartbeat ? { heartbeat } : {}) } };
  };
  router.get('/clusters', requireRole('viewer'), async (req, res) => {
    const { labelSelector } = parseRequest(listSelectorQuery, req.query, 'query');
    const selector = labelSelector ? parseSelector(labelSelector) : [];
    const stored = await definitions.list('Cluster', selector);
    // The built-in cluster is listed like the others unless a definition replaces it.
    const builtIn = !labelSelector && !stored.some((c) => c.metadata.name === localCluster.metadata.name) ? [localCluster] : [];
    res.json({ apiVersion: API_VERSION, kind: 'ClusterList', items: await Promise.all([...builtIn, ...stored].map(withStatus)) });
  });
  router.get('/clusters/:name', requireRole('viewer'), async (req, res) => {
    const name = String(req.params.name);
    const cluster = (await definitions.get('Cluster', name)) ?? (name === localCluster.metadata.name ? localCluster : undefined);
    if (!cluster) throw new HttpError(404, `Cluster/${name} is not defined`);
    res.json(await withStatus(cluster));
  });
  return router;
}
