import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { definitionFiles, loadResources, parseDefinitions } from '../../model/load';
import { validateResource } from '../../model/resources';
import { checkTaskReferences } from '../../model/scope';
import { formatIssue, ValidationError } from '../../model/errors';
import type { Task } from '../../model/task';

const messages = (text: string, file = 'defs.yaml') => parseDefinitions(text, file).issues.map(formatIssue);

const HOST = (name: string, extra = '') => `apiVersion: ops.dev/v1
kind: Host
metadata: { name: ${name} }
spec: { address: 10.0.0.1, trustOnFirstUse: true${extra} }
`;

describe('parseDefinitions', () => {
  it('reads every document of a multi-document file and applies defaults', () => {
    const { resources, issues } = parseDefinitions(
      `${HOST('web-1')}---
${HOST('web-2')}---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: hello }
spec:
  steps:
    - shell: echo hi
`,
      'a.yaml',
    );
    expect(issues).toEqual([]);
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual(['Host/web-1', 'Host/web-2', 'Task/hello']);
    const host = resources[0];
    expect(host.kind === 'Host' && host.spec).toMatchObject({ port: 22, cluster: 'local', connection: 'ssh' });
    const task = resources[2] as Task;
    expect(task.spec.steps[0]).toMatchObject({ name: 'step-1', timeoutSeconds: 600, retries: 0, sudo: false, allowFailure: false });
    expect(task.spec.concurrency).toBe(20);
    expect(task.spec.maxFailures).toBe(0);
  });

  it('needs an address for an SSH host, none for a connection: local one', () => {
    const host = (spec: string) => `apiVersion: ops.dev/v1\nkind: Host\nmetadata: { name: h }\nspec: ${spec}\n`;
    const local = parseDefinitions(host('{ connection: local }'), 'local.yaml');
    expect(local.issues).toEqual([]);
    expect(local.resources[0].kind === 'Host' && local.resources[0].spec.address).toBeUndefined();
    expect(messages(host('{ trustOnFirstUse: true }'), 'ssh.yaml')).toEqual([expect.stringMatching(/^ssh\.yaml:.*spec\.address: is required for SSH hosts/)]);
  });

  it('skips empty documents', () => {
    const { resources, issues } = parseDefinitions(`---\n${HOST('a')}---\n---\n# only a comment\n`);
    expect(issues).toEqual([]);
    expect(resources).toHaveLength(1);
  });

  it('reads JSON', () => {
    const { resources, issues } = parseDefinitions(
      JSON.stringify({ apiVersion: 'ops.dev/v1', kind: 'Host', metadata: { name: 'j' }, spec: { address: 'x', trustOnFirstUse: true } }),
    );
    expect(issues).toEqual([]);
    expect(resources[0].metadata.name).toBe('j');
  });

  it('unpacks kind: List and names the line of a bad item', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: ops.dev/v1
    kind: Host
    metadata: { name: a }
    spec: { address: 1.2.3.4, trustOnFirstUse: true }
  - apiVersion: ops.dev/v1
    kind: Host
    metadata: { name: b }
    spec:
      address: 1.2.3.5
      port: 70000
      trustOnFirstUse: true
`;
    const { resources, issues } = parseDefinitions(text, 'list.yaml');
    expect(resources.map((r) => r.metadata.name)).toEqual(['a']);
    expect(issues.map(formatIssue)).toEqual([expect.stringMatching(/^list\.yaml:13: Host\/b: spec\.port: /)]);
  });

  it('unpacks a listing as ops get prints it (kind: HostList), status and all', () => {
    const text = `apiVersion: ops.dev/v1
kind: HostList
items:
  - apiVersion: ops.dev/v1
    kind: Host
    metadata: { name: a, resourceVersion: "3" }
    spec: { address: 1.2.3.4, trustOnFirstUse: true }
    status: { state: reachable }
`;
    const { resources, issues } = parseDefinitions(text, 'hosts.yaml');
    expect([resources.map((r) => r.metadata.name), issues]).toEqual([['a'], []]);
  });

  it('names file, line, document and field path of a wrong type', () => {
    const text = `apiVersion: ops.dev/v1
kind: Task
metadata:
  name: upgrade
spec:
  steps:
    - shell: echo one
    - shell: echo two
      timeoutSeconds: 30
    - shell: echo three
      timeoutSeconds: "10"
`;
    const [issue, ...rest] = parseDefinitions(text, 'tasks/upgrade.yaml').issues;
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ file: 'tasks/upgrade.yaml', line: 11, document: 'Task/upgrade', path: 'spec.steps[2].timeoutSeconds' });
    expect(formatIssue(issue)).toMatch(/^tasks\/upgrade\.yaml:11: Task\/upgrade: spec\.steps\[2\]\.timeoutSeconds: /);
  });

  it('says a field of the wrong type has the wrong type, not that it is required', () => {
    const text = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: upgrade }
spec:
  steps:
    - shell: echo three
      timeoutSeconds: "10"
`;
    const [issue] = parseDefinitions(text, 'tasks/upgrade.yaml').issues;
    expect(issue.message).not.toBe('is required');
    expect(issue.message).toMatch(/expected number, received string/);
  });

  it('says a missing field is required', () => {
    const text = `apiVersion: ops.dev/v1
kind: Host
metadata: { name: h }
spec:
  port: 22
`;
    expect(messages(text)).toContain('defs.yaml:5: Host/h: spec.address: is required for SSH hosts (a connection: local host needs none)');
  });

  it('tells a map of variables or a bare result name the list form they are written in', () => {
    const text = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: t }
spec:
  variables:
    token: { secret: true }
  results: [version]
  steps: [{ shell: uptime }]
`;
    expect(parseDefinitions(text, 't.yaml').issues.map(formatIssue)).toEqual([
      't.yaml:6: Task/t: spec.variables: must be a list of variables, each with its name (- name: token), not a map',
      't.yaml:7: Task/t: spec.results[0]: must be an item with its name (- name: version), not a bare name',
    ]);
  });

  it('refuses a variable regex that does not compile, naming the field, with a default beside it', () => {
    const text = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: t }
spec:
  variables:
    - { name: v, regex: '[a-z', default: abc }
  steps: [{ shell: uptime }]
`;
    expect(messages(text)).toEqual(['defs.yaml:6: Task/t: spec.variables[0].regex: is not a valid regular expression']);
  });

  it('names unknown fields', () => {
    const text = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: t }
spec:
  steps:
    - shell: echo hi
      timeout: 5
      colour: red
`;
    expect(messages(text)).toEqual(['defs.yaml:6: Task/t: spec.steps[0]: unknown fields "timeout", "colour"']);
  });

  it('names an unknown top-level or metadata field', () => {
    expect(messages(`${HOST('h')}spce: {}\n`)).toEqual(['defs.yaml:1: Host/h: unknown field "spce"']);
    expect(messages(HOST('h').replace('{ name: h }', '{ name: h, lables: {} }'))).toEqual(['defs.yaml:3: Host/h: metadata: unknown field "lables"']);
  });

  it('ignores the status a document read from the server carries, so it applies again as it is', () => {
    const { resources, issues } = parseDefinitions(`${HOST('h')}status: { heartbeat: { state: reachable } }\n`);
    expect(issues).toEqual([]);
    expect(resources[0]).not.toHaveProperty('status');
  });

  it('refuses a wrong apiVersion with the expected one', () => {
    expect(messages(HOST('h').replace('ops.dev/v1', 'ops/v1'))).toEqual(['defs.yaml:1: Host/h: apiVersion: must be "ops.dev/v1" (got "ops/v1")']);
    expect(messages(HOST('h').replace('apiVersion: ops.dev/v1\n', ''))).toEqual(['defs.yaml:1: Host/h: apiVersion: must be "ops.dev/v1" (got undefined)']);
  });

  it('refuses an unknown kind and lists the known ones', () => {
    expect(messages(`${HOST('h')}---\n${HOST('x').replace('kind: Host', 'kind: Deployment')}`)).toEqual([
      'defs.yaml:7: Deployment/x: kind: must be one of Host, Cluster, Task, Pipeline, Schedule, Inspection, EventHook (got "Deployment")',
    ]);
  });

  it('refuses a document that is not a mapping', () => {
    expect(messages('- a\n- b\n')).toEqual(['defs.yaml:1: must be a mapping with apiVersion, kind, metadata and spec']);
  });

  it('refuses names that are not DNS labels', () => {
    const issues = parseDefinitions(`apiVersion: ops.dev/v1
kind: Task
metadata: { name: Upgrade_Kubelet }
spec: { steps: [{ shell: 'true' }] }
`).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'metadata.name', line: 3 });
    expect(issues[0].message).toContain('DNS label');
  });

  it('reports invalid YAML with its line and keeps reading other documents', () => {
    const text = `${HOST('ok')}---
apiVersion: ops.dev/v1
kind: Host
metadata:
  name: broken: yes
spec: {}
`;
    const { resources, issues } = parseDefinitions(text, 'bad.yaml');
    expect(resources.map((r) => r.metadata.name)).toEqual(['ok']);
    expect(issues).toEqual([{ file: 'bad.yaml', line: 9, column: 9, path: '', message: 'invalid YAML: Nested mappings are not allowed in compact mappings' }]);
    expect(formatIssue(issues[0])).toBe('bad.yaml:9:9: invalid YAML: Nested mappings are not allowed in compact mappings');
  });

  it('reports the first syntax error of a document, not the ones that follow from it, and says to quote ${…} in braces', () => {
    const text = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: t }
spec:
  steps:
    - name: push
      file: { content: x, destination: /srv/\${host.name}/x, mode: "0600" }
    - name: check
      shell: uptime
`;
    const { issues } = parseDefinitions(text, 't.yaml');
    expect(issues).toHaveLength(1);
    expect(formatIssue(issues[0])).toMatch(
      /^t\.yaml:7:46: invalid YAML: Unexpected flow-map-start at node end; a value with \$\{…\} inside \{ \} or \[ \] must be quoted \("…"\) \(\d+ more in this document, likely from this one\)$/,
    );
  });

  it('reports tab indentation as invalid YAML on its line', () => {
    const issues = parseDefinitions(`apiVersion: ops.dev/v1\nkind: Task\nspec:\n\tsteps: []\n`, 't.yaml').issues;
    expect(issues).toEqual([expect.objectContaining({ line: 4, message: expect.stringMatching(/^invalid YAML: Tabs/) })]);
  });

  it('reports a duplicate key as invalid YAML on its line', () => {
    const issues = parseDefinitions(`apiVersion: ops.dev/v1\nkind: Host\nkind: Task\n`, 'dup.yaml').issues;
    expect(issues).toEqual([expect.objectContaining({ file: 'dup.yaml', line: 3, message: expect.stringMatching(/^invalid YAML: .*unique/) })]);
  });

  /** A pipeline whose one stage runs the given tasks (YAML flow mappings). */
  const PIPELINE = (...tasks: string[]) => `apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: p }
spec:
  stages:
    - name: s
      tasks:
${tasks.map((t) => `        - ${t}\n`).join('')}`;
  const stageVariables = (r: { resources: Array<{ kind: string; spec: unknown }> }) =>
    r.resources[0].kind === 'Pipeline' ? (r.resources[0].spec as { stages: Array<{ tasks: Array<{ variables: unknown }> }> }).stages[0].tasks.map((t) => t.variables) : [];

  it('reads numbers and words as YAML 1.2 core does, whether the definitions are valid or not', () => {
    const text = PIPELINE('{ task: t, variables: { a: 0b101, b: +.5, c: 0o17, d: 0x1F, e: yes, f: 1_000, g: True, h: 012, i: 1e3, k: "0x1F" } }');
    const expected = { a: '0b101', b: '0.5', c: '15', d: '31', e: 'yes', f: '1_000', g: 'true', h: '12', i: '1000', k: '0x1F' };
    const valid = parseDefinitions(text, 'p.yaml');
    expect(valid.issues).toEqual([]);
    expect(stageVariables(valid)).toEqual([expected]);
    // The same values beside a problem are read by the parser that reports lines.
    const invalid = parseDefinitions(`${text}---\n${HOST('x', ', port: 0')}`, 'p.yaml');
    expect(invalid.issues.map((i) => i.path)).toEqual(['spec.port']);
    expect(stageVariables(invalid)).toEqual([expected]);
  });

  it('expands anchors within a document, and refuses an alias to another document or an alias bomb naming the file', () => {
    const shared = parseDefinitions(PIPELINE("{ task: t, variables: &vars { version: '1.2' } }", '{ task: u, variables: *vars }'), 'p.yaml');
    expect(shared.issues).toEqual([]);
    expect(stageVariables(shared)).toEqual([{ version: '1.2' }, { version: '1.2' }]);

    const host = (name: string, labels: string) => `apiVersion: ops.dev/v1\nkind: Host\nmetadata: { name: ${name}, labels: ${labels} }\nspec: { address: x, trustOnFirstUse: true }\n`;
    const across = parseDefinitions(`${host('a', '&l { role: web }')}---\n${host('b', '*l')}`, 'h.yaml');
    expect(across.issues).toEqual([expect.objectContaining({ file: 'h.yaml', line: 5, message: expect.stringMatching(/^invalid YAML: Unresolved alias/) })]);

    const rows = ['x: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    const bomb = parseDefinitions(`apiVersion: ops.dev/v1\nkind: Host\nmetadata:\n  name: a\n  labels:\n${rows.map((r) => `    ${r}`).join('\n')}\nspec: { address: x, trustOnFirstUse: true }\n`, 'bomb.yaml');
    expect(bomb.issues).toEqual([expect.objectContaining({ file: 'bomb.yaml', message: expect.stringMatching(/^invalid YAML: Excessive alias count/) })]);
  });

  it('collects problems of every document, each with its own line', () => {
    const text = `${HOST('a', ', port: 0')}---
${HOST('b', ', port: 22, zone: x')}`;
    const issues = parseDefinitions(text, 'm.yaml').issues;
    expect(issues.map((i) => [i.line, i.document, i.path])).toEqual([
      [4, 'Host/a', 'spec.port'],
      [9, 'Host/b', 'spec'],
    ]);
  });

  it('validates a Task with a step needing exactly one of shell, file or kubectl', () => {
    const issues = parseDefinitions(`apiVersion: ops.dev/v1
kind: Task
metadata: { name: t }
spec:
  steps:
    - name: both
      shell: echo
      file: { content: x, destination: /tmp/x }
`).issues;
    expect(issues.map((i) => [i.line, i.path, i.message])).toEqual([[6, 'spec.steps[0]', 'a step needs exactly one of shell (a script), file (a transfer) or kubectl (a call to the cluster API)']]);
  });
});

