// Two clusters on one machine, each with its own sshd hosts, its own client key authorized only
// there, and its own worker process holding only that key. A pipeline spanning both runs each
// stage on its cluster's worker and hands a result across; a stage whose cluster has no worker
// waits visibly, then fails with that reason.
import { startStack, type TestStack, type WorkerProcess } from '../harness/stack';
import { startFleet, type Fleet } from '../harness/fleet';
import { startOpsServer, type OpsServer } from '../harness/server';
import { Catalog } from '../../model/catalog';
import { loadResources } from '../../model/load';
import { planTaskRun } from '../../model/plan';
import type { TaskRunResult } from '../../model/run';
import { clusterTaskQueue } from '../../model/naming';
import { resultInFailure, TASK_RUN_FAILED } from '../../workflows/run-failure';
import { freePort } from '../../workers/embedded/processes';

let stack: TestStack;
let west: Fleet;
let server: OpsServer;
const workers: WorkerProcess[] = [];
let definitionsFile: string;
let healthPort: number;

const credentials = (fleet: Fleet) => `default: fleet\ncredentials:\n  fleet: { username: ${fleet.user}, privateKeyFile: ${fleet.clientKeyPath} }\n`;

function hostsYaml(fleet: Fleet, cluster: string): string {
  return fleet.hosts
    .map((h) => `apiVersion: ops.dev/v1\nkind: Host\nmetadata: { name: ${cluster}-${h.name}, labels: { site: ${cluster} } }\nspec: ${JSON.stringify({ address: h.address, port: h.port, hostKey: h.hostKeyFingerprint, cluster })}\n`)
    .join('---\n');
}

const DEFINITIONS = `
apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: east }
spec: { description: first region }
---
apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: west }
spec: { description: second region }
---
apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: north }
spec: { description: no worker runs here, workerWaitSeconds: 8 }
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: issue-token }
spec:
  targets: { selector: site=east }
  results: [{ name: token }]
  steps:
    - shell: |
        echo "issuing on \${host.name}"
        echo "::result token=t-$(echo east | tr a-z A-Z)"
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: install-token }
spec:
  targets: { selector: site=west }
  variables: [{ name: token, required: true }]
  steps:
    - shell: echo "\${token}" > mc-token
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: north-probe }
spec:
  targets: { hosts: [north-gw] }
  steps: [{ shell: uptime }]
---
apiVersion: ops.dev/v1
kind: Host
metadata: { name: north-gw }
spec: { address: 127.0.52.1, cluster: north, trustOnFirstUse: true }
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: rotate-token }
spec:
  stages:
    - name: issue
      cluster: east
      tasks: [{ task: issue-token }]
    - name: install
      cluster: west
      tasks: [{ task: install-token, variables: { token: "\${tasks.issue-token.results.token}" } }]
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: east-then-north }
spec:
  stages:
    - name: issue
      cluster: east
      tasks: [{ task: issue-token }]
    - name: probe
      cluster: north
      tasks: [{ task: north-probe }]
`;

beforeAll(async () => {
  [stack, west] = await Promise.all([startStack({ count: 2, firstAddress: '127.0.50.1' }), startFleet({ count: 2, firstAddress: '127.0.51.1' })]);
  definitionsFile = stack.writeFile('multi.yaml', [DEFINITIONS, hostsYaml(stack.fleet, 'east'), hostsYaml(west, 'west')].join('---\n'));
  const eastCredentials = stack.writeFile('east-credentials.yaml', credentials(stack.fleet));
  const westCredentials = stack.writeFile('west-credentials.yaml', credentials(west));
  workers.push(stack.startWorker(['--control']));
  healthPort = await freePort();
  workers.push(stack.startWorker(['--cluster', 'east', '--health-port', String(healthPort)], { OPS_CREDENTIALS_FILE: eastCredentials }));
  workers.push(stack.startWorker(['--cluster', 'west'], { OPS_CREDENTIALS_FILE: westCredentials }));
  server = await startOpsServer(stack, { name: 'multi' });
  await Promise.all(workers.map((w) => w.ready));
  const applied = await stack.ops(['apply', '-f', definitionsFile], { env: server.env });
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
});

afterAll(async () => {
  await server?.stop();
  await west?.stop();
  await stack?.stop();
});

async function runPipeline(name: string): Promise<string> {
  const started = await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: name } });
  expect(started.status).toBe(201);
  return started.body.id as string;
}


