/**
 * Turns definitions and a request into the frozen input of a run, checking everything that can be
 * checked before anything starts. Problems are thrown together as one ValidationError.
 */
import type { Catalog } from './catalog';
import type { Host } from './host';
import type { Cluster } from './cluster';
import type { TargetsSpec, Task } from './task';
import { DEFAULT_WORKER_WAIT_SECONDS, type ClusterSnapshot, type HostTarget, type PipelineRunInput, type RunOrigin, type TaskRunInput } from './run';
import { ValidationError, type Issue } from './errors';
import { matchesSelector, parseSelector, SelectorError } from './selector';
import { resolveVariables, type ResolvedVariables } from './variables';
import { templateRefs, TemplateError } from './template';
import { resolveStageTaskVariables } from './stage-variables';
import { LOCAL_CLUSTER, LOCAL_HOST_ADDRESS, newRunId } from './naming';

/** What a pipeline's task values may name besides its variables and earlier results. */
const RUN_REFS = ['run.id', 'run.status'];

export interface RunRequest {
  variables: Record<string, string>;
  /** Where the variables were given, for issues about them (a Schedule's spec.variables); the task's or pipeline's `variables` by default. */
  variablesAt?: { document: string; path: string };
  origin: RunOrigin;
  runId?: string;
}

export function toHostTarget(catalog: Catalog, host: Host, via: string[] = []): HostTarget {
  const s = host.spec;
  let bastion: HostTarget | undefined;
  if (s.bastion) {
    const jump = catalog.hosts.get(s.bastion);
    const document = `Host/${host.metadata.name}`;
    if (!jump) throw catalog.invalid([{ document, path: 'spec.bastion', message: catalog.undefinedReference('Host', s.bastion) }]);
    const chain = [...via, host.metadata.name];
    if (chain.includes(jump.metadata.name)) throw catalog.invalid([{ document, path: 'spec.bastion', message: `forms a loop: ${[...chain, jump.metadata.name].join(' → ')}` }]);
    if (jump.spec.connection !== 'ssh') throw catalog.invalid([{ document, path: 'spec.bastion', message: `names Host "${s.bastion}", which is connection: ${jump.spec.connection}; a bastion is an SSH host` }]);
    bastion = toHostTarget(catalog, jump, chain);
  }
  return {
    name: host.metadata.name,
    address: s.address ?? LOCAL_HOST_ADDRESS,
    port: s.port,
    username: s.username,
    connection: s.connection,
    cluster: s.cluster,
    credentialRef: s.credentialRef,
    hostKey: s.hostKey,
    trustOnFirstUse: s.trustOnFirstUse,
    bastion,
    labels: host.metadata.labels ?? {},
  };
}

/** The one target of `targets.cluster`: the cluster's API, reached with the cluster's kubeconfig. */
export function clusterApiTarget(cluster: Cluster): HostTarget {
  const name = cluster.metadata.name;
  return { name: `cluster/${name}`, address: name, port: 443, connection: 'cluster', cluster: name, credentialRef: cluster.spec.kubeconfigRef, trustOnFirstUse: false, labels: cluster.metadata.labels ?? {} };
}

/** Whether targets name a cluster's nodes or API rather than Hosts: the cluster then comes from the stage or request. */
function onCluster(targets: TargetsSpec | undefined): boolean {
  return Boolean(targets?.nodes || targets?.cluster);
}

