/**
 * What `${…}` can name inside a task: its variables, the host, the run, earlier steps and results.
 * Checked once at the edge (checkTaskReferences) and resolved per host at run time (stepLookup).
 */
import type { HostTarget, StepStatus } from './run';
import { templateRefs, TemplateError } from './template';
import { bareWords, expressionRefs, ExpressionError } from './expression';

export interface StepScope {
  runId: string;
  taskName: string;
  host: HostTarget;
  variables: Readonly<Record<string, string>>;
  /** Steps that already ran on this host. */
  steps: Readonly<Record<string, { status: StepStatus; exitCode?: number }>>;
  /** Results printed so far on this host. */
  results: Readonly<Record<string, string>>;
}

const HOST_FIELDS = ['name', 'address', 'port', 'username', 'cluster'] as const;

export function stepLookup(scope: StepScope): (ref: string) => string | undefined {
  return (ref) => {
    if (Object.prototype.hasOwnProperty.call(scope.variables, ref)) return scope.variables[ref];
    const [head, ...rest] = ref.split('.');
    if (head === 'run' && rest.join('.') === 'id') return scope.runId;
    if (head === 'task' && rest.join('.') === 'name') return scope.taskName;
    if (head === 'host') {
      if (rest[0] === 'labels' && rest.length >= 2) return scope.host.labels[rest.slice(1).join('.')] ?? '';
      if (rest.length === 1 && (HOST_FIELDS as readonly string[]).includes(rest[0])) {
        return String(scope.host[rest[0] as (typeof HOST_FIELDS)[number]] ?? '');
      }
    }
    if (head === 'steps' && rest.length === 2) {
      const step = scope.steps[rest[0]];
      if (!step) return undefined;
      if (rest[1] === 'status') return step.status;
      if (rest[1] === 'exitCode') return step.exitCode === undefined ? '' : String(step.exitCode);
    }
    if (head === 'results' && rest.length === 1) return scope.results[rest[0]] ?? '';
    return undefined;
  };
}

interface TaskShape {
  variables: ReadonlyArray<{ name: string }>;
  results: ReadonlyArray<{ name: string }>;
  steps: ReadonlyArray<{
    name: string;
    shell?: string;
    when?: string;
    file?: { source?: string; content?: string; destination: string; owner?: string; mode?: string };
    kubectl?: { apply?: string; rolloutRestart?: string; waitReady?: string };
  }>;
}

/** Every reference in every step must name something in scope at that step. */
export function checkTaskReferences(spec: TaskShape): Array<{ path: PropertyKey[]; message: string }> {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  const variables = new Set(spec.variables.map((v) => v.name));
  const results = new Set(spec.results.map((r) => r.name));
  const earlier = new Set<string>();
  spec.steps.forEach((step, i) => {
    const fields: Array<[PropertyKey[], string | undefined, (s: string) => string[]]> = [
      [['shell'], step.shell, templateRefs],
      [['when'], step.when, expressionRefs],
      [['file', 'source'], step.file?.source, templateRefs],
      [['file', 'content'], step.file?.content, templateRefs],
      [['file', 'destination'], step.file?.destination, templateRefs],
      [['file', 'owner'], step.file?.owner, templateRefs],
      [['kubectl', 'apply'], step.kubectl?.apply, templateRefs],
      [['kubectl', 'rolloutRestart'], step.kubectl?.rolloutRestart, templateRefs],
      [['kubectl', 'waitReady'], step.kubectl?.waitReady, templateRefs],
    ];
    for (const [field, text, refsOf] of fields) {
      if (text === undefined) continue;
      const path = ['steps', i, ...field];
      let refs: string[];
      try {
        refs = refsOf(text);
      } catch (e) {
        if (e instanceof TemplateError || e instanceof ExpressionError) {
          problems.push({ path, message: e.message });
          continue;
        }
        throw e;
      }
      for (const ref of refs) {
        const reason = unknownReason(ref, variables, results, earlier);
        if (reason) problems.push({ path, message: reason });
      }
      if (field[0] === 'when') problems.push(...bareWordProblems(text, variables).map((message) => ({ path, message })));
    }
    earlier.add(step.name);
  });
  return problems;
}

const REF_HEADS = ['steps', 'results', 'host', 'run', 'task', 'tasks'];
const TRUTH_WORDS = ['true', 'false', 'yes', 'no', '0', '1'];

/**
 * A bare word is compared as text: `steps.check.exitCode != 0` is always true, because the words
 * differ. Words that name something in scope must be written as `${…}` (or quoted to mean the text).
 */
function bareWordProblems(when: string, variables: Set<string>): string[] {
  let found: ReturnType<typeof bareWords>;
  try {
    found = bareWords(when);
  } catch {
    return []; // reported with the references
  }
  const problems = found.words
    .filter((w) => variables.has(w) || (w.includes('.') && REF_HEADS.includes(w.split('.')[0])))
    .map((w) => `"${w}" is compared as the text "${w}", not its value: write \${${w}} (or '${w}' to mean the text)`);
  if (!problems.length && found.lone && !TRUTH_WORDS.includes(found.words[0].toLowerCase())) {
    problems.push(`"${when}" alone is always true: compare a value, e.g. \${name} == ${found.words[0]}`);
  }
  return problems;
}

function unknownReason(ref: string, variables: Set<string>, results: Set<string>, earlier: Set<string>): string | undefined {
  if (variables.has(ref) || ref === 'run.id' || ref === 'task.name') return undefined;
  const [head, ...rest] = ref.split('.');
  if (head === 'host' && ((rest[0] === 'labels' && rest.length >= 2) || (rest.length === 1 && (HOST_FIELDS as readonly string[]).includes(rest[0])))) {
    return undefined;
  }
  if (head === 'steps' && rest.length === 2 && ['status', 'exitCode'].includes(rest[1])) {
    return earlier.has(rest[0]) ? undefined : `"\${${ref}}" names step "${rest[0]}", which does not run before this one`;
  }
  if (head === 'results' && rest.length === 1) {
    return results.has(rest[0]) ? undefined : `"\${${ref}}" names result "${rest[0]}", which the task does not declare in results`;
  }
  const known = [...variables].join(', ') || 'none';
  return `unknown variable "\${${ref}}" (variables: ${known}; also host.*, run.id, task.name, steps.<step>.status|exitCode, results.<name>); write $\${${ref}} to pass it to the shell`;
}
