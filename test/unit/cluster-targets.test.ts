// Tasks on a cluster's nodes or API: validation at the edge and the frozen run input.
import { parseDefinitions } from '../../model/load';
import { Catalog } from '../../model/catalog';
import { planPipelineRun, planTaskRun } from '../../model/plan';
import { formatIssue, ValidationError } from '../../model/errors';
import { DEFAULT_WORKER_WAIT_SECONDS } from '../../model/run';
import type { RunOrigin } from '../../model/run';

const origin: RunOrigin = { trigger: 'cli', requester: 'alice' };

function catalog(text: string): Catalog {
  const { resources, issues } = parseDefinitions(text, 'defs.yaml');
  if (issues.length) throw new Error(issues.map(formatIssue).join('\n'));
  return Catalog.from(resources.map((resource) => ({ resource, file: 'defs.yaml' })));
}

function issuesOf(text: string): string[] {
  return parseDefinitions(text, 'defs.yaml').issues.map((i) => `${i.path}: ${i.message}`);
}

const DEFS = `
apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: gpu-eu, labels: { region: eu } }
spec: { kubeconfigRef: gpu-eu-admin, workerWaitSeconds: 30 }
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: ecc-check }
spec:
  targets: { nodes: { selector: "nvidia.com/gpu.present=true" } }
  results: [{ name: ecc }]
  steps: [{ shell: "nvidia-smi -q | grep -c 'Volatile Uncorrectable'" }]
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: restart-exporter }
spec:
  targets: { cluster: true }
  variables: [{ name: app, default: dcgm-exporter }]
  steps:
    - kubectl: { namespace: monitoring, rolloutRestart: "daemonset/\${app}" }
    - kubectl: { namespace: monitoring, waitReady: "daemonset/\${app}" }
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: gpu-night }
spec:
  stages:
    - { name: inspect, cluster: gpu-eu, tasks: [{ task: ecc-check }] }
    - { name: restart, cluster: gpu-eu, tasks: [{ task: restart-exporter }] }
`;

test('a node task run waits for its nodes to be listed on the cluster; a cluster task targets its API', () => {
  const c = catalog(DEFS);
  const nodes = planTaskRun(c, 'ecc-check', { variables: {}, origin, cluster: 'gpu-eu' });
  expect(nodes).toMatchObject({ cluster: 'gpu-eu', hosts: [], nodes: { selector: 'nvidia.com/gpu.present=true' }, kubeconfigRef: 'gpu-eu-admin' });
  const api = planTaskRun(c, 'restart-exporter', { variables: {}, origin, cluster: 'gpu-eu' });
  expect(api.hosts).toEqual([
    { name: 'cluster/gpu-eu', address: 'gpu-eu', port: 443, connection: 'cluster', cluster: 'gpu-eu', credentialRef: 'gpu-eu-admin', trustOnFirstUse: false, labels: { region: 'eu' } },
  ]);
  expect(() => planTaskRun(c, 'ecc-check', { variables: {}, origin, cluster: 'nowhere' })).toThrow(ValidationError);
  // Without a cluster, the built-in one.
  expect(planTaskRun(c, 'ecc-check', { variables: {}, origin }).cluster).toBe('local');
});

test("a pipeline freezes its stages' node targets and what it knows of their clusters", () => {
  const input = planPipelineRun(catalog(DEFS), 'gpu-night', { variables: {}, origin });
  expect(input.nodeTargets).toEqual({ 'ecc-check': { selector: 'nvidia.com/gpu.present=true' } });
  expect(input.targets).toEqual({ 'ecc-check': [], 'restart-exporter': ['cluster/gpu-eu'] });
  expect(input.hosts.map((h) => h.name)).toEqual(['cluster/gpu-eu']);
  expect(input.clusters).toEqual({ 'gpu-eu': { workerWaitSeconds: 30, kubeconfigRef: 'gpu-eu-admin' } });
});

test('the built-in cluster waits the default time for its worker', () => {
  const input = planPipelineRun(
    catalog(`${DEFS}---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: local-nodes }
spec: { stages: [{ name: s, tasks: [{ task: ecc-check }] }] }
`),
    'local-nodes',
    { variables: {}, origin },
  );
  expect(input.clusters).toEqual({ local: { workerWaitSeconds: DEFAULT_WORKER_WAIT_SECONDS } });
});

test('node and cluster targets and kubectl steps are checked at the edge', () => {
  const task = (spec: string) => `apiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: t }\nspec: ${spec}\n`;
  expect(issuesOf(task('{ targets: { nodes: all, all: true }, steps: [{ shell: x }] }'))).toEqual(['spec.targets: give exactly one of hosts, selector, all, nodes or cluster']);
  expect(issuesOf(task('{ targets: { nodes: { names: [Bad_Name] } }, steps: [{ shell: x }] }'))[0]).toContain('spec.targets.nodes');
  expect(issuesOf(task('{ targets: { cluster: true }, steps: [{ shell: uptime }] }'))).toEqual(['spec.steps[0]: targets.cluster runs kubectl steps only; use targets.nodes for shell and file steps on nodes']);
  expect(issuesOf(task('{ targets: { cluster: true }, steps: [{ kubectl: { apply: "x", waitReady: "pod/a" } }] }'))).toEqual(['spec.steps[0].kubectl: give exactly one of apply, rolloutRestart or waitReady']);
  expect(issuesOf(task('{ targets: { cluster: true }, steps: [{ kubectl: { rolloutRestart: "service/a" } }] }'))).toEqual([
    'spec.steps[0].kubectl.rolloutRestart: must be deployment/NAME, daemonset/NAME or statefulset/NAME',
  ]);
  expect(issuesOf(task('{ targets: { cluster: true }, steps: [{ kubectl: { waitReady: "pod/${nope}" } }] }'))[0]).toContain('spec.steps[0].kubectl.waitReady: unknown variable "${nope}"');
  expect(issuesOf(task('{ targets: { nodes: all }, steps: [{ shell: x, kubectl: { waitReady: "node/${host.name}" } }] }'))).toEqual([
    'spec.steps[0]: a step needs exactly one of shell (a script), file (a transfer) or kubectl (a call to the cluster API)',
  ]);
});
