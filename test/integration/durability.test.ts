// Faults during a run: the worker killed, the Temporal or NATS server restarted, the run cancelled.
import { execFileSync } from 'node:child_process';
import { startStack, workerLogs, type TestStack } from '../harness/stack';
import { runOutcome } from '../../workers/runs';
import { taskProgressQuery } from '../../workflows/progress';
import { until } from '../harness/until';

let stack: TestStack;
let hostsFile: string;

beforeAll(async () => {
  stack = await startStack({ count: 3 });
  hostsFile = stack.writeFile('hosts.yaml', stack.hostsYaml());
});

afterAll(async () => {
  await stack?.stop();
});

/** Every step appends to a file on its host, so the host itself counts how often each ran. */
function countingTask(name: string, dir: string, sleepSeconds: number): string {
  return stack.writeFile(
    `${name}.yaml`,
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: ${name} }
spec:
  targets: { selector: role=fleet }
  steps:
    - name: first
      shell: mkdir -p ${dir}/\${host.name} && echo first >> ${dir}/\${host.name}/count
    - name: slow
      shell: |
        echo slow-start >> ${dir}/\${host.name}/count
        echo "slow step on \${host.name}"
        echo "to stderr" >&2
        sleep ${sleepSeconds}
        echo slow-end >> ${dir}/\${host.name}/count
        echo "slow step done"
    - name: last
      shell: echo last >> ${dir}/\${host.name}/count
`,
  );
}

async function startRun(taskFile: string, task: string): Promise<string> {
  const r = await stack.ops(['run', '-f', hostsFile, '-f', taskFile, '--task', task, '-o', 'json']);
  if (r.code !== 0) throw new Error(`ops run failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout).runId;
}

async function countsOnHosts(dir: string): Promise<string[]> {
  return Promise.all(stack.fleet.hosts.map(async (h) => (await stack.fleet.exec(h.name, `cat ${dir}/${h.name}/count 2>/dev/null || true`)).stdout));
}

const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs?: number) => until(what, check, (done) => done, { timeoutMs, context: () => workerLogs(stack) });

/** The whole numbers from `from` to `to`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/**
 * Starts a run of the counting task, stops its worker with `signal` while every host is inside the
 * slow step, then starts a second worker. Returns what the hosts had counted when the first worker
 * was gone, and the run's outcome.
 */
async function stopWorkerMidRun(name: string, signal: NodeJS.Signals) {
  const dir = `it-${name}-${Date.now()}`;
  const task = countingTask(name, dir, 6);
  const first = stack.startWorker();
  await first.ready;
  const runId = await startRun(task, name);
  await waitFor('every host in the slow step', async () => (await countsOnHosts(dir)).every((c) => c.includes('slow-start')));
  // The first worker has published the start of the slow step's output: the next one must not publish it again.
  await waitFor('the slow step\'s first lines published', async () => (await stack.ops(['logs', runId])).stdout.split('\n').filter((l) => l.includes('| slow step on')).length === 3);
  await first.kill(signal);
  const countsBetween = await countsOnHosts(dir);
  const second = stack.startWorker();
  await second.ready;
  const outcome = await runOutcome(stack.client, runId);
  const counts = await countsOnHosts(dir);
  await second.kill();
  return { runId, countsBetween, outcome, counts };
}

/** The run's output as `ops logs` prints it: the second worker's attempts attached to the steps and read their output from the start. */
async function expectOutputOnce(runId: string) {
  const logs = await stack.ops(['logs', runId]);
  expect(logs.code).toBe(0);
  for (const host of stack.fleet.hosts.map((h) => h.name)) {
    expect(logs.stdout.split('\n').filter((l) => l.startsWith(`${host} | `))).toEqual([`${host} | slow step on ${host}`, `${host} | slow step done`]);
    expect(logs.stderr.split('\n').filter((l) => l.startsWith(`${host} | `))).toEqual([`${host} | to stderr`]);
  }
}

