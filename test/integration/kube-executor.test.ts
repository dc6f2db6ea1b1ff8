// The Kubernetes executor against a real API server (kube-apiserver, etcd, controller manager and
// scheduler) whose nodes kwok simulates: shell and file steps on nodes through step pods that
// enter the host's namespaces, kubectl steps against the API, error classification, cancel, and
// the sweep of step pods a crashed worker left, and the cluster's heartbeat and nodesNotReady
// inspection. Steps exec'd into step pods run as local processes of kwok (see test/harness/kube.ts).
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, workerLogs, type TestStack, type WorkerProcess } from '../harness/stack';
import { startKube, type KubeCluster } from '../harness/kube';
import type { RunOutcome } from '../../workers/runs';
import type { HostResult, TaskRunResult } from '../../model/run';
import { readLogs } from '../../api/logs';
import { STEP_POD_SELECTOR } from '../../activities/kube/step-pod';
import { until } from '../harness/until';
import { clusterTaskQueue } from '../../model/naming';
import { inspectionSpec } from '../../model/inspection';
import type { HeartbeatResult } from '../../workflows/heartbeat-run';
import type { InspectionRunResult } from '../../workflows/inspection-run';

let stack: TestStack;
let kube: KubeCluster;
let control: WorkerProcess;
let edge: WorkerProcess;
let workerEnv: NodeJS.ProcessEnv;
let definitions: string;

const CLUSTER = `apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: edge }
spec: { kubeconfigRef: edge-kube, workerWaitSeconds: 60 }
`;

beforeAll(async () => {
  [stack, kube] = await Promise.all([startStack({ count: 1, firstAddress: '127.0.40.1' }), startKube()]);
  await kube.addNodes(['gpu-1', 'gpu-2'], { pool: 'gpu' });
  await kube.addNodes(['cpu-1'], { pool: 'cpu' });
  await kube.addUnmanagedNode('gpu-3');
  await kube.api('PATCH', '/api/v1/nodes/gpu-3', { metadata: { labels: { pool: 'gpu' } } }, 'application/merge-patch+json');
  const credentials = stack.writeFile('edge-credentials.yaml', `credentials:\n  edge-kube: { kubeconfigFile: ${kube.kubeconfig} }\n`);
  workerEnv = { OPS_CREDENTIALS_FILE: credentials, OPS_KUBE_NAMESPACE: kube.namespace, OPS_NODE_IMAGE: 'busybox:1.37' };
  definitions = stack.writeFile('cluster.yaml', CLUSTER);
  control = stack.startWorker(['--control']);
  edge = stack.startWorker(['--cluster', 'edge'], workerEnv);
  await Promise.all([control.ready, edge.ready]);
});

afterAll(async () => {
  await stack?.stop();
  await kube?.stop();
});

async function runTask(yaml: string, task: string): Promise<{ code: number; runId: string; result: TaskRunResult; hosts: Record<string, HostResult> }> {
  const file = stack.writeFile(`${task}.yaml`, yaml);
  const r = await stack.ops(['run', '-f', definitions, '-f', file, '--task', task, '--cluster', 'edge', '--watch', '-o', 'json']);
  if (!r.stdout.trim()) throw new Error(`no JSON (exit ${r.code}):\n${r.stderr}\n${workerLogs(stack)}`);
  const outcome = JSON.parse(r.stdout) as RunOutcome & { runId: string };
  if (outcome.kind !== 'task') throw new Error('not a task run');
  return { code: r.code, runId: outcome.runId, result: outcome.result, hosts: Object.fromEntries(outcome.result.hosts.map((h) => [h.host, h])) };
}

/** Uids of the step pods not being deleted. */
async function stepPods(): Promise<string[]> {
  const list = await kube.api<{ items: Array<{ metadata: { uid: string; deletionTimestamp?: string } }> }>('GET', `/api/v1/namespaces/${kube.namespace}/pods?labelSelector=${encodeURIComponent(STEP_POD_SELECTOR)}`);
  return list.body.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.uid);
}

const eventually = (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) => until(what, check, (done) => done, { timeoutMs });

