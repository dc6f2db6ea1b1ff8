// The fan-out logic of taskRun on a real Temporal server, with scripted activities standing in
// for hosts (the SSH path is covered by the other integration tests). This makes 1,000-host
// runs and exact failure patterns cheap to test.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { NativeConnection, Runtime, Worker, DefaultLogger } from '@temporalio/worker';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { startTemporal, type TemporalServer } from '../../workers/embedded/temporal-server';
import { loadConfig } from '../../workers/config';
import { connectClient, dataConverter } from '../../workers/temporal';
import { REPO } from '../harness/stack';
import type { Activities, StepInput, StepRequest } from '../../activities';
import { stepInputOf } from '../../activities/step-input';
import { RunSnapshots } from '../../activities/run-snapshots';
import { runOutcome, startedWith } from '../../workers/runs';
import type { OpsEvent } from '../../activities/events';
import type { HostTarget, StepOutcome, TaskRunInput, TaskRunResult } from '../../model/run';
import { taskSchema } from '../../model/task';
import { FailureType } from '../../model/failures';
import { resultInFailure, TASK_RUN_FAILED } from '../../workflows/run-failure';
import { HOSTS_PER_WORKFLOW } from '../../workflows/task-run';

const QUEUE = 'ops.cluster.logic-test';
let temporal: TemporalServer;
let client: Client;
let worker: Worker;
let running: Promise<void>;
/** Decides each step's fate: return an exit code (0 succeeds), throw, or 'hang' until cancelled. */
let script: (input: StepInput) => number | 'hang';
const calls: StepInput[] = [];
/** The activity id of each call: the real activities key a step's records on its host by it. */
const activityIds: string[] = [];
/** Events the runs announced (the run status events, see workflows/run-events.ts). */
const events: OpsEvent[] = [];

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  temporal = await startTemporal();
  const config = { ...loadConfig({ dataDir: mkdtempSync(join(tmpdir(), 'ops-logic-')) }), temporalAddress: temporal.address };
  client = await connectClient(config);
  const outcome = (input: StepInput): Promise<StepOutcome> => {
    calls.push(input);
    activityIds.push(Context.current().info.activityId);
    const exitCode = script(input);
    if (exitCode === 'hang') return hangUntilCancelled();
    if (exitCode !== 0) throw ApplicationFailure.create({ type: FailureType.NonZeroExit, message: `exit code ${exitCode}`, details: [{ exitCode }], nonRetryable: true });
    return Promise.resolve({ exitCode: 0, durationMs: 1, stdoutBytes: 0, stderrBytes: 0, tail: '', results: { seen: input.host.name }, worker: 'fake' });
  };
  const publishEvent = async (event: OpsEvent) => void events.push(event);
  // Steps are completed from their run's snapshot as the real activities do (activities/index.ts).
  const snapshots = new RunSnapshots(async (execution) => (await startedWith(client, execution)).input as TaskRunInput);
  const step = async (request: StepRequest) => outcome(await stepInputOf(snapshots, request));
  const activities: Pick<Activities, 'sshShell' | 'sshFile' | 'publishEvent'> = { sshShell: step, sshFile: step, publishEvent };
  worker = await Worker.create({
    connection: await NativeConnection.connect({ address: temporal.address }),
    taskQueue: QUEUE,
    workflowBundle: { codePath: join(REPO, 'dist', 'workflow-bundle.js') },
    activities,
    dataConverter: dataConverter(config, { createKeys: true }),
    maxConcurrentActivityTaskExecutions: 1000,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await temporal?.stop();
});

beforeEach(() => {
  calls.length = 0;
  activityIds.length = 0;
  events.length = 0;
  script = () => 0;
});

/** A step that runs until its activity is cancelled (heard of through heartbeats, as the real ones do). */
async function hangUntilCancelled(): Promise<never> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 200);
  try {
    return await ctx.cancelled;
  } finally {
    clearInterval(beat);
  }
}

function hosts(n: number): HostTarget[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `h-${String(i + 1).padStart(4, '0')}`,
    address: '192.0.2.1',
    port: 22,
    connection: 'ssh' as const,
    cluster: 'local',
    trustOnFirstUse: true,
    labels: {},
  }));
}

