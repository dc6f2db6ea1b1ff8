import {
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { HostResult, HostTarget, TaskRunInput, TaskRunResult } from '../model/run';
import { failureBudget, planBatches } from '../model/rollout';
import { combineResults } from '../model/results';
import { hostGroupWorkflowId } from '../model/naming';
import { runStepsOnHost, type HostRunContext } from './host-steps';
import { fanOut } from './fan-out';
import { hostProgressOf, taskProgressQuery, type HostProgress, type TaskProgress } from './progress';
import { OpsStatus } from './search-attributes';
import { TASK_RUN_FAILED } from './run-failure';
import { announceTaskRunStarted } from './cluster-child';
import { withNodeTargets } from './node-targets';
import { announceRunStatus } from './run-events';

/**
 * A batch larger than this is split over child workflows, so no single history nears Temporal's
 * limits (each host adds about four events per step: 250 hosts of a 5-step task stay near 5,000
 * events and a few MB, against limits of 51,200 events and 50 MB).
 */
export const HOSTS_PER_WORKFLOW = 250;

const FAILED: ReadonlyArray<HostResult['status']> = ['failed', 'unreachable', 'authFailed', 'hostKeyRejected', 'timedOut'];

/** Fans a task out over its hosts: rolling batches, concurrency, failure budget; its status as events. */
export async function taskRun(given: TaskRunInput): Promise<TaskRunResult> {
  await announceTaskRunStarted(given);
  // A schedule starts each run from the same input under a new workflow id: a run of its own is named by it.
  const own = workflowInfo().parent ? given : { ...given, runId: workflowInfo().workflowId };
  // The end is announced after the start, so the last event of a run is how it ended.
  const started = announceRunStatus(own, 'running');
  try {
    const result = await runTask(own);
    await started;
    await announceRunStatus(own, result.status, result);
    return result;
  } catch (err) {
    const ended = endOf(err);
    await CancellationScope.nonCancellable(async () => {
      await started;
      await announceRunStatus(own, ended.status, ended);
    });
    throw err;
  }
}

function endOf(err: unknown): Pick<TaskRunResult, 'status' | 'reason' | 'hosts'> {
  if (isCancellation(err)) return { status: 'cancelled', reason: 'cancelled', hosts: [] };
  if (err instanceof ApplicationFailure && err.type === TASK_RUN_FAILED) return err.details?.[0] as TaskRunResult;
  return { status: 'failed', reason: (err as Error).message, hosts: [] };
}

async function runTask(own: TaskRunInput): Promise<TaskRunResult> {
  const { input, problem } = await withNodeTargets(own);
  const tracker = new HostTracker(input);
  setHandler(taskProgressQuery, () => tracker.progress());
  if (problem) throw runFailed(tracker.finish('failed', problem));
  if (input.hosts.length === 0) throw runFailed(tracker.finish('failed', 'no hosts match the targets; nothing was run'));
  const spec = input.task.spec;
  const budget = failureBudget(spec.maxFailures, input.hosts.length);
  const split = input.hosts.length > HOSTS_PER_WORKFLOW;
  let offset = 0;
  let canaryFailed = false;
  try {
    for (const [batch, size] of planBatches(input.hosts.length, spec.batch).entries()) {
      const hosts = input.hosts.slice(offset, offset + size);
      offset += size;
      if (canaryFailed) {
        tracker.skip(hosts, 'not started: the canary failed');
        continue;
      }
      if (tracker.failures() > budget) {
        tracker.skip(hosts, 'not started: the failure budget was spent');
        continue;
      }
      if (split) await runGroups(input, tracker, hosts, batch, budget);
      else await runHosts(input, tracker, hosts, spec.concurrency, budget);
      // A failed canary stops the rollout whatever maxFailures allows: that is what it is for (runs started before this rule keep the old one).
      canaryFailed = batch === 0 && Boolean(spec.batch?.canary) && tracker.failures() > 0 && patched('canary-stops-the-rollout');
    }
  } catch (err) {
    if (isCancellation(err)) {
      tracker.skipNotStarted();
      tracker.finish('cancelled', 'cancelled');
    }
    throw err;
  }
  const failures = tracker.failures();
  if (canaryFailed) {
    const notStarted = tracker.results().filter((r) => r.status === 'skipped').length;
    throw runFailed(tracker.finish('failed', `the canary failed (${tracker.failureSummary()}); ${notStarted} other host(s) not started`));
  }
  if (failures > budget) throw runFailed(tracker.finish('failed', `${failures} of ${input.hosts.length} hosts failed (maxFailures ${budget}): ${tracker.failureSummary()}`));
  // A run on which no host succeeded did nothing, whatever maxFailures allows (runs started before this rule keep the old one).
  if (failures > 0 && failures === tracker.results().length && patched('every-host-failed-fails-the-run')) {
    throw runFailed(tracker.finish('failed', `all ${failures} hosts failed: ${tracker.failureSummary()}`));
  }
  if (failures > 0) return tracker.finish('succeeded', `${failures} of ${input.hosts.length} hosts failed, within maxFailures ${budget}: ${tracker.failureSummary()}`);
  return tracker.finish('succeeded');
}

/**
 * A failed run fails its workflow, so Temporal Web and visibility show it as Failed; the full
 * result travels in the failure's details (see taskRunResultOf).
 */
function runFailed(result: TaskRunResult): ApplicationFailure {
  return ApplicationFailure.create({ type: TASK_RUN_FAILED, message: result.reason ?? 'failed', details: [result], nonRetryable: true });
}

/** A child of a large task run: one slice of one batch, with its share of the concurrency. */
export async function hostGroupRun(input: TaskRunInput & { group: { index: number; failureBudget: number; concurrency: number } }): Promise<HostResult[]> {
  const tracker = new HostTracker(input);
  setHandler(taskProgressQuery, () => tracker.progress());
  try {
    await runHosts(input, tracker, input.hosts, input.group.concurrency, input.group.failureBudget);
  } catch (err) {
    if (isCancellation(err)) tracker.skipNotStarted();
    throw err;
  }
  return tracker.results();
}

async function runHosts(input: TaskRunInput, tracker: HostTracker, hosts: HostTarget[], concurrency: number, budget: number): Promise<void> {
  const ctx: HostRunContext = {
    runId: input.runId,
    taskName: input.name,
    task: input.task,
    variables: input.variables,
    onStep: (host, step) => tracker.running(host, step),
  };
  const notStarted = await fanOut(hosts, concurrency, () => tracker.failures() > budget, async (host) => {
    try {
      tracker.record(await runStepsOnHost(ctx, host));
    } catch (err) {
      if (isCancellation(err)) tracker.record({ host: host.name, status: 'cancelled', message: 'the run was cancelled', steps: [], results: {} });
      throw err;
    }
  });
  tracker.skip(notStarted, 'not started: the failure budget was spent');
}

async function runGroups(input: TaskRunInput, tracker: HostTracker, hosts: HostTarget[], batch: number, budget: number): Promise<void> {
  const groups: HostTarget[][] = [];
  for (let i = 0; i < hosts.length; i += HOSTS_PER_WORKFLOW) groups.push(hosts.slice(i, i + HOSTS_PER_WORKFLOW));
  const concurrency = input.task.spec.concurrency;
  const runGroup = async (group: HostTarget[], index: number, groupConcurrency: number, failureBudget: number): Promise<void> => {
    const workflowId = hostGroupWorkflowId(workflowInfo().workflowId, batch, index);
    tracker.groupStarted(workflowId, group);
    const results = await executeChild(hostGroupRun, {
      workflowId,
      args: [{ ...input, hosts: group, group: { index, failureBudget, concurrency: groupConcurrency } }],
      typedSearchAttributes: workflowInfo().typedSearchAttributes,
    });
    tracker.groupFinished(workflowId);
    results.forEach((r) => tracker.record(r));
  };
  if (!patched('groups-share-concurrency-and-budget')) {
    // Runs started before: every group at once with a rounded share of the concurrency and its own budget.
    const left = budget - tracker.failures();
    await Promise.all(groups.map((group, index) => runGroup(group, index, Math.max(1, Math.round((concurrency * group.length) / hosts.length)), left)));
    return;
  }
  // The run's concurrency and failure budget hold across its groups, as in one workflow: with room
  // for every host all groups start at once (no failure can stop a host then); else one group at a
  // time, with the whole concurrency and what is left of the budget.
  const notStarted = await fanOut(groups, concurrency >= hosts.length ? groups.length : 1, () => tracker.failures() > budget, (group) =>
    runGroup(group, groups.indexOf(group), concurrency, budget - tracker.failures()),
  );
  tracker.skip(notStarted.flat(), 'not started: the failure budget was spent');
}

/** What has happened to each host so far; the source of the progress query and the result. */
class HostTracker {
  private readonly byHost = new Map<string, HostResult>();
  private readonly inFlight = new Map<string, string>();
  /** Child workflows running now, with their hosts: their own progress holds those hosts' results. */
  private readonly groups = new Map<string, HostTarget[]>();
  /** Hosts whose result is a failure; counted as results come, since the fan-out asks before each host. */
  private failed = 0;
  private status: TaskProgress['status'] = 'running';
  private reason?: string;

  constructor(private readonly input: TaskRunInput) {}

  running(host: string, step: string): void {
    this.inFlight.set(host, step);
    this.updateDetails();
  }

  record(result: HostResult): void {
    const earlier = this.byHost.get(result.host);
    if (earlier && FAILED.includes(earlier.status)) this.failed -= 1;
    if (FAILED.includes(result.status)) this.failed += 1;
    this.inFlight.delete(result.host);
    this.byHost.set(result.host, result);
    this.updateDetails();
  }

  skip(hosts: HostTarget[], message: string): void {
    for (const h of hosts) this.record({ host: h.name, status: 'skipped', message, steps: [], results: {} });
  }

  /** A cancelled run still reports each host once: those it never started as skipped (a running group reports its own). */
  skipNotStarted(): void {
    const inGroups = new Set([...this.groups.values()].flat().map((h) => h.name));
    this.skip(
      this.input.hosts.filter((h) => !this.byHost.has(h.name) && !inGroups.has(h.name)),
      'not started: the run was cancelled',
    );
  }

  groupStarted(id: string, hosts: HostTarget[]): void {
    this.groups.set(id, hosts);
  }

  groupFinished(id: string): void {
    this.groups.delete(id);
  }

  failures(): number {
    return this.failed;
  }

  failureSummary(): string {
    const failed = this.results().filter((r) => FAILED.includes(r.status));
    const shown = failed.slice(0, 5).map((r) => `${r.host} ${r.status}${r.exitCode !== undefined ? ` (exit ${r.exitCode})` : ''}`);
    return shown.join(', ') + (failed.length > shown.length ? `, and ${failed.length - shown.length} more` : '');
  }

  /** Host results in target order. */
  results(): HostResult[] {
    return this.input.hosts.flatMap((h) => this.byHost.get(h.name) ?? []);
  }

  progress(): TaskProgress {
    const hosts: HostProgress[] = this.input.hosts.flatMap((h) => {
      const done = this.byHost.get(h.name);
      if (done) return [hostProgressOf(done)];
      const step = this.inFlight.get(h.name);
      return step ? [{ host: h.name, status: 'running' as const, step }] : [];
    });
    return { name: this.input.name, status: this.status, reason: this.reason, total: this.input.hosts.length, hosts, groups: [...this.groups.keys()] };
  }

  finish(status: TaskRunResult['status'], reason?: string): TaskRunResult {
    this.status = status;
    this.reason = reason;
    this.updateDetails();
    if (!this.input.group) upsertSearchAttributes([{ key: OpsStatus, value: status }]);
    const hosts = this.results();
    const result: TaskRunResult = { name: this.input.name, status, hosts, results: combineResults(hosts.map((h) => h.results)) };
    if (reason) result.reason = reason;
    return result;
  }

  private updateDetails(): void {
    const done = this.byHost.size;
    const total = this.input.hosts.length;
    const failed = this.failures();
    const running: string[] = [];
    for (const [host, step] of this.inFlight) {
      if (running.length === 5) break;
      running.push(`${host}: ${step}`);
    }
    const head = this.status === 'running' ? `${done}/${total} hosts done, ${failed} failed` : `${this.status}${this.reason ? `: ${this.reason}` : ''}`;
    const where = this.input.stage ? `${this.input.stage}: ` : '';
    setCurrentDetails(`${where}${running.length && this.status === 'running' ? `${head}; running ${running.join(', ')}${this.inFlight.size > 5 ? ' …' : ''}` : head}`);
  }
}
