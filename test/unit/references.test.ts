import { parseDefinitions } from '../../model/load';
import { Catalog } from '../../model/catalog';
import { formatIssue } from '../../model/errors';
import { referenceIssues, referencesTo } from '../../model/references';
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

describe('a Host', () => {
  const catalog = () => Catalog.from(parsed(`${DEFS}---\n${HOSTS}`).map((r) => ({ resource: r })));
  const HOSTS = `apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: c2 }
spec: {}
---
apiVersion: ops.dev/v1
kind: Host
metadata: { name: h-c2 }
spec: { address: 10.0.0.2, trustOnFirstUse: true, cluster: c2, bastion: jump }
---
apiVersion: ops.dev/v1
kind: Host
metadata: { name: jump }
spec: { address: 10.0.0.3, trustOnFirstUse: true, cluster: c2 }
`;
  // As the server checks a definition put: among the others, in place of the one of its name.
  const host = (spec: string) => {
    const put = doc('Host', 'host-9', `{ address: 127.0.0.9, trustOnFirstUse: true, ${spec} }`);
    const others = catalog();
    others.add(put);
    return referenceIssues(others, put).map(formatIssue);
  };

  it('must name a defined cluster and bastion, and a bastion that does not lead back to it', () => {
    expect(host('cluster: c3')).toEqual(['Host/host-9: spec.cluster: names Cluster "c3", which is not defined (defined: c2, local)']);
    expect(host('bastion: host-9')).toEqual(['Host/host-9: spec.bastion: forms a loop: host-9 → host-9']);
    expect(host('cluster: c2, bastion: h-c2')).toEqual([]);
  });

  it('keeps what it names from being deleted, naming itself and the field', () => {
    expect(referencesTo(catalog(), 'Cluster', 'c2')).toEqual([
      { document: 'Host/h-c2', path: 'spec.cluster', message: 'names Cluster "c2"' },
      { document: 'Host/jump', path: 'spec.cluster', message: 'names Cluster "c2"' },
    ]);
    expect(referencesTo(catalog(), 'Host', 'jump')).toEqual([{ document: 'Host/h-c2', path: 'spec.bastion', message: 'names Host "jump"' }]);
    expect(referencesTo(catalog(), 'Host', 'h-c2')).toEqual([]);
  });
});