function input(hostCount: number, spec: Record<string, unknown>): TaskRunInput {
  const task = taskSchema.parse({ apiVersion: 'ops.dev/v1', kind: 'Task', metadata: { name: 't' }, spec: { results: [{ name: 'seen' }], ...spec } });
  return { runId: `logic-${randomUUID()}`, name: 't', task: { name: 't', spec: task.spec }, cluster: 'local', hosts: hosts(hostCount), variables: {}, secretNames: [], origin: { trigger: 'cli', requester: 'test' } };
}

async function runTask(args: TaskRunInput): Promise<TaskRunResult> {
  try {
    return await client.workflow.execute('taskRun', { workflowId: args.runId, taskQueue: QUEUE, args: [args] });
  } catch (e) {
    const result = e instanceof WorkflowFailedError ? resultInFailure<TaskRunResult>(e, TASK_RUN_FAILED) : undefined;
    if (!result) throw e;
    return result;
  }
}

async function historyLength(workflowId: string): Promise<{ events: number; bytes: number }> {
  const h = await client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
  const events = h.history?.events ?? [];
  return { events: events.length, bytes: JSON.stringify(h.history).length };
}

test('a 1,000-host fan-out splits into child workflows that stay far inside the history limits', async () => {
  const args = input(1000, { steps: [{ name: 'a', shell: 'true' }, { name: 'b', shell: 'true' }], concurrency: 200 });
  const result = await runTask(args);
  expect(result.status).toBe('succeeded');
  expect(result.hosts).toHaveLength(1000);
  expect(new Set(result.hosts.map((h) => h.host)).size).toBe(1000);
  expect(calls).toHaveLength(2000);
  const root = await historyLength(args.runId);
  expect(root.events).toBeLessThan(200);
  const groups = Math.ceil(1000 / HOSTS_PER_WORKFLOW);
  for (let g = 0; g < groups; g += 1) {
    const child = await historyLength(`${args.runId}.b0g${g}`);
    // Temporal's limits: 51,200 events and 50 MB; a child holds HOSTS_PER_WORKFLOW hosts.
    expect(child.events).toBeLessThan(5000);
    expect(child.bytes).toBeLessThan(2_000_000);
  }
});

test('a split fan-out keeps the run\'s concurrency and failure budget across its groups: hosts start in order, one at a time, and none after the budget is spent', async () => {
  const total = HOSTS_PER_WORKFLOW + 50;
  const name = (n: number) => `h-${String(n).padStart(4, '0')}`;
  const failing = [name(2), name(HOSTS_PER_WORKFLOW + 10), name(HOSTS_PER_WORKFLOW + 30)];
  script = (i) => (failing.includes(i.host.name) ? 1 : 0);
  // Each group ran at once with at least one host of its own and its own budget: two hosts at a time, and the second group went on after the run's budget was spent.
  const result = await runTask(input(total, { steps: [{ name: 'a', shell: 'x' }], concurrency: 1, maxFailures: 1 }));
  const last = HOSTS_PER_WORKFLOW + 10;
  expect(calls.map((c) => c.host.name)).toEqual(Array.from({ length: last }, (_, i) => name(i + 1)));
  expect(result.status).toBe('failed');
  expect(result.reason).toContain(`2 of ${total} hosts failed (maxFailures 1)`);
  expect(result.hosts.map((h) => h.host)).toEqual(Array.from({ length: total }, (_, i) => name(i + 1)));
  expect(result.hosts.slice(last).every((h) => h.status === 'skipped' && h.message === 'not started: the failure budget was spent')).toBe(true);
});

test('a cancelled split fan-out reports every host once: done, cancelled mid-step, or not started', async () => {
  const total = HOSTS_PER_WORKFLOW + 50;
  script = (i) => (Number(i.host.name.slice(2)) > 100 ? 'hang' : 0);
  const args = input(total, { steps: [{ name: 'a', shell: 'x' }], concurrency: 10 });
  await client.workflow.start('taskRun', { workflowId: args.runId, taskQueue: QUEUE, args: [args] });
  while (calls.length < 110) await new Promise((r) => setTimeout(r, 100));
  await client.workflow.getHandle(args.runId).cancel();
  const outcome = await runOutcome(client, args.runId, 'task');
  if (outcome.kind !== 'task') throw new Error('not a task run');
  const { result } = outcome;
  expect(result.status).toBe('cancelled');
  // Hosts not started (the rest of the first group, the whole second one) were missing.
  expect(result.hosts.map((h) => h.host).sort()).toEqual(args.hosts.map((h) => h.name));
  const count = (status: string) => result.hosts.filter((h) => h.status === status).length;
  expect([count('succeeded'), count('cancelled'), count('skipped')]).toEqual([100, 10, total - 110]);
  expect(result.hosts.filter((h) => h.status === 'skipped').every((h) => h.message === 'not started: the run was cancelled')).toBe(true);
});

