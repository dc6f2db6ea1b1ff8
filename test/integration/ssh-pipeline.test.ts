// Pipelines, task runs and ad-hoc commands over real sshd hosts, driven through the `ops` CLI as a user would.
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { startStack, workerLogs, type TestStack, type WorkerProcess } from '../harness/stack';
import type { RunOutcome } from '../../workers/runs';
import type { HostResult } from '../../model/run';
import { readLogs } from '../../api/logs';
import { until } from '../harness/until';

let stack: TestStack;
let worker: WorkerProcess;
let hostsFile: string;

beforeAll(async () => {
  stack = await startStack({ count: 3 });
  hostsFile = stack.writeFile('hosts.yaml', stack.hostsYaml());
  worker = stack.startWorker();
  await worker.ready;
});

afterAll(async () => {
  await stack?.stop();
});

const TASKS = `
apiVersion: ops.dev/v1
kind: Task
metadata: { name: write-config }
spec:
  targets: { selector: role=fleet }
  concurrency: 3
  variables:
    - { name: greeting, default: hello, regex: '[a-z]+' }
  results:
    - { name: version }
    - { name: state }
  steps:
    - name: dir
      shell: mkdir -p it/\${host.name}
    - name: push
      file:
        content: "greeting=\${greeting}\\nhost=\${host.name}\\n"
        destination: it/\${host.name}/app.conf
        mode: "0640"
    - name: read
      shell: |
        cat it/\${host.name}/app.conf
        echo "::result version=v-\$(grep -c = it/\${host.name}/app.conf)"
    - name: check
      shell: |
        echo "::result state=drifted"
        exit 3
      allowFailure: true
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: use-result }
spec:
  targets: { selector: role=fleet }
  variables:
    - { name: seen, required: true }
  steps:
    - name: record
      shell: echo "\${seen}" > it/\${host.name}/seen
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: configure }
spec:
  variables:
    - { name: greeting, default: hi }
  stages:
    - name: write
      tasks: [{ task: write-config }]
    - name: use
      tasks:
        - task: use-result
          variables: { seen: "\${tasks.write-config.results.version} \${tasks.write-config.results.state}" }
`;

function hostsOf(outcome: RunOutcome): HostResult[] {
  return outcome.kind === 'task' ? outcome.result.hosts : outcome.result.stages.flatMap((s) => s.tasks.flatMap((t) => t.hosts));
}

/** A try of the run's step found `host` unreachable, and the run now waits out retryDelaySeconds. */
async function untilRetryDelay(runId: string, host: string): Promise<void> {
  await until(
    `a try that found ${host} unreachable`,
    async () => (await stack.client.workflow.getHandle(runId).fetchHistory()).events ?? [],
    (events) => events.some((e) => e.activityTaskFailedEventAttributes) && events.some((e) => e.timerStartedEventAttributes),
    { context: () => workerLogs(stack) },
  );
}

async function runJson(args: string[]): Promise<{ code: number; outcome: RunOutcome & { runId: string }; stderr: string }> {
  const r = await stack.ops([...args, '--watch', '-o', 'json']);
  if (!r.stdout.trim()) throw new Error(`no JSON from ops ${args.join(' ')} (exit ${r.code}):\n${r.stderr}\n${workerLogs(stack)}`);
  return { code: r.code, outcome: JSON.parse(r.stdout), stderr: r.stderr };
}

test('a pipeline over 3 hosts pushes a file, runs shell and hands results to the next stage, also one a failing step printed', async () => {
  const tasks = stack.writeFile('tasks.yaml', TASKS);
  const { code, outcome, stderr } = await runJson(['run', '-f', hostsFile, '-f', tasks, '--pipeline', 'configure', '--var', 'greeting=howdy']);
  expect(stderr).toContain('stage write');
  expect(code).toBe(0);
  expect(outcome.result.status).toBe('succeeded');
  const hosts = hostsOf(outcome);
  expect(hosts).toHaveLength(6);
  expect(hosts.every((h) => h.status === 'succeeded')).toBe(true);
  for (const host of stack.fleet.hosts) {
    const conf = await stack.fleet.exec(host.name, `cat it/${host.name}/app.conf; stat -c %a it/${host.name}/app.conf; cat it/${host.name}/seen`);
    expect(conf.stdout).toBe(`greeting=howdy\nhost=${host.name}\n640\nv-2 drifted\n`);
  }
  // The full output went to NATS, under the run and the host.
  const nc = await stack.natsConnection();
  const lines: string[] = [];
  for await (const chunk of readLogs(nc, outcome.runId, { host: 'host-2', follow: false })) lines.push(chunk.text);
  await nc.close();
  expect(lines.join('')).toContain('greeting=howdy\nhost=host-2\n');
  // A second run finds the file already in place.
  const again = await runJson(['run', '-f', hostsFile, '-f', tasks, '--task', 'write-config', '--var', 'greeting=howdy']);
  const push = again.outcome.kind === 'task' ? again.outcome.result.hosts[0].steps.find((s) => s.step === 'push') : undefined;
  expect(push?.changed).toBe(false);
});

