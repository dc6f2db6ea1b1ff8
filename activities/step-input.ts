import type { HostTarget, StepStatus } from '../model/run';
import type { Step } from '../model/task';
import type { StepScope } from '../model/scope';
import { stepLookup } from '../model/scope';
import type { HostConnector } from './hosts';
import type { LogPublisher } from './logs';
import type { StepPodContext } from './kube/node-connector';
import type { ClusterApis } from './kube/cluster-api';
import type { EventPublisher } from './events';

/** What the workflow sends for one step on one host. */
export interface StepInput {
  runId: string;
  taskName: string;
  host: HostTarget;
  step: Step;
  variables: Record<string, string>;
  secretNames: string[];
  /** Steps that already ran on this host, and results printed so far. */
  steps: Record<string, { status: StepStatus; exitCode?: number }>;
  results: Record<string, string>;
  declaredResults: string[];
}

/** What the activities share on one worker. */
export interface ActivityDeps {
  hosts: HostConnector;
  logs: LogPublisher;
  /** This worker's identity, recorded in every per-host result. */
  identity: string;
  /** The Kubernetes APIs this worker reaches (kubectl steps, node targets). */
  clusters: ClusterApis;
  /** Where heartbeats and inspections publish their events (the worker's own NATS). */
  events: EventPublisher;
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