test('a pipeline spanning two clusters runs each stage on its own worker and passes a result across', async () => {
  const id = await runPipeline('rotate-token');
  const run = await server.ended(id);
  expect(run.status).toBe('succeeded');
  const hosts = run.result.stages.flatMap((s: any) => s.tasks.flatMap((t: any) => t.hosts));
  const workerOf = Object.fromEntries(hosts.map((h: any) => [h.host, h.worker]));
  expect(workerOf['east-host-1']).toMatch(/\/east$/);
  expect(workerOf['east-host-2']).toMatch(/\/east$/);
  expect(workerOf['west-host-1']).toMatch(/\/west$/);
  expect(workerOf['west-host-2']).toMatch(/\/west$/);
  for (const h of west.hosts) expect((await west.exec(h.name, 'cat mc-token')).stdout).toBe('t-EAST\n');
  // `ops get run` names the worker of every host.
  const shown = await stack.ops(['get', 'run', id], { env: server.env });
  expect(shown.stdout).toMatch(/install-token\s+west-host-1\s+succeeded\s+\S*\/west/);
});

test("a stage sent to the wrong cluster's worker cannot reach the other cluster's hosts", async () => {
  const catalog = Catalog.from(loadResources([definitionsFile]));
  const input = planTaskRun(catalog, 'install-token', { variables: { token: 'x' }, origin: { trigger: 'cli', requester: 'test' } });
  // Forced onto east's queue: east's worker holds only east's key, which west's hosts refuse.
  const handle = await stack.client.workflow.start('taskRun', { workflowId: `${input.runId}-wrong`, taskQueue: clusterTaskQueue('east'), args: [{ ...input, cluster: 'east' }] });
  const result = (await handle.result().catch((e: unknown) => resultInFailure<TaskRunResult>(e, TASK_RUN_FAILED))) as TaskRunResult | undefined;
  expect(result?.hosts.map((h) => [h.host, h.status])).toEqual([
    ['west-host-1', 'authFailed'],
    ['west-host-2', 'authFailed'],
  ]);
  expect(result?.hosts[0].worker).toMatch(/\/east$/);
});

test('clusters show whether workers poll their queues, and a stage whose cluster has none waits, then fails with that reason', async () => {
  const clusters = await server.call('GET', '/api/v1/clusters');
  const byName = Object.fromEntries(clusters.body.items.map((c: any) => [c.metadata.name, c.status]));
  expect(byName.east).toMatchObject({ taskQueue: 'ops.cluster.east', online: true, workers: [expect.objectContaining({ identity: expect.stringMatching(/\/east$/), polls: ['workflow', 'activity'] })] });
  expect(byName.north).toEqual({ taskQueue: 'ops.cluster.north', online: false, workers: [] });
  const one = await server.call('GET', '/api/v1/clusters/west');
  expect(one.body.status.workers[0]).toMatchObject({ identity: expect.stringMatching(/\/west$/), version: expect.stringMatching(/^ops@\d+\.\d+\.\d+/) });
  // The probes of the worker's Deployment (k8s/base/worker).
  const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
  expect([ready.status, await ready.json()]).toEqual([200, { workers: ['RUNNING'] }]);
  expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);
  const listed = await stack.ops(['get', 'clusters', '-o', 'wide'], { env: server.env });
  expect(listed.stdout).toMatch(/north\s+none/);
  expect(listed.stdout).toMatch(/east\s+1\s/);

  const id = await runPipeline('east-then-north');
  let waiting: any;
  for (const deadline = Date.now() + 30_000; !waiting && Date.now() < deadline; ) {
    const run = await server.call('GET', `/api/v1/runs/${id}`);
    waiting = run.body.progress?.pipeline?.stages?.[1]?.tasks?.find((t: any) => t.status === 'waiting');
    if (!waiting) await new Promise((r) => setTimeout(r, 250));
  }
  expect(waiting?.reason).toBe('waiting for a worker of cluster "north" (task queue ops.cluster.north)');
  const shown = await stack.ops(['get', 'run', id], { env: server.env });
  expect(shown.stdout).toContain('stage probe: task north-probe waiting for a worker of cluster "north"');
  // Temporal Web shows the workflow's current details.
  const metadata = await stack.client.workflow.getHandle(id).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  expect(metadata.currentDetails).toContain('waiting for a worker of cluster "north"');

  const run = await server.ended(id);
  expect(run.status).toBe('failed');
  expect(run.result.reason).toContain('no worker of cluster "north" picked the task up within 8s');
  expect(run.result.stages[0].status).toBe('succeeded');
});