test("the cluster's heartbeat reads its Kubernetes API: version, nodes Ready, pods Running; nodesNotReady alerts on the node that is not", async () => {
  const run = <T>(workflow: string, input: object) => stack.client.workflow.execute(workflow, { taskQueue: clusterTaskQueue('edge'), workflowId: `${workflow}-edge-${Date.now()}`, args: [input] }) as Promise<T>;
  const heartbeat = await run<HeartbeatResult>('heartbeatRun', { cluster: 'edge', hosts: [], kubeconfigRef: 'edge-kube' });
  const pods = (await kube.api<{ items: Array<{ status?: { phase?: string } }> }>('GET', '/api/v1/pods')).body.items;
  // gpu-3 has no kwok behind it, so it never turns Ready.
  expect(heartbeat.kubernetes).toEqual({ version: expect.stringMatching(/^v1\.36\./), nodes: { ready: 3, total: 4 }, pods: { total: pods.length, running: pods.filter((p) => p.status?.phase === 'Running').length } });

  const spec = inspectionSpec.parse({ cluster: 'edge', metric: 'nodesNotReady', alertAbove: 0, every: '5m' });
  const inspection = await run<InspectionRunResult>('inspectionRun', { inspection: 'nodes-not-ready', cluster: 'edge', spec, hosts: [], onCluster: true, kubeconfigRef: 'edge-kube' });
  expect(inspection).toEqual({ alerting: ['cluster/edge'], normal: 0, unknown: [], unmeasured: [] });
});

test('a shell step runs on each selected node in a step pod inside the host namespaces; a node that is not Ready is reported as such', async () => {
  const { code, runId, result, hosts } = await runTask(
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: node-facts }
spec:
  targets: { nodes: { selector: pool=gpu } }
  maxFailures: 1
  results: [{ name: pidns }]
  steps:
    - name: facts
      shell: |
        echo "on \${host.name} (\${host.address}) as $(id -u)"
        echo "\${host.name}" > "$HOME/touched-\${host.name}"
        echo "::result pidns=$(readlink /proc/1/ns/pid)"
`,
    'node-facts',
  );
  expect(Object.keys(hosts).sort()).toEqual(['gpu-1', 'gpu-2', 'gpu-3']);
  expect(hosts['gpu-1']).toMatchObject({ status: 'succeeded', worker: expect.stringContaining('/edge') });
  expect(hosts['gpu-2'].status).toBe('succeeded');
  expect(hosts['gpu-3']).toMatchObject({ status: 'unreachable', message: expect.stringContaining('node gpu-3 is not ready') });
  expect(result.status).toBe('succeeded');
  expect(code).toBe(0);
  // nsenter --target 1 entered the PID namespace of the node (kwok's), not the worker's.
  expect(result.results.pidns).toMatch(/^pid:\[\d+\]$/);
  expect(result.results.pidns).not.toBe(readlinkSync('/proc/self/ns/pid'));
  expect(existsSync(join(kube.nodeHome, 'touched-gpu-1'))).toBe(true);
  const nc = await stack.natsConnection();
  let text = '';
  for await (const chunk of readLogs(nc, runId, { host: 'gpu-2', follow: false })) text += chunk.text;
  await nc.close();
  expect(text).toContain('on gpu-2 (127.0.0.1) as 0');
  await eventually('step pods deleted', async () => (await stepPods()).length === 0);
});

test('exit codes and timeouts are classified, and their step pods deleted', async () => {
  const { hosts, result } = await runTask(
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: node-fail }
spec:
  targets: { nodes: { names: [gpu-1, cpu-1] } }
  maxFailures: 2
  steps:
    - name: fail-or-hang
      timeoutSeconds: 3
      shell: |
        if [ "\${host.name}" = gpu-1 ]; then echo "disk full" >&2; exit 3; fi
        sleep 60
`,
    'node-fail',
  );
  expect(hosts['gpu-1']).toMatchObject({ status: 'failed', exitCode: 3, message: expect.stringContaining('exit code 3: disk full') });
  expect(hosts['cpu-1']).toMatchObject({ status: 'timedOut' });
  // Within maxFailures 2, but no node succeeded: a run that did nothing has failed.
  expect(result).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^all 2 hosts failed: /) });
  await eventually('step pods deleted', async () => (await stepPods()).length === 0);
});

