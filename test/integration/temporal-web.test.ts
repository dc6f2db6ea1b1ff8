// What Temporal Web shows of a run (search attributes, memo, current details, activity summaries),
// and retrying a failed run there: a reset to after the last stage that succeeded.
import { randomUUID } from 'node:crypto';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { startStack, workerLogs, type TestStack } from '../harness/stack';
import { runOutcome } from '../../workers/runs';
import { decideApprovalUpdate } from '../../workflows/approval';
import { OPS_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { untilWith } from '../harness/until';

const until = untilWith(() => workerLogs(stack));

let stack: TestStack;
let definitions: string;

beforeAll(async () => {
  stack = await startStack({ count: 3 });
  definitions = stack.writeFile(
    'definitions.yaml',
    `${stack.hostsYaml()}---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: nap }
spec:
  targets: { hosts: [host-1, host-2] }
  steps: [{ name: nap, shell: 'sleep 3' }]
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: inspect }
spec:
  stages:
    - { name: slow, tasks: [{ task: nap }] }
    - { name: gate, approval: { message: 'Go on?', approvers: { roles: [operator] } } }
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: count-first }
spec:
  targets: { hosts: [host-1, host-2] }
  steps: [{ name: count, shell: 'mkdir -p reset && echo first >> "reset/\${run.id}-\${host.name}"' }]
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: count-second }
spec:
  targets: { hosts: [host-3] }
  steps: [{ name: count, shell: 'mkdir -p reset && echo second >> "reset/\${run.id}-\${host.name}"' }]
---
apiVersion: ops.dev/v1
kind: Pipeline
metadata: { name: two-stage }
spec:
  stages:
    - { name: first, tasks: [{ task: count-first }] }
    - { name: second, tasks: [{ task: count-second }] }
`,
  );
  await stack.startWorker().ready;
});

afterAll(async () => {
  await stack?.stop();
});

async function startPipeline(name: string): Promise<string> {
  const r = await stack.ops(['run', '-f', definitions, '--pipeline', name, '-o', 'json']);
  if (r.code !== 0) throw new Error(`ops run failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout).runId;
}

/** What Temporal Web shows as a run's "current details". */
const details = (workflowId: string) => stack.client.workflow.getHandle(workflowId).query<{ currentDetails: string }>('__temporal_workflow_metadata').then((m) => m.currentDetails);
const runIds = async (query: string) => {
  const ids: string[] = [];
  for await (const w of stack.client.workflow.list({ query })) ids.push(w.workflowId);
  return ids;
};

test('search attributes, memo, current details and activity summaries say in Temporal Web what a run does', async () => {
  const { customAttributes } = await stack.client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
  for (const key of OPS_SEARCH_ATTRIBUTES) expect(Object.keys(customAttributes ?? {})).toContain(key.name);

  const runId = await startPipeline('inspect');
  await until('the child to say which hosts run what', () => details(`${runId}.nap`), (d) => /^stage 1\/2 slow, task nap: 0\/2 hosts done, 0 failed; running host-1: nap, host-2: nap$/.test(d));
  const waiting = await until('the run to wait for approval', () => details(runId), (d) => d.startsWith('stage 2/2 gate:'));
  expect(waiting).toMatch(/^stage 2\/2 gate: waiting for approval from role operator \(0\/1 approvals; rejects at \S+Z\)$/);
  expect(await until('visibility', () => runIds(`OpsPipeline = 'inspect' AND OpsStatus = 'awaitingApproval'`), (ids) => ids.includes(runId))).toContain(runId);
  const handle = stack.client.workflow.getHandle(runId);
  const description = await handle.describe();
  expect(description.memo).toEqual({ summary: 'pipeline inspect: slow → gate' });
  expect(description.searchAttributes).toMatchObject({ OpsPipeline: ['inspect'], OpsCluster: ['local'], OpsTrigger: ['cli'], OpsStatus: ['awaitingApproval'] });

  // Anyone with access to Temporal itself can decide too (the API adds who may): the same update.
  const state = await handle.executeUpdate(decideApprovalUpdate, { args: [{ stage: 'gate', decision: 'approve', comment: 'from the test', by: { name: 'tester', role: 'operator' } }] });
  expect(state).toMatchObject({ status: 'approved', reason: 'approved by tester: "from the test"' });
  expect((await runOutcome(stack.client, runId)).result.status).toBe('succeeded');
  expect(await details(runId)).toBe('succeeded');
  await until('OpsStatus to follow the run', () => runIds(`OpsPipeline = 'inspect' AND OpsStatus = 'succeeded'`), (ids) => ids.includes(runId));

  const events = (await stack.client.workflow.getHandle(`${runId}.nap`).fetchHistory()).events ?? [];
  const summaries = events.flatMap((e) => (e.activityTaskScheduledEventAttributes && e.userMetadata?.summary ? [e.userMetadata.summary] : []));
  expect((await decodeArrayFromPayloads(stack.client.options.loadedDataConverter, summaries)).sort()).toEqual(['announce run running', 'nap on host-1', 'nap on host-2']);
});

test('a run that failed because a host was down completes after a reset, without repeating the stages that succeeded', async () => {
  await stack.fleet.stopHost('host-3');
  const runId = await startPipeline('two-stage');
  const failed = await runOutcome(stack.client, runId);
  expect(failed.result).toMatchObject({ status: 'failed', reason: expect.stringContaining('host-3 unreachable') });
  await stack.fleet.startHost('host-3');

  // Reset to the first workflow task after stage "first" ended: what Temporal Web's Reset does when that event is picked.
  const first = await stack.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: runId } });
  const events = first.history?.events ?? [];
  const done = events.find((e) => e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId === `${runId}.count-first`);
  const resetPoint = events.find((e) => e.workflowTaskCompletedEventAttributes && Number(e.eventId) > Number(done?.eventId));
  expect(resetPoint).toBeDefined();
  const failedRun = (await stack.client.workflow.getHandle(runId).describe()).runId;
  await stack.client.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId: runId, runId: failedRun },
    workflowTaskFinishEventId: resetPoint?.eventId,
    reason: 'host-3 is back',
    requestId: randomUUID(),
  });

  const outcome = await runOutcome(stack.client, runId);
  expect(outcome.result.status).toBe('succeeded');
  const counts = await Promise.all(stack.fleet.hosts.map(async (h) => (await stack.fleet.exec(h.name, `cat reset/${runId}-${h.name} 2>/dev/null || true`)).stdout));
  expect(counts).toEqual(['first\n', 'first\n', 'second\n']);
  // Stage "first" ran once; stage "second" ran again (its first attempt reached no host).
  expect(await runIds(`WorkflowId = '${runId}.count-first'`)).toHaveLength(1);
  expect(await runIds(`WorkflowId = '${runId}.count-second'`)).toHaveLength(2);
});
