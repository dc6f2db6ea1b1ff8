import { ApplicationFailure, condition, defineUpdate, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control';
import type { PipelineRunInput, StageResult } from '../model/run';
import { approvalRefusal, approvalView, decideByTimeout, describeWait, recordVote, type ApprovalRequest, type ApprovalSpec, type ApprovalState } from '../model/approval';
import { approvalSubject } from '../model/naming';
import type { PipelineProgress } from './progress';
import { AWAITING_APPROVAL, OpsStatus } from './search-attributes';

/**
 * A decision on an approval stage. An update rather than a signal: its validator refuses a
 * decision before anything is written to history (someone not allowed, a second vote, a stage
 * already decided), and the caller learns at once whether it counted.
 */
export const decideApprovalUpdate = defineUpdate<ApprovalState, [ApprovalRequest]>('decideApproval');

const { publishEvent } = proxyActivities<ControlActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 20 },
});

/** The approval stages of one pipeline run: what each waits for, and the update that decides them. */
export class ApprovalGates {
  private readonly stageNames: string[];
  private readonly open = new Map<string, { state: ApprovalState; position: string }>();

  constructor(private readonly input: PipelineRunInput) {
    this.stageNames = input.pipeline.spec.stages.filter((s) => s.approval).map((s) => s.name);
    setHandler(decideApprovalUpdate, (request) => this.decide(request), {
      validator: (request) => this.refuseIfInvalid(request),
      description: 'Approve or reject a waiting approval stage: { stage, decision: approve|reject, comment, by: { name, role } }',
    });
  }

  /** Waits until the stage is decided or times out; a rejection fails the stage with its reason. */
  async wait(name: string, spec: ApprovalSpec, position: string, shown: PipelineProgress['stages'][number], results: Record<string, Record<string, string>>): Promise<StageResult> {
    const view = approvalView(spec, { runId: this.input.runId, values: this.input.variables, secretNames: this.input.secretNames }, results);
    const now = Date.now();
    const state: ApprovalState = {
      stage: name,
      status: 'pending',
      ...view,
      approvers: spec.approvers,
      required: spec.required,
      votes: [],
      requestedAt: new Date(now).toISOString(),
      deadline: new Date(now + spec.timeoutSeconds * 1000).toISOString(),
      onTimeout: spec.onTimeout,
    };
    shown.approval = state;
    this.open.set(name, { state, position });
    setCurrentDetails(`${position}: ${describeWait(state)}`);
    upsertSearchAttributes([{ key: OpsStatus, value: AWAITING_APPROVAL }]);
    this.announce('pending', state);
    const decided = await condition(() => state.status !== 'pending', spec.timeoutSeconds * 1000, { summary: `approval ${name}: ${spec.onTimeout} if nobody decides` });
    if (!decided) decideByTimeout(state, new Date().toISOString());
    upsertSearchAttributes([{ key: OpsStatus, value: 'running' }]);
    this.announce('decided', state);
    return { name, status: state.status === 'approved' ? 'succeeded' : 'failed', tasks: [], approval: state, ...(state.status === 'rejected' ? { reason: state.reason } : {}) };
  }

  private refuseIfInvalid(request: ApprovalRequest): void {
    // Date.now() is workflow time: the same when the history is replayed.
    const refusal = approvalRefusal(this.stageNames, this.open.get(request.stage)?.state, request, Date.now());
    if (refusal) throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
  }

  private decide(request: ApprovalRequest): ApprovalState {
    this.refuseIfInvalid(request);
    const { state, position } = this.open.get(request.stage) as { state: ApprovalState; position: string };
    recordVote(state, request, new Date().toISOString());
    if (state.status === 'pending') setCurrentDetails(`${position}: ${describeWait(state)}`);
    return state;
  }

  /** Tells EventHooks; a publish that keeps failing must not hold up the approval, so nothing waits for it. */
  private announce(event: 'pending' | 'decided', state: ApprovalState): void {
    const { runId, pipeline } = this.input;
    publishEvent
      .executeWithOptions({ summary: `announce approval ${state.stage} ${event}` }, [
        { subject: approvalSubject(runId, event), type: `dev.ops.approval.${event}`, id: `${runId}/${state.stage}/${event}`, data: { runId, pipeline: pipeline.metadata.name, ...state } },
      ])
      .catch(() => undefined);
  }
}
