/**
 * The shell that runs a step on a host. It makes a step safe to retry and to cancel:
 * - the script runs in its own session (setsid) under `timeout`; its stdout and stderr reach the
 *   channel through a `tee -p` each, which also keeps them in files and ignores a closed channel,
 *   so a dropped connection or a killed worker does not kill the step (a session without a
 *   terminal gets no hangup, so this shell lives on too, to record the exit status);
 * - the exit status is recorded on the host under a key unique to the step attempt, so a retried
 *   activity replays the recorded outcome (and output) instead of running the script twice, or
 *   waits for a still-running step and attaches to its output;
 * - the session id is recorded so a cancel or a timeout can kill the whole process tree;
 * - an attempt that replays or attaches says how long the step ran on the host (`ran SECONDS`, from
 *   the records' times), as it saw only part of it: a timeout is told from an exit code 124 by that.
 * - the script is written with shell builtins and emptied once it ran (it may hold secrets).
 * A step costs five programs on the host (sh, tee twice, setsid/timeout, bash; no bash for a plain
 * command) and two forks of the shell: every program a step starts costs the host about a
 * millisecond of CPU, which is what a 200-host fan-out waits on. Needs a POSIX sh, setsid,
 * timeout, tee, tail and pkill (coreutils, util-linux and procps). A first attempt on a host that has
 * the step helper (activities/ssh/step-helper.ts) runs through it instead: one program, same records.
 */

import { shellQuote } from '../model/template';

/** Control lines the wrapper writes on stderr; they start with ASCII RS so no script prints them by accident. */
export const CONTROL_PREFIX = '\x1eops:';
/** `helper-present`: the host has the step helper this worker would use (activities/ssh/step-helper.ts); `recorded`: the helper found the step already started. */
export type ControlEvent = 'replayed' | 'attached' | 'interrupted' | 'helper-present' | 'recorded';