test('a worker killed with SIGKILL mid-run: a new worker completes the run and no step runs twice on any host', async () => {
  const { runId, outcome, counts } = await stopWorkerMidRun('kill-me', 'SIGKILL');
  expect(outcome.result.status).toBe('succeeded');
  for (const count of counts) expect(count).toBe('first\nslow-start\nslow-end\nlast\n');
  await expectOutputOnce(runId);
  // The retried activities saw the step still running on the host and attached to it.
  const hosts = outcome.kind === 'task' ? outcome.result.hosts : [];
  expect(hosts.map((h) => h.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  expect(new Set(hosts.map((h) => h.worker)).size).toBe(1);
});

test('a worker stopped with SIGTERM mid-run leaves its running steps to the next worker: the run completes and no step runs twice', async () => {
  // A graceful stop (systemctl stop, a rolling update) must not kill what runs on the hosts.
  const { runId, countsBetween, outcome, counts } = await stopWorkerMidRun('stop-me', 'SIGTERM');
  expect(countsBetween.every((c) => c === 'first\nslow-start\n')).toBe(true);
  expect(outcome.result.status).toBe('succeeded');
  for (const count of counts) expect(count).toBe('first\nslow-start\nslow-end\nlast\n');
  await expectOutputOnce(runId);
  expect(workerLogs(stack)).toMatch(/stopping \(SIGTERM\): it takes no new work; the steps it runs go on on their hosts/);
});

test('a step that times out while no worker watches it is timedOut, not failed with exit 124, when the next worker replays it', async () => {
  const dir = `it-timeout-${Date.now()}`;
  const file = stack.writeFile(
    'timeout-unwatched.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: timeout-unwatched }
spec:
  targets: { hosts: [host-1] }
  steps:
    - name: slow
      timeoutSeconds: 3
      shell: |
        mkdir -p ${dir} && echo start >> ${dir}/count
        sleep 30
`,
  );
  const first = stack.startWorker();
  await first.ready;
  const runId = await startRun(file, 'timeout-unwatched');
  await waitFor('the step to start', async () => (await stack.fleet.exec('host-1', `cat ${dir}/count 2>/dev/null || true`)).stdout === 'start\n');
  await first.kill('SIGKILL');
  // The host's own timeout ends the step while no worker is there to see it.
  await new Promise((r) => setTimeout(r, 5_000));
  const second = stack.startWorker();
  await second.ready;
  const outcome = await runOutcome(stack.client, runId);
  await second.kill();
  const [host] = outcome.kind === 'task' ? outcome.result.hosts : [];
  expect(host).toMatchObject({ host: 'host-1', status: 'timedOut', exitCode: 124 });
  expect(host.message).toContain('timed out after 3s');
});

test('a worker killed mid-push: the next attempt installs the file and leaves no half file of the killed one beside it', async () => {
  const dir = `it-push-${Date.now()}`;
  const source = stack.writeFile('big.bin', '');
  execFileSync('truncate', ['-s', '400M', source]);
  const file = stack.writeFile(
    'push-killed.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: push-killed }
spec:
  targets: { hosts: [host-1] }
  steps:
    - name: dir
      shell: mkdir -p ${dir}
    - name: put
      file: { source: big.bin, destination: ${dir}/big.bin }
`,
  );
  const first = stack.startWorker();
  await first.ready;
  const runId = await startRun(file, 'push-killed');
  const listing = async () => (await stack.fleet.exec('host-1', `ls -A ${dir} 2>/dev/null || true`)).stdout;
  await waitFor('the upload to start', async () => (await listing()).includes('.ops-'));
  await first.kill('SIGKILL');
  const second = stack.startWorker();
  await second.ready;
  expect((await runOutcome(stack.client, runId)).result.status).toBe('succeeded');
  await second.kill();
  expect(await listing()).toBe('big.bin\n');
}, 180_000);

test('a Temporal server restart mid-run loses nothing', async () => {
  const dir = `it-restart-${Date.now()}`;
  const task = countingTask('survive-restart', dir, 3);
  const worker = stack.startWorker();
  await worker.ready;
  const runId = await startRun(task, 'survive-restart');
  await waitFor('every host in the slow step', async () => (await countsOnHosts(dir)).every((c) => c.includes('slow-start')));
  await stack.temporal.restart();
  const outcome = await runOutcome(stack.client, runId);
  expect(outcome.result.status).toBe('succeeded');
  for (const count of await countsOnHosts(dir)) expect(count).toBe('first\nslow-start\nslow-end\nlast\n');
  await worker.kill();
});

test('a NATS restart mid-step loses none of its output, and keeps it in order: the worker sends again what NATS did not store', async () => {
  const file = stack.writeFile(
    'chatty.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: chatty }
spec:
  targets: { hosts: [host-1, host-2] }
  steps:
    - name: count
      shell: for i in $(seq 1 100); do echo "line $i"; sleep 0.05; done
`,
  );
  const worker = stack.startWorker();
  await worker.ready;
  const runId = await startRun(file, 'chatty');
  await waitFor('the first lines published', async () => (await stack.ops(['logs', runId])).stdout.includes('| line 5\n'));
  await stack.nats.restart();
  expect((await runOutcome(stack.client, runId)).result.status).toBe('succeeded');
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}\n`).join('');
  for (const host of ['host-1', 'host-2']) expect((await stack.ops(['logs', runId, '--host', host])).stdout).toBe(lines);
  await worker.kill();
});

test('a NATS outage longer than a step sends its output again leaves a note where output was lost, naming the file on the host that has all of it', async () => {
  const file = stack.writeFile(
    'long-outage.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: long-outage }
spec:
  targets: { hosts: [host-1] }
  steps:
    - name: count
      shell: for i in $(seq 1 100); do echo "line $i"; sleep 1; done
`,
  );
  const worker = stack.startWorker();
  await worker.ready;
  const runId = await startRun(file, 'long-outage');
  await waitFor('the first lines published', async () => (await stack.ops(['logs', runId])).stdout.includes('| line 3\n'));
  // Down well beyond the minute a chunk is sent again: its last try is made before NATS is back
  // (the client drops what it buffered while disconnected).
  await stack.nats.restart({ downMs: 75_000 });
  expect((await runOutcome(stack.client, runId)).result.status).toBe('succeeded');
  const logs = await stack.ops(['logs', runId, '--host', 'host-1']);
  // What was stored is the output up to the outage and from some time after it, in order.
  const shown = logs.stdout.split('\n').slice(0, -1).map((l) => Number(/^line (\d+)$/.exec(l)?.[1]));
  const lastBefore = shown.findIndex((n, i) => shown[i + 1] !== n + 1) + 1;
  expect(shown).toEqual([...range(1, lastBefore), ...range(shown[lastBefore], 100)]);
  const lost = range(lastBefore + 1, shown[lastBefore] - 1);
  expect(lost.length).toBeGreaterThan(0);
  // In the gap, a note says how much is missing and where all of it is.
  const note = /^\[ops\] (\d+) chunk\(s\) of this step's output \((\d+) characters\) were not stored: NATS did not take them in 60s, or 32 MB waited already; all of it is in (~\/\.ops\/steps\/\S+\.out) and \.err on the host, for a day\n$/.exec(logs.stderr);
  expect(note).not.toBeNull();
  expect(Number(note?.[2])).toBe(lost.map((n) => `line ${n}\n`).join('').length);
  expect((await stack.fleet.exec('host-1', `cat ${note?.[3]}`)).stdout).toBe(range(1, 100).map((n) => `line ${n}\n`).join(''));
  await worker.kill();
}, 240_000);

test('cancelling a run kills the remote process and marks the hosts cancelled', async () => {
  const file = stack.writeFile(
    'hang.yaml',
    `apiVersion: ops.dev/v1
kind: Task
metadata: { name: hang }
spec:
  targets: { hosts: [host-1, host-2] }
  steps:
    - name: wait
      shell: |
        echo waiting
        sleep 303 &
        sleep 304
`,
  );
  const worker = stack.startWorker();
  await worker.ready;
  const runId = await startRun(file, 'hang');
  await waitFor('the sleeps to start', async () => (await stack.fleet.exec('host-1', 'pgrep -u opsfleet -f "sleep 30[34]" | wc -l')).stdout.trim() === '4');
  await stack.client.workflow.getHandle(runId).cancel();
  const outcome = await runOutcome(stack.client, runId);
  expect(outcome.result.status).toBe('cancelled');
  const handle = stack.client.workflow.getHandle(runId);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
  const progress = await handle.query(taskProgressQuery);
  expect(progress.hosts.map((h) => h.status)).toEqual(['cancelled', 'cancelled']);
  // What ops watch and -o json show of the closed run: the task by its name, each host once.
  expect(outcome.kind === 'task' && outcome.result).toMatchObject({ name: 'hang', hosts: [{ host: 'host-1', status: 'cancelled' }, { host: 'host-2', status: 'cancelled' }] });
  const watched = await stack.ops(['watch', runId]);
  expect(watched.stdout.split('\n').filter((l) => l.includes('cancelled') && l.includes('host-'))).toHaveLength(2);
  const left = await stack.fleet.exec('host-1', 'pgrep -u opsfleet -f "sleep 30[34]" || echo none');
  expect(left.stdout.trim()).toBe('none');

  // A pipeline cancelled in its first stage still says how every stage ended.
  const pipeline = stack.writeFile(
    'hang-pipeline.yaml',
    `apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: hang-then-more }
spec:
  stages:
    - { name: wait, tasks: [{ task: hang }] }
    - { name: never, tasks: [{ task: hang, name: again }] }
  finally:
    - { name: tidy, tasks: [{ task: noop, targets: { hosts: [host-3] } }] }
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: noop }
spec: { steps: [{ name: ok, shell: "true" }] }
`,
  );
  const started = await stack.ops(['run', '-f', hostsFile, '-f', file, '-f', pipeline, '--pipeline', 'hang-then-more', '-o', 'json']);
  const pipelineRun = JSON.parse(started.stdout).runId;
  await waitFor('the pipeline\'s sleeps to start', async () => (await stack.fleet.exec('host-1', 'pgrep -u opsfleet -f "sleep 30[34]" | wc -l')).stdout.trim() === '4');
  await stack.client.workflow.getHandle(pipelineRun).cancel();
  const ended = await runOutcome(stack.client, pipelineRun);
  expect(ended.kind === 'pipeline' && ended.result.stages.map((st) => [st.name, st.status, st.tasks.map((t) => [t.name, t.status, t.hosts.map((h) => h.status)])])).toEqual([
    ['wait', 'cancelled', [['hang', 'cancelled', ['cancelled', 'cancelled']]]],
    ['never', 'skipped', []],
    ['tidy', 'succeeded', [['noop', 'succeeded', ['succeeded']]]],
  ]);
  await worker.kill();
});
