import { ActivityFailure, ApplicationFailure, isCancellation, patched, proxyActivities, sleep, TimeoutFailure } from '@temporalio/workflow';
import type { Activities, StepRequest } from '../activities';
import type { StepFailureDetails } from '../activities/step-failure';
import type { HostResult, HostTarget, StepResult, StepStatus, TaskSnapshot } from '../model/run';
import type { Step } from '../model/task';
import { evaluateExpression } from '../model/expression';
import { stepLookup } from '../model/scope';
import { FailureType, HOST_STATUS_BY_FAILURE, NON_RETRYABLE_FAILURES } from '../model/failures';
import { STEP_HEARTBEAT_TIMEOUT_MS } from '../model/timing';

export interface HostRunContext {
  runId: string;
  taskName: string;
  task: TaskSnapshot;
  variables: Record<string, string>;
  /** Told when a host starts a step, for progress. */
  onStep(host: string, step: string): void;
}

/**
 * A step's `retries` also wait for an SSH host that could not be reached, so "reboot, then a step
 * with retries" rides the reboot out. A host that refused the credentials or its key is not
 * retried (waiting does not change that), nor a step on a Kubernetes node or cluster API.
 */
const RETRIES_COVER_UNREACHABLE = 'retries-cover-unreachable';

/** Grace beyond a step's own timeout: the activity enforces the timeout itself and needs time to kill. */
const KILL_GRACE_SECONDS = 60;

const { sshShell, sshFile, kubeShell, kubeFile, kubectl } = proxyActivities<Activities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: STEP_HEARTBEAT_TIMEOUT_MS,
  // These retries cover the worker or the connection going away mid-step; a failed script is
  // retried only as the step's own `retries` say (runStep below).
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
});

/** Runs the task's steps in order on one host and says how the host ended. */
export async function runStepsOnHost(ctx: HostRunContext, host: HostTarget): Promise<HostResult> {
  const steps: StepResult[] = [];
  const seen: Record<string, { status: StepStatus; exitCode?: number }> = {};
  const results: Record<string, string> = {};
  let worker: string | undefined;
  for (const step of ctx.task.spec.steps) {
    if (step.when) {
      let run: boolean;
      try {
        run = evaluateExpression(step.when, stepLookup({ runId: ctx.runId, taskName: ctx.taskName, host, variables: ctx.variables, steps: seen, results }));
      } catch (e) {
        const message = `step ${step.name}: when: ${(e as Error).message}`;
        steps.push({ step: step.name, status: 'failed', message });
        return { host: host.name, status: 'failed', message, steps, results, worker };
      }
      if (!run) {
        steps.push({ step: step.name, status: 'skipped', message: `when "${step.when}" is false` });
        seen[step.name] = { status: 'skipped' };
        continue;
      }
    }
    ctx.onStep(host.name, step.name);
    const outcome = await runStep(ctx, host, step, { steps: { ...seen }, results: { ...results } });
    worker = outcome.worker ?? worker;
    Object.assign(results, outcome.results);
    seen[step.name] = { status: outcome.status, exitCode: outcome.exitCode };
    const allowedFailure = outcome.status !== 'succeeded' && step.allowFailure;
    steps.push({ ...outcome.summary, ...(allowedFailure ? { allowedFailure } : {}) });
    if (outcome.status !== 'succeeded' && !allowedFailure) {
      return { host: host.name, status: outcome.status, exitCode: outcome.exitCode, message: `step ${step.name}: ${outcome.summary.message}`, steps, results, worker };
    }
  }
  return { host: host.name, status: 'succeeded', steps, results, worker };
}

interface StepRun {
  status: StepStatus;
  exitCode?: number;
  results: Record<string, string>;
  worker?: string;
  summary: StepResult;
}

async function runStep(
  ctx: HostRunContext,
  host: HostTarget,
  step: Step,
  scope: Pick<StepRequest, 'steps' | 'results'>,
): Promise<StepRun> {
  const fn = step.kubectl ? kubectl : host.connection === 'node' ? (step.file ? kubeFile : kubeShell) : step.file ? sshFile : sshShell;
  const activityId = (n: number) => `${host.name}/${step.name}/${n}`;
  // A try's activity id keys the step's records on its host. A script's try after the host was
  // unreachable continues the records of the try before it: where the script had started before the
  // host dropped off, it is attached to (or its end replayed), not started a second time.
  let continues: string | undefined;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const out = await fn.executeWithOptions(
        {
          startToCloseTimeout: `${step.timeoutSeconds + KILL_GRACE_SECONDS}s`,
          activityId: activityId(attempt), summary: `${step.name} on ${host.name}${attempt > 1 ? ` (try ${attempt})` : ''}`,
        },
        [{ runId: ctx.runId, taskName: ctx.taskName, host, step: step.name, ...scope, ...(continues ? { continues } : {}) }],
      );
      return {
        status: 'succeeded',
        exitCode: out.exitCode,
        results: out.results,
        worker: out.worker,
        summary: { step: step.name, status: 'succeeded', exitCode: out.exitCode, durationMs: out.durationMs, attempts: attempt, ...(out.changed !== undefined ? { changed: out.changed } : {}) },
      };
    } catch (err) {
      if (isCancellation(err)) throw err;
      const failure = classify(err);
      const unreachable = failure.status === 'unreachable' && host.connection === 'ssh';
      const userRetryable = failure.status === 'failed' || failure.status === 'timedOut' || unreachable;
      if (userRetryable && attempt <= step.retries && (!unreachable || patched(RETRIES_COVER_UNREACHABLE))) {
        // A file transfer is simply done again; it is checked on arrival.
        continues = unreachable && fn === sshShell ? (continues ?? activityId(attempt)) : undefined;
        await sleep(step.retryDelaySeconds * 1000);
        continue;
      }
      return {
        status: failure.status,
        exitCode: failure.exitCode,
        results: failure.results ?? {},
        worker: failure.worker,
        summary: { step: step.name, status: failure.status, exitCode: failure.exitCode, ...(failure.durationMs !== undefined ? { durationMs: failure.durationMs } : {}), attempts: attempt, message: failure.message },
      };
    }
  }
}

function classify(err: unknown): { status: StepStatus; exitCode?: number; durationMs?: number; message: string; worker?: string; results?: Record<string, string> } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type && cause.type in HOST_STATUS_BY_FAILURE) {
    const details = (cause.details?.[0] ?? {}) as StepFailureDetails;
    return { status: HOST_STATUS_BY_FAILURE[cause.type as FailureType], exitCode: details.exitCode, durationMs: details.durationMs, message: cause.message, worker: details.worker, results: details.results };
  }
  if (cause instanceof TimeoutFailure) {
    return { status: 'failed', message: `the worker running the step stopped answering (${cause.timeoutType}) on every attempt` };
  }
  return { status: 'failed', message: cause instanceof Error ? cause.message : String(cause) };
}
