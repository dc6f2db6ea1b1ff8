import type { Task } from './task';
import type { Issue } from './errors';
import { resolveVariables } from './variables';
import { renderTemplate, templateRefs, TemplateError } from './template';

/**
 * Values of a pipeline task's variables at the moment its stage starts: the stage's mapping
 * (rendered with pipeline variables and earlier results), else the pipeline variable of the
 * same name, else the task's default. Runs inside the workflow, so it must stay pure.
 */
export function resolveStageTaskVariables(
  task: { name: string; spec: Task['spec'] },
  mapping: Readonly<Record<string, string>>,
  pipeline: { values: Readonly<Record<string, string>>; secretNames: ReadonlyArray<string>; runId: string; status: string },
  results: Readonly<Record<string, Readonly<Record<string, string>>>>,
  where: { document: string; path: string },
): { values: Record<string, string>; secretNames: string[]; issues: Issue[] } {
  const given: Record<string, string> = {};
  const secret = new Set(task.spec.variables.filter((v) => v.secret).map((v) => v.name));
  const issues: Issue[] = [];
  const lookup = (ref: string): string | undefined => {
    const m = /^tasks\.([^.]+)\.results\.([^.]+)$/.exec(ref);
    if (m) return results[m[1]]?.[m[2]] ?? '';
    if (ref === 'run.id') return pipeline.runId;
    if (ref === 'run.status') return pipeline.status;
    return Object.prototype.hasOwnProperty.call(pipeline.values, ref) ? pipeline.values[ref] : undefined;
  };
  for (const v of task.spec.variables) {
    if (Object.prototype.hasOwnProperty.call(mapping, v.name)) {
      try {
        given[v.name] = renderTemplate(mapping[v.name], lookup);
        if (templateRefs(mapping[v.name]).some((r) => pipeline.secretNames.includes(r))) secret.add(v.name);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        issues.push({ ...where, path: `${where.path}.${v.name}`, message: e.message });
      }
    } else if (Object.prototype.hasOwnProperty.call(pipeline.values, v.name)) {
      given[v.name] = pipeline.values[v.name];
      if (pipeline.secretNames.includes(v.name)) secret.add(v.name);
    }
  }
  const { resolved, issues: varIssues } = resolveVariables(task.spec.variables, given, where, secret);
  // A mapping that rendered (an invalid one is an issue of its own) may explain an empty value.
  const explained = varIssues.map((issue) => {
    const name = Object.keys(given).find((n) => issue.path === `${where.path}.${n}` && Object.prototype.hasOwnProperty.call(mapping, n));
    const empty = name === undefined ? [] : emptyResults(mapping[name], results);
    return empty.length ? { ...issue, message: `${issue.message} (${empty.join(', ')})` } : issue;
  });
  return { values: resolved.values, secretNames: [...secret], issues: [...issues, ...explained] };
}

/** Why a value made of earlier results came out empty: which results no host printed. */
function emptyResults(template: string, results: Readonly<Record<string, Readonly<Record<string, string>>>>): string[] {
  return templateRefs(template).flatMap((ref) => {
    const m = /^tasks\.([^.]+)\.results\.([^.]+)$/.exec(ref);
    if (!m || results[m[1]]?.[m[2]]) return [];
    return [results[m[1]] ? `\${${ref}} is empty: no host of ${m[1]} printed ::result ${m[2]}=…` : `\${${ref}} is empty: ${m[1]} did not run`];
  });
}