/** Hosts the targets select, ordered by name so canaries and batches are predictable. */
export function selectHosts(catalog: Catalog, targets: TargetsSpec | undefined, where: { document: string; path: string }): { hosts: Host[]; issues: Issue[] } {
  // Names are DNS labels, whose code-unit order is their alphabetical order; localeCompare would
  // load ICU's collator first (~10 ms of `ops run`).
  const all = [...catalog.hosts.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  if (!targets) return { hosts: [], issues: [{ ...where, message: 'no targets: give hosts, selector or all' }] };
  if (targets.all) return { hosts: all, issues: [] };
  if (targets.hosts) {
    const missing = targets.hosts.filter((n) => !catalog.hosts.has(n));
    if (missing.length) return { hosts: [], issues: [{ ...where, path: `${where.path}.hosts`, message: `names undefined host(s): ${missing.map((n) => withMeant(n, catalog.likelyMeant('Host', n))).join(', ')}` }] };
    return { hosts: targets.hosts.map((n) => catalog.hosts.get(n) as Host), issues: [] };
  }
  try {
    const requirements = parseSelector(targets.selector ?? '');
    return { hosts: all.filter((h) => matchesSelector(requirements, h.metadata.labels)), issues: [] };
  } catch (e) {
    if (e instanceof SelectorError) return { hosts: [], issues: [{ ...where, path: `${where.path}.selector`, message: e.message }] };
    throw e;
  }
}

function withMeant(name: string, meant: string | undefined): string {
  return meant ? `${name} (did you mean "${meant}"?)` : name;
}

function describeTargets(targets: TargetsSpec | undefined): string {
  if (!targets) return 'none';
  if (targets.all) return 'all';
  if (targets.nodes) return `nodes ${JSON.stringify(targets.nodes)}`;
  if (targets.cluster) return 'the cluster API';
  if (targets.hosts) return `hosts ${targets.hosts.join(', ')}`;
  return `selector ${typeof targets.selector === 'string' ? targets.selector : JSON.stringify(targets.selector)}`;
}

export function planTaskRun(catalog: Catalog, taskName: string, request: RunRequest & { targets?: TargetsSpec; cluster?: string }): TaskRunInput {
  const task = catalog.tasks.get(taskName);
  if (!task) throw catalog.invalid([{ document: `Task/${taskName}`, path: '', message: `is not defined${catalog.notDefinedHint('Task', taskName)}` }]);
  const document = `Task/${taskName}`;
  const targets = request.targets ?? task.spec.targets;
  const issues: Issue[] = [];
  const { resolved, issues: varIssues } = resolveVariables(task.spec.variables, request.variables, request.variablesAt ?? { document, path: 'variables' });
  issues.push(...varIssues);
  if (onCluster(targets)) {
    const clusterName = request.cluster ?? LOCAL_CLUSTER;
    const cluster = catalog.clusters.get(clusterName);
    if (!cluster) issues.push({ document, path: 'cluster', message: catalog.undefinedReference('Cluster', clusterName) });
    if (issues.length || !cluster) throw catalog.invalid(issues);
    return {
      runId: request.runId ?? newRunId(taskName),
      name: taskName,
      task: { name: taskName, spec: task.spec },
      cluster: clusterName,
      hosts: targets?.cluster ? [clusterApiTarget(cluster)] : [],
      ...(targets?.nodes ? { nodes: targets.nodes } : {}),
      ...(cluster.spec.kubeconfigRef ? { kubeconfigRef: cluster.spec.kubeconfigRef } : {}),
      variables: resolved.values,
      secretNames: resolved.secretNames,
      origin: request.origin,
    };
  }
  const { hosts, issues: targetIssues } = selectHosts(catalog, targets, { document, path: 'spec.targets' });
  issues.push(...targetIssues);
  if (!targetIssues.length && hosts.length === 0) issues.push({ document, path: 'spec.targets', message: `match no hosts (${describeTargets(targets)})` });
  const clusters = [...new Set(hosts.map((h) => h.spec.cluster))];
  if (clusters.length > 1) {
    issues.push({ document, path: 'spec.targets', message: `select hosts of several clusters (${clusters.join(', ')}); run them from a pipeline with one stage per cluster` });
  }
  if (request.cluster !== undefined && clusters.length === 1 && clusters[0] !== request.cluster) {
    issues.push({ document, path: 'cluster', message: `is "${request.cluster}" but the targets are hosts of cluster "${clusters[0]}"` });
  }
  const targetsList = issues.length ? [] : hosts.map((h) => toHostTarget(catalog, h));
  if (issues.length) throw catalog.invalid(issues);
  return {
    runId: request.runId ?? newRunId(taskName),
    name: taskName,
    task: { name: taskName, spec: task.spec },
    cluster: clusters[0],
    hosts: targetsList,
    variables: resolved.values,
    secretNames: resolved.secretNames,
    origin: request.origin,
  };
}

export function planPipelineRun(catalog: Catalog, pipelineName: string, request: RunRequest): PipelineRunInput {
  const pipeline = catalog.pipelines.get(pipelineName);
  const document = `Pipeline/${pipelineName}`;
  if (!pipeline) throw catalog.invalid([{ document, path: '', message: `is not defined${catalog.notDefinedHint('Pipeline', pipelineName)}` }]);
  const issues: Issue[] = [];
  const variablesAt = request.variablesAt ?? { document, path: 'variables' };
  const { resolved, issues: varIssues } = resolveVariables(pipeline.spec.variables, request.variables, variablesAt);
  issues.push(...varIssues);
  const runId = request.runId ?? newRunId(pipelineName);
  const known = { ...resolved, runId, withoutValue: new Set(varIssues.map((i) => i.path.slice(variablesAt.path.length + 1))) };
  const pipelineVars = new Set(pipeline.spec.variables.map((v) => v.name));
  const tasks: PipelineRunInput['tasks'] = {};
  const targets: Record<string, string[]> = {};
  const nodeTargets: NonNullable<PipelineRunInput['nodeTargets']> = {};
  const clusters: Record<string, ClusterSnapshot> = {};
  const clusterTargets = new Map<string, HostTarget>();
  const usedHosts = new Map<string, Host>();
  /** Results of tasks in earlier stages, by task name in this pipeline. */
  const earlierResults = new Map<string, Set<string>>();
  const groups = [
    ['stages', pipeline.spec.stages],
    ['finally', pipeline.spec.finally],
  ] as const;
  for (const [group, stages] of groups) {
    stages.forEach((stage, i) => {
      const stagePath = `spec.${group}[${i}]`;
      const cluster = catalog.clusters.get(stage.cluster);
      if (!cluster) issues.push({ document, path: `${stagePath}.cluster`, message: catalog.undefinedReference('Cluster', stage.cluster) });
      else clusters[stage.cluster] = { workerWaitSeconds: cluster.spec.workerWaitSeconds ?? DEFAULT_WORKER_WAIT_SECONDS, ...(cluster.spec.kubeconfigRef ? { kubeconfigRef: cluster.spec.kubeconfigRef } : {}) };
      const stageResults: Array<[string, Set<string>]> = [];
      if (stage.approval) issues.push(...pipelineRefIssues(stage.approval.message, pipelineVars, earlierResults, { document, path: `${stagePath}.approval.message` }));
      stage.tasks.forEach((ref, j) => {
        const path = `${stagePath}.tasks[${j}]`;
        const task = catalog.tasks.get(ref.task);
        if (!task) {
          issues.push({ document, path: `${path}.task`, message: catalog.undefinedReference('Task', ref.task) });
          return;
        }
        tasks[ref.task] = { name: ref.task, spec: task.spec };
        const refIssues = checkTaskRefVariables(task, ref.variables, pipelineVars, earlierResults, { document, path: `${path}.variables` });
        issues.push(...(refIssues.length ? refIssues : knownValueIssues(ref.name, task, ref.variables, known, { document, path: `${path}.variables` })));
        stageResults.push([ref.name, new Set(task.spec.results.map((r) => r.name))]);
        const refTargets = ref.targets ?? task.spec.targets;
        if (onCluster(refTargets)) {
          if (refTargets?.nodes) nodeTargets[ref.name] = refTargets.nodes;
          const api = cluster && refTargets?.cluster ? clusterApiTarget(cluster) : undefined;
          if (api) clusterTargets.set(api.name, api);
          targets[ref.name] = api ? [api.name] : [];
          return;
        }
        const selected = selectHosts(catalog, ref.targets ?? task.spec.targets, { document, path: ref.targets ? `${path}.targets` : `${path} (Task/${ref.task} spec.targets)` });
        issues.push(...selected.issues);
        if (!selected.issues.length && selected.hosts.length === 0) {
          issues.push({ document, path: `${path}.targets`, message: `Task/${ref.task}: targets match no hosts (${describeTargets(ref.targets ?? task.spec.targets)})` });
        }
        for (const host of selected.hosts) {
          if (host.spec.cluster !== stage.cluster) {
            issues.push({ document, path, message: `host "${host.metadata.name}" belongs to cluster "${host.spec.cluster}" but stage "${stage.name}" runs on cluster "${stage.cluster}"` });
          }
          usedHosts.set(host.metadata.name, host);
        }
        targets[ref.name] = selected.hosts.map((h) => h.metadata.name);
      });
      // Tasks of one stage run in parallel, so only later stages may read their results.
      for (const [name, results] of stageResults) earlierResults.set(name, results);
    });
  }
  let hosts: HostTarget[] = [];
  try {
    hosts = [...[...usedHosts.values()].map((h) => toHostTarget(catalog, h)), ...clusterTargets.values()];
  } catch (e) {
    if (e instanceof ValidationError) issues.push(...e.issues);
    else throw e;
  }
  if (issues.length) throw catalog.invalid(issues);
  return {
    runId,
    pipeline,
    tasks,
    targets,
    ...(Object.keys(nodeTargets).length ? { nodeTargets } : {}),
    clusters,
    hosts,
    variables: resolved.values,
    secretNames: resolved.secretNames,
    origin: request.origin,
  };
}

/** A stage's values for a task may name pipeline variables and results of earlier stages' tasks. */
function checkTaskRefVariables(
  task: Task,
  values: Record<string, string>,
  pipelineVars: Set<string>,
  earlierResults: Map<string, Set<string>>,
  where: { document: string; path: string },
): Issue[] {
  const issues: Issue[] = [];
  const declared = new Map(task.spec.variables.map((v) => [v.name, v]));
  for (const [name, value] of Object.entries(values)) {
    if (!declared.has(name)) {
      issues.push({ ...where, path: `${where.path}.${name}`, message: `Task/${task.metadata.name} declares no variable "${name}"` });
      continue;
    }
    issues.push(...pipelineRefIssues(value, pipelineVars, earlierResults, { ...where, path: `${where.path}.${name}` }));
  }
  for (const v of task.spec.variables) {
    const provided = v.name in values || pipelineVars.has(v.name) || v.default !== undefined;
    if (v.required && !provided) {
      issues.push({ ...where, path: `${where.path}.${v.name}`, message: `Task/${task.metadata.name} requires variable "${v.name}"; set it here or declare a pipeline variable of that name` });
    }
  }
  return issues;
}

/**
 * A stage's values for a task that are known when the run starts (literals, pipeline variables)
 * are checked against the task's variables then, not when the stage comes after earlier stages
 * have changed things. Values made of earlier results or the run's status wait for their stage.
 */
function knownValueIssues(
  name: string,
  task: Task,
  mapping: Record<string, string>,
  pipeline: ResolvedVariables & { runId: string; withoutValue: ReadonlySet<string> },
  where: { document: string; path: string },
): Issue[] {
  const { issues } = resolveStageTaskVariables({ name, spec: task.spec }, mapping, { ...pipeline, status: 'running' }, {}, where);
  return issues.filter((issue) => {
    const variable = issue.path.slice(where.path.length + 1);
    const refs = Object.prototype.hasOwnProperty.call(mapping, variable) ? templateRefs(mapping[variable]) : [variable];
    return !refs.some((ref) => ref.startsWith('tasks.') || ref === 'run.status' || pipeline.withoutValue.has(ref));
  });
}

/** A pipeline-level template may name pipeline variables, run fields and results of earlier stages' tasks. */
function pipelineRefIssues(template: string, pipelineVars: Set<string>, earlierResults: Map<string, Set<string>>, where: { document: string; path: string }): Issue[] {
  let refs: string[];
  try {
    refs = templateRefs(template);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    return [{ ...where, message: e.message }];
  }
  return refs.flatMap((ref): Issue[] => {
    const m = /^tasks\.([^.]+)\.results\.([^.]+)$/.exec(ref);
    if (m) {
      const results = earlierResults.get(m[1]);
      if (!results) return [{ ...where, message: `"\${${ref}}": no task "${m[1]}" runs in an earlier stage` }];
      if (!results.has(m[2])) return [{ ...where, message: `"\${${ref}}": task "${m[1]}" declares no result "${m[2]}"` }];
      return [];
    }
    if (pipelineVars.has(ref) || RUN_REFS.includes(ref)) return [];
    return [{ ...where, message: `"\${${ref}}" is neither a pipeline variable, ${RUN_REFS.join(', ')} nor tasks.<task>.results.<name>` }];
  });
}
