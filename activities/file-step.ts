import { Context } from '@temporalio/activity';
import { heartbeatWhile, keepHeartbeating } from './heartbeat';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import type { StepOutcome } from '../model/run';
import type { FileSpec } from '../model/task';
import { FailureType } from '../model/failures';
import { renderTemplate, shellQuote, TemplateError } from '../model/template';
import { execCapture, type HostSession } from './host-session';
import { stepKey } from './remote-step';
import { asStepFailure } from './shell-step';
import { maskFailure, stepFailure } from './step-failure';
import { lookupFor, secretValues, stepPodContext, type ActivityDeps, type StepInput } from './step-input';
import { needsSudo } from './hosts';
import { mask } from './masker';

const DEFAULT_MODE = '0644';

/**
 * Pushes a file to a host or pulls one from it (the `sshFile` activity) over SFTP,
 * with the SHA-256 checked after the transfer. A push writes a temporary file and renames it into
 * place, so readers never see half a file; a file already identical is left alone (changed: false).
 */
export async function runFileStep(deps: ActivityDeps, input: StepInput): Promise<StepOutcome> {
  const ctx = Context.current();
  const secrets = secretValues(input);
  const spec = renderFileSpec(input, deps.identity);
  const key = stepKey(ctx.info.workflowExecution?.runId ?? '', ctx.info.activityId);
  const sink = deps.logs.forStep({ runId: input.runId, host: input.host.name, task: input.taskName, step: input.step.name, attempt: ctx.info.attempt, key });
  const lease = await heartbeatWhile(ctx, deps.hosts.acquire(input.host, stepPodContext(input, key))).catch((e) => {
    throw asStepFailure(e, deps.identity);
  });
  const started = Date.now();
  let transferred = 0;
  const stopHeartbeat = keepHeartbeating(ctx, () => ({ bytes: transferred }));
  const limit = stepLimit(ctx, input.step.timeoutSeconds, deps.identity);
  const abandoned: Array<Promise<unknown>> = [];
  try {
    const transfer: Transfer = {
      session: lease.session,
      key,
      attempt: ctx.info.attempt,
      sudo: needsSudo(input.host, input.step.sudo),
      onBytes: (total: number) => (transferred = total),
      worker: deps.identity,
      bounded: (work, cleanup) =>
        Promise.race([work, limit.reached]).catch((e: unknown) => {
          // SFTP transfers cannot be stopped midway: the step stops waiting, installs nothing, and tidies up once it ends.
          if (limit.reachedBy(e)) abandoned.push(work.then(cleanup, cleanup).catch(() => undefined));
          throw e;
        }),
    };
    const done = spec.direction === 'push' ? await push(transfer, spec) : await pull(transfer, spec, input.host.name);
    const summary = mask(done.summary, secrets);
    sink.publish('stdout', `${summary}\n`);
    await sink.flush();
    return { exitCode: 0, durationMs: Date.now() - started, stdoutBytes: 0, stderrBytes: 0, tail: summary, results: {}, changed: done.changed, worker: deps.identity };
  } catch (e) {
    throw maskFailure(asStepFailure(e, deps.identity), secrets);
  } finally {
    stopHeartbeat();
    limit.clear();
    // The connection stays leased until an abandoned transfer's clean-up has run on it.
    if (abandoned.length) void Promise.all(abandoned).finally(() => lease.release());
    else lease.release();
  }
}

interface Transfer {
  session: HostSession;
  key: string;
  /** Temporary files are per attempt: an attempt given up on may still be writing its own. */
  attempt: number;
  sudo: boolean;
  onBytes: (total: number) => void;
  worker: string;
  /** Waits for `work` until the step's timeout or a cancel; then `cleanup` runs once the work has ended. */
  bounded<T>(work: Promise<T>, cleanup: () => Promise<unknown>): Promise<T>;
}

/**
 * The step's timeout, and a cancel, for a transfer. A worker shutting down is no reason to stop:
 * the transfer finishes within the shutdown's grace time, or the next attempt starts over.
 */
