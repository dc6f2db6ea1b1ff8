// The manifests in k8s/: `ops cluster manifests NAME` renders what `kustomize build` makes of the
// overlay it writes, and every rendered object passes a real kube-apiserver's validation
// (server-side dry run, strict field validation: unknown or misspelt fields are errors). The
// worker's RBAC allows exactly what the Kubernetes executor does, checked by the API server's
// own authorizer, and nats-server accepts the edge NATS configuration.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startKube, type KubeCluster } from '../harness/kube';
import { REPO } from '../harness/stack';
import { opsCacheDir } from '../../workers/embedded/processes';
import { k8sDir, renderClusterManifests, type ClusterManifestOptions, type K8sObject } from '../../cli/cluster-manifests';

const KUSTOMIZE = join(opsCacheDir(), 'bin', 'kustomize');
const CLI = join(REPO, 'dist', 'cli', 'main.js');
const OPTIONS: ClusterManifestOptions = {
  cluster: 'eu-west-2',
  namespace: 'ops-eu',
  temporalAddress: 'temporal.example.org:7233',
  temporalNamespace: 'prod',
  natsHubUrl: 'nats-leaf://hub.example.org:7422',
  image: 'registry.example.org:5000/ops:1.4.2',
};
const cliArgs = ['cluster', 'manifests', OPTIONS.cluster, '--k8s-namespace', OPTIONS.namespace, '--temporal-address', OPTIONS.temporalAddress, '--temporal-namespace', OPTIONS.temporalNamespace, '--nats-hub', OPTIONS.natsHubUrl, '--image', OPTIONS.image];

let kube: KubeCluster;
let dir: string;

beforeAll(async () => {
  kube = await startKube();
  dir = mkdtempSync(join(tmpdir(), 'ops-k8s-'));
});

afterAll(async () => {
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const parse = (text: string): K8sObject[] => parseAllDocuments(text).map((d) => d.toJSON() as K8sObject).filter(Boolean);
const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objects: K8sObject[]) => Object.fromEntries(objects.map((o) => [key(o), o]));
const kustomize = (path: string) => parse(execFileSync(KUSTOMIZE, ['build', path], { encoding: 'utf8' }));

/** The collection each kind is created in. */
function collection(o: K8sObject, namespace: string): string {
  const paths: Record<string, [string, boolean]> = {
    Namespace: ['/api/v1/namespaces', false],
    ServiceAccount: ['/api/v1/serviceaccounts', true],
    ConfigMap: ['/api/v1/configmaps', true],
    Service: ['/api/v1/services', true],
    Deployment: ['/apis/apps/v1/deployments', true],
    StatefulSet: ['/apis/apps/v1/statefulsets', true],
    PodDisruptionBudget: ['/apis/policy/v1/poddisruptionbudgets', true],
    Role: ['/apis/rbac.authorization.k8s.io/v1/roles', true],
    RoleBinding: ['/apis/rbac.authorization.k8s.io/v1/rolebindings', true],
    ClusterRole: ['/apis/rbac.authorization.k8s.io/v1/clusterroles', false],
    ClusterRoleBinding: ['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', false],
  };
  const found = paths[o.kind];
  if (!found) throw new Error(`no collection known for ${o.kind}: add it here`);
  const [path, namespaced] = found;
  if (!namespaced) return path;
  const [prefix, resource] = [path.slice(0, path.lastIndexOf('/')), path.slice(path.lastIndexOf('/') + 1)];
  return `${prefix}/namespaces/${o.metadata.namespace ?? namespace}/${resource}`;
}

async function create(o: K8sObject, namespace: string, dryRun: boolean): Promise<{ status: number; body: unknown }> {
  return kube.api('POST', `${collection(o, namespace)}?fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`, o);
}

test('ops cluster manifests renders exactly what kustomize builds from the overlay it writes', async () => {
  const rendered = renderClusterManifests(OPTIONS);
  const printed = parse(execFileSync(process.execPath, [CLI, ...cliArgs], { encoding: 'utf8' }));
  expect(printed).toEqual(rendered);
  const overlay = join(dir, 'overlays', OPTIONS.cluster);
  execFileSync(process.execPath, [CLI, ...cliArgs, '--overlay', overlay], { stdio: 'pipe' });
  expect(byKey(kustomize(overlay))).toEqual(byKey(rendered));
  // Every object names its cluster and lives in the overlay's namespace (cluster-wide RBAC aside).
  for (const o of rendered) {
    expect(o.metadata.labels?.['ops.dev/cluster']).toBe(OPTIONS.cluster);
    if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) expect(o.metadata.namespace).toBe(OPTIONS.namespace);
  }
  const deployment = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'ops-worker') as any;
  expect(deployment.spec.template.spec.containers[0].image).toBe(OPTIONS.image);
  const config = rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ops-cluster-config') as any;
  expect(config.data).toMatchObject({ OPS_CLUSTER: OPTIONS.cluster, TEMPORAL_ADDRESS: OPTIONS.temporalAddress, OPS_NATS_HUB_URL: OPTIONS.natsHubUrl });
});

