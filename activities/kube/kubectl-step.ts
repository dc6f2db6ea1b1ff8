import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { StepOutcome } from '../../model/run';
import type { KubectlSpec } from '../../model/task';
import { FailureType } from '../../model/failures';
import { renderTemplate, TemplateError } from '../../model/template';
import { keepHeartbeating } from '../heartbeat';
import { mask } from '../masker';
import { StepOutput } from '../output';
import { stepKey } from '../remote-step';
import { stepFailure } from '../step-failure';
import { lookupFor, secretValues, type ActivityDeps, type StepInput } from '../step-input';
import { apiErrorMessage, apiStatus } from './api-errors';
import type { ClusterApi } from './cluster-api';
import { readiness, type ObjectState } from './readiness';

const FIELD_MANAGER = 'ops';
const WAIT_POLL_MS = 1_000;
const WORKLOADS: Record<string, { apiVersion: string; kind: string }> = {
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment' },
  daemonset: { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  statefulset: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  pod: { apiVersion: 'v1', kind: 'Pod' },
  node: { apiVersion: 'v1', kind: 'Node' },
};

/** The `kubectl` activity: one call to the cluster's API, made by the cluster's worker. */
export async function runKubectlStep(deps: ActivityDeps, input: StepInput): Promise<StepOutcome> {
  const ctx = Context.current();
  const worker = deps.identity;
  const secrets = secretValues(input);
  const spec = renderSpec(input, worker, secrets);
  const key = stepKey(ctx.info.workflowExecution?.runId ?? '', ctx.info.activityId);
  const output = new StepOutput(secrets, [], deps.logs.forStep({ runId: input.runId, host: input.host.name, task: input.taskName, step: input.step.name, attempt: ctx.info.attempt, key }));
  const say = (line: string) => output.write('stdout', Buffer.from(`${line}\n`));
  const started = Date.now();
  const stopHeartbeat = keepHeartbeating(ctx, () => ({ stdoutBytes: output.bytes.stdout }));
  try {
    const api = deps.clusters.get(input.host.credentialRef);
    if (spec.apply !== undefined) await apply(api, spec.apply, spec.namespace, say);
    // The restart stamp is the step's scheduled time, so a retried attempt does not restart twice.
    else if (spec.rolloutRestart !== undefined) await restart(api, spec.rolloutRestart, spec.namespace, new Date(ctx.info.scheduledTimestampMs), say);
    else if (spec.waitReady !== undefined) await waitReady(api, spec.waitReady, spec.namespace, input.step.timeoutSeconds, ctx, say, () => output.tail());
    await output.close();
    return { exitCode: 0, durationMs: Date.now() - started, stdoutBytes: output.bytes.stdout, stderrBytes: 0, tail: output.tail(), results: {}, worker };
  } catch (e) {
    await output.close();
    if (e instanceof ApplicationFailure) {
      // Failures raised below do not know the worker; every host result names it.
      Object.assign((e.details?.[0] ?? {}) as object, { worker });
      throw e;
    }
    if (ctx.cancellationSignal.aborted) throw e;
    const status = apiStatus(e);
    const message = mask(apiErrorMessage(e), secrets);
    // A refusal from the API (invalid object, forbidden, conflict) is the step failing; no answer at all is the cluster unreachable.
    if (status !== undefined) throw stepFailure(FailureType.NonZeroExit, `exit code 1: ${message}`, { exitCode: 1, worker, tail: output.tail() });
    throw stepFailure(FailureType.HostUnreachable, `cluster ${input.host.cluster} API: ${message}`, { worker });
  } finally {
    stopHeartbeat();
  }
}

function renderSpec(input: StepInput, worker: string, secrets: string[]): KubectlSpec {
  const k = input.step.kubectl;
  if (!k) throw stepFailure(FailureType.StepInvalid, 'not a kubectl step', { worker });
  const render = (text: string | undefined) => (text === undefined ? undefined : renderTemplate(text, lookupFor(input)));
  try {
    return { namespace: k.namespace, apply: render(k.apply), rolloutRestart: render(k.rolloutRestart), waitReady: render(k.waitReady) };
  } catch (e) {
    if (e instanceof TemplateError) throw stepFailure(FailureType.StepInvalid, mask(e.message, secrets), { worker });
    throw e;
  }
}

/** Server-side apply of every document, in order, as field manager "ops". */
async function apply(api: ClusterApi, manifest: string, namespace: string | undefined, say: (line: string) => void): Promise<void> {
  const docs = parseAllDocuments(manifest);
  const problems = docs.flatMap((d) => d.errors.map((e) => e.message));
  if (problems.length) throw stepFailure(FailureType.StepInvalid, `apply: the manifest is not valid YAML: ${problems[0]}`);
  for (const doc of docs) {
    const obj = doc.toJSON() as KubernetesObject | null;
    if (!obj) continue;
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw stepFailure(FailureType.StepInvalid, 'apply: every document needs apiVersion, kind and metadata.name');
    if (namespace && !obj.metadata.namespace) obj.metadata.namespace = namespace;
    const applied = await api.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    say(`${obj.kind.toLowerCase()}/${obj.metadata.name}${applied.metadata?.namespace ? ` -n ${applied.metadata.namespace}` : ''} applied (resourceVersion ${applied.metadata?.resourceVersion ?? '?'})`);
  }
}

function parseRef(ref: string, namespace: string | undefined): { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } {
  const [kindName, name] = ref.split('/');
  const kind = WORKLOADS[kindName];
  if (!kind || !name) throw stepFailure(FailureType.StepInvalid, `"${ref}" is not KIND/NAME`);
  const clusterScoped = kind.kind === 'Node';
  return { ...kind, metadata: { name, ...(clusterScoped ? {} : { namespace: namespace ?? 'default' }) } };
}

/** What `kubectl rollout restart` does: a new pod template annotation, so the controller replaces the pods. */
async function restart(api: ClusterApi, ref: string, namespace: string | undefined, at: Date, say: (line: string) => void): Promise<void> {
  const target = parseRef(ref, namespace);
  const patch = { ...target, spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at.toISOString() } } } } };
  await api.objects.patch(patch, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
  say(`${ref} -n ${target.metadata.namespace} restarted`);
}

async function waitReady(api: ClusterApi, ref: string, namespace: string | undefined, timeoutSeconds: number, ctx: Context, say: (line: string) => void, tail: () => string): Promise<void> {
  const target = parseRef(ref, namespace);
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = '';
  for (;;) {
    ctx.cancellationSignal.throwIfAborted();
    let state: ObjectState;
    try {
      state = (await api.objects.read(target)) as unknown as ObjectState;
    } catch (e) {
      if (apiStatus(e) === 404) throw stepFailure(FailureType.NonZeroExit, `exit code 1: ${ref} not found${target.metadata.namespace ? ` in namespace ${target.metadata.namespace}` : ''}`, { exitCode: 1, tail: tail() });
      throw e;
    }
    const { ready, detail } = readiness({ ...state, kind: target.kind });
    if (detail !== last) say(`${ref}: ${detail}`);
    last = detail;
    if (ready) return;
    if (Date.now() > deadline) throw stepFailure(FailureType.StepTimedOut, `timed out after ${timeoutSeconds}s waiting for ${ref} to be ready: ${detail}`, { tail: tail() });
    await sleep(WAIT_POLL_MS, undefined, { signal: ctx.cancellationSignal }).catch(() => undefined);
  }
}
