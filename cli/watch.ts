import { isGrpcServiceError, ServiceError, type Client } from '@temporalio/client';
import type { HostResult, RunStatus, TaskRunResult } from '../model/run';
import { runOutcome, runTree, type RunOutcome, type RunTree } from '../workers/runs';
import type { HostProgress, PipelineProgress } from '../workflows/progress';
import { describeWait } from '../model/approval';
import { CliError, ExitCode } from './exit-codes';

/**
 * Every poll is a query the worker answers and Temporal relays. One that shows nothing new waits
 * longer for the next (a cold fan-out connects for seconds before a host finishes; a long step
 * runs for minutes), up to QUIET_POLL_MAX_MS; one that shows a change polls again in POLL_MS.
 */
const POLL_MS = 500;
const QUIET_POLL_MAX_MS = 2000;
/** Every task waits a moment for its cluster's worker to pick it up; a wait is news once it lasts this long. */
export const WAITING_SHOWN_AFTER_MS = 2000;

/** Where watch output goes; tests pass their own. */
export type Print = (line: string) => void;

/** Where a watch reads a run from: Temporal directly, or the Ops server's API. */
export interface RunSource {
  /** The progress now; undefined when it cannot be read right now. */
  tree(): Promise<RunTree | undefined>;
  /** Waits for the end. */
  outcome(): Promise<RunOutcome>;
}

/** How long a watch waits for a Temporal that stopped answering (a restart, an upgrade) before it gives up. */
export const TEMPORAL_DOWN_MS = 5 * 60_000;
const TEMPORAL_RETRY_MS = 2000;

/** `kind`, when the caller knows it (it started the run), spares each poll a description of the run. */
export function temporalRunSource(client: Client, runId: string, kind?: RunTree['kind'], downMs = TEMPORAL_DOWN_MS): RunSource {
  return { tree: () => runTree(client, runId, kind), outcome: () => outcomeOnceAnswered(() => runOutcome(client, runId, kind), runId, downMs) };
}

/** The run goes on while Temporal restarts, so the watch does too: it asks again until Temporal answers. */
async function outcomeOnceAnswered(outcome: () => Promise<RunOutcome>, runId: string, downMs: number): Promise<RunOutcome> {
  let downSince: number | undefined;
  for (;;) {
    try {
      return await outcome();
    } catch (e) {
      const unavailable = e instanceof ServiceError && isGrpcServiceError(e.cause) && e.cause.code === 14; // UNAVAILABLE
      if (!unavailable) throw e;
      downSince ??= Date.now();
      if (Date.now() - downSince >= downMs) {
        throw new CliError(`Temporal has not answered for ${Math.round(downMs / 1000)}s (${e.cause.details}); run ${runId} goes on: "ops watch ${runId}" follows it again`, ExitCode.unavailable);
      }
      await new Promise((r) => setTimeout(r, TEMPORAL_RETRY_MS));
    }
  }
}

/**
 * Ctrl-C while following a run stops the following, not the run: it says how to follow or stop the
 * run again and exits 130, as an interrupted command does. Returns the function that stops listening.
 */
export function leaveRunningOnInterrupt(runId: string): () => void {
  const stop = () => {
    console.error(`\nstopped watching; run ${runId} goes on: "ops watch ${runId}" follows it again, "ops cancel ${runId}" stops it`);
    process.exit(ExitCode.interrupted);
  };
  process.once('SIGINT', stop);
  return () => process.removeListener('SIGINT', stop);
}

export function watchRun(client: Client, runId: string, print: Print): Promise<RunOutcome> {
  return watchRunFrom(temporalRunSource(client, runId), print);
}

/**
 * Follows a run until it ends, printing each stage as it starts and each host as it finishes
 * (not in target order: in the order they finish). Returns the run's final outcome.
 */
