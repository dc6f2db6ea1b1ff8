import { Context } from '@temporalio/activity';
import { heartbeatWhile, keepHeartbeating } from './heartbeat';
import type { StepOutcome } from '../model/run';
import { FailureType } from '../model/failures';
import { renderTemplate, TemplateError } from '../model/template';
import { killCommand, stepKey, wrapperCommand } from './remote-step';
import { RESULT_MAX_BYTES, StepOutput } from './output';
import { ConnectError, stepFailure } from './step-failure';
import { lookupFor, secretValues, stepPodContext, type ActivityDeps, type StepInput } from './step-input';
import { execCapture, type ExecIO, type ExecResult, type HostSession } from './host-session';
import { HELPER_STARTED } from './ssh/step-helper';
import { mask } from './masker';
import { needsSudo } from './hosts';

/** The host's own `timeout` ends a step; this backstop covers a host that stops answering. */
const BACKSTOP_GRACE_MS = 20_000;
const KILL_WAIT_MS = 15_000;
/** Exit codes of GNU timeout when it ended the command (TERM, then KILL after the grace period). */
const TIMEOUT_EXIT_CODES = [124, 137];
/**
 * Cancellations that are not the run's: this worker is stopping, or Temporal gave the attempt up
 * (it stopped heartbeating). The step is left running on its host: the next attempt, on whichever
 * worker, attaches to it (remote-step.ts), as it does after a worker is killed.
 */
const HAND_OFF_REASONS = ['WORKER_SHUTDOWN', 'TIMED_OUT'];

/** Runs a shell step on one host (the `sshShell` activity). */
export async function runShellStep(deps: ActivityDeps, input: StepInput): Promise<StepOutcome> {
  const ctx = Context.current();
  const { info } = ctx;
  const { host } = input;
  const step = { ...input.step, sudo: needsSudo(host, input.step.sudo) };
  const key = stepKey(info.workflowExecution?.runId ?? '', input.continues ?? info.activityId);
  const secrets = secretValues(input);
  let script: string;
  try {
    script = renderTemplate(step.shell ?? '', lookupFor(input));
  } catch (e) {
    if (e instanceof TemplateError) throw stepFailure(FailureType.StepInvalid, mask(e.message, secrets), { worker: deps.identity });
    throw e;
  }
  const lease = await heartbeatWhile(ctx, deps.hosts.acquire(host, stepPodContext(input, key))).catch((e) => {
    throw asStepFailure(e, deps.identity);
  });
  const output = new StepOutput(secrets, input.declaredResults, deps.logs.forStep({ runId: input.runId, host: host.name, task: input.taskName, step: step.name, attempt: info.attempt, key, republishes: true, ...(input.continues ? { tryId: info.activityId } : {}) }));
  const started = Date.now();
  const stopHeartbeat = keepHeartbeating(ctx, () => ({ stdoutBytes: output.bytes.stdout, stderrBytes: output.bytes.stderr }));
  let following = true;
  const io: ExecIO = {
    stdin: script,
    onStdout: (c) => following && output.write('stdout', c),
    onStderr: (c) => following && output.write('stderr', c),
  };
  const options = { key, timeoutSeconds: step.timeoutSeconds, sudo: step.sudo, script };
  const helper = host.connection === 'ssh' ? deps.stepHelper : undefined;
  const wrapped = () => lease.session.exec(wrapperCommand({ ...options, helper: helper?.name }), io);
  // A retry may find the step running or done: only the wrapper replays and attaches.
  const helperCommand = info.attempt === 1 ? helper?.command(host, options) : undefined;
  let helperRan = false;
  try {
    const execution = helperCommand
      ? throughHelper(lease.session, helperCommand, io, output).then((r) => {
          helperRan = r !== undefined;
          if (r) return r;
          if (!output.events.has('recorded')) helper?.missing(host);
          return wrapped();
        })
      : wrapped();
    const backstop = delay(step.timeoutSeconds * 1000 + BACKSTOP_GRACE_MS);
    const ending = await Promise.race([
      execution.then((r) => ({ kind: 'exited' as const, ...r })),
      ctx.cancelled.catch(() => ({ kind: 'cancelled' as const })),
      backstop.done.then(() => ({ kind: 'backstop' as const })),
    ]).finally(backstop.cancel);
    if (ending.kind !== 'exited') {
      const cancelled = ending.kind === 'cancelled' ? ((await ctx.cancelled.catch((e: unknown) => e)) as Error) : undefined;
      if (cancelled && HAND_OFF_REASONS.includes(cancelled.message)) {
        // The attempt that attaches publishes the step's output from its start; this one stops here.
        following = false;
        await output.close();
        throw cancelled;
      }
      const scriptExit = await killStep(lease.session, key, step.sudo);
      await raceDelay(execution.catch(() => undefined), KILL_WAIT_MS);
      await output.close();
      if (cancelled) throw cancelled;
      // The script had ended, yet its output stayed open: a background process it started held it.
      const why =
        scriptExit === undefined
          ? "the step's processes were killed"
          : `the script itself had ended (exit code ${scriptExit}), but a process it started in the background kept its output open, so the step could not end; it was killed. Send such a process's output elsewhere (command >file 2>&1 &)`;
      throw stepFailure(FailureType.StepTimedOut, `timed out after ${step.timeoutSeconds}s; ${why}`, { worker: deps.identity, tail: output.tail(), durationMs: Date.now() - started });
    }
    await output.close();
    helper?.observe(host, helperRan || output.events.has('helper-present'), () => deps.hosts.acquire(host, stepPodContext(input, key)));
    // An attempt that replayed or attached saw only the end of the step: the host says how long it ran.
    const durationMs = output.ranSeconds !== undefined ? output.ranSeconds * 1000 : Date.now() - started;
    const exitCode = ending.code ?? 255;
    // Results printed before a failure stay the step's: a check may report one and exit non-zero.
    const details = { exitCode, worker: deps.identity, tail: output.tail(), results: output.results, durationMs };
    if (output.events.has('interrupted')) {
      throw stepFailure(FailureType.NonZeroExit, 'the step was interrupted on the host (rebooted, or its processes killed) before it recorded an exit status; not running it again', details);
    }
    if (TIMEOUT_EXIT_CODES.includes(exitCode) && durationMs >= step.timeoutSeconds * 1000 - 1000) {
      throw stepFailure(FailureType.StepTimedOut, `timed out after ${step.timeoutSeconds}s; the step's processes were killed`, details);
    }
    if (exitCode !== 0) {
      // stderr and stdout arrive on separate channels; the error is usually the last line of stderr.
      const line = (output.lastLine('stderr') || output.lastLine('stdout')).slice(0, 200);
      throw stepFailure(FailureType.NonZeroExit, `exit code ${exitCode}${line ? `: ${line}` : ''}`, details);
    }
    if (output.oversized.size) {
      // A later stage would read an empty value and be told no host printed it.
      const names = [...output.oversized].map((n) => `::result ${n}`).join(', ');
      throw stepFailure(FailureType.StepInvalid, `${names}: longer than the ${RESULT_MAX_BYTES} bytes a result may hold, so not kept; write large data to a file and pass its path`, details);
    }
    return {
      exitCode,
      durationMs,
      stdoutBytes: output.bytes.stdout,
      stderrBytes: output.bytes.stderr,
      tail: output.tail(),
      results: output.results,
      worker: deps.identity,
      ...(output.events.has('replayed') ? { replayed: true } : {}),
    };
  } catch (e) {
    throw asStepFailure(e, deps.identity);
  } finally {
    stopHeartbeat();
    lease.release();
  }
}

