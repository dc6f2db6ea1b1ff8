import { createHash } from 'node:crypto';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { FailureType } from '../../model/failures';

/** Labels and annotations that mark step pods, so a sweep finds those a crashed worker left. */
export const STEP_POD_LABELS = { 'app.kubernetes.io/managed-by': 'ops', 'ops.dev/component': 'step-pod' } as const;
export const STEP_POD_SELECTOR = Object.entries(STEP_POD_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
export const WORKER_LABEL = 'ops.dev/worker';
export const EXPIRES_ANNOTATION = 'ops.dev/expires';

/** Beyond the step's timeout, for the kill and the transfer bookkeeping; after it the pod ends by itself. */
const POD_GRACE_SECONDS = 300;

export interface StepPodRequest {
  /** Unique per step attempt and node, so a retried activity finds the pod of its earlier attempt. */
  key: string;
  node: string;
  namespace: string;
  image: string;
  /** This worker, as a label value (see workerLabelValue). */
  worker: string;
  timeoutSeconds: number;
  annotations: Record<string, string>;
}

export function stepPodName(key: string, node: string): string {
  return `ops-step-${createHash('sha256').update(`${key}\n${node}`).digest('hex').slice(0, 20)}`;
}

/** Label values hold at most 63 of [A-Za-z0-9_.-]. */
export function workerLabelValue(worker: string): string {
  const clean = worker.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return clean.length <= 63 ? clean : `${clean.slice(0, 50)}-${createHash('sha256').update(clean).digest('hex').slice(0, 12)}`;
}

/**
 * A privileged pod pinned to the node that only sleeps: the step itself is exec'd into it and
 * enters the host's namespaces with nsenter (see node-session.ts). Pinned by nodeName, so no
 * scheduler is involved and cordoned nodes are still reached; it tolerates every taint. It ends by
 * itself after the step's timeout and a grace period, so a lost worker leaves nothing running.
 */
export function stepPodManifest(r: StepPodRequest, now: Date): V1Pod {
  const lifetime = r.timeoutSeconds + POD_GRACE_SECONDS;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: stepPodName(r.key, r.node),
      namespace: r.namespace,
      labels: { ...STEP_POD_LABELS, [WORKER_LABEL]: r.worker },
      annotations: { ...r.annotations, 'ops.dev/node': r.node, [EXPIRES_ANNOTATION]: new Date(now.getTime() + lifetime * 1000).toISOString() },
    },
    spec: {
      nodeName: r.node,
      restartPolicy: 'Never',
      hostPID: true,
      hostIPC: true,
      hostNetwork: true,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      activeDeadlineSeconds: lifetime,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'step',
          image: r.image,
          command: ['sleep', String(lifetime)],
          securityContext: { privileged: true },
          // Requests only: the step's processes count against this container's cgroup, and a
          // limit would kill an operator's script for using what the host has.
          resources: { requests: { cpu: '10m', memory: '16Mi' } },
        },
      ],
    },
  };
}

export interface PodProblem {
  type: FailureType;
  message: string;
}

const IMAGE_PULL_REASONS = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable', 'SignatureValidationFailed'];
const CONTAINER_START_REASONS = ['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PreStartHookError', 'CrashLoopBackOff'];

/** Whether the step pod's container runs, so steps can be exec'd into it. */
export function stepPodRunning(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && Boolean(pod.status.containerStatuses?.some((c) => c.name === 'step' && c.state?.running));
}

/** Why the step pod cannot run, in the terms steps fail with; undefined while it may still start. */
export function stepPodProblem(pod: V1Pod): PodProblem | undefined {
  const status = pod.status;
  if (!status) return undefined;
  for (const c of status.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    if (!waiting?.reason) continue;
    const detail = `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
    if (IMAGE_PULL_REASONS.includes(waiting.reason)) return { type: FailureType.ImagePullFailed, message: `cannot pull image ${c.image}: ${detail}` };
    if (CONTAINER_START_REASONS.includes(waiting.reason)) return { type: FailureType.PodFailed, message: `the step pod's container cannot start: ${detail}` };
  }
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { type: FailureType.PodUnschedulable, message: `the step pod cannot be placed on the node: ${scheduled.message ?? scheduled.reason}` };
  }
  if (status.phase === 'Failed') {
    const reason = status.reason ?? 'Failed';
    // The kubelet's admission refusals (OutOfcpu, OutOfmemory, NodeAffinity, Taint…) mean the node would not take it.
    const refused = /^(OutOf|NodeAffinity|NodeSelector|Taint|UnexpectedAdmissionError|Unschedulable|NodeName)/.test(reason);
    return { type: refused ? FailureType.PodUnschedulable : FailureType.PodFailed, message: `the node refused the step pod: ${reason}${status.message ? `: ${status.message}` : ''}` };
  }
  if (status.phase === 'Succeeded') return { type: FailureType.PodFailed, message: 'the step pod ended before the step ran' };
  return undefined;
}

/** Why a node cannot take a step pod now, or undefined when it is Ready. */
export function nodeProblem(node: V1Node): PodProblem | undefined {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return undefined;
  const why = ready ? `Ready=${ready.status}${ready.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : ''}` : 'it reports no Ready condition';
  return { type: FailureType.NodeNotReady, message: `node ${node.metadata?.name ?? '?'} is not ready: ${why}` };
}
