/**
 * The CLI loads only the module of the verb it runs (cli/main.ts): the table of verbs must name
 * exactly the commands each module adds, or a verb would be missing when run on its own.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram, COMMANDS, verbOf } from '../../cli/main';
import { loadKeyRing } from '../../workers/codec';

const names = async (verb?: string) => (await buildProgram(verb)).commands.map((c) => c.name()).sort();

describe('the CLI command table', () => {
  it.each(COMMANDS.map((c) => [c.verbs.join(', '), c.verbs]))('each verb of %s loads the module that adds exactly those commands', async (_, verbs) => {
    for (const verb of verbs as string[]) expect(await names(verb)).toEqual([...(verbs as string[])].sort());
  });

  it('without a known verb (help, flags first, a typo) every command is there, each once', async () => {
    const all = COMMANDS.flatMap((c) => c.verbs).sort();
    expect(new Set(all).size).toBe(all.length);
    for (const argv2 of [undefined, '--help', '--address', 'runn']) expect(await names(argv2)).toEqual(all);
  });

  it('finds the verb after the global options, so only its module loads', () => {
    const verb = (...args: string[]) => verbOf(['node', 'ops', ...args]);
    expect(verb('run', '-f', 'x.yaml')).toBe('run');
    expect(verb('--address', '127.0.0.1:7233', 'run', '-f', 'x.yaml')).toBe('run');
    expect(verb('--address=127.0.0.1:7233', '--nats', 'off', 'logs', 'r1')).toBe('logs');
    expect(verb('--namespace', 'run', 'get', 'runs')).toBe('get'); // a value that looks like a verb is still a value
    expect(verb('--help')).toBeUndefined();
    expect(verb('--address', 'x:1', '--help')).toBeUndefined();
    expect(verb('--bogus', 'run')).toBeUndefined();
    expect(verb()).toBeUndefined();
  });
});

const OPS = join(__dirname, '..', '..', 'bin', 'ops');

describe('ops as a program', () => {
  it('ends quietly with 141 when its reader goes away (ops logs RUN | head), not with an EPIPE stack trace', async () => {
    const child = spawn(OPS, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 141, stderr: '' });
  });
});

describe('ops validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-validate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const validate = (...files: string[]) => spawnSync(OPS, ['validate', ...files.flatMap((f) => ['-f', f])], { encoding: 'utf8' });
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const hosts = write('hosts.yaml', 'apiVersion: ops.dev/v1\nkind: Host\nmetadata: { name: web-1, labels: { role: web } }\nspec: { address: 10.0.0.1, trustOnFirstUse: true }\n');
  const task = (name: string, variables: string) =>
    `apiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: ${name} }\nspec:\n  targets: { selector: role=web }\n  variables: ${variables}\n  steps: [{ name: s, shell: 'echo \${token}' }]\n`;

  it('passes the examples, and a task whose required variable comes with --var at run time', () => {
    expect(validate(join(__dirname, '..', '..', 'examples'))).toMatchObject({ status: 0, stdout: expect.stringMatching(/^valid: 1 host, 1 cluster, 4 tasks, 2 pipelines/) });
    expect(validate(hosts, write('deploy.yaml', task('deploy', '[{ name: token, required: true, secret: true }]')))).toMatchObject({ status: 0, stderr: '' });
  });

  it('fails (exit 2) what could not start, each problem with its file, document and field, and says nothing is valid', () => {
    const pipeline = write(
      'pipeline.yaml',
      `${task('probe', '[{ name: token, required: true }]')}---\napiVersion: ops.dev/v1\nkind: Pipeline\nmetadata: { name: check }\nspec:\n  stages:\n    - name: one\n      tasks: [{ task: probe }, { task: prbe }]\n`,
    );
    const r = validate(hosts, pipeline);
    expect([r.status, r.stdout]).toEqual([2, '']);
    expect(r.stderr.split('\n')).toEqual([
      'invalid input:',
      `  ${pipeline}: Pipeline/check: spec.stages[0].tasks[0].variables.token: Task/probe requires variable "token"; set it here or declare a pipeline variable of that name`,
      `  ${pipeline}: Pipeline/check: spec.stages[0].tasks[1].task: names Task "prbe", which is not defined; did you mean "probe"?`,
      '',
    ]);
    expect(validate(write('alone.yaml', task('alone', '[{ name: token, default: t }]')))).toMatchObject({ status: 2, stderr: expect.stringContaining('alone.yaml: Task/alone: spec.targets: match no hosts (selector role=web)') });
  });
});

describe('ops shell and ops file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-adhoc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const hosts = join(dir, 'hosts.yaml');
  writeFileSync(hosts, 'apiVersion: ops.dev/v1\nkind: Host\nmetadata: { name: web-1 }\nspec: { address: 10.0.0.1, trustOnFirstUse: true }\n');
  // Nothing listens there: bad input is refused before Temporal is needed.
  const ops = (...args: string[]) => spawnSync(OPS, ['--address', '127.0.0.1:1', ...args], { encoding: 'utf8' });

  it('name a bad value by the flag or argument it was typed as, not by a field of their task', () => {
    const push = ops('file', 'push', '--hosts', 'web-1', '-f', hosts, hosts, '/tmp/x', '--mode', '99', '--owner', 'a b');
    expect([push.status, push.stderr.split('\n')]).toEqual([
      2,
      [
        'invalid input:',
        '  ops file push: --mode: must be an octal mode such as "0644"',
        '  ops file push: --owner: must be "user" or "user:group" (variables allowed)',
        '',
      ],
    ]);
    const pull = ops('file', 'pull', '--hosts', 'web-1', '-f', hosts, '/etc/hostname', join(dir, '${d}'));
    expect([pull.status, pull.stderr]).toEqual([2, expect.stringContaining('ops file pull: <directory>: unknown variable "${d}"')]);
    const shell = ops('shell', '--hosts', 'web-1', '-f', hosts, '--', 'echo', '${x}');
    expect([shell.status, shell.stderr]).toEqual([2, expect.stringContaining('ops shell: <command>: unknown variable "${x}"')]);
  });
});

describe('ops apply and ops validate', () => {
  it('refuse nothing to apply or check (an empty directory, a file of comments); apply before it asks the server', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-apply-'));
    try {
      writeFileSync(join(dir, 'notes.yaml'), '# nothing yet\n');
      const r = spawnSync(OPS, ['--server', 'http://127.0.0.1:1', 'apply', '-f', dir], { encoding: 'utf8' });
      expect([r.status, r.stdout, r.stderr]).toEqual([2, '', `error: no definitions in ${dir}\n`]);
      const v = spawnSync(OPS, ['validate', '-f', dir], { encoding: 'utf8' });
      expect([v.status, v.stdout, v.stderr]).toEqual([2, '', `error: no definitions in ${dir}\n`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ops run', () => {
  const examples = join(__dirname, '..', '..', 'examples');
  // Nothing listens there: a flag that cannot apply is refused before Temporal or a server is asked.
  const run = (...args: string[]) => spawnSync(OPS, ['--address', '127.0.0.1:1', '--server', 'http://127.0.0.1:1', 'run', ...args], { encoding: 'utf8' });

  it('refuses --cluster for a pipeline and --idempotency-key for a run from files, instead of ignoring them, and says how to run without a server', () => {
    for (const r of [run('-f', examples, '--pipeline', 'node-health', '--cluster', 'gpu'), run('pipeline', 'node-health', '--cluster', 'gpu')]) {
      expect([r.status, r.stderr]).toEqual([2, "error: --cluster goes with a task run; a pipeline's stages name their clusters\n"]);
    }
    const noServer = spawnSync(OPS, ['run', 'pipeline', 'node-health'], { encoding: 'utf8', env: { ...process.env, OPS_SERVER: '', OPS_CLI_CONFIG: join(tmpdir(), 'no-such-ops-config.yaml') } });
    expect([noServer.status, noServer.stderr]).toEqual([2, expect.stringContaining('without one: ops run -f FILES --pipeline node-health')]);
    const keyed = run('-f', examples, '--task', 'collect-facts', '--idempotency-key', 'k1');
    expect([keyed.status, keyed.stderr]).toEqual([2, expect.stringContaining('error: --idempotency-key needs the Ops server')]);
  });

  it('refuses a --var given twice instead of taking one of the values, and prints neither', () => {
    const r = run('-f', examples, '--task', 'collect-facts', '--var', 'token=first-value', '--var', 'token=second-value');
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', 'error: --var token: given twice; give each variable once\n']);
  });
});

describe('ops codec keys', () => {
  it('lists the ring as json for scripts, ids and which is active, never key material', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-codec-'));
    try {
      const file = join(dir, 'codec-keys.json');
      const first = loadKeyRing(file, { create: true }).active;
      const ops = (...args: string[]) => spawnSync(OPS, ['codec', ...args], { encoding: 'utf8', env: { ...process.env, OPS_CODEC_KEYS_FILE: file } });
      const added = /^key (k\S+) added/.exec(ops('rotate', '--inactive').stdout)?.[1];
      const keys = ops('keys', '-o', 'json');
      expect([keys.status, JSON.parse(keys.stdout)]).toEqual([0, { items: [{ id: first, active: true }, { id: added, active: false }] }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ops events', () => {
  // Nothing listens there: a bad flag is refused before NATS is asked, as the server refuses it.
  const events = (...args: string[]) => spawnSync(OPS, ['--nats', 'nats://127.0.0.1:1', 'events', ...args], { encoding: 'utf8' });

  it('refuses a subject outside the event streams and a limit that is not a count (exit 2), naming the flag', () => {
    expect([events('--subject', 'foo.bar').status, events('--subject', 'foo.bar').stderr]).toEqual([2, 'error: --subject foo.bar: must lie within the event subjects ops.clusters.>, ops.approvals.>\n']);
    expect(events('--subject', 'ops..x')).toMatchObject({ status: 2, stderr: expect.stringContaining('error: --subject ops..x: "" is not a subject token') });
    for (const limit of ['abc', '-5', '0']) expect(events('--limit', limit)).toMatchObject({ status: 2, stderr: expect.stringContaining(`argument '${limit}' is invalid`) });
  });
});

describe('ops up --help', () => {
  it('says the stack includes the Ops API, which it starts', () => {
    // Commander wraps help at 80 columns.
    expect(spawnSync(OPS, ['up', '--help'], { encoding: 'utf8' }).stdout.replace(/\s+/g, ' ')).toContain('Temporal, NATS, a worker and the Ops API (:8080)');
  });
});
