import type { Client } from '@temporalio/client';
import { listRuns, runQuery, type RunSummary } from '../workers/run-list';
import type { Metrics } from './metrics';

/** Visibility can index a run a little after it started or ended: look back this far each time. */
const OVERLAP_MS = 60_000;
const PAGE = 500;

/**
 * Counts runs started and finished, whatever started them (API, CLI, schedules), by reading
 * visibility every `intervalMs`. Ids already counted are remembered across the overlap window.
 */
export function watchRunMetrics(client: Client, metrics: Metrics, intervalMs: number, log: (message: string) => void): { stop(): void } {
  const since = Date.now();
  let cursor = since;
  const counted = new Map<string, number>();
  const poll = async (): Promise<void> => {
    const now = Date.now();
    const from = new Date(Math.max(since, cursor - OVERLAP_MS)).toISOString();
    for (const run of await recent(client, `StartTime >= '${from}'`)) {
      if (countOnce(counted, `start:${run.id}`, now)) metrics.runsStarted.inc({ kind: run.kind, trigger: run.trigger ?? 'unknown' });
    }
    for (const run of await recent(client, `CloseTime >= '${from}'`)) {
      if (!run.closeTime || !countOnce(counted, `end:${run.id}`, now)) continue;
      metrics.runsFinished.inc({ kind: run.kind, status: run.status, trigger: run.trigger ?? 'unknown' });
      metrics.runDuration.observe({ kind: run.kind, status: run.status }, (run.durationMs ?? 0) / 1000);
    }
    for (const [id, at] of counted) if (at < now - 2 * OVERLAP_MS) counted.delete(id);
    cursor = now;
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    poll()
      .catch((e: Error) => log(`metrics: reading runs from visibility failed: ${e.message}`))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function countOnce(counted: Map<string, number>, key: string, now: number): boolean {
  if (counted.has(key)) return false;
  counted.set(key, now);
  return true;
}

async function recent(client: Client, time: string): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  let token: string | undefined;
  do {
    const page = await listRuns(client, {}, { size: PAGE, token }, `${runQuery({})} AND ${time}`);
    runs.push(...page.runs);
    token = page.nextPageToken;
  } while (token);
  return runs;
}