/** Step keys become directory names on the host. */
export function stepKey(workflowRunId: string, activityId: string): string {
  return `${workflowRunId}-${activityId}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Step records live under the SSH login's home. */
const STEPS_DIR_IN_HOME = '.ops/steps';
const STEPS_DIR = `"$HOME/${STEPS_DIR_IN_HOME}"`;
/** Step records older than a day are pruned; a retry comes much sooner. */
const PRUNE_MINUTES = 24 * 60;

/** Where a step's whole output stays on its host (its records, until pruned), as an operator finds it there. */
export function outputKeptOnHost(key: string): string {
  return `~/${STEPS_DIR_IN_HOME}/${key}.out and .err on the host, for a day`;
}

export interface WrapperOptions {
  key: string;
  timeoutSeconds: number;
  sudo: boolean;
  /** The script the command will be given on stdin; a plain command (isPlainCommand) runs without a shell around it. */
  script: string;
  /** The step helper's file name in ~/.ops/bin: the wrapper says `helper-present` when the host has it. */
  helper?: string;
}

/** A word no shell changes: nothing in it is quoted, expanded, globbed, redirected or an operator. */
const LITERAL_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;
/** Bash's builtins and reserved words: a command that starts with one needs the shell (/bin/echo is not bash's echo). */
const SHELL_WORDS = new Set(
  ('. : alias bg bind break builtin caller case cd command compgen complete compopt continue coproc declare dirs disown do done ' +
    'echo elif else enable esac eval exec exit export false fc fg fi for function getopts hash help history if in jobs kill let ' +
    'local logout mapfile popd printf pushd pwd read readarray readonly return select set shift shopt source suspend test then ' +
    'time times trap true type typeset ulimit umask unalias unset until wait while').split(' '),
);

/** Where a distribution installs its programs: scripts there start with `#!` (Debian policy 10.4). */
const SYSTEM_PROGRAM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/**
 * Whether a script is one plain command, such as `uptime` or `systemctl restart nginx`: one line of
 * literal words separated by single spaces, the first naming a program on the PATH (not a builtin,
 * keyword, assignment, option or path). Bash would only look the program up and run it, so where
 * the host finds it in a system directory (/usr/bin, /bin, /usr/sbin, /sbin) it runs without bash:
 * the same result and exit code, and one program less to start on the host for the step. A path,
 * or a program found elsewhere, is left to bash: a script file without a `#!` line is run by bash
 * itself, where exec would hand it to /bin/sh.
 */
export function isPlainCommand(script: string): boolean {
  const words = (script.endsWith('\n') ? script.slice(0, -1) : script).split(' ');
  const program = words[0];
  return words.every((word) => LITERAL_WORD.test(word)) && /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/.test(program) && !SHELL_WORDS.has(program);
}

/**
 * The command to exec. The script itself arrives on stdin (never on a command line, where other
 * users of the host could read it). Scripts without a shebang run with `bash -eo pipefail` (or
 * `sh -e` where bash is missing): they stop at the first failing command. A plain command runs
 * as its own program.
 */
export function wrapperCommand({ key, timeoutSeconds, sudo, script, helper }: WrapperOptions): string {
  const underShell = 'if command -v bash >/dev/null 2>&1; then set -- bash --noprofile --norc -eo pipefail "$f.script"; else set -- sh -e "$f.script"; fi';
  // Only a program the system installed runs without the shell: a script without a `#!` line
  // elsewhere (~/bin, /usr/local/bin) would be handed to /bin/sh by exec, where bash runs it itself.
  const interpreter = isPlainCommand(script)
    ? `set -f; set -- $first; set +f; case $(command -v "$1") in ${SYSTEM_PROGRAM_DIRS.map((d) => `${d}/*`).join('|')}) ;; *) ${underShell} ;; esac`
    : underShell;
  const wrapper = `
umask 077
s=${STEPS_DIR}
f="$s"/${shellQuote(key)}
[ -d "$s" ] || mkdir -p "$s" || exit 255
ctl() { printf '\\036ops:%s\\n' "$1" >&2; }
${helper ? `[ -x "$HOME/.ops/bin/${helper}" ] && ctl helper-present\n` : ''}finish() { rc=; read -r rc < "$f.exit"; [ -n "$rc" ] || { ctl interrupted; exit 255; }; exit "$rc"; }
ran() { a=$(stat -c %Y "$f.sid" 2>/dev/null) && b=$(stat -c %Y "$f.exit" 2>/dev/null) && ctl "ran $((b - a))"; }
replay() { ctl replayed; cat "$f.out"; cat "$f.err" >&2; ran; finish; }
[ -s "$f.exit" ] && replay
if [ -f "$f.script" ]; then
  i=0
  while [ ! -f "$f.sid" ] && [ $i -lt 5 ]; do sleep 1; i=$((i+1)); done
  read -r sid < "$f.sid" || { ctl interrupted; exit 255; }
  if ! kill -0 "$sid" 2>/dev/null; then [ -s "$f.exit" ] && replay; ctl interrupted; exit 255; fi
  ctl attached
  tail -s 0.2 --pid="$sid" -c +1 -f "$f.out" &
  t1=$!
  tail -s 0.2 --pid="$sid" -c +1 -f "$f.err" >&2 &
  t2=$!
  wait $t1 $t2
  ran
  finish
fi
set -C
{ while IFS= read -r l; do printf '%s\\n' "$l"; done; [ -z "$l" ] || printf %s "$l"; } > "$f.script" || { ctl interrupted; exit 255; }
set +C
first=
read -r first < "$f.script"
case "$first" in
  '#!'*) chmod 700 "$f.script"; set -- "$f.script" ;;
  *) ${interpreter} ;;
esac
{
  {
    setsid ${sudo ? 'sudo -n ' : ''}timeout -k 5 ${timeoutSeconds} "$@" < /dev/null 2>&1 >&3 3>&- &
    echo $! > "$f.sid"
    wait $!
    echo $? > "$f.exit"
  } | tee -p -a "$f.err" >&2 3>&-
} 3>&1 | tee -p -a "$f.out"
: > "$f.script"
finish
`;
  // exec: the login shell that runs the command need not stay around as a parent.
  return `exec sh -c ${shellQuote(wrapper.trim())}`;
}

/** Kills the step's whole session: TERM, then KILL after a grace period. Prints `exited N` first if the script itself had ended. */
export function killCommand({ key, sudo }: { key: string; sudo: boolean }): string {
  const s = sudo ? 'sudo -n ' : '';
  const script = `
f=${STEPS_DIR}/${shellQuote(key)}
[ -s "$f.exit" ] && { read -r rc < "$f.exit"; echo "exited $rc"; }
read -r sid < "$f.sid" 2>/dev/null || exit 0
${s}pkill -TERM -s "$sid" 2>/dev/null || ${s}kill -TERM -- -"$sid" 2>/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do pgrep -s "$sid" >/dev/null 2>&1 || exit 0; sleep 0.3; done
${s}pkill -KILL -s "$sid" 2>/dev/null || ${s}kill -KILL -- -"$sid" 2>/dev/null
exit 0
`;
  return `sh -c ${shellQuote(script.trim())}`;
}

/** Step helper builds (activities/ssh/step-helper.ts) installed longer ago than this are removed. */
const HELPER_PRUNE_DAYS = 30;

/**
 * Removes step records older than a day, and step helper builds installed over a month ago (a
 * worker still using one finds it gone, runs the step under the wrapper and installs it again);
 * run once per new connection, not per step.
 */
export function pruneCommand(): string {
  return (
    `find ${STEPS_DIR} -mindepth 1 -maxdepth 1 -mmin +${PRUNE_MINUTES} -exec rm -rf {} + 2>/dev/null; ` +
    `find "$HOME/.ops/bin" -maxdepth 1 -name 'ops-step-*' -mtime +${HELPER_PRUNE_DAYS} -exec rm -f {} + 2>/dev/null; exit 0`
  );
}