test('a result of 12 KB reaches the next stage whole over SSH; one over 16 KB fails its step saying so, not silently', async () => {
  const file = stack.writeFile(
    'big-results.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: print-results }
spec:
  targets: { hosts: [host-1] }
  variables: [{ name: size, default: "12000" }]
  results: [{ name: blob }]
  steps:
    - name: print
      shell: printf '::result blob=%s\\n' "$(head -c \${size} /dev/zero | tr '\\0' b)"
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: measure }
spec:
  targets: { hosts: [host-2] }
  variables: [{ name: blob, required: true }]
  steps:
    - name: count
      shell: printf %s "\${blob}" | wc -c > it/blob-size
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: hand-over }
spec:
  variables: [{ name: size, default: "12000" }]
  stages:
    - { name: print, tasks: [{ task: print-results }] }
    - { name: measure, tasks: [{ task: measure, variables: { blob: "\${tasks.print-results.results.blob}" } }] }
`,
  );
  const { code, outcome } = await runJson(['run', '-f', hostsFile, '-f', file, '--pipeline', 'hand-over']);
  expect([code, outcome.result.status]).toEqual([0, 'succeeded']);
  expect((await stack.fleet.exec('host-2', 'cat it/blob-size')).stdout.trim()).toBe('12000');
  const tooBig = await runJson(['run', '-f', hostsFile, '-f', file, '--task', 'print-results', '--var', 'size=20000']);
  expect(tooBig.code).toBe(1);
  expect(hostsOf(tooBig.outcome)[0]).toMatchObject({ status: 'failed', exitCode: 0 });
  expect(hostsOf(tooBig.outcome)[0].message).toBe('step print: ::result blob: longer than the 16384 bytes a result may hold, so not kept; write large data to a file and pass its path');
});

test('a finally stage that fails makes the run failed, and a later finally stage\'s ${run.status} says so', async () => {
  const file = stack.writeFile(
    'finally.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: note }
spec:
  targets: { hosts: [host-3] }
  variables: [{ name: what, required: true }]
  steps: [{ name: write, shell: 'mkdir -p it && echo "\${what}" > it/finally-status' }]
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: broken-cleanup }
spec:
  targets: { hosts: [host-3] }
  steps: [{ name: clean, shell: 'exit 4' }]
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: clean-up-after }
spec:
  stages:
    - { name: work, tasks: [{ task: note, name: work, variables: { what: working } }] }
  finally:
    - { name: clean, tasks: [{ task: broken-cleanup }] }
    - { name: tell, tasks: [{ task: note, variables: { what: "run \${run.status}" } }] }
`,
  );
  const { code, outcome } = await runJson(['run', '-f', hostsFile, '-f', file, '--pipeline', 'clean-up-after']);
  expect([code, outcome.result.status, outcome.result.reason]).toEqual([1, 'failed', 'finally stage clean failed: broken-cleanup: 1 of 1 hosts failed (maxFailures 0): host-3 failed (exit 4)']);
  expect((await stack.fleet.exec('host-3', 'cat it/finally-status')).stdout).toBe('run failed\n');
});

test('a non-zero exit is reported with its code while the other hosts succeed', async () => {
  const file = stack.writeFile(
    'exit.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: exit-on-two }
spec:
  targets: { all: true }
  maxFailures: 1
  steps:
    - name: maybe-fail
      shell: |
        echo "checking \${host.name}"
        if [ "\${host.name}" = host-2 ]; then sleep 0.4; echo "disk full" >&2; exit 7; fi
`,
  );
  const { code, outcome } = await runJson(['run', '-f', hostsFile, '-f', file, '--task', 'exit-on-two']);
  const byHost = Object.fromEntries(hostsOf(outcome).map((h) => [h.host, h]));
  expect(byHost['host-2']).toMatchObject({ status: 'failed', exitCode: 7 });
  // How long the failing step ran is kept as for a step that succeeds.
  expect(byHost['host-2'].steps[0].durationMs).toBeGreaterThanOrEqual(400);
  expect(byHost['host-2'].message).toContain('exit code 7: disk full');
  expect(byHost['host-1'].status).toBe('succeeded');
  expect(byHost['host-3'].status).toBe('succeeded');
  // One failure is within maxFailures 1: the run succeeds but says so.
  expect(outcome.result.status).toBe('succeeded');
  expect(outcome.result.reason).toContain('1 of 3 hosts failed');
  expect(code).toBe(0);
});

test('a stopped host is unreachable and a wrong host key is refused, while the others succeed', async () => {
  const keys = stack.fleet.hosts.map((h) => h.hostKeyFingerprint);
  // host-3 is told to expect host-1's key.
  const hosts = stack.writeFile('hosts-wrong-key.yaml', stack.hostsYaml((_h, i) => (i === 2 ? { hostKey: keys[0] } : {})));
  const task = stack.writeFile(
    'uptime.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: uptime }
spec:
  targets: { selector: role=fleet }
  steps: [{ name: uptime, shell: uptime }]
`,
  );
  await stack.fleet.stopHost('host-1');
  try {
    const { code, outcome } = await runJson(['run', '-f', hosts, '-f', task, '--task', 'uptime']);
    const byHost = Object.fromEntries(hostsOf(outcome).map((h) => [h.host, h]));
    expect(byHost['host-1'].status).toBe('unreachable');
    expect(byHost['host-1'].message).toContain('ECONNREFUSED');
    expect(byHost['host-2'].status).toBe('succeeded');
    expect(byHost['host-3'].status).toBe('hostKeyRejected');
    expect(byHost['host-3'].message).toContain(`expects ${keys[0]}`);
    expect(outcome.result.status).toBe('failed');
    expect(code).toBe(1);
  } finally {
    await stack.fleet.startHost('host-1');
  }
});

