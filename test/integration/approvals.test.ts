// Approval stages against the real stack: an `ops server`, an `ops worker` and sshd hosts. Decisions
// go through the API (and `ops approve`); the run's update validator decides what counts.
import { connect } from 'nats';
import { startStack, workerLogs, type TestStack, type WorkerProcess } from '../harness/stack';
import { startOpsServer, type OpsServer } from '../harness/server';
import { EVENTS_STREAM, approvalSubject } from '../../model/naming';
import { untilWith } from '../harness/until';

const until = untilWith(() => `${workerLogs(stack)}\n${server.log()}`);

let stack: TestStack;
let server: OpsServer;
let worker: WorkerProcess;
const tokens: Record<string, string> = {};

const API = 'ops.dev/v1';

/** Appends what ran to a file named after the run on host-1, so the host counts how often each stage ran. */
const MARK = {
  apiVersion: API,
  kind: 'Task',
  metadata: { name: 'mark' },
  spec: {
    targets: { hosts: ['host-1'] },
    variables: [{ name: 'what', default: 'x' }],
    steps: [{ name: 'mark', shell: 'mkdir -p approvals && echo "${what}" >> "approvals/${run.id}"' }],
  },
};

function pipeline(name: string, approval: Record<string, unknown>) {
  return {
    apiVersion: API,
    kind: 'Pipeline',
    metadata: { name },
    spec: {
      variables: [{ name: 'target', default: 'kubelet-1.30' }],
      stages: [
        { name: 'prepare', tasks: [{ task: 'mark', variables: { what: 'prepare' } }] },
        { name: 'approve', approval: { message: 'Upgrade to ${target}?', variables: ['target'], ...approval } },
        { name: 'upgrade', tasks: [{ task: 'mark', name: 'upgrade', variables: { what: 'upgrade' } }] },
      ],
      finally: [{ name: 'report', tasks: [{ task: 'mark', name: 'report', variables: { what: 'finally ${run.status}' } }] }],
    },
  };
}

beforeAll(async () => {
  stack = await startStack({ count: 1 });
  worker = stack.startWorker();
  server = await startOpsServer(stack, { name: 'approvals' });
  await worker.ready;
  const h = stack.fleet.hosts[0];
  const put = (path: string, body: unknown) => server.call('PUT', path, { body }).then((r) => expect(r.status).toBe(201));
  await put('/api/v1/hosts/host-1', { apiVersion: API, kind: 'Host', metadata: { name: h.name }, spec: { address: h.address, port: h.port, hostKey: h.hostKeyFingerprint } });
  await put('/api/v1/tasks/mark', MARK);
  await put('/api/v1/pipelines/guarded', pipeline('guarded', {}));
  await put('/api/v1/pipelines/two-keys', pipeline('two-keys', { required: 2 }));
  await put('/api/v1/pipelines/short-fuse', pipeline('short-fuse', { timeoutSeconds: 3 }));
  for (const [name, role] of [['alice', 'approver'], ['bob', 'admin'], ['carol', 'operator']]) {
    tokens[name] = (await server.call('POST', '/api/v1/tokens', { body: { name, role } })).body.token;
  }
});

afterAll(async () => {
  await server?.stop();
  await stack?.stop();
});

async function start(name: string): Promise<string> {
  const r = await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: name } });
  expect(r.status).toBe(201);
  return r.body.id;
}

/** Waits until the run's approval is listed as pending (not unread: a worker just started may not answer yet), and returns the listing's entry. */
async function pending(runId: string): Promise<any> {
  const mine = (a: any) => a.runId === runId && a.status === 'pending';
  const { body } = await until('the approval to be pending', () => server.call('GET', '/api/v1/approvals?state=pending'), (r) => r.body.items?.some(mine));
  return body.items.find(mine);
}

const decide = (runId: string, who: string, body: Record<string, unknown>) => server.call('POST', `/api/v1/pipelineruns/${runId}/approvals`, { token: tokens[who], body });
const marks = async (runId: string) => (await stack.fleet.exec('host-1', `cat approvals/${runId}`)).stdout;

