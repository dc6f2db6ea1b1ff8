import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import type { HostTarget } from '../../model/run';
import { FailureType } from '../../model/failures';
import type { HostLease } from '../host-session';
import { ConnectError } from '../step-failure';
import { apiErrorMessage, apiStatus } from './api-errors';
import type { ClusterApis } from './cluster-api';
import { KubeNodeSession } from './node-session';
import { nodeProblem, stepPodManifest, stepPodName, stepPodProblem, stepPodRunning, WORKER_LABEL } from './step-pod';

export interface KubeExecutorSettings {
  /** Namespace of the step pods. */
  namespace: string;
  /** Image of the step pods: anything with nsenter and sleep (busybox, or the distribution's util-linux). */
  image: string;
  /** This worker as a label value; the sweep deletes what an earlier life of it left. */
  worker: string;
  /** How long a step pod may take to start (image pull included). */
  podStartSeconds: number;
}

/** What the step pod needs to know of the step it serves. */
export interface StepPodContext {
  key: string;
  timeoutSeconds: number;
  annotations: Record<string, string>;
}

const POLL_MS = 500;

/**
 * Reaches a node the way a step needs it: a step pod pinned to it, running, for as long as the
 * step lasts. The lease's release deletes the pod; a retried attempt of the same step finds and
 * takes over the pod of the attempt before.
 */
export class KubeNodeConnector {
  constructor(
    private readonly apis: ClusterApis,
    private readonly settings: KubeExecutorSettings,
  ) {}

  async acquire(target: HostTarget, step: StepPodContext, signal?: AbortSignal): Promise<HostLease> {
    const api = this.apis.get(target.credentialRef);
    const node = await api.core.readNode({ name: target.name }).catch((e: unknown) => {
      if (apiStatus(e) === 404) throw new ConnectError(FailureType.NodeNotReady, `node ${target.name} does not exist (any more) in cluster ${target.cluster}`);
      throw unreachable(target, e);
    });
    const notReady = nodeProblem(node);
    if (notReady) throw new ConnectError(notReady.type, notReady.message);
    const { namespace } = this.settings;
    const name = stepPodName(step.key, target.name);
    await this.createOrTakeOver(target, step, name);
    const remove = () => api.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).then(() => undefined, () => undefined);
    try {
      await this.waitRunning(target, name, signal);
    } catch (e) {
      await remove();
      throw e;
    }
    return { session: new KubeNodeSession(api, namespace, name), release: () => void remove() };
  }

  private async createOrTakeOver(target: HostTarget, step: StepPodContext, name: string): Promise<void> {
    const api = this.apis.get(target.credentialRef);
    const { namespace } = this.settings;
    const body = stepPodManifest({ ...step, node: target.name, namespace, image: this.settings.image, worker: this.settings.worker }, new Date());
    for (let attempt = 0; attempt < 60; attempt += 1) {
      try {
        await api.core.createNamespacedPod({ namespace, body });
        return;
      } catch (e) {
        if (apiStatus(e) !== 409) throw unreachable(target, e);
      }
      // The pod of an earlier attempt of this step: take it over (so the earlier worker's sweep
      // leaves it alone), unless it is on its way out.
      const existing = await api.core.readNamespacedPod({ name, namespace }).catch(() => undefined);
      if (existing && !existing.metadata?.deletionTimestamp) {
        await api.objects.patch({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { [WORKER_LABEL]: this.settings.worker } } }, undefined, undefined, undefined, undefined, 'application/merge-patch+json');
        return;
      }
      await sleep(POLL_MS);
    }
    throw new ConnectError(FailureType.PodFailed, `step pod ${namespace}/${name} is still being deleted; try again`);
  }

  private async waitRunning(target: HostTarget, name: string, signal?: AbortSignal): Promise<V1Pod> {
    const api = this.apis.get(target.credentialRef);
    const { namespace, podStartSeconds } = this.settings;
    const deadline = Date.now() + podStartSeconds * 1000;
    for (;;) {
      signal?.throwIfAborted();
      const pod = await api.core.readNamespacedPod({ name, namespace }).catch((e: unknown) => {
        throw unreachable(target, e);
      });
      if (stepPodRunning(pod)) return pod;
      const problem = stepPodProblem(pod);
      if (problem) throw new ConnectError(problem.type, `${target.name}: ${problem.message}`);
      if (Date.now() > deadline) {
        throw new ConnectError(FailureType.HostUnreachable, `${target.name}: the step pod ${namespace}/${name} did not start within ${podStartSeconds}s (phase ${pod.status?.phase ?? 'unknown'})`);
      }
      await sleep(POLL_MS);
    }
  }
}

/**
 * The API could not be used. Not answering (or answering 5xx, 429) is retried like an unreachable
 * host; refusing the credentials is an auth failure; refusing the pod (an admission policy, a
 * quota) fails the step pod.
 */
function unreachable(target: HostTarget, e: unknown): unknown {
  if (e instanceof ConnectError) return e;
  const status = apiStatus(e);
  const message = `cluster ${target.cluster} API: ${apiErrorMessage(e)}`;
  if (status === 401 || status === 403) return new ConnectError(FailureType.AuthFailed, message);
  if (status !== undefined && status >= 400 && status < 500 && status !== 429) return new ConnectError(FailureType.PodFailed, message);
  return new ConnectError(FailureType.HostUnreachable, message);
}