test('a host that comes back within a step\'s retries (a reboot) runs the step on a later try, once', async () => {
  const task = stack.writeFile(
    'after-reboot.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: after-reboot }
spec:
  targets: { hosts: [host-2] }
  steps:
    - name: back
      shell: echo "back in \${run.id}" | tee -a "$HOME/it-after-reboot.count"
      retries: 5
      retryDelaySeconds: 2
`,
  );
  await stack.fleet.stopHost('host-2');
  let runId: string;
  try {
    const started = await stack.ops(['run', '-f', hostsFile, '-f', task, '--task', 'after-reboot', '-o', 'json']);
    runId = (JSON.parse(started.stdout) as { runId: string }).runId;
    await untilRetryDelay(runId, 'host-2');
  } finally {
    await stack.fleet.startHost('host-2');
  }
  const watched = await stack.ops(['watch', runId, '-o', 'json']);
  expect(watched.code).toBe(0);
  const outcome = JSON.parse(watched.stdout) as RunOutcome;
  const [host] = hostsOf(outcome);
  expect(host).toMatchObject({ host: 'host-2', status: 'succeeded' });
  expect(host.steps[0].attempts).toBeGreaterThan(1);
  const count = readFileSync(join(stack.fleet.home, 'it-after-reboot.count'), 'utf8');
  expect(count.split('\n').filter((line) => line === `back in ${runId}`)).toHaveLength(1);
  // The later try's output reached the run's log, once.
  const logs = await stack.ops(['logs', runId, '--host', 'host-2']);
  expect([logs.code, logs.stdout]).toEqual([0, `back in ${runId}\n`]);
});

test('a host cut off mid-step and back within its retries: the retry takes up the script that went on running there, not a second copy', async () => {
  const count = join(stack.fleet.home, 'it-cut-off.count');
  const task = stack.writeFile(
    'cut-off.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: cut-off }
spec:
  targets: { hosts: [host-3] }
  steps:
    - name: long
      shell: |
        echo "start \${run.id}" | tee -a "$HOME/it-cut-off.count"
        sleep 6
        echo "end \${run.id}" | tee -a "$HOME/it-cut-off.count"
      retries: 3
      retryDelaySeconds: 2
`,
  );
  const started = await stack.ops(['run', '-f', hostsFile, '-f', task, '--task', 'cut-off', '-o', 'json']);
  const runId = (JSON.parse(started.stdout) as { runId: string }).runId;
  try {
    await until('the script to start on host-3', async () => (existsSync(count) ? readFileSync(count, 'utf8') : ''), (text) => text.includes(`start ${runId}`));
    await stack.fleet.cutOff('host-3');
    await untilRetryDelay(runId, 'host-3');
  } finally {
    await stack.fleet.startHost('host-3');
  }
  const watched = await stack.ops(['watch', runId, '-o', 'json']);
  const [host] = hostsOf(JSON.parse(watched.stdout) as RunOutcome);
  expect(host).toMatchObject({ host: 'host-3', status: 'succeeded' });
  expect(host.steps[0].attempts).toBeGreaterThan(1);
  expect(watched.code).toBe(0);
  const lines = readFileSync(count, 'utf8').split('\n').filter((line) => line.endsWith(runId));
  expect(lines).toEqual([`start ${runId}`, `end ${runId}`]);
  // The run's log has the script's output once, across the tries.
  const logs = await stack.ops(['logs', runId, '--host', 'host-3']);
  expect([logs.code, logs.stdout]).toEqual([0, `start ${runId}\nend ${runId}\n`]);
});