test('file steps push to and pull from nodes', async () => {
  const pulled = join(stack.dir, 'pulled');
  const { hosts } = await runTask(
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: node-files }
spec:
  targets: { nodes: { names: [cpu-1] } }
  steps:
    - name: push
      file: { content: "kernel.panic=10 on \${host.name}\\n", destination: sysctl-ops.conf, mode: "0640" }
    - name: check
      shell: 'cat sysctl-ops.conf; stat -c %a sysctl-ops.conf'
    - name: pull
      file: { direction: pull, source: sysctl-ops.conf, destination: ${pulled} }
`,
    'node-files',
  );
  expect(hosts['cpu-1'].message).toBeUndefined();
  expect(hosts['cpu-1'].steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  expect(readFileSync(join(kube.nodeHome, 'sysctl-ops.conf'), 'utf8')).toBe('kernel.panic=10 on cpu-1\n');
  expect(readFileSync(join(pulled, 'cpu-1', 'sysctl-ops.conf'), 'utf8')).toBe('kernel.panic=10 on cpu-1\n');
});

test('kubectl steps apply a manifest, wait for the rollout, restart it and wait again', async () => {
  const { hosts, result } = await runTask(
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: deploy-web }
spec:
  targets: { cluster: true }
  variables: [{ name: replicas, default: "2" }]
  steps:
    - name: apply
      kubectl:
        namespace: default
        apply: |
          apiVersion: apps/v1
          kind: Deployment
          metadata: { name: web }
          spec:
            replicas: \${replicas}
            selector: { matchLabels: { app: web } }
            template:
              metadata: { labels: { app: web } }
              spec:
                containers: [{ name: web, image: "nginx:1.27" }]
    - name: ready
      timeoutSeconds: 60
      kubectl: { namespace: default, waitReady: deployment/web }
    - name: restart
      kubectl: { namespace: default, rolloutRestart: deployment/web }
    - name: ready-again
      timeoutSeconds: 60
      kubectl: { namespace: default, waitReady: deployment/web }
    - name: missing
      allowFailure: true
      kubectl: { namespace: default, waitReady: deployment/nope }
`,
    'deploy-web',
  );
  const host = hosts['cluster/edge'];
  expect(host.steps.map((s) => s.message ?? '').join('\n')).not.toContain('timed out');
  expect(host.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed']);
  expect(host.steps[4].message).toContain('deployment/nope not found');
  expect(result.status).toBe('succeeded');
  const deployment = await kube.api<{ spec: { template: { metadata: { annotations?: Record<string, string> } } }; status: { availableReplicas: number } }>('GET', '/apis/apps/v1/namespaces/default/deployments/web');
  expect(deployment.body.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeDefined();
  expect(deployment.body.status.availableReplicas).toBe(2);
});

test('a cancelled run deletes its step pods; a worker that crashed has its step pods swept when it comes back', async () => {
  const file = stack.writeFile(
    'node-sleep.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: node-sleep }
spec:
  targets: { nodes: { names: [gpu-2] } }
  steps: [{ name: sleep, shell: sleep 120 }]
`,
  );
  const start = async () => {
    const r = await stack.ops(['run', '-f', definitions, '-f', file, '--task', 'node-sleep', '--cluster', 'edge', '-o', 'json']);
    return (JSON.parse(r.stdout) as { runId: string }).runId;
  };
  const cancelled = await start();
  await eventually('step pod running', async () => (await stepPods()).length === 1);
  expect((await stack.ops(['cancel', cancelled])).code).toBe(0);
  await eventually('step pod deleted after cancel', async () => (await stepPods()).length === 0);

  const crashed = await start();
  await eventually('step pod running', async () => (await stepPods()).length === 1);
  const [orphan] = await stepPods();
  await edge.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000));
  expect(await stepPods()).toEqual([orphan]);
  edge = stack.startWorker(['--cluster', 'edge'], workerEnv);
  await edge.ready;
  // The retried step may start a pod of its own; the orphan must be gone.
  await eventually('step pod of the crashed worker swept', async () => !(await stepPods()).includes(orphan));
  await stack.ops(['cancel', crashed]);
  await eventually('no step pods left', async () => (await stepPods()).length === 0, 30_000);
});
