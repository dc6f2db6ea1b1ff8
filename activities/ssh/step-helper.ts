import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { HostTarget } from '../../model/run';
import { shellQuote } from '../../model/template';
import { execCapture, type HostLease } from '../host-session';
import { CONTROL_PREFIX, isPlainCommand, type WrapperOptions } from '../remote-step';

const ROOT = resolve(__dirname, '..', '..');
/**
 * Where `npm run build` puts the helper (scripts/build-helper.sh): dist/host-helper, whether this
 * file runs from dist/activities/ssh or, under Jest, from activities/ssh. Missing without a C compiler.
 */
export const HELPER_BINARY = join(basename(ROOT) === 'dist' ? ROOT : join(ROOT, 'dist'), 'host-helper', 'ops-step');

/** The helper's first words on stderr: it started, so whatever the channel says next is the step's. */
export const HELPER_STARTED = Buffer.from(`${CONTROL_PREFIX}helper\n`);

/** The install waits for the burst of steps that found the host without it. */
const INSTALL_DELAY_MS = 5_000;

/**
 * The host helper (helper/ops-step.c) runs a step's first attempt as the shell wrapper does, with
 * one program started on the host instead of five: a 200-host fan-out waits on that CPU. A worker
 * tries it on every host it has not seen yet; where the host's shell cannot run it, nothing ran,
 * the step runs under the wrapper, and the worker installs the helper in the host's `~/.ops/bin`,
 * verified by running it there (a host of another architecture, or a home mounted noexec, keeps
 * the wrapper). Retries always run under the wrapper: it replays or attaches to what the helper
 * started, from the same records.
 */
export class StepHelper {
  /** `ops-step-<hash>`: a new build installs beside the old, which a worker still running may use. */
  readonly name: string;
  /** Hosts not in it are tried; `missing`: the helper did not start there, the wrapper says whether it is back. */
  private readonly hosts = new Map<string, 'ready' | 'missing' | 'installing' | 'unusable'>();

  constructor(
    private readonly binary: Buffer,
    private readonly installDelayMs = INSTALL_DELAY_MS,
  ) {
    this.name = `ops-step-${createHash('sha256').update(binary).digest('hex').slice(0, 12)}`;
  }

  /** The built helper, or undefined when this build has none. */
  static load(path = HELPER_BINARY, { installDelayMs = INSTALL_DELAY_MS } = {}): StepHelper | undefined {
    try {
      return new StepHelper(readFileSync(path), installDelayMs);
    } catch {
      return undefined;
    }
  }

  /** The command that runs a step's first attempt through the helper, unless `host` is known not to have it. */
  command(host: HostTarget, { key, timeoutSeconds, sudo, script }: WrapperOptions): string | undefined {
    const state = this.hosts.get(hostId(host));
    if (state !== undefined && state !== 'ready') return undefined;
    // Words every login shell (sh, bash, zsh, fish, csh) reads alike: `exec ~/...` and plain arguments.
    return `exec ~/.ops/bin/${this.name} ${key} ${timeoutSeconds} ${isPlainCommand(script) ? 'plain' : 'script'}${sudo ? ' sudo' : ''}`;
  }

  /** The helper did not start on the host (never installed, removed, or not executable there). */
  missing(host: HostTarget): void {
    this.hosts.set(hostId(host), 'missing');
  }

  /** After a step: it ran through the helper, or under the wrapper, which said whether the host has it; a host that lacks it gets it. */
  observe(host: HostTarget, present: boolean, acquire: () => Promise<HostLease>): void {
    const id = hostId(host);
    const state = this.hosts.get(id);
    if (state !== undefined && state !== 'missing') return;
    if (present) {
      this.hosts.set(id, 'ready');
      return;
    }
    this.hosts.set(id, 'installing');
    // The lease keeps the connection open through the delay.
    acquire()
      .then(async (lease) => {
        try {
          await new Promise((resolve) => setTimeout(resolve, this.installDelayMs));
          const { code } = await execCapture(lease.session, this.installCommand(), this.binary);
          this.hosts.set(id, code === 0 ? 'ready' : 'unusable');
        } finally {
          lease.release();
        }
      })
      // A connection that failed meanwhile: the next step tries again.
      .catch(() => this.hosts.delete(id));
  }

  /** Writes the helper under a temporary name, runs it, and only then puts it in place. */
  private installCommand(): string {
    const script = `umask 077; d="$HOME/.ops/bin"; mkdir -p "$d" && t="$d/.${this.name}.$$" && cat > "$t" && chmod 700 "$t" && "$t" --version >/dev/null 2>&1 && mv -f "$t" "$d/${this.name}" || { rm -f "$t"; exit 1; }`;
    return `exec sh -c ${shellQuote(script)}`;
  }
}

/** Hosts reached as the same user share a home, and so a helper. */
function hostId(host: HostTarget): string {
  return `${host.username ?? ''}/${host.credentialRef ?? ''}@${host.address}:${host.port}`;
}