export async function watchRunFrom(source: RunSource, printLine: Print): Promise<RunOutcome> {
  let printed = 0;
  const print = (line: string) => {
    printed += 1;
    printLine(line);
  };
  const shownHosts = new Set<string>();
  const shownStages = new Set<string>();
  const waitingSince = new Map<string, number>();
  let stuck: string | undefined;
  const showHost = (task: string, h: HostProgress | HostResult) => {
    const id = `${task}/${h.host}`;
    if (h.status === 'running' || shownHosts.has(id)) return;
    shownHosts.add(id);
    print(hostLine(task, h));
  };
  // Every stage as last polled (pending ones too): where it runs, for stages that end unseen between polls.
  const stagesPolled = new Map<string, Stage>();
  const showStage = (stage: StageLine, runId: string) => {
    if (!shownStages.has(stage.name)) {
      shownStages.add(stage.name);
      const where = `${stage.finally ? ' (finally)' : ''}${stage.cluster ? ` on cluster ${stage.cluster}` : ''}`;
      if (stage.approval?.status === 'pending') print(`stage ${stage.name}: ${describeWait(stage.approval)}: ${stage.approval.message}\n  decide: ops approve ${runId} --stage ${stage.name} [--reject] --comment "why"`);
      else if (stage.approval) print(`stage ${stage.name}: approval: ${stage.approval.message}`);
      else print(`stage ${stage.name}${where}: ${stage.status === 'skipped' ? 'skipped' : stage.tasks.map((t) => t.name).join(', ')}`);
    }
    if (stage.approval && stage.approval.status !== 'pending' && !shownStages.has(`${stage.name}/decided`)) {
      shownStages.add(`${stage.name}/decided`);
      print(`  ${stage.approval.status === 'approved' ? MARK.succeeded : '✗'} ${stage.approval.reason}`);
    }
  };
  // Waiting on the end alongside the polls ends the watch as soon as the run does.
  const ending = source.outcome();
  let ended = false;
  const end = ending.then(
    () => void (ended = true),
    () => void (ended = true),
  );
  const poll = () => source.tree().catch(() => undefined);
  let quietPolls = 0;
  for (;;) {
    const printedBefore = printed;
    // A poll still out when a task run ends is not waited for (querying a closed run replays its
    // whole history): the outcome lists every host. A pipeline's stage lines need one more poll.
    let tree = await Promise.race([poll(), end]);
    if (!tree && ended) {
      if ((await ending.catch(() => undefined))?.kind !== 'pipeline') break;
      tree = await poll();
    }
    if (tree?.stuck && tree.stuck !== stuck) {
      stuck = tree.stuck;
      print(`! the run is not making progress: ${stuck}`);
    }
    const byWorkflow = new Map((tree?.tasks ?? []).map((t) => [t.workflowId, t]));
    // Stage by stage, so a stage's hosts are listed under it even when the next one has started.
    for (const stage of tree?.pipeline?.stages ?? []) {
      stagesPolled.set(stage.name, stage);
      if (stage.status === 'pending') continue;
      showStage(stage, tree?.runId ?? '');
      for (const t of stage.tasks.filter((x) => x.status === 'waiting' && !shownStages.has(`${stage.name}/${x.name}/waiting`))) {
        const key = `${stage.name}/${t.name}`;
        const since = waitingSince.get(key) ?? Date.now();
        waitingSince.set(key, since);
        if (Date.now() - since < WAITING_SHOWN_AFTER_MS) continue;
        shownStages.add(`${key}/waiting`);
        print(`  … ${t.name}: ${t.reason ?? 'waiting'}`);
      }
      for (const t of stage.tasks) {
        const hosts = byWorkflow.get(t.workflowId)?.hosts ?? [];
        for (const h of hosts) showHost(t.name, h);
        // A task that ended without a host to show (a variable without value, no worker came) says why here.
        if (t.status === 'failed' && t.reason && !hosts.length && !shownStages.has(`${stage.name}/${t.name}/failed`)) {
          shownStages.add(`${stage.name}/${t.name}/failed`);
          print(`  ✗ ${t.name}: ${t.reason}`);
        }
      }
    }
    if (tree?.kind === 'task') for (const task of tree.tasks) for (const h of task.hosts) showHost(task.name, h);
    if (ended || tree?.closed) break;
    quietPolls = printed > printedBefore ? 0 : quietPolls + 1;
    const pause = Math.min(Math.round(POLL_MS * 1.5 ** Math.max(0, quietPolls - 1)), QUIET_POLL_MAX_MS);
    await Promise.race([new Promise((r) => setTimeout(r, pause)), end]);
  }
  const outcome = await ending;
  // Stages and hosts that ended between the last poll and the end (through the server, a run that
  // has closed shows no stages: a short one may end before any poll saw them).
  for (const stage of outcome.kind === 'pipeline' ? outcome.result.stages : []) {
    showStage({ ...stagesPolled.get(stage.name), ...stage }, '');
    for (const task of stage.tasks) for (const h of task.hosts) showHost(task.name, h);
  }
  if (outcome.kind === 'task') for (const h of outcome.result.hosts) showHost(outcome.result.name, h);
  print(summaryLine(outcome));
  return outcome;
}

type Stage = PipelineProgress['stages'][number];
/** A stage as polled, or as the run's result has it (without where it ran when no poll saw it). */
type StageLine = Pick<Stage, 'name' | 'status' | 'approval'> & Partial<Pick<Stage, 'cluster' | 'finally'>> & { tasks: Array<{ name: string }> };

export function tasksOf(outcome: RunOutcome): TaskRunResult[] {
  return outcome.kind === 'task' ? [outcome.result] : outcome.result.stages.flatMap((s) => s.tasks);
}

export function statusOf(outcome: RunOutcome): RunStatus {
  return outcome.result.status;
}

const MARK: Record<string, string> = { succeeded: '✓', skipped: '-', cancelled: '⊘' };

function hostLine(task: string, h: HostProgress | HostResult): string {
  const mark = MARK[h.status] ?? '✗';
  const exit = h.exitCode !== undefined && h.status !== 'succeeded' ? ` exit ${h.exitCode}` : '';
  const message = h.status === 'succeeded' || !h.message ? '' : `  ${h.message}`;
  return `  ${mark} ${h.host.padEnd(20)} ${h.status.padEnd(16)} [${task}]${exit}${message}`;
}

function summaryLine(outcome: RunOutcome): string {
  const hosts = tasksOf(outcome).flatMap((t) => t.hosts);
  const count = (s: string) => hosts.filter((h) => h.status === s).length;
  const failed = hosts.filter((h) => !['succeeded', 'skipped', 'cancelled'].includes(h.status)).length;
  const parts = [`${count('succeeded')} succeeded`, `${failed} failed`];
  if (count('skipped')) parts.push(`${count('skipped')} skipped`);
  if (count('cancelled')) parts.push(`${count('cancelled')} cancelled`);
  const reason = outcome.result.reason ? `: ${outcome.result.reason}` : '';
  return `run ${outcome.result.status} (${parts.join(', ')} host results)${reason}`;
}