/**
 * Runs a first attempt through the step helper. Undefined when the wrapper must run it instead: the
 * helper did not start (the host's shell could not run it, so nothing ran; what that shell said is
 * not the step's output), or it found the step already recorded.
 */
async function throughHelper(session: HostSession, command: string, io: ExecIO, output: StepOutput): Promise<ExecResult | undefined> {
  let started = false;
  const result = await session.exec(command, {
    stdin: io.stdin,
    onStdout: (c) => {
      started = true;
      io.onStdout?.(c);
    },
    onStderr: (c) => {
      if (!started) {
        // The helper says so in one write before anything else, so it leads the first stderr chunk.
        if (!c.subarray(0, HELPER_STARTED.length).equals(HELPER_STARTED)) return;
        started = true;
        c = c.subarray(HELPER_STARTED.length);
      }
      if (c.length) io.onStderr?.(c);
    },
  });
  return started && !output.events.has('recorded') ? result : undefined;
}

/** Kills what is left of the step on its host; says the script's exit code if the script itself had ended. */
async function killStep(session: HostSession, key: string, sudo: boolean): Promise<number | undefined> {
  let said = '';
  await raceDelay(
    execCapture(session, killCommand({ key, sudo }))
      .then((r) => (said = r.stdout))
      .catch(() => undefined),
    KILL_WAIT_MS,
  );
  const m = /^exited (\d+)$/m.exec(said);
  return m ? Number(m[1]) : undefined;
}

/** Connection problems become classified step failures; everything else passes through. */
export function asStepFailure(e: unknown, worker: string): unknown {
  if (e instanceof ConnectError) return stepFailure(e.type, e.message, { worker });
  return e;
}

function delay(ms: number): { done: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { done, cancel: () => clearTimeout(timer) };
}

/** Waits for `work`, but no longer than `ms`. */
async function raceDelay(work: Promise<unknown>, ms: number): Promise<void> {
  const limit = delay(ms);
  await Promise.race([work, limit.done]).finally(limit.cancel);
}
