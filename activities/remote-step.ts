/**
 * The shell that runs a step on a host. It makes a step safe to retry and to cancel:
 * - the script runs in its own session (setsid) under `timeout`, with output going to files that a
 *   `tail` streams back, so a dropped connection or a killed worker does not kill the step;
 * - the exit status is recorded on the host under a key unique to the step attempt, so a retried
 *   activity replays the recorded outcome (and output) instead of running the script twice, or
 *   waits for a still-running step and attaches to its output;
 * - the session id is recorded so a cancel or a timeout can kill the whole process tree.
 * Needs a POSIX sh, setsid, timeout, tail and pkill (coreutils, util-linux and procps).
 */

/** Control lines the wrapper writes on stderr; they start with ASCII RS so no script prints them by accident. */
export const CONTROL_PREFIX = '\x1eops:';
export type ControlEvent = 'replayed' | 'attached' | 'interrupted';

/** Step keys become directory names on the host. */
export function stepKey(workflowRunId: string, activityId: string): string {
  return `${workflowRunId}-${activityId}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Quotes a value for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const STEPS_DIR = '"$HOME/.ops/steps"';
/** Step directories older than a day are pruned; a retry comes much sooner. */
const PRUNE_MINUTES = 24 * 60;

export interface WrapperOptions {
  key: string;
  timeoutSeconds: number;
  sudo: boolean;
}

/**
 * The command to exec. The script itself arrives on stdin. Scripts without a shebang run with
 * `bash -eo pipefail` (or `sh -e` where bash is missing): they stop at the first failing command.
 */
export function wrapperCommand({ key, timeoutSeconds, sudo }: WrapperOptions): string {
  const recorder = `d=$1; shift; ${sudo ? 'sudo -n ' : ''}timeout -k 5 ${timeoutSeconds} "$@"; echo $? > "$d/exit.tmp"; mv "$d/exit.tmp" "$d/exit"`;
  const script = `
umask 077
mkdir -p ${STEPS_DIR} || exit 255
d=${STEPS_DIR}/${shellQuote(key)}
ctl() { printf '\\036ops:%s\\n' "$1" >&2; }
if [ -f "$d/exit" ]; then
  ctl replayed
  cat "$d/out"; cat "$d/err" >&2
  exit "$(cat "$d/exit")"
fi
if [ -f "$d/sid" ]; then
  if ! kill -0 "$(cat "$d/sid")" 2>/dev/null && [ ! -f "$d/exit" ]; then ctl interrupted; exit 255; fi
  ctl attached
else
  find ${STEPS_DIR} -mindepth 1 -maxdepth 1 -mmin +${PRUNE_MINUTES} -exec rm -rf {} + 2>/dev/null
  mkdir "$d" || { ctl interrupted; exit 255; }
  cat > "$d/script"
  if [ "$(head -c 2 "$d/script")" = '#!' ]; then chmod 700 "$d/script"; set -- "$d/script"
  elif command -v bash >/dev/null 2>&1; then set -- bash --noprofile --norc -eo pipefail "$d/script"
  else set -- sh -e "$d/script"
  fi
  : > "$d/out"; : > "$d/err"
  setsid sh -c ${shellQuote(recorder)} ops-step "$d" "$@" < /dev/null > "$d/out" 2> "$d/err" &
  echo $! > "$d/sid"
fi
sid=$(cat "$d/sid")
tail -s 0.1 --pid="$sid" -c +1 -f "$d/out" &
t1=$!
tail -s 0.1 --pid="$sid" -c +1 -f "$d/err" >&2 &
t2=$!
while [ ! -f "$d/exit" ] && kill -0 "$sid" 2>/dev/null; do wait "$sid" 2>/dev/null || sleep 0.2; done
wait $t1 $t2
[ -f "$d/exit" ] || { ctl interrupted; exit 255; }
exit "$(cat "$d/exit")"
`;
  return `sh -c ${shellQuote(script.trim())}`;
}

/** Kills the step's whole session: TERM, then KILL after a grace period. */
export function killCommand({ key, sudo }: { key: string; sudo: boolean }): string {
  const s = sudo ? 'sudo -n ' : '';
  const script = `
d=${STEPS_DIR}/${shellQuote(key)}
[ -f "$d/sid" ] || exit 0
sid=$(cat "$d/sid")
${s}pkill -TERM -s "$sid" 2>/dev/null || ${s}kill -TERM -- -"$sid" 2>/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do pgrep -s "$sid" >/dev/null 2>&1 || exit 0; sleep 0.3; done
${s}pkill -KILL -s "$sid" 2>/dev/null || ${s}kill -KILL -- -"$sid" 2>/dev/null
exit 0
`;
  return `sh -c ${shellQuote(script.trim())}`;
}