test('every object of the cluster overlay and of the control plane passes the API server validation', async () => {
  const cluster = renderClusterManifests(OPTIONS);
  const control = kustomize(join(k8sDir(), 'base', 'control-plane'));
  expect(control.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
  const namespace = cluster.find((o) => o.kind === 'Namespace') as K8sObject;
  expect((await create(namespace, '', false)).status).toBe(201);
  const problems: string[] = [];
  for (const o of [...cluster.filter((x) => x !== namespace), ...control]) {
    const { status, body } = await create(o, 'default', true);
    if (status !== 201) problems.push(`${key(o)}: ${status} ${(body as { message?: string }).message ?? JSON.stringify(body)}`);
  }
  expect(problems).toEqual([]);
  // The check is real: a misspelt field is refused.
  const misspelt = structuredClone(cluster.find((o) => o.kind === 'Deployment') as any);
  misspelt.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
  const refused = await create(misspelt, 'default', true);
  expect([refused.status, (refused.body as { message?: string }).message]).toEqual([400, expect.stringContaining('unknown field "spec.template.spec.containers[0].imagePullPolicyy"')]);
});

test("the edge NATS configuration is one nats-server accepts, with the overlay's environment", () => {
  const rendered = renderClusterManifests(OPTIONS);
  const conf = (rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ops-nats') as any).data['nats.conf'] as string;
  const env = (rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ops-cluster-config') as any).data as Record<string, string>;
  // The leafnode credentials are a Secret in the cluster; any well-formed file stands in here.
  writeFileSync(join(dir, 'leaf.creds'), '-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.x\n------END NATS USER JWT------\n');
  writeFileSync(join(dir, 'nats.conf'), conf.replace('/etc/nats/leaf/leaf.creds', join(dir, 'leaf.creds')));
  const checked = spawnSync('nats-server', ['-c', join(dir, 'nats.conf'), '-t'], { env: { ...process.env, ...env, POD_NAME: 'ops-nats-0' }, encoding: 'utf8' });
  expect([checked.status, checked.stderr]).toEqual([0, expect.stringContaining('is valid')]);
});

test("the worker's RBAC allows what the Kubernetes executor does, in its namespace only", async () => {
  for (const o of renderClusterManifests({ ...OPTIONS, namespace: 'ops-rbac' })) {
    const { status, body } = await create(o, 'ops-rbac', false);
    if (status !== 201 && status !== 409) throw new Error(`${key(o)}: ${status} ${JSON.stringify(body)}`);
  }
  const can = async (verb: string, resource: string, namespace?: string, subresource?: string): Promise<boolean> => {
    const review = await kube.api<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'system:serviceaccount:ops-rbac:ops-worker', groups: ['system:serviceaccounts', 'system:serviceaccounts:ops-rbac', 'system:authenticated'], resourceAttributes: { verb, resource, namespace, subresource } },
    });
    return review.body.status.allowed;
  };
  // Step pods: create, watch, take over, exec into, delete, sweep; nodes: list and read.
  for (const verb of ['create', 'get', 'list', 'watch', 'patch', 'delete']) expect([verb, await can(verb, 'pods', 'ops-rbac')]).toEqual([verb, true]);
  expect(await can('create', 'pods', 'ops-rbac', 'exec')).toBe(true);
  expect(await can('list', 'nodes')).toBe(true);
  expect(await can('get', 'nodes')).toBe(true);
  // Nothing more.
  expect(await can('create', 'pods', 'kube-system')).toBe(false);
  expect(await can('get', 'secrets', 'ops-rbac')).toBe(false);
  expect(await can('patch', 'nodes')).toBe(false);
  expect(await can('create', 'deployments', 'ops-rbac')).toBe(false);
});