test('a task with a 64 KB variable and a 16 KB script runs on 250 hosts at once: each step reads them from the run, not from its own input', async () => {
  const blob = 'v'.repeat(64 * 1024);
  const shell = `echo ${'s'.repeat(16 * 1024)}`;
  // Sent with each of 250 steps, these made a 20 MB workflow task completion that Temporal refuses (4 MB): the run never started a step.
  const args = { ...input(HOSTS_PER_WORKFLOW, { steps: [{ name: 'a', shell }], concurrency: HOSTS_PER_WORKFLOW }), variables: { blob } };
  const result = await runTask(args);
  expect(result.status).toBe('succeeded');
  expect(calls).toHaveLength(HOSTS_PER_WORKFLOW);
  expect(calls.every((c) => c.variables.blob === blob && c.step.shell === shell && c.declaredResults.includes('seen'))).toBe(true);
  expect((await historyLength(args.runId)).bytes).toBeLessThan(2_000_000);
});

test('rolling batches: a failing canary stops the run before the other batches, whatever maxFailures allows', async () => {
  script = (i) => (i.host.name === 'h-0001' ? 3 : 0);
  for (const maxFailures of [0, 3]) {
    calls.length = 0;
    const result = await runTask(input(10, { steps: [{ name: 'a', shell: 'x' }], batch: { canary: 1, size: 3 }, maxFailures }));
    expect(result.status).toBe('failed');
    expect(result.reason).toBe('the canary failed (h-0001 failed (exit 3)); 9 other host(s) not started');
    expect(result.hosts[0]).toMatchObject({ host: 'h-0001', status: 'failed', exitCode: 3 });
    expect(result.hosts.slice(1).map((h) => [h.status, h.message])).toEqual(Array(9).fill(['skipped', 'not started: the canary failed']));
    expect(calls.map((c) => c.host.name)).toEqual(['h-0001']);
  }
});

test('batches run in order, canary first, and maxFailures lets some hosts fail', async () => {
  script = (i) => (['h-0003', 'h-0006'].includes(i.host.name) ? 1 : 0);
  const result = await runTask(input(8, { steps: [{ name: 'a', shell: 'x' }], batch: { canary: 1, size: '50%' }, maxFailures: 2, concurrency: 1 }));
  expect(result.status).toBe('succeeded');
  expect(result.reason).toContain('2 of 8 hosts failed, within maxFailures 2');
  expect(calls.map((c) => c.host.name)).toEqual(['h-0001', 'h-0002', 'h-0003', 'h-0004', 'h-0005', 'h-0006', 'h-0007', 'h-0008']);
});

test('a run on which every host failed has failed, whatever maxFailures allows; one host succeeding keeps it within the budget', async () => {
  script = () => 2;
  const all = await runTask(input(4, { steps: [{ name: 'a', shell: 'x' }], maxFailures: '100%' }));
  expect(all.status).toBe('failed');
  expect(all.reason).toMatch(/^all 4 hosts failed: /);
  script = (i) => (i.host.name === 'h-0002' ? 0 : 2);
  const some = await runTask(input(4, { steps: [{ name: 'a', shell: 'x' }], maxFailures: '100%' }));
  expect(some.status).toBe('succeeded');
  expect(some.reason).toContain('3 of 4 hosts failed, within maxFailures 4');
});

