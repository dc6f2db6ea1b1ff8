import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterApis } from './cluster-api';
import { EXPIRES_ANNOTATION, STEP_POD_SELECTOR, WORKER_LABEL } from './step-pod';

const SWEEP_EVERY_MS = 60_000;

/**
 * Deletes step pods nobody will delete: at start, those an earlier life of this worker left (it
 * crashed mid-step; its lease releases never ran), and at any time those past their expiry (a
 * worker that never came back). Running steps' pods are never touched: their workers hold them
 * and renew nothing, but expiry lies beyond their step's timeout.
 */
export class StepPodSweeper {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly apis: ClusterApis,
    private readonly kubeconfigRefs: Array<string | undefined>,
    private readonly namespace: string,
    private readonly worker: string,
    private readonly log: (message: string) => void,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.sweep(false), SWEEP_EVERY_MS);
    this.timer.unref();
    await this.sweep(true);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Returns the names of the pods it deleted. */
  async sweep(includeMine: boolean, now = new Date()): Promise<string[]> {
    const deleted: string[] = [];
    for (const ref of this.kubeconfigRefs) {
      try {
        const core = this.apis.get(ref).core;
        const pods = (await core.listNamespacedPod({ namespace: this.namespace, labelSelector: STEP_POD_SELECTOR })).items;
        for (const pod of pods.filter((p) => abandoned(p, includeMine ? this.worker : undefined, now))) {
          const name = pod.metadata?.name ?? '';
          await core.deleteNamespacedPod({ name, namespace: this.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
          deleted.push(name);
        }
      } catch (e) {
        this.log(`step pod sweep${ref ? ` (${ref})` : ''} failed: ${(e as Error).message}`);
      }
    }
    if (deleted.length) this.log(`deleted ${deleted.length} abandoned step pod(s): ${deleted.join(', ')}`);
    return deleted;
  }
}

/** A step pod of this worker's earlier life, or one past its expiry. */
export function abandoned(pod: V1Pod, mine: string | undefined, now: Date): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (mine !== undefined && pod.metadata?.labels?.[WORKER_LABEL] === mine) return true;
  const expires = Date.parse(pod.metadata?.annotations?.[EXPIRES_ANNOTATION] ?? '');
  return Number.isFinite(expires) && expires < now.getTime();
}
