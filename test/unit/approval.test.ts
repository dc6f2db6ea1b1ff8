import { approvalRefusal, approvalView, decideByTimeout, describeWait, mayDecide, recordVote, type ApprovalRequest, type ApprovalState } from '../../model/approval';
import { validateResource } from '../../model/resources';
import { approvalSpec } from '../../model/approval-schema';

const spec = (input: Record<string, unknown>) => approvalSpec.parse({ message: 'Go?', ...input });

function waiting(overrides: Partial<ApprovalState> = {}): ApprovalState {
  return {
    stage: 'gate',
    status: 'pending',
    message: 'Go?',
    variables: {},
    approvers: { roles: ['approver'], tokens: ['dora'] },
    required: 2,
    votes: [],
    requestedAt: '2030-01-01T00:00:00.000Z',
    deadline: '2030-01-02T00:00:00.000Z',
    onTimeout: 'reject',
    ...overrides,
  };
}

const vote = (name: string, role: ApprovalRequest['by']['role'], decision: ApprovalRequest['decision'] = 'approve', comment?: string): ApprovalRequest => ({
  stage: 'gate',
  decision,
  ...(comment ? { comment } : {}),
  by: { name, role },
});

describe('approvalSpec', () => {
  it('defaults to one approval from role approver, rejecting after a day', () => {
    expect(spec({})).toEqual({ message: 'Go?', approvers: { roles: ['approver'], tokens: [] }, required: 1, timeoutSeconds: 86400, onTimeout: 'reject', variables: [] });
  });

  it('keeps named tokens alone when only they are given', () => {
    expect(spec({ approvers: { tokens: ['alice'] } }).approvers).toEqual({ roles: [], tokens: ['alice'] });
  });

  it('refuses a quorum the named tokens can never reach, and unknown roles', () => {
    const quorum = approvalSpec.safeParse({ message: 'x', required: 2, approvers: { tokens: ['alice'] } });
    expect(quorum.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['required', '2 approvals are needed but only 1 token(s) may approve']]);
    expect(approvalSpec.safeParse({ message: 'x', approvers: { roles: ['sre'] } }).success).toBe(false);
  });
});

describe('mayDecide', () => {
  const approvers = { roles: ['approver' as const], tokens: ['dora'] };
  it('admits the role and the roles above it, and named tokens whatever their role', () => {
    expect(mayDecide(approvers, { name: 'a', role: 'approver' })).toBe(true);
    expect(mayDecide(approvers, { name: 'b', role: 'admin' })).toBe(true);
    expect(mayDecide(approvers, { name: 'c', role: 'operator' })).toBe(false);
    expect(mayDecide(approvers, { name: 'dora', role: 'viewer' })).toBe(true);
  });
});

describe('approvalRefusal', () => {
  const stages = ['gate'];
  const NOW = Date.parse('2030-01-01T00:00:30.000Z');
  it('refuses a decision that arrives after its deadline, whatever else holds', () => {
    const late = { ...vote('alice', 'approver'), notAfter: NOW - 1 };
    expect(approvalRefusal(stages, waiting(), late, NOW)).toEqual({
      type: 'ApprovalExpired',
      message: 'the decision arrived at 2030-01-01T00:00:30.000Z, after its deadline 2030-01-01T00:00:29.999Z: its sender no longer waits for it',
    });
    expect(approvalRefusal(stages, waiting(), { ...late, notAfter: NOW }, NOW)).toBeUndefined();
  });

  it('refuses an unknown stage, one not waiting yet, and one already decided', () => {
    expect(approvalRefusal(stages, undefined, { ...vote('a', 'admin'), stage: 'nope' }, NOW)).toEqual({ type: 'ApprovalUnknownStage', message: 'this pipeline has no approval stage "nope" (it has gate)' });
    expect(approvalRefusal(stages, undefined, vote('a', 'admin'), NOW)?.type).toBe('ApprovalNotPending');
    expect(approvalRefusal(stages, waiting({ status: 'approved', reason: 'approved by a, b' }), vote('c', 'admin'), NOW)).toEqual({ type: 'ApprovalDecided', message: 'stage gate was already decided: approved by a, b' });
  });

  it('refuses a token that may not decide, naming who may', () => {
    expect(approvalRefusal(stages, waiting(), vote('carol', 'operator'), NOW)).toEqual({
      type: 'ApprovalNotAllowed',
      message: 'token "carol" (role operator) may not decide stage gate; it needs role approver or token dora',
    });
  });

  it('refuses a second vote by the same token, approve or reject', () => {
    const state = waiting();
    recordVote(state, vote('alice', 'approver'), '2030-01-01T00:01:00.000Z');
    expect(approvalRefusal(stages, state, vote('alice', 'approver', 'reject'), NOW)).toEqual({
      type: 'ApprovalAlreadyVoted',
      message: 'token "alice" already decided stage gate (approved at 2030-01-01T00:01:00.000Z); each token counts once',
    });
    expect(approvalRefusal(stages, state, vote('bob', 'admin'), NOW)).toBeUndefined();
  });
});