test('a step that times out is killed on the host, with everything it started', async () => {
  const file = stack.writeFile(
    'slow.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: slow }
spec:
  targets: { hosts: [host-1] }
  steps:
    - name: hang
      timeoutSeconds: 2
      shell: |
        echo started
        sleep 301 &
        sleep 302
`,
  );
  const started = Date.now();
  const { code, outcome } = await runJson(['run', '-f', hostsFile, '-f', file, '--task', 'slow']);
  expect(code).toBe(1);
  const [host] = hostsOf(outcome);
  expect(host.status).toBe('timedOut');
  expect(host.message).toContain('timed out after 2s');
  expect(host.steps[0].durationMs).toBeGreaterThanOrEqual(2000);
  expect(Date.now() - started).toBeLessThan(60_000);
  const left = await stack.fleet.exec('host-1', 'pgrep -u opsfleet -f "sleep 30[12]" || echo none');
  expect(left.stdout.trim()).toBe('none');
});

test('a script that ends but leaves a background process holding its output is told apart from a slow script', async () => {
  const file = stack.writeFile(
    'background.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: background }
spec:
  targets: { hosts: [host-1] }
  steps:
    - name: start-daemon
      timeoutSeconds: 2
      shell: |
        sleep 303 &
        echo started
`,
  );
  const { code, outcome } = await runJson(['run', '-f', hostsFile, '-f', file, '--task', 'background']);
  expect(code).toBe(1);
  const [host] = hostsOf(outcome);
  expect(host.status).toBe('timedOut');
  expect(host.message).toContain('timed out after 2s; the script itself had ended (exit code 0), but a process it started in the background kept its output open');
  expect((await stack.fleet.exec('host-1', 'pgrep -u opsfleet -f "sleep 30[3]" || echo none')).stdout.trim()).toBe('none');
});

