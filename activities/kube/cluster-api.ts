import { existsSync, readFileSync } from 'node:fs';
import { CoreV1Api, Exec, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import type { CredentialStore } from '../credentials';

/** The clients one worker uses for one cluster API. */
export interface ClusterApi {
  config: KubeConfig;
  core: CoreV1Api;
  objects: KubernetesObjectApi;
  exec: Exec;
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * Reaches the cluster APIs a worker may use, each from its own configuration: a Cluster's
 * kubeconfigRef names a kubeconfig in the worker's credentials; without one, the worker's own
 * cluster (its service account inside a pod, else KUBECONFIG or ~/.kube/config).
 */
export class ClusterApis {
  private readonly cache = new Map<string, ClusterApi>();

  constructor(private readonly credentials: CredentialStore) {}

  get(kubeconfigRef: string | undefined): ClusterApi {
    const key = kubeconfigRef ?? '';
    let api = this.cache.get(key);
    if (!api) {
      const config = new KubeConfig();
      const location = this.credentials.kubeconfig(kubeconfigRef);
      if (location) {
        config.loadFromFile(location.file);
        if (location.context) config.setCurrentContext(location.context);
      } else {
        config.loadFromDefault();
      }
      api = { config, core: config.makeApiClient(CoreV1Api), objects: KubernetesObjectApi.makeApiClient(config), exec: new Exec(config) };
      this.cache.set(key, api);
    }
    return api;
  }

  /** Whether this worker has a cluster of its own to reach without a kubeconfigRef. */
  static hasDefault(env: NodeJS.ProcessEnv = process.env): boolean {
    return Boolean(env.KUBERNETES_SERVICE_HOST || env.KUBECONFIG || existsSync(`${env.HOME ?? ''}/.kube/config`));
  }
}

/** Where step pods go: OPS_KUBE_NAMESPACE, else the worker's own namespace inside a pod, else "default". */
export function stepPodNamespace(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPS_KUBE_NAMESPACE) return env.OPS_KUBE_NAMESPACE;
  if (existsSync(SERVICE_ACCOUNT_NAMESPACE)) return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
  return 'default';
}
