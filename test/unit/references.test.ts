import { parseDefinitions } from '../../model/load';
import { Catalog } from '../../model/catalog';
import { formatIssue } from '../../model/errors';
import { referenceIssues } from '../../model/references';
import type { Resource } from '../../model/resources';

function parsed(text: string): Resource[] {
  const { resources, issues } = parseDefinitions(text, 'defs.yaml');
  if (issues.length) throw new Error(issues.map(formatIssue).join('\n'));
  return resources;
}

const DEFS = `
apiVersion: ops.dev/v1
kind: Task
metadata: { name: hello }
spec:
  targets: { all: true }
  variables: [{ name: pw, secret: true }, { name: mode, enum: [fast, slow], default: fast }, { name: who, required: true }]
  steps: [{ shell: "echo \${who}" }]
`;

const doc = (kind: string, name: string, spec: string) => parsed(`apiVersion: ops.dev/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec: ${spec}\n`)[0];
const issuesOf = (resource: Resource) => referenceIssues(Catalog.from(parsed(DEFS).map((r) => ({ resource: r }))), resource).map(formatIssue);

describe('an EventHook that starts a run', () => {
  const hook = (variables: string) => doc('EventHook', 'h', `{ subject: "ops.approvals.*.pending", run: { task: hello, variables: ${variables} } }`);

  it('may take any variable, a secret too, from the event', () => {
    expect(issuesOf(hook('{ pw: "${data.password}", who: "${data.requester}", mode: "${data.mode}" }'))).toEqual([]);
  });

  it('refuses a secret written as text (it would be stored in clear), alone or around a value from the event', () => {
    expect(issuesOf(hook('{ pw: LiteralSecret1, who: x }'))).toEqual([
      'EventHook/h: spec.run.variables.pw: is a secret variable: a hook may only take it from the event (such as ${data.password}); written here it would be kept in clear',
    ]);
    expect(issuesOf(hook('{ pw: "pre-${data.password}", who: x }'))).toHaveLength(1);
  });

  it('refuses an undeclared variable, a literal outside its enum and a required variable left out', () => {
    expect(issuesOf(hook('{ nope: "${data.x}", mode: medium }'))).toEqual([
      'EventHook/h: spec.run.variables.nope: unknown variable (declared: pw, mode, who)',
      'EventHook/h: spec.run.variables.mode: "medium" is not one of: fast, slow',
      'EventHook/h: spec.run.variables.who: is required and has no value',
    ]);
  });
});