function stepLimit(ctx: Context, seconds: number, worker: string): { reached: Promise<never>; reachedBy(e: unknown): boolean; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  let reason: unknown;
  const reached = new Promise<never>((_, reject) => {
    const stop = (e: unknown) => reject((reason = e));
    timer = setTimeout(() => stop(stepFailure(FailureType.StepTimedOut, `timed out after ${seconds}s; the transfer was stopped and nothing installed`, { worker })), seconds * 1000);
    ctx.cancelled.catch((e: Error) => {
      if (e.message !== 'WORKER_SHUTDOWN') stop(e);
    });
  });
  reached.catch(() => undefined);
  return { reached, reachedBy: (e) => reason !== undefined && e === reason, clear: () => clearTimeout(timer) };
}

function renderFileSpec(input: StepInput, worker: string): FileSpec {
  const file = input.step.file;
  if (!file) throw stepFailure(FailureType.StepInvalid, 'not a file step', { worker });
  const render = (text: string | undefined) => (text === undefined ? undefined : renderTemplate(text, lookupFor(input)));
  try {
    return { ...file, source: render(file.source), content: render(file.content), destination: render(file.destination) ?? '', owner: render(file.owner) };
  } catch (e) {
    if (e instanceof TemplateError) throw stepFailure(FailureType.StepInvalid, mask(e.message, secretValues(input)), { worker });
    throw e;
  }
}