describe('recordVote and decideByTimeout', () => {
  it('approves once enough distinct tokens approved', () => {
    const state = waiting();
    recordVote(state, vote('alice', 'approver'), 't1');
    expect(state.status).toBe('pending');
    expect(describeWait(state)).toBe('waiting for approval from role approver or token dora (1/2 approvals; rejects at 2030-01-02T00:00:00.000Z)');
    recordVote(state, vote('dora', 'viewer', 'approve', 'fine'), 't2');
    expect(state).toMatchObject({ status: 'approved', reason: 'approved by alice, dora: "fine"', decidedAt: 't2' });
    expect(state.votes).toEqual([
      { by: 'alice', role: 'approver', decision: 'approve', at: 't1' },
      { by: 'dora', role: 'viewer', decision: 'approve', comment: 'fine', at: 't2' },
    ]);
  });

  it('rejects at the first rejection', () => {
    const state = waiting();
    recordVote(state, vote('alice', 'approver'), 't1');
    recordVote(state, vote('bob', 'admin', 'reject', 'not today'), 't2');
    expect(state).toMatchObject({ status: 'rejected', reason: 'rejected by bob: "not today"' });
  });

  it('applies onTimeout when nobody decided in time', () => {
    const rejected = waiting();
    decideByTimeout(rejected, 't9');
    expect(rejected).toMatchObject({ status: 'rejected', timedOut: true, reason: 'no decision by 2030-01-02T00:00:00.000Z (0/2 approvals): rejected on timeout' });
    const approved = waiting({ onTimeout: 'approve' });
    decideByTimeout(approved, 't9');
    expect(approved).toMatchObject({ status: 'approved', reason: expect.stringMatching(/approved on timeout$/) });
  });
});

describe('approvalView', () => {
  const run = { runId: 'p-1', values: { target: '1.30', token: 'hunter2' }, secretNames: ['token'] };
  it('fills in variables, run.id and earlier results, masking secrets', () => {
    const view = approvalView(spec({ message: 'Upgrade ${run.id} to ${target} on ${tasks.find.results.nodes} with ${token}?', variables: ['target', 'token'] }), run, { find: { nodes: 'n1\nn2' } });
    expect(view).toEqual({ message: 'Upgrade p-1 to 1.30 on n1\nn2 with ***?', variables: { target: '1.30', token: '***' } });
  });

  it('leaves a message it cannot fill in as written', () => {
    expect(approvalView(spec({ message: 'Go ${nobody}?' }), run, {}).message).toBe('Go ${nobody}?');
  });
});

describe('approval stages in a Pipeline', () => {
  const pipeline = (stages: unknown[], fin: unknown[] = []) =>
    validateResource({ apiVersion: 'ops.dev/v1', kind: 'Pipeline', metadata: { name: 'p' }, spec: { variables: [{ name: 'v' }], stages, finally: fin } });
  const issues = (r: ReturnType<typeof pipeline>) => r.issues.map((i) => `${i.path}: ${i.message}`);

  it('takes a stage with an approval and no tasks; the parsed document parses again unchanged', () => {
    const { resource } = pipeline([{ name: 'gate', approval: { message: 'Go ${v}?', variables: ['v'] } }]);
    expect(resource?.kind === 'Pipeline' && resource.spec.stages[0]).toMatchObject({ name: 'gate', cluster: 'local', tasks: [], approval: { message: 'Go ${v}?', required: 1 } });
    expect(validateResource(resource).resource).toEqual(resource);
  });

  it('refuses a stage with both tasks and an approval, or with neither', () => {
    expect(issues(pipeline([{ name: 'a', tasks: [{ task: 't' }], approval: { message: 'x' } }, { name: 'b' }, { name: 'c', tasks: [] }]))).toEqual([
      'spec.stages[0].approval: a stage runs tasks or waits for approval, not both; make them two stages',
      'spec.stages[1].tasks: a stage needs at least one task, or an approval to wait for',
      'spec.stages[2].tasks: a stage needs at least one task, or an approval to wait for',
    ]);
  });

  it('refuses approvals in finally stages and shown variables the pipeline does not declare', () => {
    expect(issues(pipeline([{ name: 'gate', approval: { message: 'x', variables: ['w'] } }], [{ name: 'late', approval: { message: 'x' } }]))).toEqual([
      'spec.stages[0].approval.variables[0]: names no pipeline variable "w"',
      'spec.finally[0].approval: finally stages always run, unattended; they cannot wait for approval',
    ]);
  });
});
