// The pure parts of the Kubernetes executor: the step pod, how its state and a node's are
// classified, exec exit codes, rollout readiness and what the sweep takes.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { nodeProblem, stepPodManifest, stepPodName, stepPodProblem, stepPodRunning, workerLabelValue } from '../../activities/kube/step-pod';
import { exitCodeOf } from '../../activities/kube/node-session';
import { readiness } from '../../activities/kube/readiness';
import { abandoned } from '../../activities/kube/sweep';

const pod = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'p' }, status });

test('a step pod is pinned to its node, privileged in the host namespaces, and ends by itself', () => {
  const manifest = stepPodManifest({ key: 'run-1/host/step/1', node: 'gpu-7', namespace: 'ops', image: 'busybox:1.37', worker: 'w1', timeoutSeconds: 600, annotations: { 'ops.dev/run': 'r' } }, new Date('2026-01-01T00:00:00Z'));
  expect(manifest.metadata?.name).toBe(stepPodName('run-1/host/step/1', 'gpu-7'));
  expect(manifest.metadata?.name).toMatch(/^ops-step-[0-9a-f]{20}$/);
  expect(manifest.spec).toMatchObject({ nodeName: 'gpu-7', hostPID: true, hostNetwork: true, restartPolicy: 'Never', activeDeadlineSeconds: 900, tolerations: [{ operator: 'Exists' }] });
  expect(manifest.spec?.containers[0]).toMatchObject({ command: ['sleep', '900'], securityContext: { privileged: true } });
  expect(manifest.spec?.containers[0].resources?.limits).toBeUndefined();
  expect(manifest.metadata?.annotations).toMatchObject({ 'ops.dev/expires': '2026-01-01T00:15:00.000Z', 'ops.dev/node': 'gpu-7', 'ops.dev/run': 'r' });
  expect(manifest.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'ops', 'ops.dev/worker': 'w1' });
});

test('worker label values are valid label values', () => {
  expect(workerLabelValue('ops-worker-7d9f.eu-1')).toBe('ops-worker-7d9f.eu-1');
  expect(workerLabelValue('host/1234/eu')).toBe('host-1234-eu');
  const long = workerLabelValue('x'.repeat(100));
  expect(long.length).toBeLessThanOrEqual(63);
  expect(long).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
});

test('step pod states are classified like host failures', () => {
  const waiting = (reason: string, message = '') => pod({ phase: 'Pending', containerStatuses: [{ name: 'step', image: 'busybox:9', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message } } }] });
  expect(stepPodProblem(waiting('ErrImagePull', 'not found'))).toEqual({ type: 'ImagePullFailed', message: 'cannot pull image busybox:9: ErrImagePull: not found' });
  expect(stepPodProblem(waiting('ImagePullBackOff'))?.type).toBe('ImagePullFailed');
  expect(stepPodProblem(waiting('CreateContainerConfigError'))?.type).toBe('PodFailed');
  expect(stepPodProblem(waiting('ContainerCreating'))).toBeUndefined();
  expect(stepPodProblem(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] }))).toEqual({
    type: 'PodUnschedulable',
    message: 'the step pod cannot be placed on the node: 0/3 nodes are available',
  });
  expect(stepPodProblem(pod({ phase: 'Failed', reason: 'OutOfcpu', message: 'Node didn\'t have enough resource: cpu' }))?.type).toBe('PodUnschedulable');
  expect(stepPodProblem(pod({ phase: 'Failed', reason: 'Evicted' }))?.type).toBe('PodFailed');
  expect(stepPodProblem(pod({ phase: 'Pending' }))).toBeUndefined();
  const running = pod({ phase: 'Running', containerStatuses: [{ name: 'step', image: 'b', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] });
  expect(stepPodRunning(running)).toBe(true);
  expect(stepPodRunning(pod({ phase: 'Pending' }))).toBe(false);
});

test('a node that is not Ready says why', () => {
  const node = (conditions: NonNullable<V1Node['status']>['conditions']): V1Node => ({ metadata: { name: 'n1' }, status: { conditions } });
  expect(nodeProblem(node([{ type: 'Ready', status: 'True' }]))).toBeUndefined();
  expect(nodeProblem(node([{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }]))).toEqual({
    type: 'NodeNotReady',
    message: 'node n1 is not ready: Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)',
  });
  expect(nodeProblem(node(undefined))?.message).toBe('node n1 is not ready: it reports no Ready condition');
});

test('exec statuses give exit codes, from kubelets and from runtimes that wrap the error', () => {
  expect(exitCodeOf({ status: 'Success' })).toBe(0);
  expect(exitCodeOf({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] } })).toBe(7);
  expect(exitCodeOf({ status: 'Failure', reason: 'InternalError', message: 'error executing command in container: cmd wait: sh -c x: exit status 3' })).toBe(3);
  expect(exitCodeOf({ status: 'Failure', reason: 'InternalError', message: 'container not found ("step")' })).toBeUndefined();
});

test('rollouts are complete when every replica is updated and available', () => {
  const deployment = (status: Record<string, number>, generation = 2) => ({ kind: 'Deployment', metadata: { generation }, spec: { replicas: 3 }, status: { observedGeneration: 2, ...status } });
  expect(readiness(deployment({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 })).ready).toBe(true);
  expect(readiness(deployment({ replicas: 4, updatedReplicas: 3, availableReplicas: 3 })).ready).toBe(false);
  expect(readiness(deployment({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 }, 3)).ready).toBe(false);
  const ds = { kind: 'DaemonSet', metadata: { generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 5, updatedNumberScheduled: 5, numberAvailable: 4 } };
  expect(readiness(ds)).toEqual({ ready: false, detail: '5/5 updated, 4/5 available' });
  expect(readiness({ kind: 'Node', status: { conditions: [{ type: 'Ready', status: 'True' }] } }).ready).toBe(true);
  const sts = { kind: 'StatefulSet', metadata: { generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'b' } };
  expect(readiness(sts).ready).toBe(false);
});

test('the sweep takes step pods of this worker and expired ones, never those being deleted', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const p = (worker: string, expires: string, deleting = false): V1Pod => ({ metadata: { labels: { 'ops.dev/worker': worker }, annotations: { 'ops.dev/expires': expires }, ...(deleting ? { deletionTimestamp: now } : {}) } });
  expect(abandoned(p('me', '2026-01-01T13:00:00Z'), 'me', now)).toBe(true);
  expect(abandoned(p('me', '2026-01-01T13:00:00Z'), undefined, now)).toBe(false);
  expect(abandoned(p('other', '2026-01-01T13:00:00Z'), 'me', now)).toBe(false);
  expect(abandoned(p('other', '2026-01-01T11:00:00Z'), 'me', now)).toBe(true);
  expect(abandoned(p('me', '2026-01-01T11:00:00Z', true), 'me', now)).toBe(false);
});
