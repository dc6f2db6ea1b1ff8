import { Context } from '@temporalio/activity';
import type { HostTarget } from '../../model/run';
import { FailureType } from '../../model/failures';
import { parseFacts, type HostFacts } from '../../model/facts';
import { execCapture } from '../host-session';
import { needsSudo, type HostConnector } from '../hosts';
import type { StepPodContext } from '../kube/node-connector';
import { ConnectError } from '../step-failure';
import { keepHeartbeating } from '../heartbeat';
import { mapLimited } from '../semaphore';

/**
 * Prints one `key=value` line per fact (model/facts.ts reads them). Every probe may fail on its own;
 * df is bounded (a hung network mount must not hang the heartbeat) and sees local file systems only.
 */
export const FACTS_SCRIPT = `
echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null)"
echo "cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
echo "load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
awk '/^MemTotal:/ {t=$2} /^MemAvailable:/ {a=$2} END {if (t) printf "memory=%.0f %.0f\\n", t*1024, (t-a)*1024}' /proc/meminfo 2>/dev/null
timeout 10 df -P -l -B1 -x tmpfs -x devtmpfs -x squashfs 2>/dev/null | awk 'NR>1 {m=$6; for (i=7; i<=NF; i++) m=m" "$i; print "disk=" $2 " " $3 " " $4 " " m}'
if command -v nvidia-smi >/dev/null 2>&1; then timeout 20 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | sed 's/^/accelerator=nvidia|/'; fi
exit 0
`;

/** Hosts one heartbeat or inspection activity measures at once. */
const HOSTS_AT_ONCE = 20;

/** Hosts are reached like any step's (pooled SSH, or the worker's own machine); nodes are not heartbeat targets. */
const NO_STEP_POD: StepPodContext = { key: 'facts', timeoutSeconds: 60, annotations: {} };
const MEASURE_TIMEOUT_MS = 60_000;

export type Measured<T> = { value: T } | { failure: string; reason: string };

/** Runs a script on the host (stdin, so nothing shows on its command line) and returns its output. */
export async function runOnHost(hosts: HostConnector, target: HostTarget, script: string, options: { sudo?: boolean; timeoutMs?: number } = {}): Promise<Measured<string>> {
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = options.timeoutMs ?? MEASURE_TIMEOUT_MS;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError(FailureType.HostUnreachable, `${target.name} did not answer within ${timeoutMs / 1000}s`)), timeoutMs);
  });
  try {
    const lease = await Promise.race([hosts.acquire(target, NO_STEP_POD), expired]);
    try {
      const shell = needsSudo(target, Boolean(options.sudo)) ? 'sudo -n sh -s' : 'sh -s';
      const { code, stdout, stderr } = await Promise.race([execCapture(lease.session, shell, script), expired]);
      if (code !== 0) return { failure: FailureType.NonZeroExit, reason: `exit code ${code}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}` };
      return { value: stdout };
    } finally {
      lease.release();
    }
  } catch (e) {
    if (e instanceof ConnectError) return { failure: e.type, reason: e.message };
    return { failure: FailureType.HostUnreachable, reason: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export async function measureHost(hosts: HostConnector, target: HostTarget): Promise<Measured<HostFacts>> {
  const out = await runOnHost(hosts, target, FACTS_SCRIPT);
  return 'value' in out ? { value: parseFacts(out.value) } : out;
}

/** Runs `each` over an activity's hosts, a few at a time, heartbeating how many are done. */
export async function forEachHost<R>(hosts: readonly HostTarget[], each: (host: HostTarget) => Promise<R>): Promise<R[]> {
  let done = 0;
  const stop = keepHeartbeating(Context.current(), () => ({ done }));
  try {
    return await mapLimited(hosts, HOSTS_AT_ONCE, async (host) => {
      const result = await each(host);
      done += 1;
      return result;
    });
  } finally {
    stop();
  }
}