describe('Task batches', () => {
  const task = (batch: string) => `apiVersion: ops.dev/v1
kind: Task
metadata: { name: t }
spec:
  batch: ${batch}
  steps: [{ shell: "true" }]
`;

  it('refuses a batch size of no hosts, which would mean something else than it says', () => {
    for (const size of ['0', '"0%"']) {
      expect(parseDefinitions(task(`{ size: ${size} }`), 'm.yaml').issues.map((i) => [i.path, i.message])).toEqual([['spec.batch.size', 'must be at least 1 host or above 0%']]);
    }
  });

  it('takes a canary alone, the rest going at once after it', () => {
    expect(parseDefinitions(task('{ canary: 1 }'), 'm.yaml').issues).toEqual([]);
  });
});

describe('Task reference checking (checkTaskReferences)', () => {
  const task = (steps: string, extra = '') => `apiVersion: ops.dev/v1
kind: Task
metadata: { name: t }
spec:
  variables:
    - { name: version }
  results:
    - { name: freed }
${extra}  steps:
${steps}`;

  it('accepts variables, host fields and labels, run.id, task.name, earlier steps and declared results', () => {
    const { issues } = parseDefinitions(
      task(`    - name: first
      shell: echo \${version} \${host.name} \${host.address} \${host.port} \${host.username} \${host.cluster} \${host.labels.zone} \${host.labels.topology.kubernetes.io.zone} \${run.id} \${task.name} \${results.freed}
    - name: second
      when: \${steps.first.exitCode} == 0 && \${steps.first.status} == succeeded
      file: { content: "\${results.freed}", destination: "/tmp/\${host.name}", owner: "app:app" }
`),
    );
    expect(issues).toEqual([]);
  });

  it('accepts a templated file owner, as the step renders it', () => {
    const { issues } = parseDefinitions(task(`    - file: { content: x, destination: /tmp/x, owner: "\${version}" }\n`));
    expect(issues).toEqual([]);
  });

  it('accepts ${host.labels.<prefixed key>}', () => {
    const { issues } = parseDefinitions(task(`    - shell: echo \${host.labels.kubernetes.io/arch}\n`));
    expect(issues).toEqual([]);
  });

  it('refuses an unknown ${x} and names field, line and the $${ escape', () => {
    const issues = parseDefinitions(task(`    - shell: |\n        echo ok\n        echo \${HOME}\n`), 'task.yaml').issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'task.yaml', document: 'Task/t', path: 'spec.steps[0].shell', line: 10 });
    expect(issues[0].message).toContain('unknown variable "${HOME}" (variables: version;');
    expect(issues[0].message).toContain('write $${HOME} to pass it to the shell');
  });

  it('accepts $${HOME} for the shell', () => {
    expect(parseDefinitions(task(`    - shell: echo $\${HOME}\n`)).issues).toEqual([]);
  });

  it('refuses steps.<step> of a later step, of the step itself and of an unknown step', () => {
    const issues = parseDefinitions(
      task(`    - name: a
      when: \${steps.b.exitCode} == 0
      shell: echo \${steps.a.status}
    - name: b
      shell: echo \${steps.zzz.exitCode}
`),
    ).issues;
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['spec.steps[0].shell', '"${steps.a.status}" names step "a", which does not run before this one'],
      ['spec.steps[0].when', '"${steps.b.exitCode}" names step "b", which does not run before this one'],
      ['spec.steps[1].shell', '"${steps.zzz.exitCode}" names step "zzz", which does not run before this one'],
    ]);
  });

  it('refuses results.<name> not declared in results', () => {
    const issues = parseDefinitions(task(`    - shell: echo \${results.version}\n`)).issues;
    expect(issues.map((i) => i.message)).toEqual(['"${results.version}" names result "version", which the task does not declare in results']);
  });

  it('refuses a when that compares the name of a value instead of the value, or is one word that is always true', () => {
    const issues = parseDefinitions(
      task(`    - name: a
      shell: "true"
    - when: steps.a.exitCode != 0
      shell: echo
    - when: version == '1.2'
      shell: echo
    - when: maybe
      shell: echo
    - when: \${version} == 1.2 && \${steps.a.status} == succeeded || true
      shell: echo
`),
    ).issues;
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['spec.steps[1].when', `"steps.a.exitCode" is compared as the text "steps.a.exitCode", not its value: write \${steps.a.exitCode} (or 'steps.a.exitCode' to mean the text)`],
      ['spec.steps[2].when', `"version" is compared as the text "version", not its value: write \${version} (or 'version' to mean the text)`],
      ['spec.steps[3].when', '"maybe" alone is always true: compare a value, e.g. ${name} == maybe'],
    ]);
  });

  it('refuses an invalid reference or expression in a step', () => {
    const issues = parseDefinitions(
      task(`    - shell: echo \${a b}
    - when: \${version} ==
      shell: echo
`),
    ).issues;
    expect(issues.map((i) => i.path)).toEqual(['spec.steps[0].shell', 'spec.steps[1].when']);
  });

  it('checks file source, destination and owner too', () => {
    const problems = checkTaskReferences({
      variables: [],
      results: [],
      steps: [{ name: 's', file: { source: '${src}', destination: '${dst}', owner: '${own}' } }],
    });
    expect(problems.map((p) => p.path.join('.'))).toEqual(['steps.0.file.source', 'steps.0.file.destination', 'steps.0.file.owner']);
  });

  // Gap (model/scope.ts:65 / model/expression.ts:161): a literal regex that cannot compile passes
  // validation, then every host fails at run time with "Invalid regular expression".
  it('refuses a when with a literal =~ pattern that is not a valid regular expression', () => {
    const problems = checkTaskReferences({ variables: [{ name: 'v' }], results: [], steps: [{ name: 's', shell: 'true', when: "${v} =~ '[a-'" }] });
    expect(problems).toHaveLength(1);
  });

  it('refuses duplicate step names', () => {
    const issues = parseDefinitions(task(`    - { name: a, shell: 'true' }\n    - { name: a, shell: 'true' }\n`)).issues;
    expect(issues.map((i) => [i.path, i.message])).toEqual([['spec.steps[1].name', 'duplicate step name "a"']]);
  });
});