test('an allowed token approves and the run completes; a token without the role is refused and nothing changes', async () => {
  const runId = await start('guarded');
  const waiting = await pending(runId);
  expect(waiting).toMatchObject({ pipeline: 'guarded', stage: 'approve', status: 'pending', message: 'Upgrade to kubelet-1.30?', variables: { target: 'kubelet-1.30' }, approvers: { roles: ['approver'], tokens: [] }, required: 1, votes: [] });
  expect(waiting.temporalWeb).toContain(`/workflows/${runId}`);
  const listed = await stack.ops(['get', 'approvals'], { env: server.env });
  expect(listed.stdout).toMatch(new RegExp(`${runId}\\s+guarded\\s+approve\\s+0/1\\s+role approver`));

  const refused = await decide(runId, 'carol', { decision: 'approve', comment: 'lgtm' });
  expect(refused.status).toBe(403);
  expect(refused.body.message).toBe('token "carol" (role operator) may not decide stage approve; it needs role approver');
  const unchanged = await server.call('GET', `/api/v1/runs/${runId}`);
  expect(unchanged.body.status).toBe('running');
  expect(unchanged.body.progress.pipeline.stages[1].approval).toMatchObject({ status: 'pending', votes: [] });
  expect(await marks(runId)).toBe('prepare\n');

  const approved = await stack.ops(['approve', runId, '--comment', 'go ahead'], { env: { ...server.env, OPS_TOKEN: tokens.alice } });
  expect(approved).toMatchObject({ code: 0, stdout: `stage approve of run ${runId}: approved by alice: "go ahead"\n` });
  const run = await server.ended(runId);
  expect(run.status).toBe('succeeded');
  expect(run.result.stages.map((s: any) => `${s.name}:${s.status}`)).toEqual(['prepare:succeeded', 'approve:succeeded', 'upgrade:succeeded', 'report:succeeded']);
  const [vote] = run.result.stages[1].approval.votes;
  expect(vote).toMatchObject({ by: 'alice', role: 'approver', decision: 'approve', comment: 'go ahead' });
  expect(Date.parse(vote.at)).toBeGreaterThan(Date.parse(run.startTime));
  expect(await marks(runId)).toBe('prepare\nupgrade\nfinally succeeded\n');

  // Too late: the stage is decided, and then the run is over.
  expect((await decide(runId, 'bob', { decision: 'reject' })).status).toBe(409);
  // The decision is in history (an update, with who, when and why) and in the audit log.
  const history = await stack.client.workflow.getHandle(runId).fetchHistory();
  const accepted = history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
  expect(accepted).toHaveLength(1);
  expect(accepted[0].workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name).toBe('decideApproval');
  const audit = (await server.call('GET', '/api/v1/audit?limit=50')).body.items;
  expect(audit).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ actor: 'alice', action: 'approve stage approve: "go ahead"', resource: `run/${runId}`, status: 200, outcome: 'succeeded' }),
      expect.objectContaining({ actor: 'carol', action: 'approve stage approve: "lgtm"', status: 403, outcome: 'refused' }),
    ]),
  );
  // EventHooks see the pending approval (and the decision) as CloudEvents on JetStream.
  const nc = await connect({ servers: stack.nats.url });
  try {
    const jsm = await nc.jetstreamManager();
    const event = (await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: approvalSubject(runId, 'pending') })).json<any>();
    expect(event).toMatchObject({ specversion: '1.0', type: 'dev.ops.approval.pending', id: `${runId}/approve/pending`, datacontenttype: 'application/json', data: { runId, pipeline: 'guarded', stage: 'approve', message: 'Upgrade to kubelet-1.30?', approvers: { roles: ['approver'] } } });
    const decided = (await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: approvalSubject(runId, 'decided') })).json<any>();
    expect(decided.data).toMatchObject({ status: 'approved', reason: 'approved by alice: "go ahead"' });
  } finally {
    await nc.close();
  }
});

test('two approvals needed: the same token voting twice counts once', async () => {
  const runId = await start('two-keys');
  await pending(runId);
  const first = await decide(runId, 'alice', { stage: 'approve', decision: 'approve' });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ status: 'pending', votes: [{ by: 'alice', decision: 'approve' }] });
  const again = await decide(runId, 'alice', { stage: 'approve', decision: 'approve' });
  expect(again.status).toBe(409);
  expect(again.body.message).toMatch(/^token "alice" already decided stage approve \(approved at .*\); each token counts once$/);
  expect((await pending(runId)).votes).toHaveLength(1);
  const second = await decide(runId, 'bob', { decision: 'approve', comment: 'second pair of eyes' });
  expect(second.body).toMatchObject({ status: 'approved', reason: 'approved by alice, bob: "second pair of eyes"' });
  const run = await server.ended(runId);
  expect(run.status).toBe('succeeded');
  expect(run.result.stages[1].approval.votes.map((v: any) => v.by)).toEqual(['alice', 'bob']);
});

test('a rejection fails the run with its reason, and finally stages still run', async () => {
  const runId = await start('guarded');
  await pending(runId);
  // Following its output while it waits, Ctrl-C stops the following (exit 130, as interrupted), not the run.
  const following = new AbortController();
  const logs = stack.ops(['logs', runId, '-f'], { env: server.env, signal: following.signal });
  await new Promise((r) => setTimeout(r, 2000));
  following.abort();
  expect((await logs).code).toBe(130);
  const rejected = await stack.ops(['approve', runId, '--reject', '--comment', 'not during the freeze'], { env: { ...server.env, OPS_TOKEN: tokens.bob } });
  expect(rejected.code).toBe(0);
  const run = await server.ended(runId);
  expect(run.status).toBe('failed');
  expect(run.result.reason).toBe('stage approve failed: rejected by bob: "not during the freeze"');
  expect(run.result.stages.map((s: any) => `${s.name}:${s.status}`)).toEqual(['prepare:succeeded', 'approve:failed', 'upgrade:skipped', 'report:succeeded']);
  expect(await marks(runId)).toBe('prepare\nfinally failed\n');
  const shown = await stack.ops(['get', 'runs', runId], { env: server.env });
  expect(shown.stdout).toContain('stage approve: failed (rejected by bob: "not during the freeze")');
});

