import { Context } from '@temporalio/activity';
import type { HostTarget, StepStatus } from '../model/run';
import type { Step } from '../model/task';
import type { StepScope } from '../model/scope';
import { stepLookup } from '../model/scope';
import type { HostConnector } from './hosts';
import type { LogPublisher } from './logs';
import type { StepPodContext } from './kube/node-connector';
import type { ClusterApis } from './kube/cluster-api';
import type { EventPublisher } from './events';
import type { RunSnapshots } from './run-snapshots';
import type { StepHelper } from './ssh/step-helper';

/**
 * What the workflow sends for one step on one host. The task's definition and variables, the same
 * for every host, are not sent: the worker reads them from the run's snapshot (run-snapshots.ts).
 */
export interface StepRequest {
  runId: string;
  taskName: string;
  host: HostTarget;
  /** The step's name in the task. */
  step: string;
  /** Steps that already ran on this host, and results printed so far. */
  steps: Record<string, { status: StepStatus; exitCode?: number }>;
  results: Record<string, string>;
  /**
   * A try after the host was unreachable: the activity id of the earlier try whose records on the
   * host it continues (the step's key), so a script that had started is attached to, not run again.
   */
  continues?: string;
}

/** A step request completed from its run's snapshot: everything a step activity works with. */
export interface StepInput extends Omit<StepRequest, 'step'> {
  step: Step;
  variables: Record<string, string>;
  secretNames: string[];
  declaredResults: string[];
}

/** What the activities share on one worker. */
export interface ActivityDeps {
  /** The snapshots of the task runs whose steps this worker runs. */
  snapshots: RunSnapshots;
  hosts: HostConnector;
  logs: LogPublisher;
  /** This worker's identity, recorded in every per-host result. */
  identity: string;
  /** The Kubernetes APIs this worker reaches (kubectl steps, node targets). */
  clusters: ClusterApis;
  /** Where heartbeats and inspections publish their events (the worker's own NATS). */
  events: EventPublisher;
  /** Runs first attempts of shell steps on SSH hosts with one program; without it, the shell wrapper does. */
  stepHelper?: StepHelper;
}

/** Completes a request of the current activity's workflow from that run's snapshot. */
export async function stepInputOf(snapshots: RunSnapshots, request: StepRequest): Promise<StepInput> {
  const { workflowExecution } = Context.current().info;
  if (!workflowExecution) throw new Error(`step ${request.step} on ${request.host.name} was not started by a task run`);
  const snapshot = await snapshots.get(workflowExecution);
  const step = snapshot.task.spec.steps.find((s) => s.name === request.step);
  if (!step) throw new Error(`task ${snapshot.task.name} of run ${workflowExecution.workflowId} has no step "${request.step}"`);
  return {
    ...request,
    step,
    variables: snapshot.variables,
    secretNames: snapshot.secretNames,
    declaredResults: snapshot.task.spec.results.map((r) => r.name),
  };
}

export function scopeOf(input: StepInput): StepScope {
  return { runId: input.runId, taskName: input.taskName, host: input.host, variables: input.variables, steps: input.steps, results: input.results };
}

export function lookupFor(input: StepInput): (ref: string) => string | undefined {
  return stepLookup(scopeOf(input));
}

export function secretValues(input: StepInput): string[] {
  return input.secretNames.map((n) => input.variables[n]).filter((v): v is string => Boolean(v));
}

/** What a node's step pod records of the step it serves (see activities/kube/step-pod.ts). */
export function stepPodContext(input: StepInput, key: string): StepPodContext {
  return { key, timeoutSeconds: input.step.timeoutSeconds, annotations: { 'ops.dev/run': input.runId, 'ops.dev/task': input.taskName, 'ops.dev/step': input.step.name } };
}