test('when, allowFailure and retries decide per host which steps run', async () => {
  let attempts = 0;
  script = (i) => {
    if (i.step.name === 'check') return i.host.name === 'h-0001' ? 3 : 0;
    if (i.step.name === 'flaky') return (attempts += 1) < 3 ? 1 : 0;
    return 0;
  };
  const result = await runTask(
    input(2, {
      concurrency: 1,
      steps: [
        { name: 'check', shell: 'x', allowFailure: true },
        { name: 'fix', shell: 'x', when: '${steps.check.exitCode} == 3' },
        { name: 'flaky', shell: 'x', retries: 2, retryDelaySeconds: 0, when: "${host.name} == 'h-0002'" },
      ],
    }),
  );
  expect(result.status).toBe('succeeded');
  const [h1, h2] = result.hosts;
  expect(h1.steps.map((s) => [s.step, s.status])).toEqual([['check', 'failed'], ['fix', 'succeeded'], ['flaky', 'skipped']]);
  expect(h1.steps[0].allowedFailure).toBe(true);
  expect(h2.steps.map((s) => [s.step, s.status])).toEqual([['check', 'succeeded'], ['fix', 'skipped'], ['flaky', 'succeeded']]);
  expect(h2.steps[2].attempts).toBe(3);
  expect(calls.filter((c) => c.step.name === 'flaky').map((c) => c.host.name)).toEqual(['h-0002', 'h-0002', 'h-0002']);
  expect(result.results.seen).toBe('h-0001\nh-0002');
});

test('retries wait for a host that could not be reached, keeping the step key; refused credentials are not retried', async () => {
  let tries = 0;
  script = (i) => {
    if (i.host.name === 'h-0002') throw ApplicationFailure.create({ type: FailureType.AuthFailed, message: 'authentication as "ops" on h-0002 failed', nonRetryable: true });
    // h-0001 is rebooting: down for two tries, then back.
    if ((tries += 1) <= 2) throw ApplicationFailure.create({ type: FailureType.HostUnreachable, message: 'h-0001 is unreachable: ECONNREFUSED', nonRetryable: true });
    return 0;
  };
  const result = await runTask(input(2, { steps: [{ name: 'a', shell: 'x', retries: 3, retryDelaySeconds: 0 }], maxFailures: 1 }));
  const [h1, h2] = result.hosts;
  expect(h1.status).toBe('succeeded');
  expect(h1.steps[0].attempts).toBe(3);
  expect(h2.status).toBe('authFailed');
  expect(h2.steps[0].attempts).toBe(1);
  // The later tries of h-0001 continue the first one's records on the host (its key): had the script
  // started before the host dropped off, they would attach to that run, not start it again.
  const h1Calls = calls.filter((c) => c.host.name === 'h-0001');
  expect(h1Calls.map((c) => c.continues)).toEqual([undefined, 'h-0001/a/1', 'h-0001/a/1']);
  expect(activityIds.filter((id) => id.startsWith('h-0001/'))).toEqual(['h-0001/a/1', 'h-0001/a/2', 'h-0001/a/3']);
  expect(calls.filter((c) => c.host.name === 'h-0002')).toHaveLength(1);
});

test('a script that failed after its host was back runs afresh on the next retry; a file transfer is simply done again', async () => {
  let tries = 0;
  script = (i) => {
    tries += 1;
    if (i.step.name === 'a' && tries === 1) throw ApplicationFailure.create({ type: FailureType.HostUnreachable, message: 'h-0001 is unreachable: ECONNREFUSED', nonRetryable: true });
    if (i.step.name === 'a') return tries === 2 ? 1 : 0;
    if (tries === 4) throw ApplicationFailure.create({ type: FailureType.HostUnreachable, message: 'h-0001 is unreachable: ECONNREFUSED', nonRetryable: true });
    return 0;
  };
  const result = await runTask(input(1, { steps: [{ name: 'a', shell: 'x', retries: 2, retryDelaySeconds: 0 }, { name: 'f', file: { content: 'x', destination: 'f' }, retries: 1, retryDelaySeconds: 0 }] }));
  expect(result.hosts[0].status).toBe('succeeded');
  expect(result.hosts[0].steps.map((s) => s.attempts)).toEqual([3, 2]);
  expect(calls.map((c) => [c.step.name, c.continues])).toEqual([['a', undefined], ['a', 'h-0001/a/1'], ['a', undefined], ['f', undefined], ['f', undefined]]);
});

test('a run with no hosts fails with that reason instead of succeeding', async () => {
  const result = await runTask(input(0, { steps: [{ name: 'a', shell: 'x' }] }));
  expect(result.status).toBe('failed');
  expect(result.reason).toContain('no hosts match the targets');
  expect(calls).toHaveLength(0);
  // Announced as it started and as it failed, with the reason.
  const announced = events.filter((e) => e.type === 'dev.ops.run.status').map((e) => e.data as { status: string; reason?: string; hosts: object });
  expect(announced).toEqual([expect.objectContaining({ status: 'running' }), expect.objectContaining({ status: 'failed', reason: result.reason, hosts: { total: 0 } })]);
});
