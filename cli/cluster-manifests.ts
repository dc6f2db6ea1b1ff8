/**
 * The Kubernetes manifests of one managed cluster: the overlay (a kustomization over k8s/base)
 * that `ops cluster manifests NAME` writes, and its rendering, done here with the few kustomize
 * transformations the overlay uses (namespace, labels, a ConfigMap generator, images) so no
 * kustomize binary is needed. test/integration/k8s-manifests.test.ts checks both against
 * `kustomize build`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

export interface ClusterManifestOptions {
  cluster: string;
  namespace: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** The hub NATS the edge NATS links to as a leafnode, e.g. nats-leaf://hub.example.org:7422. */
  natsHubUrl: string;
  /** Image of the Ops worker, e.g. registry.example.org/ops:0.1.0. */
  image: string;
}

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;

export interface Kustomization {
  apiVersion: string;
  kind: 'Kustomization';
  namespace?: string;
  resources: string[];
  labels?: Array<{ pairs: Record<string, string>; includeTemplates?: boolean }>;
  configMapGenerator?: Array<{ name: string; literals: string[] }>;
  generatorOptions?: { disableNameSuffixHash?: boolean };
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}

export const CLUSTER_LABEL = 'ops.dev/cluster';
/** The Ops image as the bases name it; an overlay's `images` replaces it. */
const BASE_IMAGE = 'ops';
const CLUSTER_BASES = ['worker', 'edge-nats'];

/** The repository's (or installed package's) k8s/ directory. */
export function k8sDir(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'k8s', 'base', 'worker', 'kustomization.yaml'))) return join(dir, 'k8s');
    if (dirname(dir) === dir) throw new Error(`no k8s/base above ${from}`);
  }
}

/** The overlay of one cluster: its namespace, its name on every object, its addresses, the image. */
export function clusterOverlay(options: ClusterManifestOptions, basesFrom: string): { kustomization: Kustomization; namespace: K8sObject } {
  const [imageName, imageTag] = splitImage(options.image);
  return {
    kustomization: {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: options.namespace,
      resources: ['namespace.yaml', ...CLUSTER_BASES.map((b) => join(basesFrom, b))],
      labels: [{ pairs: { [CLUSTER_LABEL]: options.cluster }, includeTemplates: true }],
      configMapGenerator: [
        {
          name: 'ops-cluster-config',
          literals: [
            `OPS_CLUSTER=${options.cluster}`,
            `TEMPORAL_ADDRESS=${options.temporalAddress}`,
            `TEMPORAL_NAMESPACE=${options.temporalNamespace}`,
            'OPS_NATS_URL=nats://ops-nats:4222',
            `OPS_NATS_HUB_URL=${options.natsHubUrl}`,
          ],
        },
      ],
      // Fixed names, so the Deployments' references need no rewriting; change a value, then restart.
      generatorOptions: { disableNameSuffixHash: true },
      images: [{ name: BASE_IMAGE, newName: imageName, ...(imageTag ? { newTag: imageTag } : {}) }],
    },
    namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: options.namespace } },
  };
}

/** The overlay's files, for a directory beside (or inside) a copy of k8s/. */
export function overlayFiles(options: ClusterManifestOptions, overlayDir: string, k8s: string = k8sDir()): Record<string, string> {
  const { kustomization, namespace } = clusterOverlay(options, relative(overlayDir, join(k8s, 'base')) || '.');
  return { 'kustomization.yaml': stringify(kustomization), 'namespace.yaml': stringify(namespace) };
}

/** Renders the overlay as `kustomize build` would. */
export function renderClusterManifests(options: ClusterManifestOptions, k8s: string = k8sDir()): K8sObject[] {
  const { kustomization, namespace } = clusterOverlay(options, join(k8s, 'base'));
  const objects: K8sObject[] = [namespace];
  for (const base of kustomization.resources.slice(1)) objects.push(...loadKustomization(base));
  for (const gen of kustomization.configMapGenerator ?? []) {
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data: Object.fromEntries(gen.literals.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) });
  }
  for (const obj of objects) {
    if (kustomization.namespace) setNamespace(obj, kustomization.namespace);
    for (const { pairs, includeTemplates } of kustomization.labels ?? []) addLabels(obj, pairs, Boolean(includeTemplates));
    for (const image of kustomization.images ?? []) setImage(obj, image);
  }
  return sortLikeKustomize(objects);
}

export function toYaml(objects: K8sObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

/** Kubernetes reads manifests as YAML 1.1: `defaultMode: 0400` is octal there (256), decimal in 1.2. */
function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJSON() as K8sObject).filter(Boolean);
}

function loadKustomization(dir: string): K8sObject[] {
  const [k] = parseManifests(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as unknown as Kustomization[];
  return k.resources.flatMap((file) => parseManifests(readFileSync(join(dir, file), 'utf8')));
}

const CLUSTER_SCOPED = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass', 'PersistentVolume'];

function setNamespace(obj: K8sObject, namespace: string): void {
  if (!CLUSTER_SCOPED.includes(obj.kind)) obj.metadata.namespace = namespace;
  // As kustomize does: ServiceAccount subjects of the bindings follow the objects they name.
  if (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') {
    for (const subject of (obj.subjects as Array<{ kind: string; namespace?: string }> | undefined) ?? []) {
      if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
    }
  }
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'];

type Labelled = { metadata?: { labels?: Record<string, string> } };

function addLabels(obj: K8sObject, pairs: Record<string, string>, includeTemplates: boolean): void {
  obj.metadata.labels = { ...(obj.metadata.labels ?? {}), ...pairs };
  if (!includeTemplates || !WORKLOADS.includes(obj.kind)) return;
  const spec = obj.spec as { template?: Labelled; volumeClaimTemplates?: Labelled[] } | undefined;
  // Templates of pods, and of a StatefulSet's volume claims, as kustomize labels them.
  for (const template of [...(spec?.template ? [spec.template] : []), ...(spec?.volumeClaimTemplates ?? [])]) {
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), ...pairs } };
  }
}

function setImage(obj: K8sObject, image: NonNullable<Kustomization['images']>[number]): void {
  const spec = (obj.spec as { template?: { spec?: { containers?: Array<{ image: string }>; initContainers?: Array<{ image: string }> } } } | undefined)?.template?.spec;
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    const [name, tag] = splitImage(c.image);
    if (name !== image.name) continue;
    c.image = `${image.newName ?? name}${image.newTag ?? tag ? `:${image.newTag ?? tag}` : ''}`;
  }
}

/** "registry:5000/ops:1.2" → ["registry:5000/ops", "1.2"]. */
function splitImage(image: string): [string, string | undefined] {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}

/** kustomize's default ("legacy") order: what others depend on first. */
const KIND_ORDER = ['Namespace', 'ResourceQuota', 'StorageClass', 'CustomResourceDefinition', 'ServiceAccount', 'PodSecurityPolicy', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Endpoints', 'Service', 'LimitRange', 'PriorityClass', 'PersistentVolume', 'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'CronJob', 'PodDisruptionBudget'];

function sortLikeKustomize(objects: K8sObject[]): K8sObject[] {
  const rank = (o: K8sObject) => (KIND_ORDER.includes(o.kind) ? KIND_ORDER.indexOf(o.kind) : KIND_ORDER.length);
  return [...objects].sort((a, b) => rank(a) - rank(b) || a.kind.localeCompare(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
}
