import type { VariableSpec } from './variables-schema';
import type { Issue } from './errors';

/** What a secret value shows as, everywhere outside the run itself. */
export const MASK = '***';

/** The issue of a required variable no one gave a value: the one `ops validate` leaves to the run's --var. */
export const REQUIRED_WITHOUT_VALUE = 'is required and has no value';

/** The values with secret ones replaced by the mask, for API answers, events and CLI output. */
export function maskSecretValues(values: Readonly<Record<string, string>>, secretNames: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, secretNames.includes(k) ? MASK : v]));
}

export interface ResolvedVariables {
  values: Record<string, string>;
  secretNames: string[];
}

/**
 * Applies defaults and checks required, regex and enum for the given values.
 * Returns issues instead of throwing so callers can report every problem at once.
 * `secretGiven` names variables whose value is secret although the spec does not say so (a
 * pipeline's secret handed to a task): their values are never quoted in an issue either.
 */
export function resolveVariables(
  specs: ReadonlyArray<VariableSpec>,
  given: Readonly<Record<string, string>>,
  where: { document?: string; path: string },
  secretGiven: ReadonlySet<string> = new Set(),
): { resolved: ResolvedVariables; issues: Issue[] } {
  const issues: Issue[] = [];
  const values: Record<string, string> = {};
  const known = new Set(specs.map((s) => s.name));
  for (const name of Object.keys(given)) {
    if (!known.has(name)) {
      const declared = specs.length ? `declared: ${specs.map((s) => s.name).join(', ')}` : 'none are declared';
      issues.push({ ...where, path: `${where.path}.${name}`, message: `unknown variable (${declared})` });
    }
  }
  for (const spec of specs) {
    const value = Object.prototype.hasOwnProperty.call(given, spec.name) ? given[spec.name] : spec.default;
    const path = `${where.path}.${spec.name}`;
    const shown = spec.secret || secretGiven.has(spec.name) ? 'the value given' : `"${value}"`;
    if (value === undefined || (spec.required && value === '')) {
      if (spec.required) issues.push({ ...where, path, message: REQUIRED_WITHOUT_VALUE });
      else values[spec.name] = '';
      continue;
    }
    if (spec.enum && !spec.enum.includes(value)) {
      issues.push({ ...where, path, message: `${shown} is not one of: ${spec.enum.join(', ')}` });
    }
    if (spec.regex && !new RegExp(`^(?:${spec.regex})$`).test(value)) {
      issues.push({ ...where, path, message: `${shown} does not match ${spec.regex}` });
    }
    values[spec.name] = value;
  }
  const secretNames = specs.filter((s) => s.secret).map((s) => s.name);
  return { resolved: { values, secretNames }, issues };
}