async function push(t: Transfer, spec: FileSpec): Promise<{ changed: boolean; summary: string }> {
  const dest = spec.destination;
  const mode = normalizeMode(spec.mode ?? DEFAULT_MODE);
  const source = localSource(spec, t.worker);
  const { sha256: want, size } = await hashStream('bytes' in source ? Readable.from([source.bytes]) : createReadStream(source.path));
  const sudo = t.sudo ? 'sudo -n ' : '';
  const d = shellQuote(dest);
  const current = await execCapture(t.session, `${sudo}sh -c ${shellQuote(`if [ -d ${d} ]; then echo directory; elif [ -f ${d} ]; then sha256sum ${d} | cut -d' ' -f1 && stat -c '%a %U:%G' ${d}; fi`)}`);
  const [haveSum, haveMeta] = current.stdout.trim().split('\n');
  if (haveSum === 'directory') {
    // Installing would move the file into the directory under its temporary name.
    const example = posix.join(dest, 'path' in source ? basename(source.path) : 'NAME');
    throw stepFailure(FailureType.StepInvalid, `${dest} is a directory on the host: give the path of the file to write, such as ${example}`, { worker: t.worker });
  }
  const [haveMode, haveOwner] = (haveMeta ?? '').split(' ');
  const ownerMatches = !spec.owner || haveOwner === (spec.owner.includes(':') ? spec.owner : `${spec.owner}:${haveOwner?.split(':')[1]}`);
  if (current.code === 0 && haveSum === want && normalizeMode(haveMode ?? '') === mode && ownerMatches) {
    return { changed: false, summary: `${dest} is already up to date (sha256 ${want.slice(0, 12)}…, mode ${mode})` };
  }
  // Upload beside the destination (or into .ops of the login directory for sudo), verify, then move
  // into place. Relative paths name the same file for SFTP and the shell: both start in the login directory.
  const tmpOf = (attempt: string) => (t.sudo ? `.ops/upload-${t.key}-${attempt}` : posix.join(posix.dirname(dest), `.${posix.basename(dest)}.ops-${t.key}-${attempt}`));
  const tmp = tmpOf(String(t.attempt));
  const tmpShell = shellQuote(tmp);
  if (t.sudo) await mustRun(t, 'mkdir -p .ops && chmod 700 .ops', 'prepare ~/.ops');
  // An attempt whose worker was killed left its half file behind (a live one tidies its own, and
  // one still writing then writes to a removed file).
  if (t.attempt > 1) await execCapture(t.session, `rm -f ${shellQuote(tmpOf(''))}[0-9]*`);
  const owner = spec.owner ? spec.owner.split(':') : [];
  const place = t.sudo
    ? `sudo -n install -m ${mode}${owner[0] ? ` -o ${shellQuote(owner[0])}` : ''}${owner[1] ? ` -g ${shellQuote(owner[1])}` : ''} ${tmpShell} ${shellQuote(dest)}; rc=$?; rm -f ${tmpShell}; [ $rc -eq 0 ]`
    : `chmod ${mode} ${tmpShell} && ${spec.owner ? `chown ${shellQuote(spec.owner)} ${tmpShell} && ` : ''}mv -f ${tmpShell} ${shellQuote(dest)} || { rm -f ${tmpShell}; false; }`;
  const removeTmp = () => execCapture(t.session, `rm -f ${tmpShell}`);
  try {
    const uploading = t.session.upload(source, tmp, t.onBytes).catch(async (e: Error) => {
      throw stepFailure(FailureType.NonZeroExit, `could not write ${t.sudo ? tmp : dest}: ${await whyUnwritable(t, posix.dirname(tmp), e)}`, { exitCode: 1, worker: t.worker });
    });
    await t.bounded(uploading, removeTmp);
    const uploaded = await mustRun(t, `sha256sum ${tmpShell} | cut -d' ' -f1`, `checksum ${tmp}`);
    if (uploaded.trim() !== want) {
      throw stepFailure(FailureType.NonZeroExit, `checksum mismatch after transfer to ${dest}: sent ${want}, host has ${uploaded.trim()}`, { exitCode: 1, worker: t.worker });
    }
    // The host's message names the temporary file; the operator knows the destination.
    await mustRun(t, place, `install ${dest}`, (line) => {
      const hint = spec.owner && !t.sudo && /not permitted/i.test(line) ? ' (only root gives a file away: add sudo)' : '';
      return `${line.split(tmp).join(dest)}${hint}`;
    });
  } catch (e) {
    // Half a file is no file: nothing is left beside the destination (a transfer still running writes to a removed file).
    await removeTmp().catch(() => undefined);
    throw e;
  }
  const final = await mustRun(t, `${sudo}sha256sum ${shellQuote(dest)} | cut -d' ' -f1`, `checksum ${dest}`);
  if (final.trim() !== want) throw stepFailure(FailureType.NonZeroExit, `checksum of ${dest} after install is ${final.trim()}, expected ${want}`, { exitCode: 1, worker: t.worker });
  return { changed: true, summary: `pushed ${size} bytes to ${dest} (sha256 ${want.slice(0, 12)}…, mode ${mode}${spec.owner ? `, owner ${spec.owner}` : ''})` };
}