describe('validateResource', () => {
  it('names the document even when the spec is missing', () => {
    const { issues } = validateResource({ apiVersion: 'ops.dev/v1', kind: 'Cluster', metadata: { name: 'eu-1' } });
    expect(issues.map((i) => [i.document, i.path, i.message])).toEqual([['Cluster/eu-1', 'spec', 'is required']]);
  });

  it('requires a host key for SSH hosts unless trustOnFirstUse, and not for local ones', () => {
    const host = (spec: object) => validateResource({ apiVersion: 'ops.dev/v1', kind: 'Host', metadata: { name: 'h' }, spec: { address: 'a', ...spec } });
    expect(host({}).issues.map((i) => i.path)).toEqual(['spec.hostKey']);
    expect(host({ trustOnFirstUse: true }).issues).toEqual([]);
    expect(host({ hostKey: 'SHA256:' + 'A'.repeat(43) }).issues).toEqual([]);
    expect(host({ connection: 'local' }).issues).toEqual([]);
  });
});

describe('loadResources', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-load-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };

  it('reads a directory recursively, in sorted order, ignoring other files', () => {
    write('z.yaml', HOST('z'));
    write('b/two.yml', HOST('b2'));
    write('b/a/one.yaml', HOST('b1'));
    write('a.json', JSON.stringify({ apiVersion: 'ops.dev/v1', kind: 'Cluster', metadata: { name: 'eu' }, spec: {} }));
    write('README.md', 'not yaml: [');
    write('b/notes.txt', 'junk');
    const loaded = loadResources([dir]);
    expect(loaded.map((l) => [l.resource.metadata.name, l.file])).toEqual([
      ['eu', join(dir, 'a.json')],
      ['b1', join(dir, 'b/a/one.yaml')],
      ['b2', join(dir, 'b/two.yml')],
      ['z', join(dir, 'z.yaml')],
    ]);
    expect(definitionFiles([dir])).toEqual(loaded.map((l) => l.file));
  });

  it('reads a single file given directly, whatever its extension', () => {
    write('hosts.conf', HOST('h'));
    expect(loadResources([join(dir, 'hosts.conf')]).map((l) => l.resource.metadata.name)).toEqual(['h']);
  });

  it('throws one ValidationError naming every file and line', () => {
    write('a.yaml', HOST('a', ', port: -1'));
    write('b.yaml', `${HOST('ok')}---\nkind: Host\n`);
    let error: unknown;
    try {
      loadResources([dir]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues;
    expect(issues.map((i) => [i.file, i.line])).toEqual([
      [join(dir, 'a.yaml'), 4],
      [join(dir, 'b.yaml'), 6],
    ]);
    expect((error as Error).message).toContain(`${join(dir, 'a.yaml')}:4: Host/a: spec.port:`);
  });

  it('refuses a path that does not exist', () => {
    expect(() => loadResources([join(dir, 'nope')])).toThrow(ValidationError);
    expect(() => loadResources([join(dir, 'nope')])).toThrow(`${join(dir, 'nope')}: no such file or directory`);
  });

  it('resolves file-step paths on the worker side against the definition file', () => {
    write(
      'tasks/push.yaml',
      `apiVersion: ops.dev/v1
kind: Task
metadata: { name: push }
spec:
  steps:
    - name: rel
      file: { source: files/nginx.conf, destination: /etc/nginx/nginx.conf }
    - name: up
      file: { source: ../shared/motd, destination: /etc/motd }
    - name: abs
      file: { source: /srv/app.conf, destination: /etc/app.conf }
    - name: inline
      file: { content: "x=1", destination: conf/x }
    - name: pull
      file: { direction: pull, source: /var/log/syslog, destination: collected }
    - name: shell
      shell: cat files/nginx.conf
`,
    );
    const [{ resource }] = loadResources([dir]);
    const steps = (resource as Task).spec.steps;
    const base = resolve(dir, 'tasks');
    expect(steps.map((s) => s.file && { source: s.file.source, destination: s.file.destination })).toEqual([
      { source: join(base, 'files/nginx.conf'), destination: '/etc/nginx/nginx.conf' },
      { source: join(dir, 'shared/motd'), destination: '/etc/motd' },
      { source: '/srv/app.conf', destination: '/etc/app.conf' },
      { source: undefined, destination: 'conf/x' },
      { source: '/var/log/syslog', destination: join(base, 'collected') },
      undefined,
    ]);
    expect(steps[5].shell).toBe('cat files/nginx.conf');
  });

  it('resolves relative to the file even when the directory is given relatively', () => {
    write('t.yaml', `apiVersion: ops.dev/v1
kind: Task
metadata: { name: t }
spec:
  steps:
    - file: { source: a.txt, destination: /tmp/a.txt }
`);
    const cwd = process.cwd();
    process.chdir(join(dir, '..'));
    try {
      const [{ resource }] = loadResources([dir.split('/').pop()!]);
      expect((resource as Task).spec.steps[0].file!.source).toBe(join(dir, 'a.txt'));
    } finally {
      process.chdir(cwd);
    }
  });
});
