/**
 * Approval stages: a person (or several) must say yes before a pipeline goes on. The rules the
 * workflow applies to each decision (who may decide, when, how often); the schema is in
 * approval-schema.ts, so workflow code does not bundle zod.
 */
import type { ApprovalSpec, Approvers } from './approval-schema';
import { roleAllows, type Role } from './roles';
import { renderTemplate, TemplateError } from './template';
import { MASK } from './variables';

export type { ApprovalSpec, Approvers } from './approval-schema';

export type ApprovalDecision = 'approve' | 'reject';

/** One decision as the control plane sends it: the authenticated token decides. */
export interface ApprovalRequest {
  stage: string;
  decision: ApprovalDecision;
  comment?: string;
  by: { name: string; role: Role };
  /**
   * Epoch ms after which the run refuses the decision (workflow time). Temporal still delivers an
   * update after its caller gave up waiting; without this, a decision the caller was told had not
   * been taken would take effect when a worker came back. Absent in decisions recorded before it existed.
   */
  notAfter?: number;
}

export interface ApprovalVote {
  by: string;
  role: Role;
  decision: ApprovalDecision;
  comment?: string;
  /** Workflow time of the decision, as recorded in history. */
  at: string;
}

export interface ApprovalState {
  stage: string;
  status: 'pending' | 'approved' | 'rejected';
  /** The message with its references filled in (secrets masked). */
  message: string;
  variables: Record<string, string>;
  approvers: Approvers;
  required: number;
  votes: ApprovalVote[];
  requestedAt: string;
  deadline: string;
  onTimeout: ApprovalSpec['onTimeout'];
  decidedAt?: string;
  /** Nobody decided in time; onTimeout did. */
  timedOut?: boolean;
  /** Why it ended as it did, in words: `rejected by bob: "not today"`. */
  reason?: string;
}

/** Failure types of refused decisions; the control plane maps them to HTTP statuses. */
export const ApprovalRefusal = {
  UnknownStage: 'ApprovalUnknownStage',
  NotPending: 'ApprovalNotPending',
  Decided: 'ApprovalDecided',
  NotAllowed: 'ApprovalNotAllowed',
  AlreadyVoted: 'ApprovalAlreadyVoted',
  Expired: 'ApprovalExpired',
} as const;
export type ApprovalRefusal = (typeof ApprovalRefusal)[keyof typeof ApprovalRefusal];

const PAST = { approve: 'approved', reject: 'rejected' } as const;

export function mayDecide(approvers: Approvers, voter: ApprovalRequest['by']): boolean {
  return approvers.tokens.includes(voter.name) || approvers.roles.some((r) => roleAllows(voter.role, r));
}

/** "role approver or token alice, bob" */
export function describeApprovers(approvers: Approvers): string {
  const parts = [];
  if (approvers.roles.length) parts.push(`role ${approvers.roles.join(' or ')}`);
  if (approvers.tokens.length) parts.push(`token ${approvers.tokens.join(', ')}`);
  return parts.join(' or ');
}

/**
 * Why a decision must be refused, or undefined when it may be recorded. `state` is the stage's
 * approval once it is waiting; `approvalStages` names every approval stage of the pipeline; `now`
 * is workflow time (epoch ms).
 */
export function approvalRefusal(approvalStages: readonly string[], state: ApprovalState | undefined, request: ApprovalRequest, now: number): { type: ApprovalRefusal; message: string } | undefined {
  const stage = request.stage;
  if (request.notAfter !== undefined && now > request.notAfter) {
    return { type: ApprovalRefusal.Expired, message: `the decision arrived at ${new Date(now).toISOString()}, after its deadline ${new Date(request.notAfter).toISOString()}: its sender no longer waits for it` };
  }
  if (!approvalStages.includes(stage)) {
    return { type: ApprovalRefusal.UnknownStage, message: `this pipeline has no approval stage "${stage}"${approvalStages.length ? ` (it has ${approvalStages.join(', ')})` : ''}` };
  }
  if (!state) return { type: ApprovalRefusal.NotPending, message: `stage ${stage} is not waiting for approval yet` };
  if (state.status !== 'pending') return { type: ApprovalRefusal.Decided, message: `stage ${stage} was already decided: ${state.reason ?? state.status}` };
  if (!mayDecide(state.approvers, request.by)) {
    return { type: ApprovalRefusal.NotAllowed, message: `token "${request.by.name}" (role ${request.by.role}) may not decide stage ${stage}; it needs ${describeApprovers(state.approvers)}` };
  }
  const earlier = state.votes.find((v) => v.by === request.by.name);
  if (earlier) return { type: ApprovalRefusal.AlreadyVoted, message: `token "${request.by.name}" already decided stage ${stage} (${PAST[earlier.decision]} at ${earlier.at}); each token counts once` };
  return undefined;
}

/** Records a vote; one rejection rejects, `required` approvals approve. */
export function recordVote(state: ApprovalState, request: ApprovalRequest, at: string): void {
  state.votes.push({ by: request.by.name, role: request.by.role, decision: request.decision, ...(request.comment ? { comment: request.comment } : {}), at });
  const because = request.comment ? `: ${JSON.stringify(request.comment)}` : '';
  if (request.decision === 'reject') {
    decide(state, 'rejected', `rejected by ${request.by.name}${because}`, at);
  } else if (state.votes.filter((v) => v.decision === 'approve').length >= state.required) {
    const names = state.votes.map((v) => v.by).join(', ');
    decide(state, 'approved', `approved by ${names}${because}`, at);
  }
}

export function decideByTimeout(state: ApprovalState, at: string): void {
  const approvals = state.votes.filter((v) => v.decision === 'approve').length;
  state.timedOut = true;
  decide(state, PAST[state.onTimeout], `no decision by ${state.deadline} (${approvals}/${state.required} approvals): ${PAST[state.onTimeout]} on timeout`, at);
}

function decide(state: ApprovalState, status: 'approved' | 'rejected', reason: string, at: string): void {
  state.status = status;
  state.reason = reason;
  state.decidedAt = at;
}

/** What a waiting approval says in Temporal Web and `ops get approvals`. */
export function describeWait(state: ApprovalState): string {
  const approvals = state.votes.filter((v) => v.decision === 'approve').length;
  return `waiting for approval from ${describeApprovers(state.approvers)} (${approvals}/${state.required} approvals; ${state.onTimeout}s at ${state.deadline})`;
}

/**
 * The message and variables approvers see. Secret values are masked, so they can go into events,
 * progress and Temporal Web. A reference that cannot be filled in stays as written.
 */
export function approvalView(
  spec: ApprovalSpec,
  run: { runId: string; values: Readonly<Record<string, string>>; secretNames: readonly string[] },
  results: Readonly<Record<string, Readonly<Record<string, string>>>>,
): { message: string; variables: Record<string, string> } {
  const shown = (name: string) => (run.secretNames.includes(name) ? MASK : run.values[name]);
  const lookup = (ref: string): string | undefined => {
    const m = /^tasks\.([^.]+)\.results\.([^.]+)$/.exec(ref);
    if (m) return results[m[1]]?.[m[2]] ?? '';
    if (ref === 'run.id') return run.runId;
    return Object.prototype.hasOwnProperty.call(run.values, ref) ? shown(ref) : undefined;
  };
  let message = spec.message;
  try {
    message = renderTemplate(spec.message, lookup);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
  }
  return { message, variables: Object.fromEntries(spec.variables.map((name) => [name, shown(name) ?? ''])) };
}
