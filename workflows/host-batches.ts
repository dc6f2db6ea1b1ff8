import { isCancellation } from '@temporalio/workflow';
import type { HostTarget } from '../model/run';
import { fanOut } from './fan-out';

/** Hosts one heartbeat or inspection activity measures; a large cluster costs few history events. */
export const HOSTS_PER_ACTIVITY = 50;
const ACTIVITIES_AT_ONCE = 4;

/**
 * Runs `run` over the hosts in slices, a few slices at a time. A slice whose activity failed for
 * good is reported as `failed` with its hosts, so one bad slice does not lose the others' results.
 */
export async function inBatches<R>(hosts: readonly HostTarget[], run: (hosts: HostTarget[]) => Promise<R>): Promise<{ results: R[]; failed: Array<{ hosts: string[]; reason: string }> }> {
  const slices: HostTarget[][] = [];
  for (let i = 0; i < hosts.length; i += HOSTS_PER_ACTIVITY) slices.push(hosts.slice(i, i + HOSTS_PER_ACTIVITY));
  const results: R[] = [];
  const failed: Array<{ hosts: string[]; reason: string }> = [];
  await fanOut(slices, ACTIVITIES_AT_ONCE, () => false, async (slice) => {
    try {
      results.push(await run(slice));
    } catch (e) {
      if (isCancellation(e)) throw e;
      failed.push({ hosts: slice.map((h) => h.name), reason: (e as Error).message });
    }
  });
  return { results, failed };
}