test('a secret variable is masked in output and never in clear in workflow history', async () => {
  const secret = 'hunter2-Sx9q';
  const file = stack.writeFile(
    'secret.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: use-token }
spec:
  targets: { hosts: [host-1, host-2] }
  variables:
    - { name: token, secret: true, required: true }
  steps:
    - name: login
      shell: |
        echo "logging in with token=\${token}"
        test "\${token}" = ${secret}
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: with-secret }
spec:
  variables: [{ name: token, secret: true, required: true }]
  stages: [{ name: login, tasks: [{ task: use-token }] }]
`,
  );
  const secretFile = stack.writeFile('token.txt', `${secret}\n`);
  const { code, outcome } = await runJson(['run', '-f', hostsFile, '-f', file, '--pipeline', 'with-secret', '--var', `token=@${secretFile}`]);
  expect(code).toBe(0);
  const nc = await stack.natsConnection();
  let published = '';
  for await (const chunk of readLogs(nc, outcome.runId, { follow: false })) published += chunk.text;
  await nc.close();
  expect(published).toContain('logging in with token=***');
  expect(published).not.toContain(secret);
  // Raw histories of the run and its children, as the server stores them.
  const ids = [outcome.runId, `${outcome.runId}.use-token`];
  for (const workflowId of ids) {
    const history = await stack.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
    const raw = Buffer.from(JSON.stringify(history.history));
    expect(history.history?.events?.length).toBeGreaterThan(3);
    for (const form of [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')]) expect(raw.includes(form)).toBe(false);
  }
});

test('${name|quote} hands a value to the shell as one word, whatever it holds', async () => {
  const value = `it's $HOME "quoted" $(echo no) \`id\` * ;|&`;
  const file = stack.writeFile(
    'quoted.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: quoted }
spec:
  targets: { hosts: [host-1] }
  variables: [{ name: text, required: true }]
  steps:
    - name: write
      shell: mkdir -p it && printf '%s' \${text|quote} > it/quoted
`,
  );
  const { code } = await runJson(['run', '-f', hostsFile, '-f', file, '--task', 'quoted', '--var', `text=@${stack.writeFile('text.txt', value)}`]);
  expect(code).toBe(0);
  expect((await stack.fleet.exec('host-1', 'cat it/quoted')).stdout).toBe(value);
});

test('bad YAML and a bad variable are rejected with the file and field named, and nothing starts', async () => {
  const before = await countRuns();
  const bad = stack.writeFile('bad.yaml', `apiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: bad }\nspec:\n  steps:\n    - name: x\n      shell: echo\n      timeoutSeconds: soon\n`);
  const r1 = await stack.ops(['run', '-f', hostsFile, '-f', bad, '--task', 'bad']);
  expect(r1.code).toBe(2);
  expect(r1.stderr).toMatch(/bad\.yaml:8: Task\/bad: spec\.steps\[0\]\.timeoutSeconds: /);
  const broken = stack.writeFile('broken.yaml', `apiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: [unclosed\n`);
  const r2 = await stack.ops(['run', '-f', broken, '--task', 'x']);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toMatch(/broken\.yaml:\d+:\d+: invalid YAML/);
  const tasks = stack.writeFile('tasks-for-var.yaml', TASKS);
  const r3 = await stack.ops(['run', '-f', hostsFile, '-f', tasks, '--task', 'write-config', '--var', 'greeting=NOT-LOWER']);
  expect(r3.code).toBe(2);
  expect(r3.stderr).toContain('Task/write-config: variables.greeting: "NOT-LOWER" does not match [a-z]+');
  const r4 = await stack.ops(['run', '-f', hostsFile, '-f', tasks, '--task', 'use-result']);
  expect(r4.code).toBe(2);
  expect(r4.stderr).toContain('variables.seen: is required');
  // Bad input is named even when Temporal cannot be reached (nothing listens on port 1).
  const r5 = await stack.ops(['run', '-f', hostsFile, '-f', tasks, '--task', 'write-config', '--var', 'greeting=NOT-LOWER'], { env: { ...stack.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } });
  expect(r5.code).toBe(2);
  expect(r5.stderr).toContain('Task/write-config: variables.greeting: "NOT-LOWER" does not match [a-z]+');
  expect(await countRuns()).toBe(before);
});

test('a Temporal address or NATS URL where nothing listens is named with the reason, not after gRPC\'s 10 s deadline, and exits 5', async () => {
  const tasks = stack.writeFile('tasks-no-temporal.yaml', TASKS);
  const noTemporal = { env: { ...stack.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } };
  // Only the TCP probe knows the reason; gRPC would say "Failed to connect before the deadline".
  const reason = 'cannot reach Temporal at 127.0.0.1:1: ECONNREFUSED, nothing listens there (set --address or TEMPORAL_ADDRESS)';
  const run = await stack.ops(['run', '-f', hostsFile, '-f', tasks, '--task', 'write-config'], noTemporal);
  expect([run.code, run.stderr]).toEqual([5, expect.stringContaining(reason)]);
  const worker = await stack.ops(['worker'], noTemporal);
  expect([worker.code, worker.stderr]).toEqual([5, expect.stringContaining(reason)]);
  // NATS too: the worker names it ("CONNECTION_REFUSED" alone, before), as ops logs does.
  const noNats = { env: { ...stack.env, OPS_NATS_URL: 'nats://127.0.0.1:1' } };
  const natsReason = 'error: cannot reach NATS at nats://127.0.0.1:1: CONNECTION_REFUSED (set --nats or OPS_NATS_URL)';
  for (const args of [['worker'], ['logs', 'some-run']]) {
    const r = await stack.ops(args, noNats);
    expect([r.code, r.stderr.trim()]).toEqual([5, natsReason]);
  }
});

/** `ops run … --watch` of a run that makes no progress, until it says why; the run is terminated after. */
async function watchUntilNoProgress(args: string[], env = stack.env): Promise<string> {
  const watching = new AbortController();
  const r = await stack.ops(['run', ...args, '--watch'], {
    env,
    signal: watching.signal,
    timeoutMs: 60_000,
    onStdout: (soFar) => soFar.includes('not making progress') && watching.abort(),
  });
  const runId = /^run (\S+) started/m.exec(r.stdout)?.[1] ?? '';
  await stack.client.workflow.getHandle(runId).terminate('test cleanup').catch(() => undefined);
  return r.stdout;
}

test('--watch says why a run the worker cannot read makes no progress (the CLI has other codec keys)', async () => {
  const tasks = stack.writeFile('tasks-other-keys.yaml', TASKS);
  const otherKeys = { ...stack.env, OPS_DATA_DIR: join(stack.dir, 'other-data') };
  const stdout = await watchUntilNoProgress(['-f', hostsFile, '-f', tasks, '--task', 'write-config'], otherKeys);
  expect(stdout).toMatch(/! the run is not making progress: its workflow task has failed \d+ time\(s\) on the worker, with an error this process cannot decrypt: the worker and this process do not share a codec key ring/);
});

test('--watch says when no worker polls the queue of a run nobody picks up, and how to start one', async () => {
  const defs = stack.writeFile(
    'nowhere.yaml',
    `apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: nowhere }
spec: {}
---
apiVersion: ops.dev/v1
kind: Host
metadata: { name: far-1 }
spec: { address: 127.0.0.1, cluster: nowhere, trustOnFirstUse: true }
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: far }
spec:
  targets: { hosts: [far-1] }
  steps: [{ name: s, shell: 'true' }]
`,
  );
  expect(await watchUntilNoProgress(['-f', defs, '--task', 'far'])).toContain('! the run is not making progress: no worker polls its task queue ops.cluster.nowhere (start one: ops worker --cluster nowhere)');
});

test('Ctrl-C during --watch stops the watching, not the run, says how to follow it and exits 130', async () => {
  const file = stack.writeFile(
    'wait.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: wait }
spec:
  targets: { hosts: [host-1] }
  steps: [{ name: wait, shell: 'sleep 30' }]
`,
  );
  const watching = new AbortController();
  const r = await stack.ops(['run', '-f', hostsFile, '-f', file, '--task', 'wait', '--watch'], {
    signal: watching.signal,
    onStdout: (soFar) => soFar.includes('Temporal Web:') && watching.abort(),
  });
  const runId = /^run (\S+) started/m.exec(r.stdout)?.[1] ?? '';
  const handle = stack.client.workflow.getHandle(runId);
  const status = (await handle.describe()).status.name;
  await handle.cancel();
  expect(r.code).toBe(130);
  expect(r.stderr).toContain(`stopped watching; run ${runId} goes on: "ops watch ${runId}" follows it again, "ops cancel ${runId}" stops it`);
  expect(status).toBe('RUNNING');
});

