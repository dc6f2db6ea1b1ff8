import { parseDefinitions } from '../../model/load';
import { Catalog } from '../../model/catalog';
import { planPipelineRun, planTaskRun, toHostTarget } from '../../model/plan';
import { resolveStageTaskVariables } from '../../model/stage-variables';
import { formatIssue, ValidationError, type Issue } from '../../model/errors';
import type { Resource } from '../../model/resources';
import type { Task } from '../../model/task';
import type { RunOrigin } from '../../model/run';

const origin: RunOrigin = { trigger: 'cli', requester: 'alice' };

function resources(text: string, file = 'defs.yaml'): Array<{ resource: Resource; file: string }> {
  const { resources, issues } = parseDefinitions(text, file);
  if (issues.length) throw new Error(`fixture is invalid:\n${issues.map(formatIssue).join('\n')}`);
  return resources.map((resource) => ({ resource, file }));
}

const host = (name: string, labels: Record<string, string> = {}, spec = '') => `---
apiVersion: ops.dev/v1
kind: Host
metadata: { name: ${name}, labels: ${JSON.stringify(labels)} }
spec: { address: ${name}.example.net, username: ops, trustOnFirstUse: true${spec} }
`;

const HOSTS = [
  host('web-2', { role: 'web', env: 'prod' }),
  host('web-1', { role: 'web', env: 'prod' }),
  host('web-3', { role: 'web', env: 'dev' }),
  host('db-1', { role: 'db', env: 'prod' }),
  host('gpu-1', { role: 'gpu' }, ', cluster: ai-eu'),
  host('gpu-2', { role: 'gpu' }, ', cluster: ai-eu'),
].join('');

const CLUSTERS = `---
apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: ai-eu }
spec: {}
`;

const TASKS = `---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: upgrade }
spec:
  targets: { selector: "role=web,env=prod" }
  variables:
    - { name: version, required: true, regex: '[0-9.]+' }
    - { name: mode, default: dry, enum: [dry, apply] }
    - { name: token, secret: true }
  steps:
    - shell: echo \${version} \${mode}
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: probe }
spec:
  targets: { all: true }
  results:
    - { name: kernel }
    - { name: driver }
  steps:
    - shell: echo "::result kernel=$(uname -r)"
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: report }
spec:
  targets: { hosts: [db-1] }
  variables:
    - { name: message, required: true }
    - { name: status, default: unknown }
    - { name: api_key, required: false }
  steps:
    - shell: echo \${message} \${status}
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: gpu-check }
spec:
  targets: { selector: role=gpu }
  results: [{ name: ecc }]
  steps:
    - shell: nvidia-smi
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: untargeted }
spec:
  steps:
    - shell: "true"
`;

const catalogOf = (...texts: string[]) => Catalog.from(texts.flatMap((t, i) => resources(t, `file-${i}.yaml`)));
const base = () => catalogOf(HOSTS + CLUSTERS + TASKS);