test('nobody decides in time: the timeout rejects and finally runs', async () => {
  const runId = await start('short-fuse');
  const run = await server.ended(runId);
  expect(run.status).toBe('failed');
  expect(run.result.reason).toMatch(/^stage approve failed: no decision by \S+ \(0\/1 approvals\): rejected on timeout$/);
  expect(run.result.stages[1].approval).toMatchObject({ status: 'rejected', timedOut: true, votes: [] });
  expect(await marks(runId)).toBe('prepare\nfinally failed\n');
  expect((await decide(runId, 'alice', { decision: 'approve' })).status).toBe(409);
});

test('a worker restarted while a run waits for approval loses nothing', async () => {
  const runId = await start('two-keys');
  await pending(runId);
  expect((await decide(runId, 'alice', { decision: 'approve', comment: 'before the restart' })).status).toBe(200);
  await worker.kill('SIGKILL');
  worker = stack.startWorker();
  await worker.ready;
  const waiting = await pending(runId);
  expect(waiting.votes).toEqual([expect.objectContaining({ by: 'alice', comment: 'before the restart' })]);
  expect((await decide(runId, 'bob', { decision: 'approve' })).body.status).toBe('approved');
  const run = await server.ended(runId);
  expect(run.status).toBe('succeeded');
  // The stage before the approval ran once, though the worker that ran it is gone.
  expect(await marks(runId)).toBe('prepare\nupgrade\nfinally succeeded\n');
});

test('without a control worker a decision answers 503 and never takes effect later; the waiting run is still listed', async () => {
  const runId = await start('guarded');
  await pending(runId);
  await worker.kill('SIGKILL');
  const noWorker = 'no control worker answered (is "ops worker --control" running?)';
  try {
    // Which stage waits is the run's to say; no worker, no answer (not "not waiting").
    const unnamed = await decide(runId, 'alice', { decision: 'approve' });
    expect([unnamed.status, unnamed.body.message]).toEqual([503, expect.stringContaining(`run ${runId} did not say which stage waits: ${noWorker}`)]);
    const listed = (await server.call('GET', '/api/v1/approvals')).body.items.filter((a: any) => a.runId === runId);
    expect(listed).toEqual([expect.objectContaining({ pipeline: 'guarded', status: 'unread', problem: expect.stringContaining(`the run did not say what it waits for: ${noWorker}`) })]);
    // Temporal lists the dead worker's polls for a while, so this one is sent, and waits in vain.
    const named = await decide(runId, 'alice', { stage: 'approve', decision: 'approve', comment: 'while no worker ran' });
    expect([named.status, named.body.message]).toEqual([503, `run ${runId} did not take the decision within 30s: ${noWorker}; it will not take it later`]);
  } finally {
    worker = stack.startWorker();
    await worker.ready;
  }
  // Temporal hands the run that decision when the worker is back, before this one: the run refuses it.
  const rejected = await decide(runId, 'bob', { stage: 'approve', decision: 'reject', comment: 'after the worker came back' });
  expect(rejected.body).toMatchObject({ status: 'rejected', votes: [expect.objectContaining({ by: 'bob' })] });
  expect((await server.ended(runId)).result.reason).toBe('stage approve failed: rejected by bob: "after the worker came back"');
  expect(await marks(runId)).toBe('prepare\nfinally failed\n');
});

test('approval stages are checked when defined: finally, unknown variables, impossible quorum, bad references', async () => {
  const issues = async (doc: { spec: { finally: unknown[] } }) => {
    const r = await server.call('PUT', '/api/v1/pipelines/bad', { body: doc });
    expect(r.status).toBe(422);
    return r.body.issues.map((i: any) => `${i.path}: ${i.message}`);
  };
  expect(await issues(pipeline('bad', { required: 3, approvers: { tokens: ['alice'] } }))).toEqual(['spec.stages[1].approval.required: 3 approvals are needed but only 1 token(s) may approve']);
  const late = pipeline('bad', { variables: ['nope'] });
  late.spec.finally.push({ name: 'late', approval: { message: 'ok?' } } as never);
  expect(await issues(late)).toEqual([
    'spec.stages[1].approval.variables[0]: names no pipeline variable "nope"',
    'spec.finally[1].approval: finally stages always run, unattended; they cannot wait for approval',
  ]);
  const typo = await server.call('PUT', '/api/v1/pipelines/typo', { body: pipeline('typo', { message: 'Upgrade ${targett}?' }) });
  expect(typo.status).toBe(201);
  const start = await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: 'typo' } });
  expect(start.status).toBe(422);
  expect(start.body.issues[0]).toMatchObject({ path: 'spec.stages[1].approval.message', message: '"${targett}" is neither a pipeline variable, run.id, run.status nor tasks.<task>.results.<name>' });
});
