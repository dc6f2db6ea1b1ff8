/**
 * Checks that need the other definitions: what a Schedule, Inspection or EventHook names must
 * exist, and a Schedule's runs must be plannable. The API refuses a definition that fails them
 * (422), and `ops validate` reports them.
 */
import type { Catalog } from './catalog';
import { ValidationError, type Issue } from './errors';
import type { EventHook } from './event-hook';
import type { Inspection } from './inspection';
import { planPipelineRun, planTaskRun, selectHosts } from './plan';
import type { Resource } from './resources';
import type { PipelineRunInput, TaskRunInput } from './run';
import type { Schedule } from './schedule';
import { parseTemplate, renderTemplate } from './template';
import { resolveVariables } from './variables';
import type { VariableSpec } from './variables-schema';

/** The input every run of the schedule starts from, planned like a run started now; secrets cannot be stored. */
export function planScheduledRun(catalog: Catalog, schedule: Schedule): PipelineRunInput | TaskRunInput {
  const { name } = schedule.metadata;
  const { spec } = schedule;
  const request = { variables: spec.variables, origin: { trigger: 'schedule' as const, requester: `schedule:${name}` }, runId: name };
  const input = spec.pipeline ? planPipelineRun(catalog, spec.pipeline, request) : planTaskRun(catalog, spec.task as string, { ...request, cluster: spec.cluster });
  const stored = input.secretNames.filter((n) => n in spec.variables);
  if (stored.length) {
    throw new ValidationError([{ document: `Schedule/${name}`, path: 'spec.variables', message: `${stored.join(', ')}: secret variables cannot be given by a schedule (it would keep them in clear)` }]);
  }
  return input;
}

export function referenceIssues(catalog: Catalog, resource: Resource): Issue[] {
  switch (resource.kind) {
    case 'Schedule':
      return issuesOf(() => planScheduledRun(catalog, resource));
    case 'Inspection':
      return inspectionIssues(catalog, resource);
    case 'EventHook':
      return hookIssues(catalog, resource);
    default:
      return [];
  }
}

function inspectionIssues(catalog: Catalog, inspection: Inspection): Issue[] {
  const document = `Inspection/${inspection.metadata.name}`;
  const { spec } = inspection;
  if (!catalog.clusters.has(spec.cluster)) return [{ document, path: 'spec.cluster', message: catalog.undefinedReference('Cluster', spec.cluster) }];
  return spec.targets ? selectHosts(catalog, spec.targets, { document, path: 'spec.targets' }).issues : [];
}

function hookIssues(catalog: Catalog, hook: EventHook): Issue[] {
  const document = `EventHook/${hook.metadata.name}`;
  const run = hook.spec.run;
  if (run?.pipeline && !catalog.pipelines.has(run.pipeline)) return [{ document, path: 'spec.run.pipeline', message: catalog.undefinedReference('Pipeline', run.pipeline) }];
  if (run?.task && !catalog.tasks.has(run.task)) return [{ document, path: 'spec.run.task', message: catalog.undefinedReference('Task', run.task) }];
  if (run?.cluster && !catalog.clusters.has(run.cluster)) return [{ document, path: 'spec.run.cluster', message: catalog.undefinedReference('Cluster', run.cluster) }];
  if (!run) return [];
  const specs = run.pipeline ? catalog.pipelines.get(run.pipeline)?.spec.variables : catalog.tasks.get(run.task as string)?.spec.variables;
  return hookVariableIssues(specs ?? [], run.variables, { document, path: 'spec.run.variables' });
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