async function pull(t: Transfer, spec: FileSpec, host: string): Promise<{ changed: boolean; summary: string }> {
  const source = spec.source ?? '';
  const localPath = join(spec.destination, host, basename(source));
  const sudo = t.sudo ? 'sudo -n ' : '';
  const q = shellQuote(source);
  // Not `sha256sum | cut`: the pipeline's status would be cut's, and a directory or unreadable file would pass.
  const [remoteSum, remoteMode] = (await mustRun(t, `sum=$(${sudo}sha256sum ${q}) && echo "\${sum%% *}" && ${sudo}stat -c %a ${q}`, `read ${source}`)).trim().split('\n');
  // The copy is no more readable here than the file is on its host (a key pulled with sudo stays
  // its owner's); no setuid program of the host becomes one here, and no other user may change it.
  const mode = parseInt(remoteMode ?? '600', 8) & 0o755;
  const shownMode = mode.toString(8).padStart(4, '0');
  if (existsSync(localPath) && (await hashStream(createReadStream(localPath))).sha256 === remoteSum) {
    if ((statSync(localPath).mode & 0o777) === mode) return { changed: false, summary: `${localPath} already matches ${source} (sha256 ${remoteSum.slice(0, 12)}…, mode ${shownMode})` };
    chmodSync(localPath, mode);
    return { changed: true, summary: `set the mode of ${localPath} to ${shownMode}, as ${source} has (sha256 ${remoteSum.slice(0, 12)}…)` };
  }
  // SFTP cannot read as root, so a sudo pull first copies the file where the user can read it.
  const readable = t.sudo ? `.ops/download-${t.key}-${t.attempt}` : source;
  if (t.sudo) await mustRun(t, `umask 077; mkdir -p .ops && sudo -n cat ${shellQuote(source)} > ${shellQuote(readable)}`, `copy ${source}`);
  mkdirSync(dirname(localPath), { recursive: true });
  const tmp = `${localPath}.ops-tmp`;
  // Made before the transfer writes into it: readable by the worker's user alone while it fills.
  rmSync(tmp, { force: true });
  closeSync(openSync(tmp, 'wx', 0o600));
  const removeTmp = async () => rmSync(tmp, { force: true });
  try {
    const downloading = t.session.download(readable, tmp, t.onBytes).catch((e: Error) => {
      throw stepFailure(FailureType.NonZeroExit, `could not read ${source}: ${e.message}`, { exitCode: 1, worker: t.worker });
    });
    await t.bounded(downloading, removeTmp);
    const got = (await hashStream(createReadStream(tmp))).sha256;
    if (got !== remoteSum) throw stepFailure(FailureType.NonZeroExit, `checksum mismatch pulling ${source}: host has ${remoteSum}, received ${got}`, { exitCode: 1, worker: t.worker });
    chmodSync(tmp, mode);
    renameSync(tmp, localPath);
  } catch (e) {
    await removeTmp();
    throw e;
  } finally {
    if (t.sudo) await execCapture(t.session, `rm -f ${shellQuote(readable)}`);
  }
  return { changed: true, summary: `pulled ${source} to ${localPath} (${statSync(localPath).size} bytes, mode ${shownMode}, sha256 ${remoteSum.slice(0, 12)}…)` };
}

/** Why SFTP could not create a file in `dir`, in the operator's terms: SFTP itself says only "No such file". */
async function whyUnwritable(t: Transfer, dir: string, e: Error): Promise<string> {
  const d = shellQuote(dir);
  const r = await execCapture(t.session, `if [ ! -d ${d} ]; then echo missing; elif [ ! -w ${d} ]; then id -un; fi`).catch(() => undefined);
  const [answer] = (r?.stdout ?? '').trim().split('\n');
  if (answer === 'missing') return `directory ${dir} does not exist on the host (a push creates no directories)`;
  if (answer) return `directory ${dir} is not writable by ${answer} on the host (with sudo the push writes as root)`;
  return e.message;
}

/**
 * Runs a bookkeeping command and returns its stdout, or fails the step with the last line of its
 * stderr, told in the operator's terms by `explain`.
 */
async function mustRun(t: Transfer, command: string, what: string, explain: (stderr: string) => string = (line) => line): Promise<string> {
  const r = await execCapture(t.session, command);
  if (r.code !== 0) {
    throw stepFailure(FailureType.NonZeroExit, `could not ${what}: ${explain(r.stderr.trim().split('\n').pop() || `exit code ${r.code}`)}`, { exitCode: r.code ?? 255, worker: t.worker });
  }
  return r.stdout;
}

function localSource(spec: FileSpec, worker: string): { path: string } | { bytes: Buffer } {
  if (spec.content !== undefined) return { bytes: Buffer.from(spec.content, 'utf8') };
  const path = spec.source ?? '';
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw stepFailure(FailureType.StepInvalid, `source ${path} is not a file on the worker's machine`, { worker });
  }
  return { path };
}

async function hashStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** "644", "0644" → "0644"; stat prints modes without the leading zero. */
function normalizeMode(mode: string): string {
  return mode.replace(/^0*/, '').padStart(4, '0');
}
