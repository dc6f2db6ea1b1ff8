/**
 * Checks that need the other definitions: what a Host, Schedule, Inspection or EventHook names must
 * exist (and a Host's jump hosts must not loop), and a Schedule's runs must be plannable. The API
 * refuses a definition that fails them (422) and the deletion of a definition one of them names
 * (409); `ops validate` reports them.
 */
import type { Catalog } from './catalog';
import { ValidationError, type Issue } from './errors';
import type { EventHook } from './event-hook';
import { planPipelineRun, planTaskRun, selectHosts, toHostTarget } from './plan';
import type { Kind, Resource } from './resources';
import type { PipelineRunInput, TaskRunInput } from './run';
import type { Schedule } from './schedule';
import { parseTemplate, renderTemplate } from './template';
import { resolveVariables } from './variables';
import type { VariableSpec } from './variables-schema';

/** A name one definition gives to another, and where it gives it. */
interface Reference {
  kind: Kind;
  name: string;
  path: string;
}

/** The pipeline or task (and cluster) the run of a Schedule (`spec`) or EventHook (`spec.run`) names. */
function runReferences(run: { pipeline?: string; task?: string; cluster?: string }, at: string): Reference[] {
  const named: Array<[Kind, string | undefined, string]> = [
    ['Pipeline', run.pipeline, 'pipeline'],
    ['Task', run.task, 'task'],
    ['Cluster', run.cluster, 'cluster'],
  ];
  return named.flatMap(([kind, name, field]) => (name === undefined ? [] : [{ kind, name, path: `${at}.${field}` }]));
}

/** What the definition names that must exist. */
function namedReferences(resource: Resource): Reference[] {
  switch (resource.kind) {
    case 'Host': {
      const { cluster, bastion } = resource.spec;
      return [{ kind: 'Cluster', name: cluster, path: 'spec.cluster' }, ...(bastion === undefined ? [] : [{ kind: 'Host' as const, name: bastion, path: 'spec.bastion' }])];
    }
    case 'Inspection': {
      const hosts = (resource.spec.targets?.hosts ?? []).map((name, i) => ({ kind: 'Host' as const, name, path: `spec.targets.hosts[${i}]` }));
      return [{ kind: 'Cluster', name: resource.spec.cluster, path: 'spec.cluster' }, ...hosts];
    }
    case 'Schedule':
      return runReferences(resource.spec, 'spec');
    case 'EventHook':
      return resource.spec.run ? runReferences(resource.spec.run, 'spec.run') : [];
    default:
      return [];
  }
}

/** The definitions that name `kind/name`, each at the field that names it: while there are any, it cannot be deleted. */
export function referencesTo(catalog: Catalog, kind: Kind, name: string): Issue[] {
  return catalog.definitions().flatMap((resource) => {
    const document = `${resource.kind}/${resource.metadata.name}`;
    if (document === `${kind}/${name}`) return [];
    return namedReferences(resource)
      .filter((ref) => ref.kind === kind && ref.name === name)
      .map((ref) => ({ document, path: ref.path, message: `names ${kind} "${name}"` }));
  });
}

function undefinedReferences(catalog: Catalog, document: string, references: Reference[]): Issue[] {
  return references.filter((r) => !catalog.has(r.kind, r.name)).map((r) => ({ document, path: r.path, message: catalog.undefinedReference(r.kind, r.name) }));
}

/**
 * The input every run of the schedule starts from, planned like a run started now. Issues about
 * what the schedule gives are the schedule's; secrets cannot be stored.
 */
export function planScheduledRun(catalog: Catalog, schedule: Schedule): PipelineRunInput | TaskRunInput {
  const { name } = schedule.metadata;
  const { spec } = schedule;
  const document = `Schedule/${name}`;
  const missing = undefinedReferences(catalog, document, runReferences(spec, 'spec'));
  if (missing.length) throw catalog.invalid(missing);
  const variablesAt = { document, path: 'spec.variables' };
  const request = { variables: spec.variables, variablesAt, origin: { trigger: 'schedule' as const, requester: `schedule:${name}` }, runId: name };
  const input = spec.pipeline ? planPipelineRun(catalog, spec.pipeline, request) : planTaskRun(catalog, spec.task as string, { ...request, cluster: spec.cluster });
  const stored = input.secretNames.filter((n) => n in spec.variables);
  if (stored.length) throw catalog.invalid(stored.map((n) => ({ ...variablesAt, path: `${variablesAt.path}.${n}`, message: 'is a secret variable: a schedule cannot give it (it would keep it in clear)' })));
  return input;
}

export function referenceIssues(catalog: Catalog, resource: Resource): Issue[] {
  const missing = undefinedReferences(catalog, `${resource.kind}/${resource.metadata.name}`, namedReferences(resource));
  if (missing.length) return missing;
  switch (resource.kind) {
    case 'Host':
      return issuesOf(() => toHostTarget(catalog, resource)); // a chain of jump hosts that loops
    case 'Schedule':
      return issuesOf(() => planScheduledRun(catalog, resource));
    case 'Inspection':
      return resource.spec.targets ? selectHosts(catalog, resource.spec.targets, { document: `Inspection/${resource.metadata.name}`, path: 'spec.targets' }).issues : [];
    case 'EventHook':
      return hookIssues(catalog, resource);
    default:
      return [];
  }
}

function hookIssues(catalog: Catalog, hook: EventHook): Issue[] {
  const run = hook.spec.run;
  if (!run) return [];
  const specs = run.pipeline ? catalog.pipelines.get(run.pipeline)?.spec.variables : catalog.tasks.get(run.task as string)?.spec.variables;
  return hookVariableIssues(specs ?? [], run.variables, { document: `EventHook/${hook.metadata.name}`, path: 'spec.run.variables' });
}

/**
 * A hook's run variables as far as they are known before an event comes: each declared, the
 * literal ones valid, the required ones given. A value taken from the event is checked when the
 * event comes (its data has no fixed shape to check a reference against). A secret must come from
 * the event: a literal one would be kept, and shown, in clear.
 */
function hookVariableIssues(specs: ReadonlyArray<VariableSpec>, variables: Readonly<Record<string, string>>, where: { document: string; path: string }): Issue[] {
  const fromEvent = Object.keys(variables).filter((name) => parseTemplate(variables[name]).some((piece) => 'ref' in piece));
  const literals = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, fromEvent.includes(name) ? value : renderTemplate(value, () => undefined)]));
  const declared = new Set(specs.map((s) => s.name));
  const uncheckable = new Set(fromEvent.filter((name) => declared.has(name)).map((name) => `${where.path}.${name}`));
  const { issues } = resolveVariables(specs, literals, where);
  const storedSecrets = specs.filter((s) => s.secret && s.name in variables && parseTemplate(variables[s.name]).some((piece) => 'text' in piece));
  return [
    ...issues.filter((issue) => !uncheckable.has(issue.path)),
    ...storedSecrets.map((s) => ({ ...where, path: `${where.path}.${s.name}`, message: 'is a secret variable: a hook may only take it from the event (such as ${data.password}); written here it would be kept in clear' })),
  ];
}

function issuesOf(plan: () => unknown): Issue[] {
  try {
    plan();
    return [];
  } catch (e) {
    if (e instanceof ValidationError) return e.issues;
    throw e;
  }
}