function issuesOf(fn: () => unknown): Issue[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.issues;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

const pipeline = (spec: string, name = 'p') => `---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: ${name} }
spec:
${spec}`;

describe('Catalog.from', () => {
  it('refuses the same kind and name twice, naming both files', () => {
    const issues = issuesOf(() => Catalog.from([...resources(host('web-1'), 'hosts/a.yaml'), ...resources(host('web-1'), 'hosts/b.yaml')]));
    expect(issues).toEqual([{ file: 'hosts/b.yaml', document: 'Host/web-1', path: 'metadata.name', message: 'is defined twice (also in hosts/a.yaml)' }]);
    expect(formatIssue(issues[0])).toBe('hosts/b.yaml: Host/web-1: metadata.name: is defined twice (also in hosts/a.yaml)');
  });

  it('refuses duplicates within one file too', () => {
    const issues = issuesOf(() => Catalog.from(resources(host('a') + host('a'), 'one.yaml')));
    expect(issues[0].message).toBe('is defined twice (also in one.yaml)');
  });

  it('allows the same name for different kinds, and always has the local cluster', () => {
    const catalog = Catalog.from(resources(`${host('probe')}${TASKS}`));
    expect(catalog.hosts.has('probe')).toBe(true);
    expect(catalog.tasks.has('probe')).toBe(true);
    expect([...catalog.clusters.keys()]).toEqual(['local']);
  });
});

describe('planTaskRun', () => {
  it('freezes the task, resolves variables and selects hosts ordered by name', () => {
    const input = planTaskRun(base(), 'upgrade', { variables: { version: '1.7.2', token: 's3cr3t' }, origin, runId: 'upgrade-abc' });
    expect(input.runId).toBe('upgrade-abc');
    expect(input.name).toBe('upgrade');
    expect(input.cluster).toBe('local');
    expect(input.hosts.map((h) => h.name)).toEqual(['web-1', 'web-2']);
    expect(input.hosts[0]).toEqual({
      name: 'web-1',
      address: 'web-1.example.net',
      port: 22,
      username: 'ops',
      connection: 'ssh',
      cluster: 'local',
      credentialRef: undefined,
      hostKey: undefined,
      trustOnFirstUse: true,
      bastion: undefined,
      labels: { role: 'web', env: 'prod' },
    });
    expect(input.variables).toEqual({ version: '1.7.2', mode: 'dry', token: 's3cr3t' });
    expect(input.secretNames).toEqual(['token']);
    expect(input.task.spec.steps[0].shell).toBe('echo ${version} ${mode}');
    expect(input.origin).toEqual(origin);
  });

  it('makes a run id from the task name when none is given', () => {
    expect(planTaskRun(base(), 'gpu-check', { variables: {}, origin }).runId).toMatch(/^gpu-check-[a-z0-9]{8}$/);
  });

  it('keeps the order of an explicit host list', () => {
    const input = planTaskRun(base(), 'probe', { variables: {}, origin, targets: { hosts: ['web-3', 'db-1'] } });
    expect(input.hosts.map((h) => h.name)).toEqual(['web-3', 'db-1']);
  });

  it('lets request targets override the task targets', () => {
    const input = planTaskRun(base(), 'upgrade', { variables: { version: '1' }, origin, targets: { selector: 'env=dev' } });
    expect(input.hosts.map((h) => h.name)).toEqual(['web-3']);
  });

  it('refuses an unknown task, listing the defined ones', () => {
    expect(issuesOf(() => planTaskRun(base(), 'nope', { variables: {}, origin }))).toEqual([
      { document: 'Task/nope', path: '', message: 'is not defined (defined: gpu-check, probe, report, untargeted, upgrade)' },
    ]);
  });

  it('suggests the task a misspelt name stands for', () => {
    expect(issuesOf(() => planTaskRun(base(), 'upgarde', { variables: {}, origin }))).toEqual([{ document: 'Task/upgarde', path: '', message: 'is not defined; did you mean "upgrade"?' }]);
    expect(issuesOf(() => planTaskRun(base(), 'Probe', { variables: {}, origin }))).toEqual([{ document: 'Task/Probe', path: '', message: 'is not defined; did you mean "probe"?' }]);
  });

  it('lists no more than eight names: past that it counts them', () => {
    const many = catalogOf(Array.from({ length: 9 }, (_, i) => host(`node-${i}`)).join(''));
    expect(many.notDefinedHint('Host', 'gateway')).toBe(' (9 Hosts are defined)');
    expect(many.notDefinedHint('Pipeline', 'deploy')).toBe(' (no Pipeline is defined)');
  });

  it('refuses missing, unknown and invalid variables together', () => {
    const issues = issuesOf(() => planTaskRun(base(), 'upgrade', { variables: { mode: 'yolo', colour: 'red' }, origin }));
    expect(issues.map((i) => `${i.document}: ${i.path}`).sort()).toEqual(['Task/upgrade: variables.colour', 'Task/upgrade: variables.mode', 'Task/upgrade: variables.version']);
  });

  it('refuses undefined hosts, naming them, with the host a typo stands for (not another of a numbered series)', () => {
    const issues = issuesOf(() => planTaskRun(base(), 'probe', { variables: {}, origin, targets: { hosts: ['web-1', 'web-9', 'db-7', 'wbe-2'] } }));
    expect(issues).toEqual([{ file: 'file-0.yaml', document: 'Task/probe', path: 'spec.targets.hosts', message: 'names undefined host(s): web-9, db-7, wbe-2 (did you mean "web-2"?)' }]);
  });

  it('refuses targets that match no hosts, and a task without targets', () => {
    expect(issuesOf(() => planTaskRun(base(), 'probe', { variables: {}, origin, targets: { selector: 'role=cache' } }))).toEqual([
      { file: 'file-0.yaml', document: 'Task/probe', path: 'spec.targets', message: 'match no hosts (selector role=cache)' },
    ]);
    expect(issuesOf(() => planTaskRun(base(), 'untargeted', { variables: {}, origin }))).toEqual([
      { file: 'file-0.yaml', document: 'Task/untargeted', path: 'spec.targets', message: 'no targets: give hosts, selector or all' },
    ]);
  });

  it('refuses an invalid selector with its message', () => {
    const issues = issuesOf(() => planTaskRun(base(), 'probe', { variables: {}, origin, targets: { selector: 'role~web' } }));
    expect(issues).toEqual([{ file: 'file-0.yaml', document: 'Task/probe', path: 'spec.targets.selector', message: expect.stringContaining('"role~web" is not a label requirement') }]);
  });

  it('refuses hosts of several clusters and runs hosts of one other cluster there', () => {
    const issues = issuesOf(() => planTaskRun(base(), 'probe', { variables: {}, origin }));
    expect(issues).toEqual([{ file: 'file-0.yaml', document: 'Task/probe', path: 'spec.targets', message: expect.stringContaining('select hosts of several clusters (local, ai-eu)') }]);
    expect(planTaskRun(base(), 'gpu-check', { variables: {}, origin }).cluster).toBe('ai-eu');
  });
});

describe('bastions', () => {
  const jumpCatalog = (extra: string) =>
    catalogOf(
      host('jump', {}, ', port: 2222') + host('inner', { role: 'inner' }, ', bastion: jump') + host('deep', { role: 'deep' }, ', bastion: inner') + extra + TASKS,
    );

  it('resolves a bastion chain into nested targets', () => {
    const input = planTaskRun(jumpCatalog(''), 'probe', { variables: {}, origin, targets: { selector: 'role=deep' } });
    expect(input.hosts).toHaveLength(1);
    const deep = input.hosts[0];
    expect(deep.bastion?.name).toBe('inner');
    expect(deep.bastion?.bastion).toMatchObject({ name: 'jump', port: 2222, address: 'jump.example.net' });
    expect(deep.bastion?.bastion?.bastion).toBeUndefined();
  });

  it('refuses a bastion that is not defined', () => {
    const issues = issuesOf(() => planTaskRun(jumpCatalog(host('lost', { role: 'lost' }, ', bastion: nowhere')), 'probe', { variables: {}, origin, targets: { hosts: ['lost'] } }));
    expect(issues).toEqual([{ file: 'file-0.yaml', document: 'Host/lost', path: 'spec.bastion', message: 'names Host "nowhere", which is not defined (defined: deep, inner, jump, lost)' }]);
  });

  it('refuses a connection: local host as a bastion: nothing can be tunnelled through it', () => {
    const catalog = catalogOf(host('here', {}, ', connection: local') + host('behind', {}, ', bastion: here'));
    expect(issuesOf(() => toHostTarget(catalog, catalog.hosts.get('behind')!)).map((i) => [i.path, i.message])).toEqual([
      ['spec.bastion', 'names Host "here", which is connection: local; a bastion is an SSH host'],
    ]);
  });

  it('refuses a host that is its own bastion', () => {
    const catalog = catalogOf(host('self', {}, ', bastion: self'));
    expect(() => toHostTarget(catalog, catalog.hosts.get('self')!)).toThrow(/spec\.bastion: forms a loop/);
  });

  it('refuses a bastion loop instead of recursing forever', () => {
    const catalog = catalogOf(host('a', {}, ', bastion: b') + host('b', {}, ', bastion: c') + host('c', {}, ', bastion: b'));
    expect(() => toHostTarget(catalog, catalog.hosts.get('a')!)).toThrow(ValidationError);
    expect(() => toHostTarget(catalog, catalog.hosts.get('a')!)).toThrow(/forms a loop/);
  });

  it('names every host of the loop in order', () => {
    const catalog = catalogOf(host('a', {}, ', bastion: b') + host('b', {}, ', bastion: c') + host('c', {}, ', bastion: b'));
    expect(() => toHostTarget(catalog, catalog.hosts.get('a')!)).toThrow('forms a loop: a → b → c → b');
  });

  it('reports a pipeline host whose bastion is undefined as an issue', () => {
    const catalog = catalogOf(host('lost', { role: 'lost' }, ', bastion: nowhere') + TASKS + pipeline(`  stages:\n    - name: s\n      tasks: [{ task: probe, targets: { hosts: [lost] } }]\n`));
    expect(issuesOf(() => planPipelineRun(catalog, 'p', { variables: {}, origin }))).toEqual([
      { file: 'file-0.yaml', document: 'Host/lost', path: 'spec.bastion', message: 'names Host "nowhere", which is not defined (defined: lost)' },
    ]);
  });
});

describe('planPipelineRun', () => {
  const run = (spec: string, variables: Record<string, string> = {}) => planPipelineRun(catalogOf(HOSTS + CLUSTERS + TASKS + pipeline(spec)), 'p', { variables, origin, runId: 'p-1' });
  const issues = (spec: string, variables: Record<string, string> = {}) => issuesOf(() => run(spec, variables));

  it('freezes the pipeline, the tasks it uses, their targets and every host', () => {
    const input = run(`  variables:
    - { name: version, default: "1.7" }
  stages:
    - name: upgrade
      tasks: [{ task: upgrade }]
    - name: gpu
      cluster: ai-eu
      tasks: [{ task: gpu-check }]
  finally:
    - name: tell
      tasks: [{ task: report, variables: { message: "done \${run.status}" } }]
`);
    expect(input.runId).toBe('p-1');
    expect(input.pipeline.metadata.name).toBe('p');
    expect(Object.keys(input.tasks).sort()).toEqual(['gpu-check', 'report', 'upgrade']);
    expect(input.targets).toEqual({ upgrade: ['web-1', 'web-2'], 'gpu-check': ['gpu-1', 'gpu-2'], report: ['db-1'] });
    expect(input.hosts.map((h) => h.name).sort()).toEqual(['db-1', 'gpu-1', 'gpu-2', 'web-1', 'web-2']);
    expect(input.variables).toEqual({ version: '1.7' });
  });

  it('keys targets by the task alias, so one task can run twice', () => {
    const input = run(`  stages:
    - name: s
      tasks:
        - { task: report, name: report-a, variables: { message: a } }
        - { task: report, name: report-b, variables: { message: b }, targets: { hosts: [web-1] } }
`);
    expect(input.targets).toEqual({ 'report-a': ['db-1'], 'report-b': ['web-1'] });
  });

  it('refuses an unknown task and an undefined cluster', () => {
    expect(
      issues(`  stages:
    - name: s
      cluster: mars
      tasks: [{ task: nope }]
`),
    ).toEqual([
      { file: 'file-0.yaml', document: 'Pipeline/p', path: 'spec.stages[0].cluster', message: 'names Cluster "mars", which is not defined (defined: ai-eu, local)' },
      { file: 'file-0.yaml', document: 'Pipeline/p', path: 'spec.stages[0].tasks[0].task', message: 'names Task "nope", which is not defined (defined: gpu-check, probe, report, untargeted, upgrade)' },
    ]);
  });

  it('refuses hosts of another cluster than the stage runs on', () => {
    const found = issues(`  stages:
    - name: s
      tasks: [{ task: gpu-check }]
`);
    expect(found.map((i) => [i.path, i.message])).toEqual([
      ['spec.stages[0].tasks[0]', 'host "gpu-1" belongs to cluster "ai-eu" but stage "s" runs on cluster "local"'],
      ['spec.stages[0].tasks[0]', 'host "gpu-2" belongs to cluster "ai-eu" but stage "s" runs on cluster "local"'],
    ]);
  });

  it('refuses undefined hosts and empty targets of a stage task', () => {
    const found = issues(`  stages:
    - name: s
      tasks:
        - { task: probe, targets: { hosts: [ghost] } }
        - { task: probe, name: probe-2, targets: { selector: role=none } }
        - { task: untargeted }
`);
    expect(found.map((i) => [i.path, i.message])).toEqual([
      ['spec.stages[0].tasks[0].targets.hosts', 'names undefined host(s): ghost'],
      ['spec.stages[0].tasks[1].targets', 'Task/probe: targets match no hosts (selector role=none)'],
      ['spec.stages[0].tasks[2] (Task/untargeted spec.targets)', 'no targets: give hosts, selector or all'],
    ]);
  });

  it('lets a later stage, or finally, read declared results of an earlier stage', () => {
    expect(() =>
      run(`  stages:
    - name: facts
      tasks: [{ task: probe, targets: { hosts: [db-1] } }]
    - name: tell
      tasks: [{ task: report, variables: { message: "kernel \${tasks.probe.results.kernel}" } }]
  finally:
    - name: tell-again
      tasks: [{ task: report, name: report-2, variables: { message: "\${tasks.probe.results.driver} \${run.id}" } }]
`),
    ).not.toThrow();
  });

  it('refuses results of a task in the same stage, a later stage, or an unknown task', () => {
    const found = issues(`  stages:
    - name: s1
      tasks:
        - { task: probe, targets: { hosts: [db-1] } }
        - { task: report, variables: { message: "\${tasks.probe.results.kernel}", status: "\${tasks.later.results.x}" } }
    - name: s2
      tasks: [{ task: probe, name: later, targets: { hosts: [db-1] } }]
`);
    expect(found.map((i) => [i.path, i.message])).toEqual([
      ['spec.stages[0].tasks[1].variables.message', '"${tasks.probe.results.kernel}": no task "probe" runs in an earlier stage'],
      ['spec.stages[0].tasks[1].variables.status', '"${tasks.later.results.x}": no task "later" runs in an earlier stage'],
    ]);
  });

  it('refuses a result the earlier task does not declare', () => {
    const found = issues(`  stages:
    - name: s1
      tasks: [{ task: probe, targets: { hosts: [db-1] } }]
    - name: s2
      tasks: [{ task: report, variables: { message: "\${tasks.probe.results.uptime}" } }]
`);
    expect(found.map((i) => i.message)).toEqual(['"${tasks.probe.results.uptime}": task "probe" declares no result "uptime"']);
  });

  it('refuses values naming unknown variables and variables the task does not declare', () => {
    const found = issues(`  variables: [{ name: who }]
  stages:
    - name: s
      tasks: [{ task: report, variables: { message: "\${who} \${whom} \${run.status}", colour: red } }]
`);
    expect(found.map((i) => [i.path, i.message])).toEqual([
      ['spec.stages[0].tasks[0].variables.message', '"${whom}" is neither a pipeline variable, run.id, run.status nor tasks.<task>.results.<name>'],
      ['spec.stages[0].tasks[0].variables.colour', 'Task/report declares no variable "colour"'],
    ]);
  });

  it('refuses an invalid template in a value', () => {
    const found = issues(`  stages:
    - name: s
      tasks: [{ task: report, variables: { message: "\${oops" } }]
`);
    expect(found.map((i) => i.path)).toEqual(['spec.stages[0].tasks[0].variables.message']);
  });

  it('requires required task variables, satisfied by a pipeline variable of the same name', () => {
    const missing = issues(`  stages:
    - name: s
      tasks: [{ task: report }]
`);
    expect(missing.map((i) => [i.path, i.message])).toEqual([
      ['spec.stages[0].tasks[0].variables.message', 'Task/report requires variable "message"; set it here or declare a pipeline variable of that name'],
    ]);
    expect(() =>
      run(`  variables: [{ name: message, required: true }]
  stages:
    - name: s
      tasks: [{ task: report }]
`, { message: 'hi' }),
    ).not.toThrow();
  });

  // An optional pipeline variable without a default resolves to "", which must not count as a value.
  it('does not let an unset optional pipeline variable satisfy a required task variable', () => {
    const spec = `  variables: [{ name: message }]
  stages:
    - name: s
      tasks: [{ task: report }]
`;
    let planned;
    try {
      planned = run(spec);
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      return;
    }
    const t = planned.tasks.report;
    const out = resolveStageTaskVariables(t, {}, { values: planned.variables, secretNames: planned.secretNames, runId: planned.runId, status: 'running' }, {}, {
      document: 'Pipeline/p',
      path: 'spec.stages[0].tasks[0].variables',
    });
    expect(out.issues).not.toEqual([]);
  });

  it('refuses a stage value known at the start that the task would refuse when its stage comes', () => {
    const spec = `  variables: [{ name: mode }, { name: version, required: true }]
  stages:
    - name: first
      tasks: [{ task: report, variables: { message: changes things } }]
    - name: second
      tasks: [{ task: upgrade, variables: { version: "v\${version}" } }]
`;
    expect(issues(spec, { mode: 'typo', version: '1.2' }).map((i) => [i.path, i.message])).toEqual([
      ['spec.stages[1].tasks[0].variables.version', '"v1.2" does not match [0-9.]+'],
      ['spec.stages[1].tasks[0].variables.mode', '"typo" is not one of: dry, apply'],
    ]);
    expect(() => run(spec.replace('"v\${version}"', '"\${version}"'), { mode: 'apply', version: '1.2' })).not.toThrow();
  });

  it('leaves values made of earlier results, the run status or a variable still to be given to their stage', () => {
    const spec = `  variables: [{ name: version, required: true }]
  stages:
    - name: probe
      tasks: [{ task: probe, targets: { hosts: [web-1] } }]
    - name: upgrade
      tasks: [{ task: upgrade, variables: { mode: "\${run.status}" } }]
  finally:
    - name: tell
      tasks: [{ task: upgrade, name: again, variables: { version: "\${tasks.probe.results.kernel}" } }]
`;
    expect(() => run(spec, { version: '1.2' })).not.toThrow();
    expect(issues(spec).map((i) => i.path)).toEqual(['variables.version']);
  });

  it('never quotes a pipeline secret in an issue, also where the task variable is not secret', () => {
    const found = issues(
      `  variables: [{ name: pin, secret: true, required: true }]
  stages:
    - name: s
      tasks: [{ task: upgrade, variables: { version: "\${pin}", mode: "x\${pin}" } }]
`,
      { pin: 'NotANumberSecret' },
    );
    expect(found.map((i) => [i.path, i.message])).toEqual([
      ['spec.stages[0].tasks[0].variables.version', 'the value given does not match [0-9.]+'],
      ['spec.stages[0].tasks[0].variables.mode', 'the value given is not one of: dry, apply'],
    ]);
  });

  it('checks the pipeline variables of the request', () => {
    const found = issues(`  variables: [{ name: message, required: true }]
  stages:
    - name: s
      tasks: [{ task: report }]
`);
    expect(found).toEqual([{ file: 'file-0.yaml', document: 'Pipeline/p', path: 'variables.message', message: 'is required and has no value' }]);
  });
});

describe('resolveStageTaskVariables', () => {
  const report = () => base().tasks.get('report')! as Task;
  const upgrade = () => base().tasks.get('upgrade')! as Task;
  const where = { document: 'Pipeline/p', path: 'spec.stages[1].tasks[0].variables' };
  const pipelineState = (values: Record<string, string>, secretNames: string[] = []) => ({ values, secretNames, runId: 'p-1', status: 'failed' });

  it('renders mapped values with pipeline variables, run fields and earlier results', () => {
    const t = report();
    const out = resolveStageTaskVariables(
      { name: 'report', spec: t.spec },
      { message: '${who}: ${tasks.probe.results.kernel} (${run.id})', status: '${run.status}' },
      pipelineState({ who: 'ops' }),
      { probe: { kernel: '6.1\n6.8' } },
      where,
    );
    expect(out.issues).toEqual([]);
    expect(out.values).toEqual({ message: 'ops: 6.1\n6.8 (p-1)', status: 'failed', api_key: '' });
    expect(out.secretNames).toEqual([]);
  });

  it('renders a result nobody printed as empty', () => {
    const out = resolveStageTaskVariables({ name: 'report', spec: report().spec }, { message: '[${tasks.probe.results.kernel}]' }, pipelineState({}), {}, where);
    expect(out.values.message).toBe('[]');
  });

  it('says which earlier result was empty when a required variable made of results has no value', () => {
    const out = resolveStageTaskVariables({ name: 'upgrade', spec: upgrade().spec }, { version: '${tasks.probe.results.kernel}${tasks.probe.results.arch}' }, pipelineState({}), { probe: { arch: '' } }, where);
    expect(out.issues.map((i) => [i.path, i.message])).toEqual([
      [
        'spec.stages[1].tasks[0].variables.version',
        'is required and has no value (${tasks.probe.results.kernel} is empty: no host of probe printed ::result kernel=…, ${tasks.probe.results.arch} is empty: no host of probe printed ::result arch=…)',
      ],
    ]);
  });

  it('says a result is empty because its task did not run (a stage skipped after a failure)', () => {
    const out = resolveStageTaskVariables({ name: 'upgrade', spec: upgrade().spec }, { version: '${tasks.probe.results.kernel}' }, pipelineState({}), {}, where);
    expect(out.issues.map((i) => i.message)).toEqual(['is required and has no value (${tasks.probe.results.kernel} is empty: probe did not run)']);
  });

  it('falls back to the pipeline variable of the same name, then the task default', () => {
    const out = resolveStageTaskVariables({ name: 'report', spec: report().spec }, {}, pipelineState({ message: 'from pipeline', other: 'x' }), {}, where);
    expect(out.issues).toEqual([]);
    expect(out.values).toEqual({ message: 'from pipeline', status: 'unknown', api_key: '' });
  });

  it('the stage mapping wins over a pipeline variable of the same name', () => {
    const out = resolveStageTaskVariables({ name: 'report', spec: report().spec }, { message: 'mapped' }, pipelineState({ message: 'pipeline' }), {}, where);
    expect(out.values.message).toBe('mapped');
  });

  it('makes a task variable secret when its value uses a secret pipeline variable', () => {
    const out = resolveStageTaskVariables(
      { name: 'report', spec: report().spec },
      { message: 'Bearer ${token}', status: 'plain ${user}' },
      pipelineState({ token: 'abc123', user: 'bob' }, ['token']),
      {},
      where,
    );
    expect(out.values.message).toBe('Bearer abc123');
    expect(out.secretNames).toEqual(['message']);
  });

  it('makes a task variable secret when it takes a secret pipeline variable of the same name', () => {
    const out = resolveStageTaskVariables({ name: 'report', spec: report().spec }, { message: 'hi' }, pipelineState({ api_key: 'k-123' }, ['api_key']), {}, where);
    expect(out.values.api_key).toBe('k-123');
    expect(out.secretNames).toEqual(['api_key']);
  });

  it('keeps variables the task itself declares secret', () => {
    const out = resolveStageTaskVariables({ name: 'upgrade', spec: upgrade().spec }, { version: '1.2' }, pipelineState({ token: 't' }), {}, where);
    expect(out.secretNames).toEqual(['token']);
    expect(out.values).toEqual({ version: '1.2', mode: 'dry', token: 't' });
  });

  it('checks the rendered values against the task declarations, without echoing secrets', () => {
    const out = resolveStageTaskVariables(
      { name: 'upgrade', spec: upgrade().spec },
      { version: '${tasks.probe.results.kernel}', mode: '${m}' },
      pipelineState({ m: 'force' }),
      { probe: { kernel: '6.1-generic' } },
      where,
    );
    expect(out.issues.map((i) => [i.path, i.message])).toEqual([
      ['spec.stages[1].tasks[0].variables.version', '"6.1-generic" does not match [0-9.]+'],
      ['spec.stages[1].tasks[0].variables.mode', '"force" is not one of: dry, apply'],
    ]);
  });

  it('reports a required variable still without value', () => {
    const out = resolveStageTaskVariables({ name: 'report', spec: report().spec }, {}, pipelineState({}), {}, where);
    expect(out.issues).toEqual([{ ...where, path: `${where.path}.message`, message: 'is required and has no value' }]);
  });

  it('reports an invalid template in a mapping as an issue instead of throwing', () => {
    const out = resolveStageTaskVariables({ name: 'report', spec: report().spec }, { message: 'x ${oops' }, pipelineState({}), {}, where);
    expect(out.issues.map((i) => i.path)).toContain(`${where.path}.message`);
  });

  it('reports a reference it cannot resolve instead of rendering it empty', () => {
    const out = resolveStageTaskVariables({ name: 'report', spec: report().spec }, { message: '${nobody}' }, pipelineState({}), {}, where);
    expect(out.issues.map((i) => i.path)).toContain(`${where.path}.message`);
    expect(out.issues.find((i) => i.path === `${where.path}.message`)?.message).toContain('unknown variable "${nobody}"');
  });
});