test("Temporal Web's stack trace of a running run shows where each host's step waits, in the workflow's source", async () => {
  const file = stack.writeFile(
    'wait-traced.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: wait-traced }
spec:
  targets: { hosts: [host-1, host-2] }
  steps: [{ name: wait, shell: 'sleep 30' }]
`,
  );
  const r = await stack.ops(['run', '-f', hostsFile, '-f', file, '--task', 'wait-traced']);
  const handle = stack.client.workflow.getHandle(/^run (\S+) started/m.exec(r.stdout)?.[1] ?? '');
  try {
    // The workflow records a short stack per promise (workers/bundle.ts): the innermost frame still names the step call.
    const trace = await until('a stack trace naming the step', () => handle.query<string>('__stack_trace'), (t) => t.includes('runStep'), { timeoutMs: 15_000 });
    expect(trace).toMatch(/at runStep \(\S*workflows\/host-steps\.[jt]s:\d+:\d+\)/);
  } finally {
    await handle.cancel();
  }
});

test('ops shell prints each host\'s output under its name, names the hosts that failed and exits 1 when one did', async () => {
  const all = await stack.ops(['shell', '--hosts', 'all', '-f', hostsFile, '--', 'echo', 'out-$(id -un);', 'echo', 'err-line', '>&2']);
  expect(all.code).toBe(0);
  for (const host of ['host-1', 'host-2', 'host-3']) {
    expect(all.stdout).toContain(`${host} | out-opsfleet`);
    expect(all.stderr).toContain(`${host} | err-line`);
  }
  expect(all.stderr).toContain('3/3 hosts succeeded');

  const some = await stack.ops(['shell', '--hosts', 'host-1,host-3', '-f', hostsFile, '--', 'exit', '3']);
  expect(some.code).toBe(1);
  expect(some.stderr).toContain('✗ host-1: failed: step shell: exit code 3');
  expect(some.stderr).toContain('0/2 hosts succeeded');
  expect(some.stderr).not.toContain('host-2');

  // For scripts: the results alone on stdout, the hosts' output on stderr.
  const json = await stack.ops(['shell', '--hosts', 'host-1,host-3', '-f', hostsFile, '-o', 'json', '--', 'echo', 'out;', 'exit', '3']);
  const parsed = JSON.parse(json.stdout);
  expect([json.code, parsed.kind, parsed.result.hosts.map((h: { host: string; exitCode: number }) => [h.host, h.exitCode])]).toEqual([1, 'task', [['host-1', 3], ['host-3', 3]]]);
  expect(json.stderr).toContain('host-1 | out');

  const bad = await stack.ops(['shell', '--hosts', 'all', '-f', hostsFile, '--concurrency', 'many', '--', 'true']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("option '--concurrency <n>' argument 'many' is invalid");
  const none = await stack.ops(['shell', '--hosts', 'role=nothing', '-f', hostsFile, '--', 'true']);
  expect([none.code, none.stderr]).toEqual([2, expect.stringContaining('ops shell: --hosts: match no hosts (selector role=nothing)')]);
  const typo = await stack.ops(['file', 'push', '--hosts', 'hots-1', '-f', hostsFile, hostsFile, 'x']);
  expect([typo.code, typo.stderr]).toEqual([2, expect.stringContaining('ops file push: --hosts: names undefined host(s): hots-1 (did you mean "host-1"?)')]);
  // A host's own problem stays the host's.
  const lost = stack.writeFile('lost-bastion.yaml', 'apiVersion: ops.dev/v1\nkind: Host\nmetadata: { name: lost }\nspec: { address: 127.0.0.1, trustOnFirstUse: true, bastion: nowhere }\n');
  const hostIssue = await stack.ops(['shell', '--hosts', 'lost', '-f', lost, '--', 'true']);
  expect([hostIssue.code, hostIssue.stderr]).toEqual([2, expect.stringContaining('Host/lost: spec.bastion: names Host "nowhere", which is not defined (defined: lost)')]);
});

test('Ctrl-C during ops shell stops the command on the hosts, as it would stop ssh, names them cancelled and exits 130', async () => {
  const interrupting = new AbortController();
  const started = Date.now();
  const r = await stack.ops(['shell', '--hosts', 'host-1,host-2', '-f', hostsFile, '--', 'echo begun; sleep 313; echo never'], {
    signal: interrupting.signal,
    onStdout: (soFar) => (soFar.match(/\| begun/g) ?? []).length === 2 && interrupting.abort(),
  });
  expect(r.code).toBe(130);
  expect(r.stderr).toMatch(/cancelling run shell-\S+: stopping its commands on the hosts/);
  expect(r.stderr).toContain('✗ host-1: cancelled');
  expect(r.stderr).toContain('✗ host-2: cancelled');
  expect(r.stderr).toContain('0/2 hosts succeeded');
  expect(r.stdout).not.toContain('never');
  expect(Date.now() - started).toBeLessThan(60_000);
  for (const host of ['host-1', 'host-2']) expect((await stack.fleet.exec(host, 'pgrep -u opsfleet -f "sleep 31[3]" || echo none')).stdout.trim()).toBe('none');
});

test('ops logs prints a run\'s output by host, or one host\'s; a mistyped run or host is an error (exit 3), not empty output', async () => {
  // The line printed in two parts is published as two chunks (output streams before its newline).
  const shell = await stack.ops(['shell', '--hosts', 'host-1,host-2', '-f', hostsFile, '--', 'echo', 'logged;', 'printf', 'par;', 'sleep', '0.4;', 'echo', 'tial']);
  const runId = /^run (\S+): shell/m.exec(shell.stderr)?.[1] ?? '';
  expect([shell.code, runId]).toEqual([0, expect.stringMatching(/^shell-/)]);
  const lines = ['', 'host-1 | logged', 'host-1 | partial', 'host-2 | logged', 'host-2 | partial'];
  expect(shell.stdout.split('\n').sort()).toEqual(lines);
  const all = await stack.ops(['logs', runId]);
  expect([all.code, all.stdout.split('\n').sort()]).toEqual([0, lines]);
  const one = await stack.ops(['logs', runId, '--host', 'host-2']);
  expect([one.code, one.stdout]).toEqual([0, 'logged\npartial\n']);
  // Temporal accepts a cancel of an ended workflow and does nothing: it is refused, not "cancelling".
  const late = await stack.ops(['cancel', runId]);
  expect([late.code, late.stdout, late.stderr]).toEqual([2, '', `error: run ${runId} has already ended (succeeded)\n`]);
  for (const follow of [[], ['-f']]) {
    const typo = await stack.ops(['logs', `${runId}x`, ...follow]);
    expect([typo.code, typo.stdout, typo.stderr]).toEqual([3, '', `error: no run ${runId}x in this namespace\n`]);
    // A host the run did not target is named as such, not answered with nothing.
    const otherHost = await stack.ops(['logs', runId, '--host', 'host-3', ...follow]);
    expect([otherHost.code, otherHost.stdout, otherHost.stderr]).toEqual([3, '', `error: host-3 is not a host of run ${runId} (its hosts: host-1, host-2)\n`]);
  }
});

test('ops file push puts a file on the hosts with its mode; ops file pull brings it back into DIR/<host>/', async () => {
  const local = stack.writeFile('motd.txt', 'hello from ops\n');
  const remote = `.ops-test-motd-${Date.now()}`;
  // Relative paths are the caller's: the worker runs in another directory.
  const push = await stack.ops(['file', 'push', '--hosts', 'host-1,host-2', '-f', hostsFile, '--mode', '0600', basename(local), remote], { cwd: dirname(local) });
  expect(push.code).toBe(0);
  expect(push.stderr).toContain('2/2 hosts succeeded');
  expect((await stack.fleet.exec('host-2', `stat -c %a ${remote}; cat ${remote}`)).stdout).toBe('600\nhello from ops\n');

  const into = join(stack.dir, 'pulled');
  const pull = await stack.ops(['file', 'pull', '--hosts', 'host-1,host-2', '-f', hostsFile, remote, 'pulled'], { cwd: stack.dir });
  expect(pull.code).toBe(0);
  for (const host of ['host-1', 'host-2']) expect([readFileSync(join(into, host, remote), 'utf8'), statSync(join(into, host, remote)).mode & 0o777]).toEqual(['hello from ops\n', 0o600]);
  await stack.fleet.exec('host-1', `rm -f ${remote}`);

  // A pulled copy is no more readable here than the file is on its host: a root-only file pulled
  // with sudo stays 0600 (it landed 0644, readable by every user of the worker's machine).
  const rootOnly = `/tmp/ops-it-root-only-${Date.now()}`;
  await stack.fleet.exec('host-1', `echo s3cret | sudo -n tee ${rootOnly} >/dev/null && sudo -n chmod 600 ${rootOnly}`);
  const sudoPull = await stack.ops(['file', 'pull', '--sudo', '--hosts', 'host-1', '-f', hostsFile, rootOnly, into]);
  expect(sudoPull.code).toBe(0);
  const copy = join(into, 'host-1', basename(rootOnly));
  expect([readFileSync(copy, 'utf8'), statSync(copy).mode & 0o777]).toEqual(['s3cret\n', 0o600]);
  await stack.fleet.exec('host-1', `sudo -n rm -f ${rootOnly}`);

  // A push that cannot land says why in the operator's terms, and the command ends with the run
  // (it fails before any output is published: the follow of the output must still end).
  const locked = `.ops-test-locked-${Date.now()}`;
  await stack.fleet.exec('host-1', `mkdir ${locked} && chmod 555 ${locked}`);
  const missing = await stack.ops(['file', 'push', '--hosts', 'host-1', '-f', hostsFile, local, `no-such-dir-${Date.now()}/motd`]);
  expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/✗ host-1: failed: step push: could not write no-such-dir-\d+\/motd: directory no-such-dir-\d+ does not exist on the host/)]);
  const givenAway = await stack.ops(['file', 'push', '--hosts', 'host-1', '-f', hostsFile, '--owner', 'root', local, `given-away-${Date.now()}`]);
  expect([givenAway.code, givenAway.stderr]).toEqual([1, expect.stringMatching(/could not install given-away-\d+: chown: changing ownership of 'given-away-\d+': Operation not permitted \(only root gives a file away: add sudo\)/)]);
  const unwritable = await stack.ops(['file', 'push', '--hosts', 'host-1', '-f', hostsFile, local, `${locked}/motd`]);
  expect([unwritable.code, unwritable.stderr]).toEqual([1, expect.stringContaining(`could not write ${locked}/motd: directory ${locked} is not writable by ${stack.fleet.user} on the host`)]);
  await stack.fleet.exec('host-1', `rmdir ${locked}`);

  // A directory is not a file's path: refused before anything is sent, and nothing lands in it.
  const dir = `.ops-test-dir-${Date.now()}`;
  const listing = async () => (await stack.fleet.exec('host-1', `ls -A ${dir}`)).stdout;
  await stack.fleet.exec('host-1', `mkdir ${dir}`);
  const intoDir = await stack.ops(['file', 'push', '--hosts', 'host-1', '-f', hostsFile, local, dir]);
  expect([intoDir.code, intoDir.stderr]).toEqual([1, expect.stringContaining(`${dir} is a directory on the host: give the path of the file to write, such as ${dir}/motd.txt`)]);
  expect(await listing()).toBe('');
  // Nor is it a file to pull: said so, and no partial copy is left here.
  const pullDir = await stack.ops(['file', 'pull', '--hosts', 'host-1', '-f', hostsFile, dir, into]);
  expect([pullDir.code, pullDir.stderr]).toEqual([1, expect.stringContaining(`could not read ${dir}: sha256sum: ${dir}: Is a directory`)]);
  expect(existsSync(join(into, 'host-1', `${dir}.ops-tmp`))).toBe(false);

  // A transfer past the step's timeout, or cancelled with Ctrl-C, installs nothing and leaves no partial file.
  const big = join(stack.dir, 'big.bin');
  writeFileSync(big, '');
  truncateSync(big, 1024 ** 3);
  const slow = await stack.ops(['file', 'push', '--hosts', 'host-1', '-f', hostsFile, '--timeout', '2', big, `${dir}/big.bin`]);
  expect([slow.code, slow.stderr]).toEqual([1, expect.stringContaining('✗ host-1: timedOut: step push: timed out after 2s; the transfer was stopped and nothing installed')]);
  // A transfer given up on before SFTP made its file is tidied once it ends; the file is never installed.
  await until('the abandoned upload to be tidied', listing, (files) => files === '', { timeoutMs: 90_000 });
  const interrupt = new AbortController();
  const cancelled = stack.ops(['file', 'push', '--hosts', 'host-1', '-f', hostsFile, big, `${dir}/big.bin`], { signal: interrupt.signal });
  await until('the upload to start', listing, (files) => files.includes('.big.bin.ops-'), { everyMs: 100 });
  interrupt.abort();
  expect((await cancelled).code).toBe(130);
  expect(await listing()).toBe('');
  await stack.fleet.exec('host-1', `rmdir ${dir}`);
});

async function countRuns(): Promise<number> {
  let n = 0;
  for await (const _ of stack.client.workflow.list({ query: 'WorkflowType="pipelineRun" OR WorkflowType="taskRun"' })) n += 1;
  return n;
}
